package target

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/resourcegroupstaggingapi"
	tagtypes "github.com/aws/aws-sdk-go-v2/service/resourcegroupstaggingapi/types"
	"github.com/google/go-cmp/cmp"

	"github.com/pushdeploy/pushdeploy/internal/awsapi"
)

const acct = "arn:aws:ecs:us-east-1:123456789012:"

type svc struct {
	cluster, name, status, td string
	tags                      map[string]string
	// staleTags, if set, is what the tagging API still reports.
	staleTags map[string]string
}

func (s svc) arn() string { return acct + "service/" + s.cluster + "/" + s.name }

// fakeCloud serves GetResources (in pages of 2) and DescribeServices from
// a list of services.
type fakeCloud struct {
	awsapi.ECS
	svcs      []svc
	alarms    map[string]map[string]string // alarm name -> tags
	extraARNs []string                     // tagged resources that are not services we know
	describes [][]string
	pages     int
	failWith  error
}

func (f *fakeCloud) GetResources(_ context.Context, in *resourcegroupstaggingapi.GetResourcesInput, _ ...func(*resourcegroupstaggingapi.Options)) (*resourcegroupstaggingapi.GetResourcesOutput, error) {
	if f.failWith != nil {
		return nil, f.failWith
	}
	var all []tagtypes.ResourceTagMapping
	switch {
	case slices.Equal(in.ResourceTypeFilters, []string{"cloudwatch:alarm"}):
		// Sorted: pages must see one order.
		for _, name := range slices.Sorted(maps.Keys(f.alarms)) {
			tags := f.alarms[name]
			if !matches(in.TagFilters, tags) {
				continue
			}
			m := tagtypes.ResourceTagMapping{ResourceARN: aws.String("arn:aws:cloudwatch:us-east-1:123456789012:alarm:" + name)}
			for k, v := range tags {
				m.Tags = append(m.Tags, tagtypes.Tag{Key: aws.String(k), Value: aws.String(v)})
			}
			all = append(all, m)
		}
		return page(all, in.PaginationToken), nil
	case !slices.Equal(in.ResourceTypeFilters, []string{"ecs:service"}):
		return nil, fmt.Errorf("unexpected type filter %v", in.ResourceTypeFilters)
	}
	f.pages++
	for _, s := range f.svcs {
		tags := s.tags
		if s.staleTags != nil {
			tags = s.staleTags
		}
		if !matches(in.TagFilters, tags) {
			continue
		}
		m := tagtypes.ResourceTagMapping{ResourceARN: aws.String(s.arn())}
		for k, v := range tags {
			m.Tags = append(m.Tags, tagtypes.Tag{Key: aws.String(k), Value: aws.String(v)})
		}
		all = append(all, m)
	}
	for _, a := range f.extraARNs {
		all = append(all, tagtypes.ResourceTagMapping{ResourceARN: aws.String(a)})
	}
	return page(all, in.PaginationToken), nil
}

// page returns a page of 2 mappings.
func page(all []tagtypes.ResourceTagMapping, token *string) *resourcegroupstaggingapi.GetResourcesOutput {
	start := 0
	if t := aws.ToString(token); t != "" {
		start, _ = strconv.Atoi(t)
	}
	end := min(start+2, len(all))
	out := &resourcegroupstaggingapi.GetResourcesOutput{ResourceTagMappingList: all[start:end]}
	if end < len(all) {
		out.PaginationToken = aws.String(strconv.Itoa(end))
	}
	return out
}

func matches(filters []tagtypes.TagFilter, tags map[string]string) bool {
	for _, f := range filters {
		v, ok := tags[aws.ToString(f.Key)]
		if !ok || (len(f.Values) > 0 && !slices.Contains(f.Values, v)) {
			return false
		}
	}
	return true
}

