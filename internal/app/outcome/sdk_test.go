package outcome_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/pushdeploy/pushdeploy/internal/app/clock"
	"github.com/pushdeploy/pushdeploy/internal/app/outcome"
	"github.com/pushdeploy/pushdeploy/internal/app/taskdef"
	"github.com/pushdeploy/pushdeploy/internal/local/localcloud"
	"github.com/pushdeploy/pushdeploy/internal/local/localcloud/bus"
	cwlocal "github.com/pushdeploy/pushdeploy/internal/local/localcloud/cloudwatch"
	ecslocal "github.com/pushdeploy/pushdeploy/internal/local/localcloud/ecs"
	"github.com/pushdeploy/pushdeploy/internal/local/localtest"
)

const (
	reg  = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
	good = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	bad  = "sha256:badbadbadbadbadbadbadbadbadbadbadbadbadbadbadbadbadbadbadbadbadb"
)

// alarms is the local ECS's view of alarm states (for deployment alarms)
// and pushdeploy's (for outcome.Input.Alarms).
type alarms struct {
	mu     sync.Mutex
	states map[string]outcome.Alarm
}

func (a *alarms) AlarmState(_ context.Context, name string) (string, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	s, ok := a.states[name]
	return s.State, ok
}

func (a *alarms) set(name, state string, at time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.states[name] = outcome.Alarm{Name: name, State: state, Reason: "test", UpdatedAt: at}
}

func (a *alarms) list() []outcome.Alarm {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []outcome.Alarm
	for _, s := range a.states {
		out = append(out, s)
	}
	return out
}

