package ecs_test

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	lecs "github.com/pushdeploy/pushdeploy/internal/local/localcloud/ecs"
)

// stableService creates service "web" on web:1 and waits for its first
// rollout to complete. It returns the task definition ARN and deployment id.
func (e *env) stableService(desired int32, cfg *types.DeploymentConfiguration) (string, string) {
	e.t.Helper()
	e.mustCluster("default")
	td := e.register("web", "repo/web@sha256:good")
	if _, err := e.client.CreateService(e.ctx(), &ecs.CreateServiceInput{ServiceName: aws.String("web"), TaskDefinition: td.TaskDefinitionArn,
		DesiredCount: aws.Int32(desired), DeploymentConfiguration: cfg}); err != nil {
		e.t.Fatal(err)
	}
	e.waitFor("first rollout", func() bool {
		return e.service("default", "web").Deployments[0].RolloutState == types.DeploymentRolloutStateCompleted
	})
	return aws.ToString(td.TaskDefinitionArn), aws.ToString(e.service("default", "web").Deployments[0].Id)
}

// deployBad registers web:2 running the bad image and deploys it.
func (e *env) deployBad() (string, string) {
	e.t.Helper()
	td := e.register("web", "repo/web@sha256:bad")
	out, err := e.client.UpdateService(e.ctx(), &ecs.UpdateServiceInput{Service: aws.String("web"), TaskDefinition: td.TaskDefinitionArn})
	if err != nil {
		e.t.Fatal(err)
	}
	return aws.ToString(td.TaskDefinitionArn), aws.ToString(out.Service.Deployments[0].Id)
}

func (e *env) busNames(deploymentID string) []string {
	var out []string
	for _, ev := range e.bus.Events() {
		if ev.DetailType == "ECS Deployment State Change" && detailField(e.t, ev.Detail, "deploymentId") == deploymentID {
			out = append(out, detailField(e.t, ev.Detail, "eventName"))
		}
	}
	return out
}

func TestCircuitBreaker(t *testing.T) {
	tests := []struct {
		name     string
		mode     lecs.FailMode
		desired  int32
		rollback bool
	}{
		{"tasks fail to start, rollback", lecs.FailToStart, 2, true},
		{"health checks fail, rollback", lecs.FailHealthCheck, 2, true},
		{"ten tasks: threshold five", lecs.FailToStart, 10, true},
		{"no rollback", lecs.FailToStart, 2, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			good, goodID := e.stableService(tt.desired, &types.DeploymentConfiguration{
				DeploymentCircuitBreaker: &types.DeploymentCircuitBreaker{Enable: true, Rollback: tt.rollback}})
			e.ecs.Faults().FailImage(lecs.ImageFault{Image: "sha256:bad", Mode: tt.mode, ExitCode: 137})
			bad, badID := e.deployBad()

			var failedAt int32
			e.waitFor("the new deployment fails", func() bool {
				for _, d := range e.service("default", "web").Deployments {
					if aws.ToString(d.Id) == badID && d.RolloutState == types.DeploymentRolloutStateFailed {
						failedAt = d.FailedTasks
						if aws.ToString(d.RolloutStateReason) != "ECS deployment circuit breaker: task failed to start." {
							t.Errorf("rolloutStateReason %q", aws.ToString(d.RolloutStateReason))
						}
						return true
					}
				}
				return false
			})
			threshold := max(3, (tt.desired+1)/2)
			if failedAt < threshold || failedAt >= threshold+tt.desired {
				t.Errorf("failed at %d failed tasks, threshold %d", failedAt, threshold)
			}
			if !tt.rollback {
				e.clk.Sleep(e.ctx(), 10*time.Minute)
				s := e.service("default", "web")
				if len(s.Deployments) != 2 || aws.ToString(s.Deployments[0].Id) != badID || s.Deployments[0].RolloutState != types.DeploymentRolloutStateFailed ||
					aws.ToString(s.TaskDefinition) != bad || s.Deployments[1].RunningCount != tt.desired || s.Deployments[0].FailedTasks != failedAt {
					t.Errorf("without rollback the failed deployment stays PRIMARY and stops launching, the old keeps running: %+v", s.Deployments)
				}
				if got := strings.Join(e.busNames(badID), ","); got != "SERVICE_DEPLOYMENT_IN_PROGRESS,SERVICE_DEPLOYMENT_FAILED" {
					t.Errorf("events: %s", got)
				}
				return
			}
			e.waitFor("rollback completes", func() bool {
				s := e.service("default", "web")
				return len(s.Deployments) == 1 && s.Deployments[0].RolloutState == types.DeploymentRolloutStateCompleted
			})
			s := e.service("default", "web")
			if aws.ToString(s.TaskDefinition) != good || s.RunningCount != tt.desired || aws.ToString(s.Deployments[0].Id) == goodID {
				t.Errorf("after rollback: td %s running %d deployment %s", aws.ToString(s.TaskDefinition), s.RunningCount, aws.ToString(s.Deployments[0].Id))
			}
			rollbackID := aws.ToString(s.Deployments[0].Id)
			if got := strings.Join(e.busNames(badID), ","); got != "SERVICE_DEPLOYMENT_IN_PROGRESS,SERVICE_DEPLOYMENT_FAILED" {
				t.Errorf("events of the bad deployment: %s", got)
			}
			if got := strings.Join(e.busNames(rollbackID), ","); got != "SERVICE_DEPLOYMENT_IN_PROGRESS,SERVICE_DEPLOYMENT_COMPLETED" {
				t.Errorf("events of the rollback: %s", got)
			}
			var messages []string
			for _, ev := range s.Events {
				messages = append(messages, aws.ToString(ev.Message))
			}
			all := strings.Join(messages, "\n")
			for _, want := range []string{
				"(service web) (deployment " + badID + ") deployment failed: tasks failed to start.",
				"(service web) (deployment " + badID + ") rolling back to deployment " + goodID + ".",
				"(service web) has reached a steady state.",
			} {
				if !strings.Contains(all, want) {
					t.Errorf("service events lack %q:\n%s", want, all)
				}
			}
			if tt.mode == lecs.FailHealthCheck && !strings.Contains(all, "failed container health checks.") {
				t.Errorf("no health check failure in the events:\n%s", all)
			}
		})
	}
}