func (f *fakeCloud) DescribeServices(_ context.Context, in *ecs.DescribeServicesInput, _ ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error) {
	if len(in.Services) > 10 {
		return nil, errors.New("InvalidParameterException: more than 10 services")
	}
	if !slices.Contains(in.Include, ecstypes.ServiceFieldTags) {
		return nil, errors.New("tags not requested")
	}
	f.describes = append(f.describes, in.Services)
	cluster := aws.ToString(in.Cluster)
	if cluster == "gone" {
		return nil, &ecstypes.ClusterNotFoundException{Message: aws.String("Cluster not found.")}
	}
	out := &ecs.DescribeServicesOutput{}
	for _, want := range in.Services {
		i := slices.IndexFunc(f.svcs, func(s svc) bool {
			return (s.arn() == want || s.name == want) && (s.cluster == cluster || acct+"cluster/"+s.cluster == cluster)
		})
		if i < 0 {
			out.Failures = append(out.Failures, ecstypes.Failure{Arn: aws.String(want), Reason: aws.String("MISSING")})
			continue
		}
		s := f.svcs[i]
		d := ecstypes.Service{
			ServiceArn: aws.String(s.arn()), ServiceName: aws.String(s.name), ClusterArn: aws.String(acct + "cluster/" + s.cluster),
			Status: aws.String(s.status), TaskDefinition: aws.String(s.td),
		}
		for k, v := range s.tags {
			d.Tags = append(d.Tags, ecstypes.Tag{Key: aws.String(k), Value: aws.String(v)})
		}
		out.Services = append(out.Services, d)
	}
	return out, nil
}

func active(cluster, name string, tags map[string]string) svc {
	return svc{cluster: cluster, name: name, status: "ACTIVE", td: "arn:aws:ecs:us-east-1:123456789012:task-definition/" + name + ":1", tags: tags}
}

func TestDiscover(t *testing.T) {
	web := map[string]string{TagRepository: "web"}
	var many []svc
	for i := range 23 {
		many = append(many, active("big", fmt.Sprintf("s%02d", i), web))
	}
	tests := []struct {
		name      string
		svcs      []svc
		extra     []string
		repo, tag string
		want      []string // service names, in order
		skipped   []string // ARNs
		skipErrs  []any
		batches   []int // sizes of DescribeServices calls
	}{
		{
			name: "three services in two clusters, one other repo, one tag mismatch",
			svcs: []svc{
				active("prod", "web", web), active("prod", "api", map[string]string{TagRepository: "api"}),
				active("stage", "web", map[string]string{TagRepository: "web", TagTags: "latest,v*"}),
				active("dev", "web", map[string]string{TagRepository: "web", TagTags: "dev-*"}),
				active("prod", "web2", web),
			},
			repo: "web", tag: "latest",
			want:    []string{"prod/web", "prod/web2", "stage/web"},
			batches: []int{2, 1},
		},
		{name: "nothing follows", svcs: []svc{active("prod", "api", map[string]string{TagRepository: "api"})}, repo: "web", tag: "latest"},
		{
			name: "bad config and inactive are skipped with named errors",
			svcs: []svc{
				active("prod", "web", map[string]string{TagRepository: "web", TagBake: "soon"}),
				{cluster: "prod", name: "old", status: "DRAINING", tags: web},
				active("prod", "ok", web),
			},
			repo: "web", tag: "latest",
			want:     []string{"prod/ok"},
			skipped:  []string{acct + "service/prod/old", acct + "service/prod/web"},
			skipErrs: []any{new(*ServiceNotFoundError), new(*ConfigError)},
			batches:  []int{3},
		},
		{
			name: "a repository tag that means the repository but is not its name is skipped with the reason",
			svcs: []svc{
				active("prod", "uri", map[string]string{TagRepository: "123456789012.dkr.ecr.us-east-1.amazonaws.com/web"}),
				active("prod", "upper", map[string]string{TagRepository: "Web"}),
				active("prod", "tagged", map[string]string{TagRepository: "web:latest"}),
				active("prod", "other", map[string]string{TagRepository: "Api"}),
				active("prod", "ok", web),
			},
			repo: "web", tag: "latest",
			want:     []string{"prod/ok"},
			skipped:  []string{acct + "service/prod/tagged", acct + "service/prod/upper", acct + "service/prod/uri"},
			skipErrs: []any{new(*ConfigError), new(*ConfigError), new(*ConfigError)},
			batches:  []int{4},
		},
		{
			name:  "old-format ARN and missing cluster",
			svcs:  []svc{active("gone", "web", web)},
			extra: []string{"arn:aws:ecs:us-east-1:123456789012:service/legacy"}, repo: "web", tag: "latest",
			skipped:  []string{acct + "service/gone/web", "arn:aws:ecs:us-east-1:123456789012:service/legacy"},
			skipErrs: []any{new(*ServiceNotFoundError), new(*InvalidARNError)},
			batches:  []int{1},
		},
		{
			name: "stale tagging data: describe's tags decide",
			svcs: []svc{{cluster: "prod", name: "web", status: "ACTIVE", td: "x", tags: map[string]string{TagRepository: "web", TagTags: "v*"}, staleTags: web}},
			repo: "web", tag: "latest",
			batches: []int{1},
		},
		{
			name: "batches of ten", svcs: many, repo: "web", tag: "latest",
			want: func() []string {
				var w []string
				for _, s := range many {
					w = append(w, "big/"+s.name)
				}
				return w
			}(),
			batches: []int{10, 10, 3},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeCloud{svcs: tt.svcs, extraARNs: tt.extra}
			r, err := NewResolver(f, f, defaults)
			if err != nil {
				t.Fatal(err)
			}
			got, err := r.Discover(context.Background(), tt.repo, tt.tag)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, tg := range got.Targets {
				names = append(names, tg.ClusterName+"/"+tg.ServiceName)
				if tg.Config.Repository != tt.repo || tg.TaskDefinition == "" || tg.ServiceARN == "" || tg.ClusterARN == "" {
					t.Errorf("incomplete target %+v", tg)
				}
			}
			if diff := cmp.Diff(tt.want, names); diff != "" {
				t.Errorf("targets (-want +got)\n%s", diff)
			}
			var skipped []string
			slices.SortFunc(got.Skipped, func(a, b Skipped) int { return cmpStr(a.ServiceARN, b.ServiceARN) })
			for i, s := range got.Skipped {
				skipped = append(skipped, s.ServiceARN)
				if i < len(tt.skipErrs) && !errors.As(s.Err, tt.skipErrs[i]) {
					t.Errorf("skipped %s: err %v (%T), want %T", s.ServiceARN, s.Err, s.Err, tt.skipErrs[i])
				}
				if s.Reason == "" {
					t.Errorf("skipped %s without a reason", s.ServiceARN)
				}
			}
			if diff := cmp.Diff(tt.skipped, skipped); diff != "" {
				t.Errorf("skipped (-want +got)\n%s", diff)
			}
			var sizes []int
			for _, d := range f.describes {
				sizes = append(sizes, len(d))
			}
			if diff := cmp.Diff(tt.batches, sizes); diff != "" {
				t.Errorf("DescribeServices batch sizes (-want +got)\n%s", diff)
			}
		})
	}
}

