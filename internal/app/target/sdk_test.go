package target_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/resourcegroupstaggingapi"
	"github.com/google/go-cmp/cmp"

	"github.com/pushdeploy/pushdeploy/internal/app/clock"
	"github.com/pushdeploy/pushdeploy/internal/app/target"
	"github.com/pushdeploy/pushdeploy/internal/local/localcloud"
	"github.com/pushdeploy/pushdeploy/internal/local/localcloud/bus"
	cwlocal "github.com/pushdeploy/pushdeploy/internal/local/localcloud/cloudwatch"
	ecslocal "github.com/pushdeploy/pushdeploy/internal/local/localcloud/ecs"
	"github.com/pushdeploy/pushdeploy/internal/local/localcloud/tagging"
	"github.com/pushdeploy/pushdeploy/internal/local/localtest"
)

// TestDiscoverLocalCloud runs discovery with the real SDK clients against
// the local ECS and tagging API: 14 opted-in services in one cluster (two
// DescribeServices batches), others in a second cluster, services that do
// not follow the repository or tag, and a deleted one.
func TestDiscoverLocalCloud(t *testing.T) {
	c := localtest.New(t, func(clk *clock.Virtual) []localcloud.RPCService {
		e, err := ecslocal.New(ecslocal.Options{Clock: clk, Account: localtest.Account, Region: localtest.Region})
		if err != nil {
			t.Fatal(err)
		}
		cw, err := cwlocal.New(clk, localtest.Account, bus.Discard{})
		if err != nil {
			t.Fatal(err)
		}
		tg, err := tagging.New(e, cw)
		if err != nil {
			t.Fatal(err)
		}
		return []localcloud.RPCService{e, cw, tg}
	})
	cfg := c.Config()
	e := ecs.NewFromConfig(cfg)
	// An alarm that names a service itself.
	if _, err := cloudwatch.NewFromConfig(cfg).PutMetricAlarm(context.Background(), &cloudwatch.PutMetricAlarmInput{
		AlarmName: aws.String("stage-web-errors"), Namespace: aws.String("App"), MetricName: aws.String("Errors"),
		Statistic: cwtypes.StatisticSum, Period: aws.Int32(60), EvaluationPeriods: aws.Int32(1), Threshold: aws.Float64(1),
		ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanOrEqualToThreshold,
		Tags:               []cwtypes.Tag{{Key: aws.String(target.TagService), Value: aws.String("stage/web")}},
	}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, cl := range []string{"prod", "stage"} {
		must(e.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String(cl)}))
	}
	must(e.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family:               aws.String("web"),
		ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("123456789012.dkr.ecr.us-east-1.amazonaws.com/web:latest"), Memory: aws.Int32(128)}},
	}))
	create := func(cluster, name string, tags map[string]string) {
		t.Helper()
		in := &ecs.CreateServiceInput{Cluster: aws.String(cluster), ServiceName: aws.String(name), TaskDefinition: aws.String("web"), DesiredCount: aws.Int32(1)}
		for k, v := range tags {
			in.Tags = append(in.Tags, ecstypes.Tag{Key: aws.String(k), Value: aws.String(v)})
		}
		must(e.CreateService(ctx, in))
	}
	var want []string
	for i := range 14 {
		name := fmt.Sprintf("web-%02d", i)
		create("prod", name, map[string]string{target.TagRepository: "web", target.TagAlarms: "web-5xx"})
		want = append(want, "prod/"+name)
	}
	create("stage", "web", map[string]string{target.TagRepository: "web", target.TagTags: "latest,v*", target.TagBake: "2m"})
	want = append(want, "stage/web")
	create("stage", "web-dev", map[string]string{target.TagRepository: "web", target.TagTags: "dev-*"})
	create("stage", "api", map[string]string{target.TagRepository: "api"})
	create("stage", "untagged", nil)
	create("stage", "broken", map[string]string{target.TagRepository: "web", target.TagTimeout: "forever"})
	create("stage", "deleted", map[string]string{target.TagRepository: "web"})
	must(e.DeleteService(ctx, &ecs.DeleteServiceInput{Cluster: aws.String("stage"), Service: aws.String("deleted"), Force: aws.Bool(true)}))

	// Followers of stage/api (pushdeploy:after), one misconfigured.
	create("stage", "api-next", map[string]string{target.TagRepository: "api", target.TagAfter: "stage/api"})
	create("stage", "api-broken", map[string]string{target.TagRepository: "api", target.TagAfter: "stage/api", target.TagTimeout: "forever"})
	create("stage", "api-other", map[string]string{target.TagRepository: "api", target.TagAfter: "prod/api"})
	r, err := target.NewResolver(e, resourcegroupstaggingapi.NewFromConfig(cfg), target.Defaults{Bake: time.Minute, Timeout: 10 * time.Minute, RollbackWindow: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	fol, err := r.Followers(ctx, "arn:aws:ecs:us-east-1:123456789012:service/stage/api")
	if err != nil || len(fol.Targets) != 1 || fol.Targets[0].ServiceName != "api-next" || fol.Targets[0].Config.After != "stage/api" ||
		len(fol.Skipped) != 1 || !errors.As(fol.Skipped[0].Err, new(*target.ConfigError)) {
		t.Errorf("followers of stage/api: %+v, %v", fol, err)
	}
	if fol, err := r.Followers(ctx, "arn:aws:ecs:us-east-1:123456789012:service/prod/web-00"); err != nil || len(fol.Targets)+len(fol.Skipped) != 0 {
		t.Errorf("followers of prod/web-00: %+v, %v", fol, err)
	}
	if _, err := r.Followers(ctx, "web"); !errors.As(err, new(*target.InvalidARNError)) {
		t.Errorf("followers of a name: %v, want InvalidARNError", err)
	}
	got, err := r.Discover(ctx, "web", "latest")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tg := range got.Targets {
		names = append(names, tg.ClusterName+"/"+tg.ServiceName)
		if tg.TaskDefinition != "arn:aws:ecs:us-east-1:123456789012:task-definition/web:1" {
			t.Errorf("%s: task definition %q", tg.ServiceName, tg.TaskDefinition)
		}
	}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("targets (-want +got)\n%s", diff)
	}
	if tg := got.Targets[len(got.Targets)-1]; tg.Config.Bake != 2*time.Minute || tg.Config.Timeout != 10*time.Minute {
		t.Errorf("stage/web config %+v", tg.Config)
	}
	var cfgErr *target.ConfigError
	found := false
	for _, s := range got.Skipped {
		if errors.As(s.Err, &cfgErr) && cfgErr.Key == target.TagTimeout {
			found = true
		}
	}
	if !found {
		t.Errorf("broken service not skipped with a ConfigError: %+v", got.Skipped)
	}

	got, err = r.Discover(ctx, "web", "v1.2")
	if err != nil || len(got.Targets) != 1 || got.Targets[0].ServiceName != "web" {
		t.Errorf("tag v1.2: %+v, %v", got.Targets, err)
	}
	got, err = r.Discover(ctx, "web", "nightly")
	if err != nil || len(got.Targets) != 0 {
		t.Errorf("tag nightly: %+v, %v", got.Targets, err)
	}
	got, err = r.ForAlarm(ctx, "web-5xx")
	if err != nil || len(got.Targets) != 14 {
		t.Errorf("ForAlarm: %d targets, %v", len(got.Targets), err)
	}
	got, err = r.ForAlarm(ctx, "stage-web-errors")
	if err != nil || len(got.Targets) != 1 || got.Targets[0].ClusterName != "stage" || got.Targets[0].ServiceName != "web" {
		t.Errorf("ForAlarm by the alarm's tag: %+v, %v", got.Targets, err)
	}

	var nf *target.ServiceNotFoundError
	if _, err := r.Get(ctx, "stage", "nope"); !errors.As(err, &nf) {
		t.Errorf("Get missing service: %v", err)
	}
	if _, err := r.Get(ctx, "nope", "web"); !errors.As(err, &nf) {
		t.Errorf("Get in missing cluster: %v", err)
	}
	var no *target.NotOptedInError
	if tg, err := r.Get(ctx, "stage", "untagged"); !errors.As(err, &no) || tg.ServiceARN == "" {
		t.Errorf("Get untagged: %+v, %v", tg, err)
	}
}

