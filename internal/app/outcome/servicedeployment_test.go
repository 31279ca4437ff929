package outcome

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// TestEvaluateServiceDeployment: with a service deployment, its status
// decides, and ECS's reason comes from its rollback, circuit breaker and
// alarm details.
func TestEvaluateServiceDeployment(t *testing.T) {
	ours := dep{id: "ecs-svc/2", status: "PRIMARY", td: td2, rollout: ecstypes.DeploymentRolloutStateInProgress, running: 3, want: 3}
	oursDone := dep{id: "ecs-svc/2", status: "PRIMARY", td: td2, rollout: ecstypes.DeploymentRolloutStateCompleted, running: 3, want: 3}
	back := dep{id: "ecs-svc/1", status: "PRIMARY", td: td1, rollout: ecstypes.DeploymentRolloutStateCompleted, running: 3, want: 3}
	backRolling := dep{id: "ecs-svc/3", status: "PRIMARY", td: td1, rollout: ecstypes.DeploymentRolloutStateInProgress, running: 1, want: 3}
	other := dep{id: "ecs-svc/9", status: "PRIMARY", td: td3, rollout: ecstypes.DeploymentRolloutStateInProgress, running: 1, want: 3}
	triggered := ecstypes.ServiceDeploymentRollbackMonitorsStatusTriggered
	cb := &ecstypes.ServiceDeploymentCircuitBreaker{Status: triggered, FailureCount: 4, Threshold: 3}
	alarms := &ecstypes.ServiceDeploymentAlarms{Status: triggered, TriggeredAlarmNames: []string{"web-5xx"}}
	rb := &ecstypes.Rollback{Reason: aws.String("ECS deployment circuit breaker: task failed to start.")}
	sd := func(st ecstypes.ServiceDeploymentStatus, stage ecstypes.ServiceDeploymentLifecycleStage, f func(*ecstypes.ServiceDeployment)) *ecstypes.ServiceDeployment {
		s := &ecstypes.ServiceDeployment{Status: st, LifecycleStage: stage}
		if f != nil {
			f(s)
		}
		return s
	}
	tests := []struct {
		name      string
		phase     Phase
		undo      bool
		expected  string
		primary   dep
		sd        *ecstypes.ServiceDeployment
		status    Status
		cause     Cause
		reasonHas string
	}{
		{"in progress, bake time: not done though the rollout state says completed", Rollout, false, td2, oursDone,
			sd(ecstypes.ServiceDeploymentStatusInProgress, ecstypes.ServiceDeploymentLifecycleStageBakeTime, nil), InProgress, CauseInProgress, ""},
		{"successful on our revision", Rollout, false, td2, ours,
			sd(ecstypes.ServiceDeploymentStatusSuccessful, ecstypes.ServiceDeploymentLifecycleStageCleanUp, nil), Completed, CauseCompleted, "rollout completed"},
		{"circuit breaker rolled back", Rollout, false, td2, back,
			sd(ecstypes.ServiceDeploymentStatusRollbackSuccessful, "", func(s *ecstypes.ServiceDeployment) { s.DeploymentCircuitBreaker, s.Rollback = cb, rb }),
			Failed, CauseCircuitBreaker, "ECS rolled back to " + td1 + ": ECS deployment circuit breaker: task failed to start. (circuit breaker: 4 failed tasks, threshold 3)"},
		{"alarms rolling back", Rollout, false, td2, backRolling,
			sd(ecstypes.ServiceDeploymentStatusRollbackInProgress, "", func(s *ecstypes.ServiceDeployment) {
				s.Alarms, s.Rollback = alarms, &ecstypes.Rollback{Reason: aws.String("alarm web-5xx")}
			}),
			Failed, CauseECSRollback, "alarm web-5xx (alarms in ALARM: web-5xx)"},
		{"stopped on our revision without rollback", Rollout, false, td2, ours,
			sd(ecstypes.ServiceDeploymentStatusStopped, "", func(s *ecstypes.ServiceDeployment) {
				s.DeploymentCircuitBreaker, s.StatusReason = cb, aws.String("ECS deployment circuit breaker: task failed to start.")
			}),
			Failed, CauseCircuitBreaker, "ECS stopped the deployment"},
		// The service was described before the newer deployment started,
		// the service deployment after: no verdict until the service shows
		// whose it is (the operator's change is never undone as a failure).
		{"stopped by a newer deployment the service does not show yet", Rollout, false, td2, ours,
			sd(ecstypes.ServiceDeploymentStatusStopped, "", func(s *ecstypes.ServiceDeployment) {
				s.StatusReason = aws.String("Service deployment stopped: a newer service deployment started.")
			}), InProgress, CauseInProgress, ""},
		{"stopped by a newer deployment: the revision tells whose", Rollout, false, td2, other,
			sd(ecstypes.ServiceDeploymentStatusStopped, "", nil), Failed, CauseSuperseded, "another deployment"},
		{"rollback failed", Rollout, false, td2, back,
			sd(ecstypes.ServiceDeploymentStatusRollbackFailed, "", nil), Failed, CauseRolloutFailed, "ECS's rollback failed"},
		{"undo: rolled back successfully is done", Rollout, true, td1, back,
			sd(ecstypes.ServiceDeploymentStatusRollbackSuccessful, "", func(s *ecstypes.ServiceDeployment) {
				s.Rollback = &ecstypes.Rollback{Reason: aws.String("Service deployment rolled back because of a stop request.")}
			}), Completed, CauseCompleted, "stop request"},
		{"undo: still rolling back", Rollout, true, td1, backRolling,
			sd(ecstypes.ServiceDeploymentStatusRollbackInProgress, "", nil), InProgress, CauseInProgress, ""},
		{"bake phase on a successful deployment: baked once the window passed", Bake, false, td2, oursDone,
			sd(ecstypes.ServiceDeploymentStatusSuccessful, ecstypes.ServiceDeploymentLifecycleStageCleanUp, nil), Completed, CauseBaked, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := Input{Phase: tt.phase, Expected: tt.expected, Previous: td1, DeploymentID: "ecs-svc/2", Undo: tt.undo,
				Service: service("ACTIVE", tt.primary), ServiceDeployment: tt.sd,
				Now: t0.Add(10 * time.Minute), Deadline: t0.Add(30 * time.Minute), BakeUntil: t0.Add(5 * time.Minute), AlarmsSince: t0}
			if tt.undo {
				in.Previous = td2
			}
			r := Evaluate(in)
			if r.Status != tt.status || r.Cause != tt.cause || !strings.Contains(r.Reason, tt.reasonHas) {
				t.Errorf("got %s/%s %q, want %s/%s containing %q", r.Status, r.Cause, r.Reason, tt.status, tt.cause, tt.reasonHas)
			}
			if r.ServiceDeploymentStatus != string(tt.sd.Status) || r.LifecycleStage != string(tt.sd.LifecycleStage) {
				t.Errorf("result carries %s/%s", r.ServiceDeploymentStatus, r.LifecycleStage)
			}
		})
	}
}