func cmpStr(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func TestForAlarm(t *testing.T) {
	f := &fakeCloud{svcs: []svc{
		active("prod", "web", map[string]string{TagRepository: "web", TagAlarms: "web-5xx,web-latency"}),
		active("prod", "api", map[string]string{TagRepository: "api", TagAlarms: "api-5xx"}),
		active("stage", "web", map[string]string{TagRepository: "web", TagAlarms: "web-5xx"}),
		active("prod", "quiet", map[string]string{TagRepository: "quiet"}),
		active("prod", "cart", map[string]string{TagRepository: "cart"}),
		active("prod", "notopted", map[string]string{"team": "x"}),
		active("prod", "broken", map[string]string{TagRepository: "broken", TagBake: "later", TagAlarms: "broken-5xx"}),
	}, alarms: map[string]map[string]string{
		// Alarms that name their services themselves.
		"web-5xx":    {TagService: "prod/quiet, " + acct + "service/prod/notopted"},
		"cart:p99":   {TagService: acct + "service/prod/cart"},
		"unrelated":  {"team": "x"},
		"bad-target": {TagService: "not a service"},
	}}
	r, _ := NewResolver(f, f, defaults)
	tests := []struct {
		alarm   string
		want    []string
		skipped int
	}{
		{"web-5xx", []string{"prod/quiet", "prod/web", "stage/web"}, 0},
		{"cart:p99", []string{"prod/cart"}, 0},
		{"api-5xx", []string{"prod/api"}, 0},
		{"unrelated", nil, 0},
		// A service whose config is broken is reported for its own alarm only.
		{"broken-5xx", nil, 1},
	}
	for _, tt := range tests {
		got, err := r.ForAlarm(context.Background(), tt.alarm)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Skipped) != tt.skipped {
			t.Errorf("%s: skipped %+v, want %d", tt.alarm, got.Skipped, tt.skipped)
		}
		var names []string
		for _, tg := range got.Targets {
			names = append(names, tg.ClusterName+"/"+tg.ServiceName)
			if !tg.Config.HasAlarm(tt.alarm) {
				t.Errorf("%s: %s's alarms %v lack it", tt.alarm, tg.ServiceName, tg.Config.Alarms)
			}
		}
		if diff := cmp.Diff(tt.want, names); diff != "" {
			t.Errorf("%s (-want +got)\n%s", tt.alarm, diff)
		}
	}
	// A linked alarm is watched during deploys too.
	tg, err := r.Get(context.Background(), "prod", "quiet")
	if err != nil || !slices.Equal(tg.Config.Alarms, []string{"web-5xx"}) {
		t.Errorf("Get quiet: alarms %v, %v", tg.Config.Alarms, err)
	}
	tg, err = r.Get(context.Background(), "prod", "web")
	if err != nil || !slices.Equal(tg.Config.Alarms, []string{"web-5xx", "web-latency"}) {
		t.Errorf("Get web: alarms %v (want no duplicate), %v", tg.Config.Alarms, err)
	}
	f.describes = nil
	if _, err := r.ForAlarm(context.Background(), "web-5xx"); err != nil {
		t.Fatal(err)
	}
	// api was filtered on the tagging data, without describing it.
	for _, d := range f.describes {
		for _, s := range d {
			if s == acct+"service/prod/api" {
				t.Errorf("described %s, whose alarms do not include web-5xx", s)
			}
		}
	}
}