func TestFailingFirstDeploymentHasNothingToRollBackTo(t *testing.T) {
	e := newEnv(t)
	e.mustCluster("default")
	e.ecs.Faults().FailImage(lecs.ImageFault{Image: "repo/web:broken"})
	e.register("web", "repo/web:broken")
	if _, err := e.client.CreateService(e.ctx(), &ecs.CreateServiceInput{ServiceName: aws.String("web"), TaskDefinition: aws.String("web"), DesiredCount: aws.Int32(1),
		DeploymentConfiguration: &types.DeploymentConfiguration{DeploymentCircuitBreaker: &types.DeploymentCircuitBreaker{Enable: true, Rollback: true}}}); err != nil {
		t.Fatal(err)
	}
	e.waitFor("failed", func() bool {
		return e.service("default", "web").Deployments[0].RolloutState == types.DeploymentRolloutStateFailed
	})
	e.clk.Sleep(e.ctx(), 5*time.Minute)
	if s := e.service("default", "web"); len(s.Deployments) != 1 || s.Deployments[0].RolloutState != types.DeploymentRolloutStateFailed {
		t.Errorf("deployments %+v", s.Deployments)
	}
}

func TestTaskStartImpairedWithoutCircuitBreaker(t *testing.T) {
	e := newEnv(t)
	e.stableService(2, nil)
	e.ecs.Faults().FailImage(lecs.ImageFault{Image: "repo/web@sha256:bad"})
	_, badID := e.deployBad()
	e.waitFor("start impaired", func() bool {
		for _, ev := range e.bus.Events() {
			if detailField(t, ev.Detail, "eventName") == "SERVICE_TASK_START_IMPAIRED" {
				return true
			}
		}
		return false
	})
	s := e.service("default", "web")
	var messages []string
	for _, ev := range s.Events {
		messages = append(messages, aws.ToString(ev.Message))
	}
	if s.Deployments[0].RolloutState != types.DeploymentRolloutStateInProgress || !strings.Contains(strings.Join(messages, "\n"), "is unable to consistently start tasks successfully.") {
		t.Errorf("without a circuit breaker ECS keeps trying: %+v", s.Deployments[0])
	}
	// The image is fixed (the fault is gone): the same deployment completes.
	e.ecs.Faults().Clear()
	e.waitFor("recovered", func() bool {
		d := e.service("default", "web").Deployments
		return len(d) == 1 && aws.ToString(d[0].Id) == badID && d[0].RolloutState == types.DeploymentRolloutStateCompleted
	})
}

