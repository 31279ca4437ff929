package target_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/resourcegroupstaggingapi"

	"github.com/pushdeploy/pushdeploy/internal/app/clock"
	"github.com/pushdeploy/pushdeploy/internal/app/target"
	"github.com/pushdeploy/pushdeploy/internal/local/localcloud"
	"github.com/pushdeploy/pushdeploy/internal/local/localcloud/bus"
	cwlocal "github.com/pushdeploy/pushdeploy/internal/local/localcloud/cloudwatch"
	ddblocal "github.com/pushdeploy/pushdeploy/internal/local/localcloud/dynamodb"
	ecslocal "github.com/pushdeploy/pushdeploy/internal/local/localcloud/ecs"
	"github.com/pushdeploy/pushdeploy/internal/local/localcloud/tagging"
	"github.com/pushdeploy/pushdeploy/internal/local/localtest"
)

// indexWorld is ECS, CloudWatch, the tagging API and DynamoDB on one
// local server, with a cluster of services following "web".
type indexWorld struct {
	t     *testing.T
	c     *localtest.Cloud
	ecs   *ecs.Client
	index *target.AlarmIndex
	r     *target.Resolver
}

func newIndexWorld(t *testing.T) *indexWorld {
	t.Helper()
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
		return []localcloud.RPCService{e, cw, tg, ddblocal.New(clk, localtest.Account)}
	})
	db := c.CreateTable(t, "history")
	cfg := c.Config()
	idx, err := target.NewAlarmIndex(db, "history", c.Clock)
	if err != nil {
		t.Fatal(err)
	}
	e := ecs.NewFromConfig(cfg)
	r, err := target.NewResolver(e, resourcegroupstaggingapi.NewFromConfig(cfg), target.Defaults{Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	w := &indexWorld{t: t, c: c, ecs: e, index: idx, r: r.WithIndex(idx)}
	ctx := context.Background()
	if _, err := e.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("prod")}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("web"),
		ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("123456789012.dkr.ecr.us-east-1.amazonaws.com/web:latest"), Memory: aws.Int32(128)}},
	}); err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *indexWorld) service(name, alarms string) string {
	w.t.Helper()
	tags := []ecstypes.Tag{{Key: aws.String(target.TagRepository), Value: aws.String("web")}}
	if alarms != "" {
		tags = append(tags, ecstypes.Tag{Key: aws.String(target.TagAlarms), Value: aws.String(alarms)})
	}
	out, err := w.ecs.CreateService(context.Background(), &ecs.CreateServiceInput{Cluster: aws.String("prod"), ServiceName: aws.String(name),
		TaskDefinition: aws.String("web"), DesiredCount: aws.Int32(1), Tags: tags})
	if err != nil {
		w.t.Fatal(err)
	}
	return aws.ToString(out.Service.ServiceArn)
}

func (w *indexWorld) retag(arn, alarms string) {
	w.t.Helper()
	if _, err := w.ecs.TagResource(context.Background(), &ecs.TagResourceInput{ResourceArn: aws.String(arn),
		Tags: []ecstypes.Tag{{Key: aws.String(target.TagAlarms), Value: aws.String(alarms)}}}); err != nil {
		w.t.Fatal(err)
	}
}

// resolve resolves the alarm and returns its service names and how many
// scans of the opted-in services (GetResources over ecs:service) it made.
func (w *indexWorld) resolve(alarm string) (names []string, scans int) {
	w.t.Helper()
	before := w.scans()
	disc, err := w.r.ForAlarm(context.Background(), alarm)
	if err != nil {
		w.t.Fatal(err)
	}
	for _, t := range disc.Targets {
		names = append(names, t.ServiceName)
	}
	return names, w.scans() - before
}

func (w *indexWorld) scans() int {
	n := 0
	for _, c := range w.c.Server.Log.Calls() {
		if c.Service == "tagging" && c.Operation == "GetResources" && strings.Contains(c.Fields["filters"], "ecs:service") {
			n++
		}
	}
	return n
}

func (w *indexWorld) indexed(alarm string) []string {
	w.t.Helper()
	e, err := w.index.Get(context.Background(), alarm)
	if err != nil {
		w.t.Fatal(err)
	}
	var names []string
	for _, arn := range e.Services {
		_, s, _ := target.SplitServiceARN(arn)
		names = append(names, s)
	}
	return names
}

func same(t *testing.T, what string, got []string, want ...string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("%s: %v, want %v", what, got, want)
	}
}

