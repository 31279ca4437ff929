package handler

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"

	"github.com/pushdeploy/pushdeploy/internal/awsapi"
	"github.com/pushdeploy/pushdeploy/internal/clock"
	"github.com/pushdeploy/pushdeploy/internal/contract"
	"github.com/pushdeploy/pushdeploy/internal/outcome"
)

// Evaluator looks once at a service and its alarms and judges a wait's
// phase with package outcome. Watch and check share it.
type Evaluator struct {
	ecs awsapi.ECS
	cw  awsapi.CloudWatch
	clk clock.Clock
}

// NewEvaluator returns an Evaluator.
func NewEvaluator(ecsAPI awsapi.ECS, cw awsapi.CloudWatch, clk clock.Clock) (*Evaluator, error) {
	if ecsAPI == nil || cw == nil || clk == nil {
		return nil, fmt.Errorf("evaluator: %w", errMissing)
	}
	return &Evaluator{ecs: ecsAPI, cw: cw, clk: clk}, nil
}

// maxAlarmNames is DescribeAlarms' limit on AlarmNames.
const maxAlarmNames = 100

// Evaluate judges phase. timedOut says the wait hit its timeout: the
// deadline (rollout, rollback) or the bake's end is now, whatever the
// clocks say, so the result is decided.
func (e *Evaluator) Evaluate(ctx context.Context, phase contract.Phase, p contract.Plan, u contract.UpdateResult, since time.Time, timedOut bool) (contract.Outcome, error) {
	now := e.clk.Now().UTC()
	svc, err := describeService(ctx, e.ecs, p.Cluster, p.Service)
	var gone *contract.ServiceNotFound
	if errors.As(err, &gone) {
		return contract.Outcome{Status: contract.StatusFailed, Cause: string(outcome.CauseServiceGone), Reason: gone.Error(), CheckedAt: now}, nil
	}
	if err != nil {
		return contract.Outcome{}, err
	}
	in := outcome.Input{
		Phase:        outcome.Rollout,
		Service:      svc,
		Expected:     u.TaskDefinitionArn,
		Previous:     u.PreviousTaskDefinitionArn,
		DeploymentID: u.DeploymentID,
		AlarmsSince:  u.StartedAt,
		Now:          now,
		Deadline:     u.StartedAt.Add(time.Duration(p.TimeoutSeconds) * time.Second),
	}
	if phase == contract.PhaseBake {
		in.Phase = outcome.Bake
		if since.IsZero() {
			since = u.StartedAt
		}
		in.BakeUntil = since.Add(time.Duration(p.BakeSeconds) * time.Second)
	}
	if timedOut {
		in.Deadline, in.BakeUntil = now, now
	}
	// A rollback (undoing a failed deploy, or a rollback execution) goes
	// back whatever the alarms say: judge only its rollout.
	if phase != contract.PhaseRollback && p.Action != contract.ActionRollback && len(p.Alarms) > 0 {
		names := p.Alarms
		if len(names) > maxAlarmNames {
			names = names[:maxAlarmNames]
		}
		out, err := e.cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: names})
		if err != nil {
			return contract.Outcome{}, boundary("describe alarms", err)
		}
		in.Alarms = outcome.AlarmsFrom(out)
	}
	r := outcome.Evaluate(in)
	o := contract.Outcome{
		Cause:             string(r.Cause),
		Reason:            r.Reason,
		TaskDefinitionArn: r.TaskDefinition,
		RolloutState:      r.RolloutState,
		Alarm:             r.Alarm,
		FailedTasks:       r.FailedTasks,
		CheckedAt:         now,
	}
	switch {
	case r.Status == outcome.Succeeded:
		o.Status = contract.StatusCompleted
	case r.Status == outcome.InProgress:
		o.Status = contract.StatusInProgress
		end := in.Deadline
		if phase == contract.PhaseBake {
			end = in.BakeUntil
		}
		o.RemainingSeconds = max(1, seconds(end.Sub(now)))
	case r.Cause == outcome.CauseSuperseded && (sameRevision(r.TaskDefinition, p.CurrentTaskDefinitionArn) || sameRevision(r.TaskDefinition, p.RollbackTaskDefinitionArn)):
		// Back on the revision the plan started from or would roll back
		// to: ECS (or someone) undid the deploy.
		o.Status, o.Cause = contract.StatusFailed, string(outcome.CauseECSRollback)
		o.Reason = "service went back to " + r.TaskDefinition
	case r.Cause == outcome.CauseSuperseded:
		// Watch and check call Evaluate as the lease holder, so no newer
		// execution replaced ours: a superseded execution's update landed
		// late (or someone changed the service outside pushdeploy). The
		// state machine re-applies our revision (Update checks the lease
		// first) instead of finishing SUPERSEDED or rolling back.
		o.Status, o.Cause = contract.StatusFailed, contract.CauseReplaced
		o.Reason = fmt.Sprintf("the service runs %s, not %s, while this execution holds its lease (a superseded execution's late update or a change outside pushdeploy)",
			r.TaskDefinition, u.TaskDefinitionArn)
	default:
		o.Status = contract.StatusFailed
	}
	return o, nil
}