func TestAlarmRollback(t *testing.T) {
	tests := []struct {
		name      string
		alarm     string // set to ALARM during the rollout
		rollback  bool
		wantState types.DeploymentRolloutState // of the new deployment
		wantOld   bool                         // the service ends on the old revision
	}{
		{"watched alarm, rollback", "web-5xx", true, types.DeploymentRolloutStateFailed, true},
		{"watched alarm, no rollback", "web-5xx", false, types.DeploymentRolloutStateFailed, false},
		{"other alarm", "other", true, types.DeploymentRolloutStateCompleted, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.alarms.set("web-5xx", "OK")
			e.alarms.set("other", "OK")
			good, _ := e.stableService(3, &types.DeploymentConfiguration{
				Alarms: &types.DeploymentAlarms{AlarmNames: []string{"web-5xx", "missing"}, Enable: true, Rollback: tt.rollback}})
			hold := e.clk.Busy() // the alarm fires before the rollout can end
			bad, badID := e.deployBad()
			e.alarms.set(tt.alarm, "ALARM")
			hold()
			var state types.DeploymentRolloutState
			var reason string
			e.waitFor("the new deployment ends", func() bool {
				for _, d := range e.service("default", "web").Deployments {
					if aws.ToString(d.Id) == badID && d.RolloutState != types.DeploymentRolloutStateInProgress {
						state, reason = d.RolloutState, aws.ToString(d.RolloutStateReason)
						return true
					}
				}
				return false
			})
			if state != tt.wantState {
				t.Fatalf("rollout %s (%s), want %s", state, reason, tt.wantState)
			}
			if state == types.DeploymentRolloutStateFailed && !strings.Contains(reason, "web-5xx") {
				t.Errorf("reason %q does not name the alarm", reason)
			}
			e.waitFor("stable", func() bool {
				s := e.service("default", "web")
				return s.Deployments[0].RolloutState != types.DeploymentRolloutStateInProgress
			})
			want := bad
			if tt.wantOld {
				want = good
			}
			if s := e.service("default", "web"); aws.ToString(s.TaskDefinition) != want {
				t.Errorf("service on %s, want %s", aws.ToString(s.TaskDefinition), want)
			}
		})
	}
}

func TestRolloutDurationFault(t *testing.T) {
	e := newEnv(t)
	e.stableService(2, nil)
	e.ecs.Faults().SetRolloutDuration("web", 10*time.Minute)
	from := e.clk.Now()
	_, id := e.deployBad() // no image fault: only its name is "bad"
	e.waitFor("completed", func() bool {
		d := e.service("default", "web").Deployments[0]
		return aws.ToString(d.Id) == id && d.RolloutState == types.DeploymentRolloutStateCompleted
	})
	if took := e.clk.Now().Sub(from); took < 10*time.Minute || took > 11*time.Minute {
		t.Errorf("rollout took %s, want 10m (within a tick and a poll)", took)
	}
}

// TestAlarmDuringBake: with deployment alarms ECS keeps the rollout
// IN_PROGRESS for the bake after every new task runs; an alarm then still
// fails it and rolls it back.
func TestAlarmDuringBake(t *testing.T) {
	tests := []struct {
		name string
		bake *int32 // bakeTimeInMinutes; nil for the default (3 min)
		want time.Duration
	}{
		{"default bake", nil, 3 * time.Minute},
		{"bakeTimeInMinutes", aws.Int32(10), 10 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.alarms.set("web-5xx", "OK")
			cfg := &types.DeploymentConfiguration{BakeTimeInMinutes: tt.bake,
				Alarms: &types.DeploymentAlarms{AlarmNames: []string{"web-5xx"}, Enable: true, Rollback: true}}
			from := e.clk.Now()
			good, _ := e.stableService(2, cfg)
			if took := e.clk.Now().Sub(from); took < 2*time.Minute+tt.want || took > 2*time.Minute+tt.want+30*time.Second {
				t.Errorf("first rollout with bake took %s, want 2m + %s", took, tt.want)
			}
			_, badID := e.deployBad()
			e.waitFor("baking: every new task runs, old ones gone", func() bool {
				s := e.service("default", "web")
				return s.Deployments[0].RunningCount == 2 && len(s.Deployments) == 2 && s.Deployments[1].RunningCount == 0
			})
			s := e.service("default", "web")
			if s.Deployments[0].RolloutState != types.DeploymentRolloutStateInProgress || aws.ToString(s.Events[0].Message) != "(service web) has reached a steady state." {
				t.Fatalf("during bake: %s, latest event %q", s.Deployments[0].RolloutState, aws.ToString(s.Events[0].Message))
			}
			e.alarms.set("web-5xx", "ALARM")
			e.waitFor("rolled back", func() bool {
				s := e.service("default", "web")
				return len(s.Deployments) == 1 && s.Deployments[0].RolloutState == types.DeploymentRolloutStateCompleted
			})
			if s := e.service("default", "web"); aws.ToString(s.TaskDefinition) != good {
				t.Errorf("service on %s, want %s", aws.ToString(s.TaskDefinition), good)
			}
			if got := strings.Join(e.busNames(badID), ","); got != "SERVICE_DEPLOYMENT_IN_PROGRESS,SERVICE_DEPLOYMENT_FAILED" {
				t.Errorf("events of the baking deployment: %s", got)
			}
		})
	}
}