// TestForAlarmIndex pins the index's semantics: an alarm it has not seen
// is scanned and the scan recorded; after that the alarm is resolved from
// the index without a scan; a service whose tag dropped the alarm (stale)
// is not resolved and leaves the index; a service that started listing
// the alarm with no push since is missed until the scan is an hour old;
// a push (Index) records its services at once.
func TestForAlarmIndex(t *testing.T) {
	w := newIndexWorld(t)
	a := w.service("a", "web-5xx")
	w.service("b", "web-5xx,web-latency")
	c := w.service("c", "")
	w.service("d", "other")

	got, scans := w.resolve("web-5xx")
	same(t, "first resolution", got, "a", "b")
	if scans != 1 {
		t.Fatalf("first resolution: %d scans, want 1 (the index had no entry)", scans)
	}
	same(t, "indexed after the scan", w.indexed("web-5xx"), "a", "b")

	got, scans = w.resolve("web-5xx")
	same(t, "from the index", got, "a", "b")
	if scans != 0 {
		t.Fatalf("from the index: %d scans, want 0", scans)
	}

	// Stale: a's tag no longer lists the alarm. Its current tags are the
	// authority: not resolved, and dropped from the index.
	w.retag(a, "other")
	got, _ = w.resolve("web-5xx")
	same(t, "after a dropped the alarm", got, "b")
	same(t, "index after a dropped the alarm", w.indexed("web-5xx"), "b")

	// c starts listing the alarm without a push: the fresh index misses it...
	w.retag(c, "web-5xx")
	got, scans = w.resolve("web-5xx")
	same(t, "c tagged, index fresh", got, "b")
	if scans != 0 {
		t.Fatalf("fresh index scanned %d times", scans)
	}
	// ...until the scan is IndexMaxAge old.
	w.c.Clock.Advance(target.IndexMaxAge)
	got, scans = w.resolve("web-5xx")
	same(t, "after IndexMaxAge", got, "b", "c")
	if scans != 1 {
		t.Fatalf("after IndexMaxAge: %d scans, want 1", scans)
	}

	// A push's targets are recorded at once.
	e := w.service("e", "web-5xx")
	disc, err := w.r.Discover(context.Background(), "web", "latest")
	if err != nil {
		t.Fatal(err)
	}
	if err := w.r.Index(context.Background(), disc.Targets); err != nil {
		t.Fatal(err)
	}
	got, scans = w.resolve("web-5xx")
	same(t, "after a push indexed e", got, "b", "c", "e")
	if scans != 0 {
		t.Fatalf("after the push: %d scans", scans)
	}
	same(t, "other alarm, indexed by the push", w.indexed("web-latency"), "b")
	_ = e

	// An alarm no service lists is scanned once, then answered empty.
	got, scans = w.resolve("unrelated")
	if len(got) != 0 || scans != 1 {
		t.Fatalf("unrelated alarm: %v, %d scans", got, scans)
	}
	got, scans = w.resolve("unrelated")
	if len(got) != 0 || scans != 0 {
		t.Fatalf("unrelated alarm again: %v, %d scans, want none and no scan", got, scans)
	}
}

// TestForAlarmIndexLinkedAlarm: an alarm whose own pushdeploy:service tag
// names a service resolves it from the index path too (the alarms' tags
// are read, not the services'), and a deleted service leaves the index.
func TestForAlarmIndexLinkedAlarm(t *testing.T) {
	w := newIndexWorld(t)
	w.service("a", "web-5xx")
	w.service("b", "")
	if _, scans := w.resolve("web-5xx"); scans != 1 {
		t.Fatal("want the first resolution to scan")
	}
	if _, err := cloudwatch.NewFromConfig(w.c.Config()).PutMetricAlarm(context.Background(), &cloudwatch.PutMetricAlarmInput{
		AlarmName: aws.String("web-5xx"), Namespace: aws.String("App"), MetricName: aws.String("Errors"),
		Statistic: cwtypes.StatisticSum, Period: aws.Int32(60), EvaluationPeriods: aws.Int32(1), Threshold: aws.Float64(1),
		ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanOrEqualToThreshold,
		Tags:               []cwtypes.Tag{{Key: aws.String(target.TagService), Value: aws.String("prod/b")}},
	}); err != nil {
		t.Fatal(err)
	}
	got, scans := w.resolve("web-5xx")
	same(t, "linked by the alarm's tag", got, "a", "b")
	if scans != 0 {
		t.Fatalf("%d scans", scans)
	}
	if _, err := w.ecs.DeleteService(context.Background(), &ecs.DeleteServiceInput{Cluster: aws.String("prod"), Service: aws.String("a"), Force: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	got, _ = w.resolve("web-5xx")
	same(t, "after a was deleted", got, "b")
	same(t, "index after a was deleted", w.indexed("web-5xx"))
}
