package ecs_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	lecs "github.com/pushdeploy/pushdeploy/internal/local/localcloud/ecs"
)

// The deployment strategies and the service deployment API through the
// real aws-sdk-go-v2 client. Shapes: aws-sdk-go-v2 service/ecs types;
// behaviour: the Amazon ECS Developer Guide pages cited in strategy.go and
// servicedeployment.go.

func strategyConfig(strategy types.DeploymentStrategy) *types.DeploymentConfiguration {
	return &types.DeploymentConfiguration{
		Strategy:                 strategy,
		BakeTimeInMinutes:        aws.Int32(5),
		LinearConfiguration:      &types.LinearConfiguration{StepPercent: aws.Float64(50), StepBakeTimeInMinutes: aws.Int32(1)},
		CanaryConfiguration:      &types.CanaryConfiguration{CanaryPercent: aws.Float64(10), CanaryBakeTimeInMinutes: aws.Int32(2)},
		DeploymentCircuitBreaker: &types.DeploymentCircuitBreaker{Enable: true, Rollback: true},
	}
}

// currentDeployment describes the service's current service deployment.
func (e *env) currentDeployment() types.ServiceDeployment {
	e.t.Helper()
	arn := aws.ToString(e.service("default", "web").CurrentServiceDeployment)
	if arn == "" {
		e.t.Fatal("no currentServiceDeployment")
	}
	out, err := e.client.DescribeServiceDeployments(e.ctx(), &ecs.DescribeServiceDeploymentsInput{ServiceDeploymentArns: []string{arn}})
	if err != nil || len(out.ServiceDeployments) != 1 {
		e.t.Fatalf("describe %s: %v %+v", arn, err, out)
	}
	return out.ServiceDeployments[0]
}

func (e *env) deployGood(image string) string {
	e.t.Helper()
	td := e.register("web", image)
	out, err := e.client.UpdateService(e.ctx(), &ecs.UpdateServiceInput{Service: aws.String("web"), TaskDefinition: td.TaskDefinitionArn})
	if err != nil {
		e.t.Fatal(err)
	}
	if aws.ToString(out.Service.CurrentServiceDeployment) == "" {
		e.t.Fatal("UpdateService answered no currentServiceDeployment")
	}
	return aws.ToString(td.TaskDefinitionArn)
}

var allStrategies = []types.DeploymentStrategy{types.DeploymentStrategyRolling, types.DeploymentStrategyBlueGreen, types.DeploymentStrategyLinear, types.DeploymentStrategyCanary}