// BenchmarkDiscover measures a discovery over 100 opted-in services in two
// clusters with the real SDK clients over HTTP, and reports the AWS calls it
// makes (GetResources pages + DescribeServices batches of 10).
func BenchmarkDiscover(b *testing.B) {
	var e *ecslocal.Service
	c := localtest.New(b, func(clk *clock.Virtual) []localcloud.RPCService {
		var err error
		if e, err = ecslocal.New(ecslocal.Options{Clock: clk, Account: localtest.Account, Region: localtest.Region}); err != nil {
			b.Fatal(err)
		}
		tg, err := tagging.New(e)
		if err != nil {
			b.Fatal(err)
		}
		return []localcloud.RPCService{e, tg}
	})
	cfg := c.Config()
	client := ecs.NewFromConfig(cfg)
	ctx := context.Background()
	if _, err := client.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("web"),
		ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("web"), Memory: aws.Int32(64)}}}); err != nil {
		b.Fatal(err)
	}
	for i := range 100 {
		cl := []string{"a", "b"}[i%2]
		if i < 2 {
			if _, err := client.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String(cl)}); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := client.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String(cl), ServiceName: aws.String(fmt.Sprintf("s%03d", i)),
			TaskDefinition: aws.String("web"), Tags: []ecstypes.Tag{{Key: aws.String(target.TagRepository), Value: aws.String("web")}}}); err != nil {
			b.Fatal(err)
		}
	}
	r, err := target.NewResolver(client, resourcegroupstaggingapi.NewFromConfig(cfg), target.Defaults{Timeout: time.Minute})
	if err != nil {
		b.Fatal(err)
	}
	c.Server.Log.Reset()
	b.ResetTimer()
	for range b.N {
		got, err := r.Discover(ctx, "web", "latest")
		if err != nil || len(got.Targets) != 100 {
			b.Fatalf("%d targets, %v", len(got.Targets), err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(len(c.Server.Log.Calls()))/float64(b.N), "calls/op")
}
