package handler

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/pushdeploy/pushdeploy/internal/app/awsapi"
	"github.com/pushdeploy/pushdeploy/internal/app/clock"
	"github.com/pushdeploy/pushdeploy/internal/app/contract"
	"github.com/pushdeploy/pushdeploy/internal/app/coord"
	"github.com/pushdeploy/pushdeploy/internal/app/outcome"
	"github.com/pushdeploy/pushdeploy/internal/app/taskdef"
)

// Evaluator looks once at a service and its alarms and judges a wait's
// phase with package outcome. Watch and check share it.
type Evaluator struct {
	ecs    awsapi.ECS
	cw     awsapi.CloudWatch
	leases LeaseReader
	clk    clock.Clock
}

// LeaseReader reads a service's lease (*coord.Store): its late-update marks
// tell a superseded execution's late update from a change made outside
// pushdeploy.
type LeaseReader = coord.Reader

// NewEvaluator returns an Evaluator.
func NewEvaluator(ecsAPI awsapi.ECS, cw awsapi.CloudWatch, leases LeaseReader, clk clock.Clock) (*Evaluator, error) {
	if ecsAPI == nil || cw == nil || leases == nil || clk == nil {
		return nil, fmt.Errorf("evaluator: %w", errMissing)
	}
	return &Evaluator{ecs: ecsAPI, cw: cw, leases: leases, clk: clk}, nil
}

// NewWait is the wait of phase, as watch parks it: its deadline is the end
// of the phase's window (rollout and undo: the update's start plus the
// deploy timeout; bake: since plus the bake), set once.
func NewWait(token string, phase contract.Phase, p contract.Plan, u contract.UpdateResult, since time.Time) coord.Wait {
	w := coord.Wait{Token: token, Phase: phase, Plan: p, Update: u, Since: since,
		Deadline: u.StartedAt.Add(time.Duration(p.TimeoutSeconds) * time.Second)}
	if phase == contract.PhaseBake {
		if since.IsZero() {
			w.Since = u.StartedAt
		}
		w.Deadline = w.Since.Add(time.Duration(p.BakeSeconds) * time.Second)
	}
	return w
}

// Judge judges a parked wait now (coord.Judge): the events function and
// dispatch wake a wait with it only when it is decided.
func (e *Evaluator) Judge(ctx context.Context, w coord.Wait) (contract.Outcome, error) {
	return e.judge(ctx, w, false)
}

var _ coord.Judge = (*Evaluator)(nil)

// Evaluate judges phase. timedOut says the wait hit its timeout: the
// deadline (rollout, rollback) or the bake's end is now, whatever the
// clocks say, so the result is decided.
func (e *Evaluator) Evaluate(ctx context.Context, phase contract.Phase, p contract.Plan, u contract.UpdateResult, since time.Time, timedOut bool) (contract.Outcome, error) {
	return e.judge(ctx, NewWait("", phase, p, u, since), timedOut)
}