func TestStrategyGoodDeployment(t *testing.T) {
	wantStages := map[types.DeploymentStrategy]string{
		types.DeploymentStrategyRolling:   "SCALE_UP CLEAN_UP",
		types.DeploymentStrategyBlueGreen: "PRE_SCALE_UP SCALE_UP TEST_TRAFFIC_SHIFT BAKE_TIME CLEAN_UP",
		types.DeploymentStrategyLinear:    "PRE_SCALE_UP SCALE_UP TEST_TRAFFIC_SHIFT PRODUCTION_TRAFFIC_SHIFT BAKE_TIME CLEAN_UP",
		types.DeploymentStrategyCanary:    "PRE_SCALE_UP SCALE_UP TEST_TRAFFIC_SHIFT PRODUCTION_TRAFFIC_SHIFT BAKE_TIME CLEAN_UP",
	}
	wantWeights := map[types.DeploymentStrategy]string{
		types.DeploymentStrategyRolling:   "0 100",
		types.DeploymentStrategyBlueGreen: "0 100",
		types.DeploymentStrategyLinear:    "0 50 100",
		types.DeploymentStrategyCanary:    "0 10 100",
	}
	for _, st := range allStrategies {
		t.Run(string(st), func(t *testing.T) {
			e := newEnv(t)
			good, _ := e.stableService(4, strategyConfig(st))
			next := e.deployGood("repo/web@sha256:next")
			var stages, weights []string
			var sd types.ServiceDeployment
			maxTasks := 0
			e.waitFor("SUCCESSFUL", func() bool {
				sd = e.currentDeployment()
				if s := string(sd.LifecycleStage); len(stages) == 0 || stages[len(stages)-1] != s {
					stages = append(stages, s)
				}
				w := "0"
				if sd.TargetServiceRevision.RequestedProductionTrafficWeight != nil {
					w = ftoa(*sd.TargetServiceRevision.RequestedProductionTrafficWeight)
				}
				if len(weights) == 0 || weights[len(weights)-1] != w {
					weights = append(weights, w)
				}
				svc := e.service("default", "web")
				maxTasks = max(maxTasks, int(svc.RunningCount))
				return sd.Status == types.ServiceDeploymentStatusSuccessful
			})
			if got := strings.Join(stages, " "); got != wantStages[st] {
				t.Errorf("stages %q, want %q", got, wantStages[st])
			}
			if got := strings.Join(weights, " "); got != wantWeights[st] {
				t.Errorf("production traffic weights %q, want %q", got, wantWeights[st])
			}
			if st != types.DeploymentStrategyRolling && maxTasks != 8 {
				t.Errorf("%s ran at most %d tasks, want blue and green together (8)", st, maxTasks)
			}
			if sd.FinishedAt == nil || sd.DeploymentCircuitBreaker.Status != types.ServiceDeploymentRollbackMonitorsStatusMonitoringComplete {
				t.Errorf("finishedAt %v, circuit breaker %+v", sd.FinishedAt, sd.DeploymentCircuitBreaker)
			}
			if sd.DeploymentConfiguration == nil || sd.DeploymentConfiguration.Strategy != st {
				t.Errorf("deploymentConfiguration %+v", sd.DeploymentConfiguration)
			}
			if len(sd.SourceServiceRevisions) != 1 {
				t.Fatalf("sources %+v", sd.SourceServiceRevisions)
			}
			revs, err := e.client.DescribeServiceRevisions(e.ctx(), &ecs.DescribeServiceRevisionsInput{
				ServiceRevisionArns: []string{aws.ToString(sd.SourceServiceRevisions[0].Arn), aws.ToString(sd.TargetServiceRevision.Arn), "arn:aws:ecs:us-east-1:123456789012:service-revision/default/web/1"}})
			if err != nil || len(revs.ServiceRevisions) != 2 || len(revs.Failures) != 1 {
				t.Fatalf("describe revisions: %v %+v", err, revs)
			}
			if aws.ToString(revs.ServiceRevisions[0].TaskDefinition) != good || aws.ToString(revs.ServiceRevisions[1].TaskDefinition) != next {
				t.Errorf("revisions run %s and %s", aws.ToString(revs.ServiceRevisions[0].TaskDefinition), aws.ToString(revs.ServiceRevisions[1].TaskDefinition))
			}
			if img := revs.ServiceRevisions[1].ContainerImages; len(img) != 1 || aws.ToString(img[0].ImageDigest) != "sha256:next" {
				t.Errorf("container images %+v", img)
			}
			list, err := e.client.ListServiceDeployments(e.ctx(), &ecs.ListServiceDeploymentsInput{Service: aws.String("web")})
			if err != nil || len(list.ServiceDeployments) != 2 || aws.ToString(list.ServiceDeployments[0].ServiceDeploymentArn) != aws.ToString(sd.ServiceDeploymentArn) {
				t.Fatalf("list: %v %+v", err, list)
			}
			list, err = e.client.ListServiceDeployments(e.ctx(), &ecs.ListServiceDeploymentsInput{Service: aws.String("web"),
				CreatedAt: &types.CreatedAt{After: aws.Time(start.Add(time.Second))}, Status: []types.ServiceDeploymentStatus{types.ServiceDeploymentStatusSuccessful}})
			if err != nil || len(list.ServiceDeployments) != 1 {
				t.Fatalf("list after the first: %v %+v", err, list)
			}
			if _, err := e.client.StopServiceDeployment(e.ctx(), &ecs.StopServiceDeploymentInput{ServiceDeploymentArn: sd.ServiceDeploymentArn, StopType: types.StopServiceDeploymentStopTypeRollback}); errCode(err) != "ConflictException" {
				t.Errorf("stopping a finished deployment: %v", err)
			}
		})
	}
}

