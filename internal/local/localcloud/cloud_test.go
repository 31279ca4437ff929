package localcloud_test

import (
	"context"
	"encoding/json"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/pushdeploy/pushdeploy/internal/app/clock"
	"github.com/pushdeploy/pushdeploy/internal/local/localcloud"
	"github.com/pushdeploy/pushdeploy/internal/local/localcloud/lambda"
	"github.com/pushdeploy/pushdeploy/internal/local/localcloud/localtest"
)

// eventSink is an in-process Lambda function that keeps the events it gets.
type eventSink struct {
	mu     sync.Mutex
	events []map[string]any
}

func (s *eventSink) Invoke(_ context.Context, payload []byte) ([]byte, error) {
	var e map[string]any
	if err := json.Unmarshal(payload, &e); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = append(s.events, e)
	return []byte("null"), nil
}

func (s *eventSink) names() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, e := range s.events {
		d, _ := e["detail"].(map[string]any)
		n, _ := d["eventName"].(string)
		out = append(out, n)
	}
	return out
}

// TestCloudAlarmRollbackThroughEveryService wires the whole cloud: a
// CloudWatch alarm set through the CloudWatch API fails an ECS deployment,
// ECS rolls back, and its events reach a Lambda function and a Step
// Functions state machine through EventBridge rules.
func TestCloudAlarmRollbackThroughEveryService(t *testing.T) {
	clk := clock.NewVirtual(time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC))
	cloud, err := localcloud.New(localcloud.Options{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	url, err := cloud.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cloud.Close() })
	t.Cleanup(clk.AutoAdvance(0))
	ctx := context.Background()
	cfg := localtest.Config(url)
	ecsc := ecs.NewFromConfig(cfg)
	cwc := cloudwatch.NewFromConfig(cfg)
	ebc := eventbridge.NewFromConfig(cfg)

	sink := &eventSink{}
	cloud.Lambda().RegisterInProcess("sink", sink)
	fn, err := cloud.Lambda().CreateFunction(ctx, lambda.CreateInput{Name: "sink", Role: "arn:aws:iam::123456789012:role/sink"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ebc.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("ecs"),
		EventPattern: aws.String(`{"source":["aws.ecs"],"detail-type":["ECS Deployment State Change"]}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := ebc.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("ecs"),
		Targets: []ebtypes.Target{{Id: aws.String("sink"), Arn: aws.String(fn.Arn)}}}); err != nil {
		t.Fatal(err)
	}
	sfc := sfn.NewFromConfig(cfg)
	sm, err := sfc.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String("on-failure"), RoleArn: aws.String("arn:aws:iam::123456789012:role/sfn"),
		Definition: aws.String(`{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}`)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ebc.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("ecs-failed"),
		EventPattern: aws.String(`{"source":["aws.ecs"],"detail":{"eventName":["SERVICE_DEPLOYMENT_FAILED"]}}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := ebc.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("ecs-failed"),
		Targets: []ebtypes.Target{{Id: aws.String("sm"), Arn: sm.StateMachineArn, RoleArn: aws.String("arn:aws:iam::123456789012:role/events")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := cwc.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{
		AlarmName: aws.String("web-5xx"), Namespace: aws.String("AWS/ApplicationELB"), MetricName: aws.String("HTTPCode_Target_5XX_Count"),
		Statistic: cwtypes.StatisticSum, Period: aws.Int32(60), EvaluationPeriods: aws.Int32(1), Threshold: aws.Float64(1),
		ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanOrEqualToThreshold,
	}); err != nil {
		t.Fatal(err)
	}

	if _, err := ecsc.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("default")}); err != nil {
		t.Fatal(err)
	}
	register := func(image string) string {
		out, err := ecsc.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("web"),
			ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String(image), Memory: aws.Int32(128)}}})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.TaskDefinition.TaskDefinitionArn)
	}
	good := register("web:1")
	if _, err := ecsc.CreateService(ctx, &ecs.CreateServiceInput{ServiceName: aws.String("web"), TaskDefinition: aws.String(good),
		DesiredCount: aws.Int32(2), DeploymentConfiguration: &types.DeploymentConfiguration{
			Alarms: &types.DeploymentAlarms{AlarmNames: []string{"web-5xx"}, Enable: true, Rollback: true}}}); err != nil {
		t.Fatal(err)
	}
	describe := func() types.Service {
		out, err := ecsc.DescribeServices(ctx, &ecs.DescribeServicesInput{Services: []string{"web"}})
		if err != nil || len(out.Services) != 1 {
			t.Fatalf("describe: %v %+v", err, out)
		}
		return out.Services[0]
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for range 200 {
			if cond() {
				return
			}
			clk.Sleep(ctx, 10*time.Second)
		}
		t.Fatalf("%s: not reached: %d deployments", what, len(describe().Deployments))
	}
	waitFor("first deployment completes", func() bool { return describe().Deployments[0].RolloutState == types.DeploymentRolloutStateCompleted })

	bad := register("web:2")
	if _, err := ecsc.UpdateService(ctx, &ecs.UpdateServiceInput{Service: aws.String("web"), TaskDefinition: aws.String(bad)}); err != nil {
		t.Fatal(err)
	}
	if _, err := cwc.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{AlarmName: aws.String("web-5xx"),
		StateValue: cwtypes.StateValueAlarm, StateReason: aws.String("test")}); err != nil {
		t.Fatal(err)
	}
	waitFor("rollback completes", func() bool {
		s := describe()
		return len(s.Deployments) == 1 && s.Deployments[0].RolloutState == types.DeploymentRolloutStateCompleted
	})
	if s := describe(); aws.ToString(s.TaskDefinition) != good {
		t.Fatalf("service ended on %s, want the old revision %s", aws.ToString(s.TaskDefinition), good)
	}
	waitFor("events delivered", func() bool { return len(sink.names()) >= 6 })
	want := []string{"SERVICE_DEPLOYMENT_IN_PROGRESS", "SERVICE_DEPLOYMENT_COMPLETED", "SERVICE_DEPLOYMENT_IN_PROGRESS",
		"SERVICE_DEPLOYMENT_FAILED", "SERVICE_DEPLOYMENT_IN_PROGRESS", "SERVICE_DEPLOYMENT_COMPLETED"}
	// EventBridge does not promise order: compare as sets.
	got := sink.names()
	sort.Strings(got)
	sort.Strings(want)
	if len(got) != len(want) {
		t.Fatalf("events at the function: %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("events at the function: %v, want %v", got, want)
		}
	}
	waitFor("the failure started the state machine", func() bool {
		out, err := sfc.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: sm.StateMachineArn})
		return err == nil && len(out.Executions) == 1
	})
	if n := cloud.Log().Count("ecs", "UpdateService"); n != 1 {
		t.Errorf("call log counts %d UpdateService calls, want 1", n)
	}
}

// BenchmarkCloudStart is the cost of building every service and listening:
// what `pushdeploy localcloud` pays before it serves.
func BenchmarkCloudStart(b *testing.B) {
	for range b.N {
		c, err := localcloud.New(localcloud.Options{Clock: clock.NewVirtual(time.Time{})})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.Listen("127.0.0.1:0"); err != nil {
			b.Fatal(err)
		}
		if err := c.Close(); err != nil {
			b.Fatal(err)
		}
	}
}
