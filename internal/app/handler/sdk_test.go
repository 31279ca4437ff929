package handler

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/pushdeploy/pushdeploy/internal/app/clock"
	"github.com/pushdeploy/pushdeploy/internal/app/contract"
	"github.com/pushdeploy/pushdeploy/internal/app/history"
	"github.com/pushdeploy/pushdeploy/internal/app/tracing"
	"github.com/pushdeploy/pushdeploy/internal/local/localcloud"
	localecr "github.com/pushdeploy/pushdeploy/internal/local/localcloud/ecr"
	"github.com/pushdeploy/pushdeploy/internal/local/samlocal"
)

// table is the SDK tier's history table.
const table = "pushdeploy-history"

// sdkTier is the local cloud over HTTP with pushdeploy's functions built as
// their mains build them, tracing on: invoke runs one, and checks that it
// called only what template.yaml allows it and that X-Ray saw every call.
type sdkTier struct {
	ctx    context.Context
	clk    *clock.Virtual
	cloud  *localcloud.Cloud
	cfg    aws.Config
	digest string
	invoke func(name string, in, out any) error
}

func newSDKTier(t *testing.T) *sdkTier {
	t.Helper()
	ctx := context.Background()
	clk := clock.NewVirtual(t0)
	cloud, err := localcloud.New(localcloud.Options{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(cloud.Server)
	t.Cleanup(func() { srv.Close(); cloud.Close() })
	cfg := aws.Config{
		Region:       region,
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(srv.URL),
	}

	setupCloud(t, ctx, cfg, table)
	manifest := localecr.Manifest("v42")
	// The test is about the handlers, not blob uploads: take the layers as
	// uploaded (the local ECR's Go-only shortcut).
	if err := cloud.ECR().SeedLayers(ctx, "web", manifest); err != nil {
		t.Fatal(err)
	}
	if _, err := ecr.NewFromConfig(cfg).PutImage(ctx, &ecr.PutImageInput{RepositoryName: aws.String("web"), ImageTag: aws.String("v42"), ImageManifest: aws.String(string(manifest))}); err != nil {
		t.Fatal(err)
	}
	digest := localecr.Digest(manifest)

	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	env := envOf(map[string]string{EnvHistoryTable: table})
	// The functions' clients trace as in Lambda with Tracing: Active, and
	// each invocation carries a sampled trace: every call they make must
	// reach the X-Ray daemon as a subsegment.
	daemon := xrayDaemon(t)
	traced := cfg
	tracing.Instrument(&traced)
	//lint:ignore SA1029 the string key aws-lambda-go itself uses
	invocation := context.WithValue(ctx, "x-amzn-trace-id", "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1")
	fns := map[string]lambda.Handler{}
	for _, name := range Names {
		if fns[name], err = newFunction(name, ClientsFrom(traced), env, clk, log); err != nil {
			t.Fatal(err)
		}
	}
	allowed := templateActions(t)
	invoke := func(name string, in, out any) error {
		t.Helper()
		payload, err := json.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		before := len(cloud.Log().Calls())
		res, err := fns[name].Invoke(invocation, payload)
		calls := cloud.Log().Calls()[before:]
		var called, recorded []string
		for _, c := range calls {
			called = append(called, c.Operation)
		}
		for range calls {
			if doc := daemon.next(); doc != nil {
				recorded = append(recorded, doc.AWS.Operation)
			}
		}
		slices.Sort(called)
		slices.Sort(recorded)
		if !slices.Equal(called, recorded) {
			t.Errorf("%s called %v, X-Ray recorded %v", name, called, recorded)
		}
		// Least privilege, checked against what the function really called.
		for _, c := range calls {
			action := iamPrefix[c.Service] + ":" + c.Operation
			if action == "dynamodb:TransactWriteItems" {
				// IAM checks a transaction's items by their own actions;
				// finish's transaction is made of Puts.
				action = "dynamodb:PutItem"
			}
			if !allowed[name][action] {
				t.Errorf("%s called %s, which template.yaml does not allow it", name, action)
			}
		}
		if err != nil {
			return err
		}
		if err := contract.DecodeStrict(res, out); err != nil {
			t.Fatalf("%s output %s: %v", name, res, err)
		}
		return nil
	}
	return &sdkTier{ctx: ctx, clk: clk, cloud: cloud, cfg: cfg, digest: digest, invoke: invoke}
}

// TestSDKTier runs the functions as their mains build them, with the real SDK clients and
// the real domain stores, against the local cloud over HTTP: plan, register,
// update, check and finish of a manual deploy by tag, and a bad input.
func TestSDKTier(t *testing.T) {
	if testing.Short() {
		t.Skip("local cloud")
	}
	st := newSDKTier(t)
	ctx, clk, cloud, cfg, digest, invoke := st.ctx, st.clk, st.cloud, st.cfg, st.digest, st.invoke
	exec := contract.Execution{ID: execArn, Name: "run-1", StartTime: clk.Now()}

	// A bad input: a named error, nothing written.
	var p contract.Plan
	err := invoke("plan", contract.PlanInput{Execution: exec, Input: json.RawMessage(`{"action":"deploy","cluster":"prod","service":"web","image":"` + registry + `/web:v404"}`)}, &p)
	if errName(err) != "ImageNotFound" {
		t.Fatalf("plan of a missing tag: %v (%s)", err, errName(err))
	}

	if err := invoke("plan", contract.PlanInput{Execution: exec, Input: json.RawMessage(`{"action":"deploy","cluster":"prod","service":"web","image":"` + registry + `/web:v42"}`)}, &p); err != nil {
		t.Fatal(err)
	}
	if p.Image == nil || p.Image.Digest != digest || p.LeaseOwner != execArn || p.CurrentTaskDefinitionArn != td(1) {
		t.Fatalf("plan %+v", p)
	}
	var reg contract.RegisterResult
	if err := invoke("register", contract.RegisterInput{Plan: p}, &reg); err != nil {
		t.Fatal(err)
	}
	if reg.TaskDefinitionArn != td(2) {
		t.Fatalf("register %+v", reg)
	}
	var upd contract.UpdateResult
	if err := invoke("update", contract.UpdateInput{Plan: p, TaskDefinitionArn: reg.TaskDefinitionArn, Purpose: contract.PurposeDeploy}, &upd); err != nil {
		t.Fatal(err)
	}
	if upd.PreviousTaskDefinitionArn != td(1) || upd.DeploymentID == "" || !upd.StartedAt.Equal(clk.Now()) {
		t.Fatalf("update %+v (now %s)", upd, clk.Now())
	}
	// The wait: watch stores the token (undecided yet); the ECS event's
	// waker judges it, and wakes it once decided. The token is not one the
	// local Step Functions issued, so SendTaskSuccess fails as for a wait
	// that already ended.
	var wr contract.WatchResult
	if err := invoke("watch", contract.WatchInput{Token: "token-1", Phase: contract.PhaseRollout, Plan: p, Update: upd, Since: upd.StartedAt}, &wr); err != nil {
		t.Fatal(err)
	}
	if !wr.Stored || wr.Decided {
		t.Fatalf("watch %+v", wr)
	}
	var er contract.EventsResult
	ecsEvent := contract.Event{Source: contract.SourceECS, DetailType: contract.DetailTypeECSDeployment, Resources: []string{webArn},
		Detail: json.RawMessage(`{"eventName":"SERVICE_DEPLOYMENT_COMPLETED","deploymentId":"` + upd.DeploymentID + `"}`)}
	if err := invoke("events", ecsEvent, &er); err != nil {
		t.Fatal(err)
	}
	if n := cloud.Log().Count("sfn", "SendTaskSuccess"); n != 0 || er.Parked != 1 {
		t.Errorf("%d SendTaskSuccess calls, result %+v: the rollout is not done, want the wait left parked", n, er)
	}
	var o contract.Outcome
	for i := 0; i < 60 && o.Status != contract.StatusCompleted; i++ {
		if err := invoke("check", contract.CheckInput{Phase: contract.PhaseRollout, Plan: p, Update: upd, Since: upd.StartedAt}, &o); err != nil {
			t.Fatal(err)
		}
		if o.Status == contract.StatusFailed {
			t.Fatalf("outcome %+v", o)
		}
		clk.Advance(15 * time.Second)
	}
	if o.Status != contract.StatusCompleted || o.TaskDefinitionArn != td(2) {
		t.Fatalf("rollout did not complete: %+v", o)
	}
	if err := invoke("events", ecsEvent, &er); err != nil {
		t.Fatal(err)
	}
	if n := cloud.Log().Count("sfn", "SendTaskSuccess"); n != 1 {
		t.Errorf("%d SendTaskSuccess calls, want 1: the rollout completed", n)
	}
	doc := contract.FinishInput{Execution: exec, Input: json.RawMessage(`{"action":"deploy","cluster":"prod","service":"web"}`),
		Plan: &contract.Result[contract.Plan]{Payload: p}, Register: &contract.Result[contract.RegisterResult]{Payload: reg},
		Update: &contract.Result[contract.UpdateResult]{Payload: upd}, Outcome: &contract.Result[contract.Outcome]{Payload: o},
		Bake: &contract.Result[contract.Outcome]{Payload: contract.Outcome{Status: contract.StatusCompleted, Cause: "baked", Reason: "ok", TaskDefinitionArn: td(2)}}}
	// A follower (pushdeploy:after=prod/web): finish starts its deploy,
	// with the calls template.yaml must allow finish (GetResources, the
	// ticket's PutItem, StartExecution).
	c := ecs.NewFromConfig(cfg)
	if _, err := c.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("dr")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateService(ctx, &ecs.CreateServiceInput{
		Cluster: aws.String("dr"), ServiceName: aws.String("web"), TaskDefinition: aws.String("web:1"), DesiredCount: aws.Int32(1),
		LaunchType: ecstypes.LaunchTypeFargate,
		NetworkConfiguration: &ecstypes.NetworkConfiguration{AwsvpcConfiguration: &ecstypes.AwsVpcConfiguration{
			Subnets: []string{"subnet-0123456789abcdef0"}}},
		Tags: []ecstypes.Tag{
			{Key: aws.String("pushdeploy:repository"), Value: aws.String("web")},
			{Key: aws.String("pushdeploy:after"), Value: aws.String("prod/web")},
		},
	}); err != nil {
		t.Fatal(err)
	}
	started := cloud.Log().Count("sfn", "StartExecution")
	var fin contract.FinishResult
	if err := invoke("finish", doc, &fin); err != nil {
		t.Fatal(err)
	}
	if fin.Status != contract.TerminalSucceeded || !fin.Notified || !fin.LeaseReleased {
		t.Fatalf("finish %+v", fin)
	}
	if n := cloud.Log().Count("sfn", "StartExecution") - started; n != 1 {
		t.Errorf("finish called StartExecution %d times, want 1 (the follower's promotion)", n)
	}
	store, err := history.New(dynamodb.NewFromConfig(cfg), table, 0)
	if err != nil {
		t.Fatal(err)
	}
	page, err := store.List(ctx, webArn, 10, "")
	if err != nil || len(page.Records) != 1 || page.Records[0].Outcome != history.Succeeded || page.Records[0].ToRevision != td(2) {
		t.Fatalf("history %+v (%v)", page, err)
	}
	if !strings.HasSuffix(page.Records[0].Images[0].Image, "@"+digest) {
		t.Errorf("image %+v", page.Records[0].Images)
	}
	// Retrying finish writes no second record.
	if err := invoke("finish", doc, &fin); err != nil {
		t.Fatal(err)
	}
	if page, _ = store.List(ctx, webArn, 10, ""); len(page.Records) != 1 {
		t.Errorf("%d records after a retried finish", len(page.Records))
	}
}

func setupCloud(t *testing.T, ctx context.Context, cfg aws.Config, table string) {
	t.Helper()
	db := dynamodb.NewFromConfig(cfg)
	if _, err := db.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName: aws.String(table), BillingMode: ddbtypes.BillingModePayPerRequest,
		AttributeDefinitions: []ddbtypes.AttributeDefinition{
			{AttributeName: aws.String("pk"), AttributeType: ddbtypes.ScalarAttributeTypeS},
			{AttributeName: aws.String("sk"), AttributeType: ddbtypes.ScalarAttributeTypeS}},
		KeySchema: []ddbtypes.KeySchemaElement{
			{AttributeName: aws.String("pk"), KeyType: ddbtypes.KeyTypeHash},
			{AttributeName: aws.String("sk"), KeyType: ddbtypes.KeyTypeRange}},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := ecr.NewFromConfig(cfg).CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String("web")}); err != nil {
		t.Fatal(err)
	}
	c := ecs.NewFromConfig(cfg)
	if _, err := c.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("prod")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family: aws.String("web"), Cpu: aws.String("256"), Memory: aws.String("512"), NetworkMode: ecstypes.NetworkModeAwsvpc,
		RequiresCompatibilities: []ecstypes.Compatibility{ecstypes.CompatibilityFargate},
		ContainerDefinitions: []ecstypes.ContainerDefinition{
			{Name: aws.String("app"), Image: aws.String(registry + "/web@" + digestOld), Essential: aws.Bool(true)},
			{Name: aws.String("envoy"), Image: aws.String("public.ecr.aws/appmesh/aws-appmesh-envoy:v1.29"), Essential: aws.Bool(true)},
		},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateService(ctx, &ecs.CreateServiceInput{
		Cluster: aws.String("prod"), ServiceName: aws.String("web"), TaskDefinition: aws.String("web:1"), DesiredCount: aws.Int32(2),
		LaunchType: ecstypes.LaunchTypeFargate,
		NetworkConfiguration: &ecstypes.NetworkConfiguration{AwsvpcConfiguration: &ecstypes.AwsVpcConfiguration{
			Subnets: []string{"subnet-0123456789abcdef0"}}},
		DeploymentConfiguration: &ecstypes.DeploymentConfiguration{
			DeploymentCircuitBreaker: &ecstypes.DeploymentCircuitBreaker{Enable: true, Rollback: true}},
		Tags: []ecstypes.Tag{
			{Key: aws.String("pushdeploy:repository"), Value: aws.String("web")},
			{Key: aws.String("pushdeploy:tags"), Value: aws.String("v*")},
			{Key: aws.String("pushdeploy:containers"), Value: aws.String("app")},
			{Key: aws.String("pushdeploy:alarms"), Value: aws.String("web-5xx")},
		},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := cloudwatch.NewFromConfig(cfg).PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{
		AlarmName: aws.String("web-5xx"), MetricName: aws.String("HTTPCode_Target_5XX_Count"), Namespace: aws.String("AWS/ApplicationELB"),
		Statistic: cwtypes.StatisticSum, Period: aws.Int32(60), EvaluationPeriods: aws.Int32(1), Threshold: aws.Float64(5),
		ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanThreshold,
	}); err != nil {
		t.Fatal(err)
	}
}

// iamPrefix maps the local cloud's service names to IAM action prefixes.
var iamPrefix = map[string]string{"ecs": "ecs", "ecr": "ecr", "dynamodb": "dynamodb", "cloudwatch": "cloudwatch",
	"events": "events", "tagging": "tag", "sfn": "states", "lambda": "lambda"}

// templateActions reads the IAM actions each function's policies allow.
func templateActions(t *testing.T) map[string]map[string]bool {
	t.Helper()
	tpl, err := samlocal.Load("../../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]bool{}
	for _, name := range Names {
		id := strings.ToUpper(name[:1]) + name[1:] + "Function"
		out[name] = map[string]bool{}
		policies, _ := tpl.Resources[id].Properties["Policies"].([]any)
		for _, p := range policies {
			stmts, _ := p.(map[string]any)["Statement"].([]any)
			for _, st := range stmts {
				acts, _ := st.(map[string]any)["Action"].([]any)
				for _, a := range acts {
					out[name][a.(string)] = true
				}
			}
		}
	}
	return out
}

// daemon is a stand-in X-Ray daemon at AWS_XRAY_DAEMON_ADDRESS.
type daemon struct{ conn *net.UDPConn }

type subsegment struct {
	Type string `json:"type"`
	AWS  struct {
		Operation string `json:"operation"`
	} `json:"aws"`
}

func xrayDaemon(t *testing.T) daemon {
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	t.Setenv("AWS_XRAY_DAEMON_ADDRESS", conn.LocalAddr().String())
	return daemon{conn}
}

// next is the next subsegment sent, nil after a second without one.
func (d daemon) next() *subsegment {
	d.conn.SetReadDeadline(time.Now().Add(time.Second))
	buf := make([]byte, 64<<10)
	n, err := d.conn.Read(buf)
	if err != nil {
		return nil
	}
	_, body, _ := strings.Cut(string(buf[:n]), "\n")
	var s subsegment
	if json.Unmarshal([]byte(body), &s) != nil || s.Type != "subsegment" {
		return nil
	}
	return &s
}