func ftoa(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// TestStopRollback stops each strategy's deployment with ROLLBACK during
// its bake (rolling: during its rollout): a shifting strategy returns the
// traffic to the source within a tick; rolling deploys the source again.
func TestStopRollback(t *testing.T) {
	for _, st := range allStrategies {
		t.Run(string(st), func(t *testing.T) {
			e := newEnv(t)
			good, _ := e.stableService(4, strategyConfig(st))
			e.deployGood("repo/web@sha256:next")
			stage := types.ServiceDeploymentLifecycleStageBakeTime
			if st == types.DeploymentStrategyRolling {
				stage = types.ServiceDeploymentLifecycleStageScaleUp
			}
			var sd types.ServiceDeployment
			e.waitFor(string(stage), func() bool { sd = e.currentDeployment(); return sd.LifecycleStage == stage })
			stoppedAt := e.clk.Now()
			if _, err := e.client.StopServiceDeployment(e.ctx(), &ecs.StopServiceDeploymentInput{ServiceDeploymentArn: sd.ServiceDeploymentArn, StopType: types.StopServiceDeploymentStopTypeRollback}); err != nil {
				t.Fatal(err)
			}
			if sd = e.currentDeployment(); sd.Status != types.ServiceDeploymentStatusRollbackInProgress || sd.Rollback == nil || aws.ToString(sd.Rollback.Reason) == "" {
				t.Fatalf("after stop: %s %+v", sd.Status, sd.Rollback)
			}
			if st != types.DeploymentStrategyRolling {
				if w := aws.ToFloat64(sd.TargetServiceRevision.RequestedProductionTrafficWeight); w != 0 {
					t.Errorf("production traffic on the target after the stop: %v", w)
				}
				if td := aws.ToString(e.service("default", "web").TaskDefinition); td != good {
					t.Errorf("service runs %s after a blue/green stop, want %s", td, good)
				}
			}
			e.waitFor("ROLLBACK_SUCCESSFUL", func() bool { return e.currentDeployment().Status == types.ServiceDeploymentStatusRollbackSuccessful })
			took := e.clk.Now().Sub(stoppedAt)
			// Blue/green and the like: the next tick or two (a rolling
			// rollback takes its rollout, two minutes here).
			if st != types.DeploymentStrategyRolling && took > time.Minute {
				t.Errorf("%s rollback took %s, want about a tick", st, took)
			}
			svc := e.service("default", "web")
			if aws.ToString(svc.TaskDefinition) != good || len(svc.Deployments) != 1 || svc.RunningCount != 4 {
				t.Errorf("after rollback: %s, %d deployments, %d running", aws.ToString(svc.TaskDefinition), len(svc.Deployments), svc.RunningCount)
			}
			if aws.ToString(sd.Rollback.ServiceRevisionArn) != aws.ToString(sd.SourceServiceRevisions[0].Arn) {
				t.Errorf("rolled back to %s, want the source %s", aws.ToString(sd.Rollback.ServiceRevisionArn), aws.ToString(sd.SourceServiceRevisions[0].Arn))
			}
			// The service deploys again afterwards.
			e.deployGood("repo/web@sha256:again")
			e.waitFor("the next deployment", func() bool { return e.currentDeployment().Status == types.ServiceDeploymentStatusSuccessful })
		})
	}
}

// TestStrategyCircuitBreaker: a crash-looping image trips the breaker under
// every strategy; ECS rolls back and says why in the service deployment.
func TestStrategyCircuitBreaker(t *testing.T) {
	for _, st := range allStrategies {
		t.Run(string(st), func(t *testing.T) {
			e := newEnv(t)
			good, _ := e.stableService(4, strategyConfig(st))
			e.ecs.Faults().FailImage(lecs.ImageFault{Image: "sha256:bad", Mode: lecs.FailToStart, ExitCode: 1, Reason: "Essential container in task exited"})
			e.deployBad()
			var sd types.ServiceDeployment
			e.waitFor("ROLLBACK_SUCCESSFUL", func() bool {
				sd = e.currentDeployment()
				return sd.Status == types.ServiceDeploymentStatusRollbackSuccessful
			})
			cb := sd.DeploymentCircuitBreaker
			if cb == nil || cb.Status != types.ServiceDeploymentRollbackMonitorsStatusTriggered || cb.FailureCount < cb.Threshold || cb.Threshold != 3 {
				t.Errorf("circuit breaker %+v", cb)
			}
			if sd.Rollback == nil || !strings.Contains(aws.ToString(sd.Rollback.Reason), "circuit breaker") {
				t.Errorf("rollback %+v", sd.Rollback)
			}
			if td := aws.ToString(e.service("default", "web").TaskDefinition); td != good {
				t.Errorf("service on %s, want %s", td, good)
			}
		})
	}
}

// TestRollingMaximumPercent: desired 4 with maximumPercent 150 runs at most
// 6 tasks at once, and a crash-looping image fails 2 tasks a tick, so the
// breaker (threshold 3) trips on the second batch, not all at once.
func TestRollingMaximumPercent(t *testing.T) {
	e := newEnv(t)
	e.stableService(4, &types.DeploymentConfiguration{MaximumPercent: aws.Int32(150), MinimumHealthyPercent: aws.Int32(100),
		DeploymentCircuitBreaker: &types.DeploymentCircuitBreaker{Enable: true, Rollback: false}})
	// A rollout that could start every task at once: maximumPercent is the limit.
	e.ecs.Faults().SetRolloutDuration("web", time.Second)
	e.deployGood("repo/web@sha256:next")
	most, least := 0, 100
	e.waitFor("COMPLETED", func() bool {
		svc := e.service("default", "web")
		n := int(svc.RunningCount + svc.PendingCount)
		most, least = max(most, n), min(least, int(svc.RunningCount))
		return svc.Deployments[0].RolloutState == types.DeploymentRolloutStateCompleted
	})
	if most != 6 || least < 4 {
		t.Errorf("ran between %d healthy and %d tasks, want 4 to 6", least, most)
	}
	e.ecs.Faults().FailImage(lecs.ImageFault{Image: "sha256:bad", Mode: lecs.FailToStart, ExitCode: 1})
	e.deployBad()
	var counts []int32
	e.waitFor("STOPPED", func() bool {
		sd := e.currentDeployment()
		if n := sd.DeploymentCircuitBreaker.FailureCount; len(counts) == 0 || counts[len(counts)-1] != n {
			counts = append(counts, n)
		}
		return sd.Status == types.ServiceDeploymentStatusStopped
	})
	if got := cmpDiff(counts, []int32{0, 2, 4}); got != "" {
		t.Errorf("failure counts per tick (-got +want):\n%s", got)
	}
}

func TestCodeDeployControllerRefusesTaskDefinition(t *testing.T) {
	for _, ctl := range []types.DeploymentControllerType{types.DeploymentControllerTypeCodeDeploy, types.DeploymentControllerTypeExternal} {
		e := newEnv(t)
		e.mustCluster("default")
		td := e.register("web", "repo/web@sha256:good")
		if _, err := e.client.CreateService(e.ctx(), &ecs.CreateServiceInput{ServiceName: aws.String("web"), TaskDefinition: td.TaskDefinitionArn,
			DesiredCount: aws.Int32(1), DeploymentController: &types.DeploymentController{Type: ctl}}); err != nil {
			t.Fatal(err)
		}
		next := e.register("web", "repo/web@sha256:next")
		_, err := e.client.UpdateService(e.ctx(), &ecs.UpdateServiceInput{Service: aws.String("web"), TaskDefinition: next.TaskDefinitionArn})
		if errCode(err) != "InvalidParameterException" {
			t.Errorf("%s: update task definition: %v", ctl, err)
		}
		if got := aws.ToString(e.service("default", "web").TaskDefinition); got != aws.ToString(td.TaskDefinitionArn) {
			t.Errorf("%s: service moved to %s", ctl, got)
		}
	}
}

func TestServiceDeploymentErrors(t *testing.T) {
	e := newEnv(t)
	e.stableService(1, nil)
	missing := "arn:aws:ecs:us-east-1:123456789012:service-deployment/default/web/nope"
	if _, err := e.client.StopServiceDeployment(e.ctx(), &ecs.StopServiceDeploymentInput{ServiceDeploymentArn: aws.String(missing), StopType: types.StopServiceDeploymentStopTypeRollback}); errCode(err) != "ServiceDeploymentNotFoundException" {
		t.Errorf("stop missing: %v", err)
	}
	out, err := e.client.DescribeServiceDeployments(e.ctx(), &ecs.DescribeServiceDeploymentsInput{ServiceDeploymentArns: []string{missing}})
	if err != nil || len(out.Failures) != 1 || aws.ToString(out.Failures[0].Reason) != "MISSING" {
		t.Errorf("describe missing: %v %+v", err, out)
	}
	if _, err := e.client.ListServiceDeployments(e.ctx(), &ecs.ListServiceDeploymentsInput{Service: aws.String("nope")}); errCode(err) != "ServiceNotFoundException" {
		t.Errorf("list for a missing service: %v", err)
	}
	sd := e.currentDeployment()
	if _, err := e.client.ContinueServiceDeployment(e.ctx(), &ecs.ContinueServiceDeploymentInput{ServiceDeploymentArn: sd.ServiceDeploymentArn, HookId: aws.String("h")}); errCode(err) != "ConflictException" {
		t.Errorf("continue without a paused hook: %v", err)
	}
}

// TestShiftingDeploymentAlarms: ECS's own deployment alarms, in ALARM during
// a shifting strategy's bake, flip traffic back, and the service deployment
// names the alarm.
func TestShiftingDeploymentAlarms(t *testing.T) {
	for _, st := range allStrategies[1:] {
		t.Run(string(st), func(t *testing.T) {
			e := newEnv(t)
			e.alarms.set("web-5xx", "OK")
			cfg := strategyConfig(st)
			cfg.Alarms = &types.DeploymentAlarms{AlarmNames: []string{"web-5xx"}, Enable: true, Rollback: true}
			good, _ := e.stableService(4, cfg)
			e.deployGood("repo/web@sha256:next")
			e.waitFor("BAKE_TIME", func() bool {
				return e.currentDeployment().LifecycleStage == types.ServiceDeploymentLifecycleStageBakeTime
			})
			e.alarms.set("web-5xx", "ALARM")
			var sd types.ServiceDeployment
			e.waitFor("ROLLBACK_SUCCESSFUL", func() bool {
				sd = e.currentDeployment()
				return sd.Status == types.ServiceDeploymentStatusRollbackSuccessful
			})
			if a := sd.Alarms; a == nil || a.Status != types.ServiceDeploymentRollbackMonitorsStatusTriggered || len(a.TriggeredAlarmNames) != 1 || a.TriggeredAlarmNames[0] != "web-5xx" {
				t.Errorf("alarms %+v", sd.Alarms)
			}
			if td := aws.ToString(e.service("default", "web").TaskDefinition); td != good {
				t.Errorf("service on %s, want %s", td, good)
			}
		})
	}
}
