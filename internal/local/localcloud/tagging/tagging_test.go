package tagging_test

import (
	"context"
	"errors"
	"sort"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	rgt "github.com/aws/aws-sdk-go-v2/service/resourcegroupstaggingapi"
	"github.com/aws/aws-sdk-go-v2/service/resourcegroupstaggingapi/types"
	"github.com/google/go-cmp/cmp"

	"github.com/pushdeploy/pushdeploy/internal/app/clock"
	"github.com/pushdeploy/pushdeploy/internal/local/localcloud"
	"github.com/pushdeploy/pushdeploy/internal/local/localcloud/awsproto"
	"github.com/pushdeploy/pushdeploy/internal/local/localcloud/cloudwatch"
	"github.com/pushdeploy/pushdeploy/internal/local/localcloud/localtest"
	"github.com/pushdeploy/pushdeploy/internal/local/localcloud/tagging"
)

// fakeECS stands in for the ECS simulator; it honours the request's region
// as real sources do.
type fakeECS []tagging.Resource

func (f fakeECS) TaggedResources(ctx context.Context) []tagging.Resource {
	var out []tagging.Resource
	for _, r := range f {
		if awsproto.RequestFrom(ctx).Region == "us-east-1" {
			out = append(out, r)
		}
	}
	return out
}

const svcARN = "arn:aws:ecs:us-east-1:123456789012:service/prod/"

func newClient(t *testing.T) (*rgt.Client, *localcloud.Server) {
	t.Helper()
	clk := clock.NewVirtual(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))
	cw, err := cloudwatch.New(clk, "123456789012", nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := awsproto.WithRequest(context.Background(), &awsproto.Request{Region: "us-east-1"})
	for _, a := range []struct{ name, service string }{{"web-5xx", "web"}, {"api-5xx", "api"}, {"untagged", ""}} {
		in := `{"AlarmName":"` + a.name + `","MetricName":"m","Namespace":"n","Statistic":"Sum","Period":60,"EvaluationPeriods":1,"Threshold":1,"ComparisonOperator":"GreaterThanThreshold"`
		if a.service != "" {
			in += `,"Tags":[{"Key":"pushdeploy:service","Value":"` + a.service + `"}]`
		}
		if _, err := cw.Call(ctx, "PutMetricAlarm", []byte(in+"}")); err != nil {
			t.Fatal(err)
		}
	}
	ecs := fakeECS{
		{ARN: svcARN + "web", Type: "ecs:service", Tags: map[string]string{"pushdeploy:repository": "web", "pushdeploy:tags": "latest"}},
		{ARN: svcARN + "api", Type: "ecs:service", Tags: map[string]string{"pushdeploy:repository": "api", "pushdeploy:tags": "latest"}},
		{ARN: svcARN + "web-canary", Type: "ecs:service", Tags: map[string]string{"pushdeploy:repository": "web", "pushdeploy:tags": "canary"}},
		{ARN: svcARN + "plain", Type: "ecs:service", Tags: map[string]string{}},
		{ARN: "arn:aws:ecs:us-east-1:123456789012:cluster/prod", Type: "ecs:cluster", Tags: map[string]string{"pushdeploy:repository": "web"}},
	}
	svc, err := tagging.New(ecs, cw)
	if err != nil {
		t.Fatal(err)
	}
	url, server := localtest.Start(t, clk, nil, svc)
	cfg := localtest.Config(url)
	cfg.Retryer = localtest.NoBackoff
	client := rgt.NewFromConfig(cfg)
	return client, server
}

