package localcloud_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/resourcegroupstaggingapi"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/smithy-go"

	"github.com/pushdeploy/pushdeploy/internal/app/clock"
	"github.com/pushdeploy/pushdeploy/internal/local/localcloud"
	"github.com/pushdeploy/pushdeploy/internal/local/localcloud/localtest"
)

// realismCloud serves a local cloud in realism mode on a clock that moves
// only when the test advances it, and a client config with no retries (a
// retry would hide the bucket).
func realismCloud(t *testing.T, r *localcloud.Realism) (aws.Config, *clock.Virtual, *localcloud.Cloud) {
	t.Helper()
	clk := clock.NewVirtual(time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC))
	cloud, err := localcloud.New(localcloud.Options{Clock: clk, Realism: r})
	if err != nil {
		t.Fatal(err)
	}
	url, err := cloud.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cloud.Close() })
	cfg := localtest.Config(url)
	cfg.Retryer = func() aws.Retryer { return aws.NopRetryer{} }
	return cfg, clk, cloud
}

// calls makes n calls and returns how many were not throttled; every
// throttled one must be the service's throttling answer, with HTTP 400,
// that the SDK classifies as throttling.
func calls(t *testing.T, n int, wantCode string, call func() error) int {
	t.Helper()
	ok := 0
	for range n {
		err := call()
		var api smithy.APIError
		if errors.As(err, &api) && api.ErrorCode() == wantCode {
			var re *awshttp.ResponseError
			if !errors.As(err, &re) || re.HTTPStatusCode() != 400 {
				t.Fatalf("throttled with status %v, want 400", err)
			}
			if retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err) != aws.TrueTernary {
				t.Fatalf("the SDK does not classify %v as throttling", err)
			}
			continue
		}
		ok++
	}
	return ok
}

// TestRealismECSServiceModifyBucket: ECS's "Service modify actions"
// (CreateService, DeleteService, UpdateService) share a bucket of 50 that
// refills at 5 per second of the cloud's clock. A call answered with an
// error of its own (no such cluster) still takes its token; a throttled
// call takes none.
func TestRealismECSServiceModifyBucket(t *testing.T) {
	cfg, clk, cloud := realismCloud(t, localcloud.DocumentedRealism())
	ctx := context.Background()
	c := ecs.NewFromConfig(cfg)
	update := func() error {
		_, err := c.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("none"), Service: aws.String("web")})
		return err
	}
	if got := calls(t, 60, "ThrottlingException", update); got != 50 {
		t.Fatalf("burst: %d calls served, want 50", got)
	}
	// The same bucket: CreateService is throttled now too; another
	// category (DescribeServices) is not.
	if got := calls(t, 1, "ThrottlingException", func() error {
		_, err := c.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String("none"), ServiceName: aws.String("x")})
		return err
	}); got != 0 {
		t.Fatalf("CreateService served from an empty Service modify bucket")
	}
	if got := calls(t, 1, "ThrottlingException", func() error {
		_, err := c.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String("none"), Services: []string{"web"}})
		return err
	}); got != 1 {
		t.Fatalf("DescribeServices throttled by the Service modify bucket")
	}
	clk.Advance(time.Second) // 5 tokens
	if got := calls(t, 10, "ThrottlingException", update); got != 5 {
		t.Fatalf("after 1s: %d calls served, want 5 (refill 5/s)", got)
	}
	clk.Advance(time.Hour) // full again, never above 50
	if got := calls(t, 60, "ThrottlingException", update); got != 50 {
		t.Fatalf("after an hour: %d calls served, want the burst of 50", got)
	}
	if n := countErrors(cloud, "ecs", "UpdateService", "ThrottlingException"); n != 10+5+10 {
		t.Fatalf("call log: %d throttled UpdateService, want 25", n)
	}
}

// TestRealismECSTaskDefinitionBucket: RegisterTaskDefinition and
// DeregisterTaskDefinition share "Task definition modify actions", 20
// and 1 per second: the bucket a push to many services drains first.
func TestRealismECSTaskDefinitionBucket(t *testing.T) {
	cfg, clk, _ := realismCloud(t, localcloud.DocumentedRealism())
	ctx := context.Background()
	c := ecs.NewFromConfig(cfg)
	deregister := func() error {
		_, err := c.DeregisterTaskDefinition(ctx, &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String("web:1")})
		return err
	}
	if got := calls(t, 25, "ThrottlingException", deregister); got != 20 {
		t.Fatalf("burst: %d served, want 20", got)
	}
	clk.Advance(2500 * time.Millisecond)
	if got := calls(t, 5, "ThrottlingException", deregister); got != 2 {
		t.Fatalf("after 2.5s: %d served, want 2 (refill 1/s)", got)
	}
}