func (e *Evaluator) judge(ctx context.Context, w coord.Wait, timedOut bool) (contract.Outcome, error) {
	phase, p, u := w.Phase, w.Plan, w.Update
	now := e.clk.Now().UTC()
	svc, err := describeService(ctx, e.ecs, p.Cluster, p.Service)
	var gone *contract.ServiceNotFound
	if errors.As(err, &gone) {
		return contract.Outcome{Status: contract.StatusFailed, Cause: contract.CauseServiceGone, Reason: gone.Error(), CheckedAt: now}, nil
	}
	if err != nil {
		return contract.Outcome{}, err
	}
	in := outcome.Input{
		Phase:        contract.PhaseRollout,
		Service:      svc,
		Expected:     u.TaskDefinitionArn,
		Previous:     u.PreviousTaskDefinitionArn,
		DeploymentID: u.DeploymentID,
		AlarmsSince:  u.StartedAt,
		Now:          now,
		Deadline:     w.Deadline,
	}
	if arn := u.ServiceDeploymentArn; arn != "" {
		// The service deployment's status decides where ECS has one; the
		// deployments array is the fallback.
		if in.ServiceDeployment, err = describeServiceDeployment(ctx, e.ecs, arn); err != nil {
			return contract.Outcome{}, err
		}
	}
	in.Undo = phase == contract.PhaseUndo
	if phase == contract.PhaseBake {
		in.Phase = contract.PhaseBake
		in.Deadline = u.StartedAt.Add(time.Duration(p.TimeoutSeconds) * time.Second)
		in.BakeUntil = w.Deadline
	}
	if timedOut {
		in.Deadline, in.BakeUntil = now, now
	}
	// An undo (of a failed deploy) or a rollback execution goes
	// back whatever the alarms say: judge only its rollout.
	if phase != contract.PhaseUndo && p.Action != contract.ActionRollback && len(p.Alarms) > 0 {
		alarms, err := describeAlarms(ctx, e.cw, p.Alarms)
		if err != nil {
			return contract.Outcome{}, boundary("describe alarms", err)
		}
		in.Alarms = alarms
	}
	r := outcome.Evaluate(in)
	o := contract.Outcome{
		Cause:             r.Cause,
		Reason:            r.Reason,
		TaskDefinitionArn: r.TaskDefinition,
		RolloutState:      r.RolloutState,
		Alarm:             r.Alarm,
		FailedTasks:       r.FailedTasks,
		CheckedAt:         now,

		ServiceDeploymentStatus: r.ServiceDeploymentStatus,
		LifecycleStage:          r.LifecycleStage,
	}
	switch {
	case r.Status == contract.StatusCompleted:
		o.Status = contract.StatusCompleted
	case r.Status == contract.StatusInProgress:
		o.Status = contract.StatusInProgress
	case r.Cause == contract.CauseSuperseded:
		// Watch and check call Evaluate as the lease holder, so no newer
		// execution replaced ours.
		return e.foreign(ctx, p, u, r, o)
	default:
		o.Status = contract.StatusFailed
	}
	return o, nil
}

// foreign judges a primary revision that is not the one this execution put
// on the service (coord.ClassifyForeign): the plan's own revisions mean the
// deploy was undone, a superseded execution's late update is repaired, and
// anything else is someone's change outside pushdeploy, which this
// execution must leave alone.
func (e *Evaluator) foreign(ctx context.Context, p contract.Plan, u contract.UpdateResult, r outcome.Result, o contract.Outcome) (contract.Outcome, error) {
	o.Status = contract.StatusFailed
	kind, err := coord.ClassifyForeign(ctx, e.leases, p.ServiceArn, r.TaskDefinition, p.CurrentTaskDefinitionArn, p.UndoTaskDefinitionArn)
	if err != nil {
		return contract.Outcome{}, boundary("read lease", err)
	}
	switch kind {
	case coord.Undone:
		o.Cause = contract.CauseECSRollback
		o.Reason = "service went back to " + r.TaskDefinition
	case coord.Replaced:
		// The state machine re-applies our revision (Update checks the
		// lease first) instead of finishing SUPERSEDED or rolling back.
		o.Cause = contract.CauseReplaced
		o.Reason = fmt.Sprintf("a superseded execution's late update put %s on the service instead of %s", shortRevision(r.TaskDefinition), shortRevision(u.TaskDefinitionArn))
	default:
		// An operator's update-service: fighting it would undo a fix made
		// by hand, so the execution stops touching the service.
		o.Cause = contract.CauseChangedOutside
		o.Reason = fmt.Sprintf("service changed outside pushdeploy to %s during the deploy of %s; pushdeploy left it as it is",
			shortRevision(r.TaskDefinition), shortRevision(u.TaskDefinitionArn))
	}
	return o, nil
}

// describeServiceDeployment returns the service deployment, or nil when ECS
// no longer knows it.
func describeServiceDeployment(ctx context.Context, api awsapi.ECS, arn string) (*ecstypes.ServiceDeployment, error) {
	out, err := api.DescribeServiceDeployments(ctx, &ecs.DescribeServiceDeploymentsInput{ServiceDeploymentArns: []string{arn}})
	if err != nil {
		return nil, boundary("describe service deployment", err)
	}
	if len(out.ServiceDeployments) == 0 {
		return nil, nil
	}
	return &out.ServiceDeployments[0], nil
}

// shortRevision is family:N for an ARN, or the string as given.
func shortRevision(s string) string {
	if r, err := taskdef.ParseRevision(s); err == nil {
		return r.String()
	}
	return s
}