func TestGetResources(t *testing.T) {
	client, _ := newClient(t)
	ctx := context.Background()
	alarm := "arn:aws:cloudwatch:us-east-1:123456789012:alarm:"
	tests := []struct {
		name string
		in   rgt.GetResourcesInput
		want []string
	}{
		{"everything tagged", rgt.GetResourcesInput{}, []string{alarm + "api-5xx", alarm + "web-5xx",
			"arn:aws:ecs:us-east-1:123456789012:cluster/prod", svcARN + "api", svcARN + "web", svcARN + "web-canary"}},
		{"services of a repository", rgt.GetResourcesInput{ResourceTypeFilters: []string{"ecs:service"},
			TagFilters: []types.TagFilter{{Key: aws.String("pushdeploy:repository"), Values: []string{"web"}}}},
			[]string{svcARN + "web", svcARN + "web-canary"}},
		{"AND of filters", rgt.GetResourcesInput{TagFilters: []types.TagFilter{
			{Key: aws.String("pushdeploy:repository"), Values: []string{"web", "api"}},
			{Key: aws.String("pushdeploy:tags"), Values: []string{"latest"}}}},
			[]string{svcARN + "api", svcARN + "web"}},
		{"key only", rgt.GetResourcesInput{TagFilters: []types.TagFilter{{Key: aws.String("pushdeploy:service")}}},
			[]string{alarm + "api-5xx", alarm + "web-5xx"}},
		{"alarms of a service", rgt.GetResourcesInput{ResourceTypeFilters: []string{"cloudwatch:alarm"},
			TagFilters: []types.TagFilter{{Key: aws.String("pushdeploy:service"), Values: []string{"web"}}}}, []string{alarm + "web-5xx"}},
		{"service type prefix", rgt.GetResourcesInput{ResourceTypeFilters: []string{"ecs"},
			TagFilters: []types.TagFilter{{Key: aws.String("pushdeploy:repository"), Values: []string{"web"}}}},
			[]string{"arn:aws:ecs:us-east-1:123456789012:cluster/prod", svcARN + "web", svcARN + "web-canary"}},
		{"ARN list", rgt.GetResourcesInput{ResourceARNList: []string{svcARN + "api", svcARN + "plain", svcARN + "gone"}}, []string{svcARN + "api"}},
		{"no match", rgt.GetResourcesInput{TagFilters: []types.TagFilter{{Key: aws.String("nope")}}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.in
			in.ResourcesPerPage = aws.Int32(2)
			var got []string
			p := rgt.NewGetResourcesPaginator(client, &in)
			pages := 0
			for p.HasMorePages() {
				out, err := p.NextPage(ctx)
				if err != nil {
					t.Fatal(err)
				}
				pages++
				if len(out.ResourceTagMappingList) > 2 {
					t.Fatalf("page of %d", len(out.ResourceTagMappingList))
				}
				for _, m := range out.ResourceTagMappingList {
					got = append(got, aws.ToString(m.ResourceARN))
					if len(m.Tags) == 0 {
						t.Errorf("%s has no tags", aws.ToString(m.ResourceARN))
					}
				}
			}
			sort.Strings(got)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ARNs (-want +got):\n%s", diff)
			}
			if want := max(1, (len(tt.want)+1)/2); pages != want {
				t.Errorf("%d pages, want %d", pages, want)
			}
		})
	}
}

func TestGetResourcesTagsAndErrors(t *testing.T) {
	client, server := newClient(t)
	ctx := context.Background()
	out, err := client.GetResources(ctx, &rgt.GetResourcesInput{ResourceARNList: []string{svcARN + "web"}})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, tg := range out.ResourceTagMappingList[0].Tags {
		got[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
	}
	if diff := cmp.Diff(map[string]string{"pushdeploy:repository": "web", "pushdeploy:tags": "latest"}, got); diff != "" {
		t.Errorf("tags (-want +got):\n%s", diff)
	}
	tests := []struct {
		name string
		in   rgt.GetResourcesInput
	}{
		{"ARNs with filters", rgt.GetResourcesInput{ResourceARNList: []string{"a"}, ResourceTypeFilters: []string{"ecs:service"}}},
		{"bad token", rgt.GetResourcesInput{PaginationToken: aws.String("garbage")}},
		{"too many per page", rgt.GetResourcesInput{ResourcesPerPage: aws.Int32(101)}},
		{"bad type", rgt.GetResourcesInput{ResourceTypeFilters: []string{"ecs:service:x"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := client.GetResources(ctx, &tt.in)
			var ipe *types.InvalidParameterException
			if !errors.As(err, &ipe) {
				t.Errorf("error = %v (%T), want InvalidParameterException", err, err)
			}
		})
	}
	keys, err := client.GetTagKeys(ctx, &rgt.GetTagKeysInput{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"pushdeploy:repository", "pushdeploy:service", "pushdeploy:tags"}, keys.TagKeys); diff != "" {
		t.Errorf("GetTagKeys (-want +got):\n%s", diff)
	}
	values, err := client.GetTagValues(ctx, &rgt.GetTagValuesInput{Key: aws.String("pushdeploy:tags")})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"canary", "latest"}, values.TagValues); diff != "" {
		t.Errorf("GetTagValues (-want +got):\n%s", diff)
	}

	server.Faults.AddThrottle(localcloud.Throttle{Service: "tagging", Operation: "GetResources", Rate: 1, Limit: 1})
	if _, err := client.GetResources(ctx, &rgt.GetResourcesInput{}); err != nil {
		t.Errorf("GetResources after a throttle: %v", err)
	}
	calls := server.Log.Calls()
	last := calls[len(calls)-2:]
	if last[0].Error != "ThrottlingException" || last[1].Error != "" || last[1].Operation != "GetResources" {
		t.Errorf("last calls = %v, want a throttle then a success", last)
	}
}