// TestRealismStepFunctionsByRegion: Step Functions' buckets are per API
// action and larger in us-east-1, us-west-2 and eu-west-1 (DescribeExecution
// 300 and 15/s) than elsewhere (250 and 10/s); each Region has its own.
func TestRealismStepFunctionsByRegion(t *testing.T) {
	cfg, clk, _ := realismCloud(t, localcloud.DocumentedRealism())
	ctx := context.Background()
	describe := func(region string) func() error {
		c := sfn.NewFromConfig(cfg, func(o *sfn.Options) { o.Region = region })
		return func() error {
			_, err := c.DescribeExecution(ctx, &sfn.DescribeExecutionInput{
				ExecutionArn: aws.String("arn:aws:states:" + region + ":123456789012:execution:sm:none")})
			return err
		}
	}
	if got := calls(t, 310, "ThrottlingException", describe("us-east-1")); got != 300 {
		t.Fatalf("us-east-1: %d served, want 300", got)
	}
	if got := calls(t, 260, "ThrottlingException", describe("eu-central-1")); got != 250 {
		t.Fatalf("eu-central-1: %d served, want 250", got)
	}
	clk.Advance(time.Second)
	if got := calls(t, 30, "ThrottlingException", describe("us-east-1")); got != 15 {
		t.Fatalf("us-east-1 after 1s: %d served, want 15", got)
	}
	if got := calls(t, 30, "ThrottlingException", describe("eu-central-1")); got != 10 {
		t.Fatalf("eu-central-1 after 1s: %d served, want 10", got)
	}
}

// TestRealismTaggingAnswer: the tagging API documents no bucket, so the
// documented table enforces none; a bucket a test sets is answered with
// the tagging API's own ThrottledException.
func TestRealismTaggingAnswer(t *testing.T) {
	ctx := context.Background()
	cfg, _, _ := realismCloud(t, localcloud.DocumentedRealism())
	get := func(cfg aws.Config) func() error {
		c := resourcegroupstaggingapi.NewFromConfig(cfg)
		return func() error {
			_, err := c.GetResources(ctx, &resourcegroupstaggingapi.GetResourcesInput{ResourceTypeFilters: []string{"ecs:service"}})
			return err
		}
	}
	if got := calls(t, 200, "ThrottledException", get(cfg)); got != 200 {
		t.Fatalf("documented realism throttled GetResources (%d of 200 served)", got)
	}
	cfg, _, _ = realismCloud(t, &localcloud.Realism{Limits: []localcloud.Limit{
		{Service: "tagging", Category: "test", Bucket: &localcloud.Bucket{Burst: 3, Rate: 1}},
	}})
	if got := calls(t, 5, "ThrottledException", get(cfg)); got != 3 {
		t.Fatalf("a bucket of 3: %d served", got)
	}
}

// TestRealismObservers: an observer's calls (a harness polling) neither
// take tokens nor are throttled.
func TestRealismObservers(t *testing.T) {
	r := localcloud.DocumentedRealism()
	r.Observers = []string{"observer"}
	cfg, _, _ := realismCloud(t, r)
	ctx := context.Background()
	update := func(c *ecs.Client) func() error {
		return func() error {
			_, err := c.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("none"), Service: aws.String("web")})
			return err
		}
	}
	obs := cfg.Copy()
	obs.Credentials = credentials.NewStaticCredentialsProvider("observer", "secret", "")
	if got := calls(t, 80, "ThrottlingException", update(ecs.NewFromConfig(obs))); got != 80 {
		t.Fatalf("observer: %d of 80 served", got)
	}
	if got := calls(t, 60, "ThrottlingException", update(ecs.NewFromConfig(cfg))); got != 50 {
		t.Fatalf("after the observer's calls: %d served, want the whole burst of 50", got)
	}
}

// TestRealismOffByDefault: without Realism nothing is throttled.
func TestRealismOffByDefault(t *testing.T) {
	cfg, _, _ := realismCloud(t, nil)
	c := ecs.NewFromConfig(cfg)
	if got := calls(t, 80, "ThrottlingException", func() error {
		_, err := c.UpdateService(context.Background(), &ecs.UpdateServiceInput{Cluster: aws.String("none"), Service: aws.String("web")})
		return err
	}); got != 80 {
		t.Fatalf("%d of 80 served with realism off", got)
	}
}

func countErrors(c *localcloud.Cloud, service, op, errType string) int {
	n := 0
	for _, call := range c.Log().Calls() {
		if call.Service == service && call.Operation == op && call.Error == errType {
			n++
		}
	}
	return n
}

// TestRealismControlAPI: POST /_localcloud/realism turns the mode on
// (buckets full) and off, for a cloud driven from outside the process.
func TestRealismControlAPI(t *testing.T) {
	cfg, _, _ := realismCloud(t, nil)
	url := aws.ToString(cfg.BaseEndpoint)
	c := ecs.NewFromConfig(cfg)
	update := func() error {
		_, err := c.UpdateService(context.Background(), &ecs.UpdateServiceInput{Cluster: aws.String("none"), Service: aws.String("web")})
		return err
	}
	if code, _ := control(t, url, "POST", "/_localcloud/realism", `{"mode":"sometimes"}`); code != 400 {
		t.Fatalf("bad mode answered %d", code)
	}
	if code, _ := control(t, url, "POST", "/_localcloud/realism", `{"mode":"documented"}`); code != 200 {
		t.Fatalf("documented answered %d", code)
	}
	if got := calls(t, 60, "ThrottlingException", update); got != 50 {
		t.Fatalf("realism on: %d of 60 served, want 50", got)
	}
	if code, _ := control(t, url, "POST", "/_localcloud/realism", `{"mode":"off"}`); code != 200 {
		t.Fatalf("off answered %d", code)
	}
	if got := calls(t, 60, "ThrottlingException", update); got != 60 {
		t.Fatalf("realism off: %d of 60 served", got)
	}
}
