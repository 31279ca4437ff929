package outcome

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"
)

const (
	td1 = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:1"
	td2 = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:2"
	td3 = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:3"
)

var t0 = time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)

type dep struct {
	id, status, td string
	rollout        ecstypes.DeploymentRolloutState
	reason         string
	running, want  int32
	failed         int32
}

func service(status string, deps ...dep) ecstypes.Service {
	s := ecstypes.Service{Status: aws.String(status)}
	for _, d := range deps {
		s.Deployments = append(s.Deployments, ecstypes.Deployment{
			Id: aws.String(d.id), Status: aws.String(d.status), TaskDefinition: aws.String(d.td),
			RolloutState: d.rollout, RolloutStateReason: aws.String(d.reason),
			RunningCount: d.running, DesiredCount: d.want, FailedTasks: d.failed,
		})
	}
	return s
}

func TestEvaluate(t *testing.T) {
	ours := dep{id: "ecs-svc/2", status: "PRIMARY", td: td2, rollout: ecstypes.DeploymentRolloutStateInProgress, running: 1, want: 3}
	done := dep{id: "ecs-svc/2", status: "PRIMARY", td: td2, rollout: ecstypes.DeploymentRolloutStateCompleted, running: 3, want: 3}
	doneActive := dep{id: "ecs-svc/2", status: "ACTIVE", td: td2, rollout: ecstypes.DeploymentRolloutStateCompleted, running: 3, want: 3}
	old := dep{id: "ecs-svc/1", status: "ACTIVE", td: td1, rollout: ecstypes.DeploymentRolloutStateCompleted, running: 2, want: 2}
	cbReason := "ECS deployment circuit breaker: tasks failed to start."
	alarm := Alarm{Name: "web-5xx", State: "ALARM", Reason: "Threshold Crossed", UpdatedAt: t0.Add(time.Minute)}
	oldAlarm := Alarm{Name: "web-5xx", State: "ALARM", Reason: "Threshold Crossed", UpdatedAt: t0.Add(-time.Hour)}
	okAlarm := Alarm{Name: "web-5xx", State: "OK", UpdatedAt: t0.Add(time.Minute)}
	insufficient := Alarm{Name: "web-5xx", State: "INSUFFICIENT_DATA", UpdatedAt: t0.Add(time.Minute)}
	base := func(f func(*Input)) Input {
		in := Input{Phase: Rollout, Expected: td2, Previous: td1, DeploymentID: "ecs-svc/2",
			Now: t0.Add(2 * time.Minute), Deadline: t0.Add(30 * time.Minute), AlarmsSince: t0}
		in.Service = service("ACTIVE", ours, old)
		f(&in)
		return in
	}
	tests := []struct {
		name string
		in   Input
		want Result
	}{
		{"rollout in progress", base(func(*Input) {}),
			Result{Status: InProgress, Cause: CauseInProgress, TaskDefinition: td2, RolloutState: "IN_PROGRESS"}},
		{"rollout completed", base(func(in *Input) { in.Service = service("ACTIVE", done) }),
			Result{Status: Completed, Cause: CauseCompleted, TaskDefinition: td2, RolloutState: "COMPLETED"}},
		{"completed while old deployment drains still counts", base(func(in *Input) { in.Service = service("ACTIVE", done, old) }),
			Result{Status: Completed, Cause: CauseCompleted, TaskDefinition: td2, RolloutState: "COMPLETED"}},
		{"circuit breaker without rollback", base(func(in *Input) {
			in.Service = service("ACTIVE", dep{id: "ecs-svc/2", status: "PRIMARY", td: td2, rollout: ecstypes.DeploymentRolloutStateFailed, reason: cbReason, failed: 4}, old)
		}), Result{Status: Failed, Cause: CauseCircuitBreaker, TaskDefinition: td2, RolloutState: "FAILED", FailedTasks: 4}},
		{"circuit breaker rolled back: stable on old revision is not success", base(func(in *Input) {
			in.Service = service("ACTIVE",
				dep{id: "ecs-svc/3", status: "PRIMARY", td: td1, rollout: ecstypes.DeploymentRolloutStateCompleted, running: 3, want: 3},
				dep{id: "ecs-svc/2", status: "ACTIVE", td: td2, rollout: ecstypes.DeploymentRolloutStateFailed, reason: cbReason, failed: 5})
		}), Result{Status: Failed, Cause: CauseCircuitBreaker, TaskDefinition: td1, RolloutState: "COMPLETED", FailedTasks: 5}},
		{"deployment alarms rolled back", base(func(in *Input) {
			in.Service = service("ACTIVE",
				dep{id: "ecs-svc/3", status: "PRIMARY", td: td1, rollout: ecstypes.DeploymentRolloutStateInProgress},
				dep{id: "ecs-svc/2", status: "ACTIVE", td: td2, rollout: ecstypes.DeploymentRolloutStateFailed, reason: "ECS deployment detected triggered alarm(s)."})
		}), Result{Status: Failed, Cause: CauseECSRollback, TaskDefinition: td1, RolloutState: "IN_PROGRESS"}},
		{"back on previous after our deployment vanished", base(func(in *Input) {
			in.Service = service("ACTIVE", dep{id: "ecs-svc/3", status: "PRIMARY", td: td1, rollout: ecstypes.DeploymentRolloutStateCompleted, running: 2, want: 2})
		}), Result{Status: Failed, Cause: CauseECSRollback, TaskDefinition: td1, RolloutState: "COMPLETED"}},
		{"ECS rollback completed: cause from the service events", base(func(in *Input) {
			in.Service = service("ACTIVE", dep{id: "ecs-svc/3", status: "PRIMARY", td: td1, rollout: ecstypes.DeploymentRolloutStateCompleted, running: 2, want: 2})
			in.Service.Events = []ecstypes.ServiceEvent{
				{Message: aws.String("(service web) has reached a steady state.")},
				{Message: aws.String("(service web) (deployment ecs-svc/2) rolling back to deployment ecs-svc/1.")},
				{Message: aws.String("(service web) (deployment ecs-svc/2) deployment failed: tasks failed to start.")},
				{Message: aws.String("(service web) (deployment ecs-svc/9) deployment failed: alarm(s) detected.")},
			}
		}), Result{Status: Failed, Cause: CauseCircuitBreaker, TaskDefinition: td1, RolloutState: "COMPLETED"}},
		{"ECS rollback on alarms completed: cause from the service events", base(func(in *Input) {
			in.Service = service("ACTIVE", dep{id: "ecs-svc/3", status: "PRIMARY", td: td1, rollout: ecstypes.DeploymentRolloutStateCompleted, running: 2, want: 2})
			in.Service.Events = []ecstypes.ServiceEvent{{Message: aws.String("(service web) (deployment ecs-svc/2) deployment failed: alarm(s) detected.")}}
		}), Result{Status: Failed, Cause: CauseECSRollback, TaskDefinition: td1, RolloutState: "COMPLETED"}},
		{"superseded by someone else's deployment", base(func(in *Input) {
			in.Service = service("ACTIVE", dep{id: "ecs-svc/4", status: "PRIMARY", td: td3, rollout: ecstypes.DeploymentRolloutStateInProgress}, ours)
		}), Result{Status: Failed, Cause: CauseSuperseded, TaskDefinition: td3, RolloutState: "IN_PROGRESS"}},
		{"rollout failed for another reason", base(func(in *Input) {
			in.Service = service("ACTIVE", dep{id: "ecs-svc/2", status: "PRIMARY", td: td2, rollout: ecstypes.DeploymentRolloutStateFailed, reason: "deployment stopped"})
		}), Result{Status: Failed, Cause: CauseRolloutFailed, TaskDefinition: td2, RolloutState: "FAILED"}},
		{"alarm during rollout", base(func(in *Input) {
			in.Alarms = []Alarm{okAlarm, {Name: "web-latency", State: "ALARM", UpdatedAt: t0.Add(time.Minute)}}
		}),
			Result{Status: Failed, Cause: CauseAlarm, TaskDefinition: td2, RolloutState: "IN_PROGRESS", Alarm: "web-latency"}},
		{"alarm beats completion", base(func(in *Input) { in.Service = service("ACTIVE", done); in.Alarms = []Alarm{alarm} }),
			Result{Status: Failed, Cause: CauseAlarm, TaskDefinition: td2, RolloutState: "COMPLETED", Alarm: "web-5xx"}},
		{"alarm in ALARM since before the deploy is ignored", base(func(in *Input) { in.Service = service("ACTIVE", done); in.Alarms = []Alarm{oldAlarm} }),
			Result{Status: Completed, Cause: CauseCompleted, TaskDefinition: td2, RolloutState: "COMPLETED"}},
		{"zero AlarmsSince counts every alarm", base(func(in *Input) { in.AlarmsSince = time.Time{}; in.Alarms = []Alarm{oldAlarm} }),
			Result{Status: Failed, Cause: CauseAlarm, TaskDefinition: td2, RolloutState: "IN_PROGRESS", Alarm: "web-5xx"}},
		{"insufficient data is not an alarm", base(func(in *Input) { in.Alarms = []Alarm{insufficient} }),
			Result{Status: InProgress, Cause: CauseInProgress, TaskDefinition: td2, RolloutState: "IN_PROGRESS"}},
		{"failed tasks over the limit", base(func(in *Input) {
			in.MaxFailedTasks = 3
			in.Service = service("ACTIVE", dep{id: "ecs-svc/2", status: "PRIMARY", td: td2, rollout: ecstypes.DeploymentRolloutStateInProgress, failed: 3}, old)
		}), Result{Status: Failed, Cause: CauseTasksFailing, TaskDefinition: td2, RolloutState: "IN_PROGRESS", FailedTasks: 3}},
		{"failed tasks under the limit", base(func(in *Input) {
			in.MaxFailedTasks = 3
			in.Service = service("ACTIVE", dep{id: "ecs-svc/2", status: "PRIMARY", td: td2, rollout: ecstypes.DeploymentRolloutStateInProgress, failed: 2}, old)
		}), Result{Status: InProgress, Cause: CauseInProgress, TaskDefinition: td2, RolloutState: "IN_PROGRESS", FailedTasks: 2}},
		{"failed tasks without a limit", base(func(in *Input) {
			in.Service = service("ACTIVE", dep{id: "ecs-svc/2", status: "PRIMARY", td: td2, rollout: ecstypes.DeploymentRolloutStateInProgress, failed: 50}, old)
		}), Result{Status: InProgress, Cause: CauseInProgress, TaskDefinition: td2, RolloutState: "IN_PROGRESS", FailedTasks: 50}},
		{"timeout", base(func(in *Input) { in.Now = in.Deadline }),
			Result{Status: Failed, Cause: CauseTimeout, TaskDefinition: td2, RolloutState: "IN_PROGRESS"}},
		{"completion at the deadline is success", base(func(in *Input) { in.Now = in.Deadline; in.Service = service("ACTIVE", done) }),
			Result{Status: Completed, Cause: CauseCompleted, TaskDefinition: td2, RolloutState: "COMPLETED"}},
		{"no deadline", base(func(in *Input) { in.Deadline = time.Time{}; in.Now = t0.Add(100 * time.Hour) }),
			Result{Status: InProgress, Cause: CauseInProgress, TaskDefinition: td2, RolloutState: "IN_PROGRESS"}},
		{"service deleted", base(func(in *Input) { in.Service = service("INACTIVE") }),
			Result{Status: Failed, Cause: CauseServiceGone}},
		{"service draining", base(func(in *Input) { in.Service = service("DRAINING", done) }),
			Result{Status: Failed, Cause: CauseServiceGone}},
		{"no primary yet", base(func(in *Input) { in.Service = service("ACTIVE", old) }),
			Result{Status: InProgress, Cause: CauseInProgress}},
		{"external controller: no rollout state, steady", base(func(in *Input) {
			in.Service = service("ACTIVE", dep{status: "PRIMARY", td: td2, running: 2, want: 2})
		}), Result{Status: Completed, Cause: CauseCompleted, TaskDefinition: td2}},
		{"external controller: no rollout state, two deployments", base(func(in *Input) {
			in.Service = service("ACTIVE", dep{status: "PRIMARY", td: td2, running: 2, want: 2}, dep{status: "ACTIVE", td: td1})
		}), Result{Status: InProgress, Cause: CauseInProgress, TaskDefinition: td2}},
		{"matched by task definition when no deployment id", base(func(in *Input) {
			in.DeploymentID = ""
			in.Service = service("ACTIVE", dep{id: "x", status: "PRIMARY", td: td1, rollout: ecstypes.DeploymentRolloutStateInProgress},
				dep{id: "y", status: "ACTIVE", td: td2, rollout: ecstypes.DeploymentRolloutStateFailed, reason: cbReason})
		}), Result{Status: Failed, Cause: CauseCircuitBreaker, TaskDefinition: td1, RolloutState: "IN_PROGRESS"}},
		{"bake: in progress", base(func(in *Input) {
			in.Phase, in.BakeUntil, in.Service = Bake, t0.Add(10*time.Minute), service("ACTIVE", done)
		}), Result{Status: InProgress, Cause: CauseInProgress, TaskDefinition: td2, RolloutState: "COMPLETED"}},
		{"bake: passed", base(func(in *Input) {
			in.Phase, in.BakeUntil, in.Now, in.Service = Bake, t0.Add(10*time.Minute), t0.Add(10*time.Minute), service("ACTIVE", done)
		}), Result{Status: Completed, Cause: CauseBaked, TaskDefinition: td2, RolloutState: "COMPLETED"}},
		{"bake: alarm", base(func(in *Input) {
			in.Phase, in.BakeUntil, in.Service, in.Alarms = Bake, t0.Add(10*time.Minute), service("ACTIVE", done), []Alarm{alarm}
		}), Result{Status: Failed, Cause: CauseAlarm, TaskDefinition: td2, RolloutState: "COMPLETED", Alarm: "web-5xx"}},
		{"bake: alarm at the end still fails", base(func(in *Input) {
			in.Phase, in.BakeUntil, in.Now, in.Service, in.Alarms = Bake, t0.Add(10*time.Minute), t0.Add(11*time.Minute), service("ACTIVE", done), []Alarm{alarm}
		}), Result{Status: Failed, Cause: CauseAlarm, TaskDefinition: td2, RolloutState: "COMPLETED", Alarm: "web-5xx"}},
		{"bake: someone deployed over us", base(func(in *Input) {
			in.Phase, in.BakeUntil = Bake, t0.Add(10*time.Minute)
			in.Service = service("ACTIVE", dep{id: "z", status: "PRIMARY", td: td3, rollout: ecstypes.DeploymentRolloutStateInProgress}, doneActive)
		}), Result{Status: Failed, Cause: CauseSuperseded, TaskDefinition: td3, RolloutState: "IN_PROGRESS"}},
		{"bake: forced redeploy of the same revision keeps baking", base(func(in *Input) {
			in.Phase, in.BakeUntil, in.Now = Bake, t0.Add(10*time.Minute), t0.Add(20*time.Minute)
			in.Service = service("ACTIVE", dep{id: "z", status: "PRIMARY", td: td2, rollout: ecstypes.DeploymentRolloutStateInProgress}, doneActive)
		}), Result{Status: InProgress, Cause: CauseInProgress, TaskDefinition: td2, RolloutState: "IN_PROGRESS"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Evaluate(tt.in)
			if got.Reason == "" {
				t.Error("empty Reason")
			}
			got.Reason = ""
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
			if got.Decided() != (got.Status != InProgress) {
				t.Error("Decided disagrees with Status")
			}
		})
	}
}

func TestAlarmsFrom(t *testing.T) {
	out := &cloudwatch.DescribeAlarmsOutput{
		MetricAlarms:    []cwtypes.MetricAlarm{{AlarmName: aws.String("m"), StateValue: cwtypes.StateValueAlarm, StateReason: aws.String("r"), StateUpdatedTimestamp: aws.Time(t0)}},
		CompositeAlarms: []cwtypes.CompositeAlarm{{AlarmName: aws.String("c"), StateValue: cwtypes.StateValueOk, StateUpdatedTimestamp: aws.Time(t0)}},
	}
	want := []Alarm{{Name: "m", State: "ALARM", Reason: "r", UpdatedAt: t0}, {Name: "c", State: "OK", UpdatedAt: t0}}
	if diff := cmp.Diff(want, AlarmsFrom(out)); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
}