// TestEvaluateLocalECS deploys with the domain packages against the local
// ECS on a virtual clock and polls Evaluate until it decides: the verdicts
// must match what ECS really did (stable on the old revision is a failure).
func TestEvaluateLocalECS(t *testing.T) {
	cb := func(rollback bool) *ecstypes.DeploymentConfiguration {
		return &ecstypes.DeploymentConfiguration{DeploymentCircuitBreaker: &ecstypes.DeploymentCircuitBreaker{Enable: true, Rollback: rollback}}
	}
	tests := []struct {
		name       string
		cfg        *ecstypes.DeploymentConfiguration
		digest     string
		fail       ecslocal.FailMode
		alarmAfter time.Duration // set web-5xx to ALARM this long into the rollout
		ecsOnly    bool          // pushdeploy does not watch the alarm
		maxFailed  int
		slow       bool // rollouts take an hour
		wantCause  outcome.Cause
		wantOnNew  bool // decided with the new revision primary
	}{
		{name: "healthy", cfg: cb(true), digest: good, wantCause: outcome.CauseCompleted, wantOnNew: true},
		{name: "crash loop, circuit breaker rolls back", cfg: cb(true), digest: bad, fail: ecslocal.FailToStart, wantCause: outcome.CauseCircuitBreaker},
		{name: "failing health checks, circuit breaker rolls back", cfg: cb(true), digest: bad, fail: ecslocal.FailHealthCheck, wantCause: outcome.CauseCircuitBreaker},
		{name: "crash loop, circuit breaker without rollback", cfg: cb(false), digest: bad, fail: ecslocal.FailToStart, wantCause: outcome.CauseCircuitBreaker, wantOnNew: true},
		{name: "crash loop, no circuit breaker, failed task limit", digest: bad, fail: ecslocal.FailToStart, maxFailed: 3, wantCause: outcome.CauseTasksFailing, wantOnNew: true},
		{name: "ECS deployment alarms roll back", digest: good, alarmAfter: 20 * time.Second, ecsOnly: true, wantCause: outcome.CauseECSRollback, cfg: &ecstypes.DeploymentConfiguration{
			Alarms: &ecstypes.DeploymentAlarms{AlarmNames: []string{"web-5xx"}, Enable: true, Rollback: true}}},
		{name: "pushdeploy's alarm during the rollout", cfg: cb(true), digest: good, alarmAfter: 20 * time.Second, wantCause: outcome.CauseAlarm, wantOnNew: true},
		{name: "timeout", cfg: cb(true), digest: good, slow: true, wantCause: outcome.CauseTimeout, wantOnNew: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			al := &alarms{states: map[string]outcome.Alarm{}}
			var les *ecslocal.Service
			c := localtest.New(t, func(clk *clock.Virtual) []localcloud.RPCService {
				var err error
				les, err = ecslocal.New(ecslocal.Options{Clock: clk, Account: localtest.Account, Region: localtest.Region, Alarms: al})
				if err != nil {
					t.Fatal(err)
				}
				return []localcloud.RPCService{les}
			})
			stop := c.Clock.AutoAdvance(0)
			defer stop()
			e := ecs.NewFromConfig(c.Config())
			ctx := context.Background()
			if _, err := e.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("prod")}); err != nil {
				t.Fatal(err)
			}
			v1, err := e.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("web"), ContainerDefinitions: []ecstypes.ContainerDefinition{
				{Name: aws.String("app"), Image: aws.String(reg + "/web:latest"), Memory: aws.Int32(128)},
				{Name: aws.String("log"), Image: aws.String("public.ecr.aws/fluent/fluent-bit:3"), Memory: aws.Int32(32)},
			}})
			if err != nil {
				t.Fatal(err)
			}
			prev := aws.ToString(v1.TaskDefinition.TaskDefinitionArn)
			if _, err := e.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String("prod"), ServiceName: aws.String("web"),
				TaskDefinition: aws.String(prev), DesiredCount: aws.Int32(4), DeploymentConfiguration: tt.cfg}); err != nil {
				t.Fatal(err)
			}
			describe := func() ecstypes.Service {
				t.Helper()
				out, err := e.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String("prod"), Services: []string{"web"}})
				if err != nil || len(out.Services) != 1 {
					t.Fatalf("describe: %v %+v", err, out)
				}
				return out.Services[0]
			}
			// Wait for the first rollout with Evaluate itself.
			poll(t, c.Clock, func(now time.Time) bool {
				return outcome.Evaluate(outcome.Input{Service: describe(), Expected: prev, Now: now}).Status == outcome.Completed
			})

			// Deploy: copy the task definition, pin the app image, update.
			desc, err := e.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(prev)})
			if err != nil {
				t.Fatal(err)
			}
			in := taskdef.RegisterInput(desc.TaskDefinition, desc.Tags)
			if _, err := taskdef.ReplaceImages(in, taskdef.Image{Registry: reg, Repository: "web", Digest: tt.digest}, nil, taskdef.Policy{}); err != nil {
				t.Fatal(err)
			}
			if tt.digest == bad {
				les.Faults().FailImage(ecslocal.ImageFault{Image: bad, Mode: tt.fail, ExitCode: 1})
			}
			if tt.slow {
				les.Faults().SetRolloutDuration("", time.Hour)
			}
			v2, err := e.RegisterTaskDefinition(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			expected := aws.ToString(v2.TaskDefinition.TaskDefinitionArn)
			up, err := e.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("web"), TaskDefinition: aws.String(expected)})
			if err != nil {
				t.Fatal(err)
			}
			started := c.Clock.Now()
			depID := aws.ToString(up.Service.Deployments[0].Id)

			var got outcome.Result
			poll(t, c.Clock, func(now time.Time) bool {
				if tt.alarmAfter > 0 && now.Sub(started) >= tt.alarmAfter {
					if _, ok := al.AlarmState(ctx, "web-5xx"); !ok {
						al.set("web-5xx", "ALARM", now)
					}
				}
				watched := al.list()
				if tt.ecsOnly {
					watched = nil
				}
				got = outcome.Evaluate(outcome.Input{
					Phase: outcome.Rollout, Service: describe(), Expected: expected, Previous: prev, DeploymentID: depID,
					Alarms: watched, AlarmsSince: started, Now: now, Deadline: started.Add(10 * time.Minute), MaxFailedTasks: tt.maxFailed,
				})
				return got.Decided()
			})
			if got.Cause != tt.wantCause {
				t.Fatalf("cause %s (%s), want %s", got.Cause, got.Reason, tt.wantCause)
			}
			if wantSucceeded := tt.wantCause == outcome.CauseCompleted; (got.Status == outcome.Completed) != wantSucceeded {
				t.Errorf("status %s", got.Status)
			}
			wantTD := prev
			if tt.wantOnNew {
				wantTD = expected
			}
			if got.TaskDefinition != wantTD {
				t.Errorf("decided on %s, want %s", got.TaskDefinition, wantTD)
			}
			if !tt.wantOnNew {
				// Once ECS's own rollback settles, the verdict stands: stable
				// on the old revision is still a failed deploy.
				poll(t, c.Clock, func(time.Time) bool {
					s := describe()
					return len(s.Deployments) == 1 && s.Deployments[0].RolloutState == ecstypes.DeploymentRolloutStateCompleted
				})
				later := outcome.Evaluate(outcome.Input{Service: describe(), Expected: expected, Previous: prev, DeploymentID: depID, Now: c.Clock.Now()})
				if later.Status != outcome.Failed || later.Cause != tt.wantCause || !strings.Contains(later.Reason, "rolled back") {
					t.Errorf("after ECS's rollback settled: %+v", later)
				}
			}
		})
	}
}