func TestGet(t *testing.T) {
	f := &fakeCloud{svcs: []svc{
		active("prod", "web", map[string]string{TagRepository: "web", TagBake: "1m"}),
		active("prod", "plain", nil),
		{cluster: "prod", name: "deleted", status: "INACTIVE"},
	}}
	r, _ := NewResolver(f, f, defaults)
	ctx := context.Background()
	tg, err := r.Get(ctx, "prod", "web")
	if err != nil || tg.Config.Bake.Minutes() != 1 || tg.ServiceARN != acct+"service/prod/web" {
		t.Fatalf("Get web = %+v, %v", tg, err)
	}
	tg, err = r.Get(ctx, "prod", "plain")
	var no *NotOptedInError
	if !errors.As(err, &no) || tg.ServiceARN == "" || tg.Config.Timeout != defaults.Timeout {
		t.Fatalf("Get plain = %+v, %v; want target with defaults and *NotOptedInError", tg, err)
	}
	for _, name := range []string{"deleted", "missing"} {
		_, err = r.Get(ctx, "prod", name)
		var nf *ServiceNotFoundError
		if !errors.As(err, &nf) {
			t.Errorf("Get %s: err = %v, want *ServiceNotFoundError", name, err)
		}
	}
	_, err = r.Get(ctx, "gone", "web")
	var nf *ServiceNotFoundError
	if !errors.As(err, &nf) {
		t.Errorf("Get in missing cluster: err = %v, want *ServiceNotFoundError", err)
	}
}

func TestDiscoverAPIError(t *testing.T) {
	f := &fakeCloud{failWith: errors.New("boom")}
	r, _ := NewResolver(f, f, defaults)
	if _, err := r.Discover(context.Background(), "web", "latest"); err == nil {
		t.Fatal("want error")
	}
}

func TestSplitServiceARN(t *testing.T) {
	c, s, ok := SplitServiceARN(acct + "service/prod/web")
	if !ok || c != "prod" || s != "web" {
		t.Fatalf("got %q %q %v", c, s, ok)
	}
	for _, bad := range []string{acct + "service/web", "arn:aws:lambda:us-east-1:1:function:x", "web", acct + "task/prod/abc"} {
		if _, _, ok := SplitServiceARN(bad); ok {
			t.Errorf("SplitServiceARN(%q) ok", bad)
		}
	}
}