// poll calls cond every 5 s of virtual time (holding the clock still while
// it looks) until it returns true, for at most two virtual hours.
func poll(t *testing.T, clk *clock.Virtual, cond func(now time.Time) bool) {
	t.Helper()
	for range 1440 {
		hold := clk.Busy()
		ok := cond(clk.Now())
		hold()
		if ok {
			return
		}
		if err := clk.Sleep(context.Background(), 5*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	t.Fatal("not decided in two hours of virtual time")
}

// TestAlarmsFromLocalCloudWatch reads alarm states with the real client
// through DescribeAlarmsInput and AlarmsFrom.
func TestAlarmsFromLocalCloudWatch(t *testing.T) {
	c := localtest.New(t, func(clk *clock.Virtual) []localcloud.RPCService {
		cw, err := cwlocal.New(clk, localtest.Account, bus.Discard{})
		if err != nil {
			t.Fatal(err)
		}
		return []localcloud.RPCService{cw}
	})
	cw := cloudwatch.NewFromConfig(c.Config())
	ctx := context.Background()
	for _, name := range []string{"web-5xx", "web-latency"} {
		if _, err := cw.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{
			AlarmName: aws.String(name), Namespace: aws.String("App"), MetricName: aws.String(name),
			Statistic: cwtypes.StatisticSum, Period: aws.Int32(60), EvaluationPeriods: aws.Int32(1), Threshold: aws.Float64(1),
			ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanOrEqualToThreshold,
		}); err != nil {
			t.Fatal(err)
		}
	}
	c.Clock.Advance(time.Minute)
	if _, err := cw.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{AlarmName: aws.String("web-5xx"), StateValue: cwtypes.StateValueAlarm, StateReason: aws.String("errors")}); err != nil {
		t.Fatal(err)
	}
	out, err := cw.DescribeAlarms(ctx, outcome.DescribeAlarmsInput([]string{"web-5xx", "web-latency", "missing"}))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]outcome.Alarm{}
	for _, a := range outcome.AlarmsFrom(out) {
		got[a.Name] = a
	}
	if a := got["web-5xx"]; a.State != "ALARM" || a.Reason != "errors" || !a.UpdatedAt.Equal(localtest.Start.Add(time.Minute)) {
		t.Errorf("web-5xx = %+v", a)
	}
	if a := got["web-latency"]; a.State == "ALARM" || len(got) != 2 {
		t.Errorf("alarms = %+v", got)
	}
}
