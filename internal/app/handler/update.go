package handler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/pushdeploy/pushdeploy/internal/app/awsapi"
	"github.com/pushdeploy/pushdeploy/internal/app/clock"
	"github.com/pushdeploy/pushdeploy/internal/app/contract"
	"github.com/pushdeploy/pushdeploy/internal/app/coord"
)

// UpdateDeps are the update function's dependencies.
type UpdateDeps struct {
	ECS    awsapi.ECS
	Leases Leases
	// SFN wakes the newer lease holder when this execution's update landed
	// after it lost the lease.
	SFN   awsapi.SFN
	Clock clock.Clock
	Log   *slog.Logger
	// Evaluator judges the newer execution's wait when this superseded
	// execution's update landed late (the hand-over).
	Evaluator *Evaluator
}

// UpdateHandler updates the service to a revision, for the plan's action or
// to roll a failed deploy back, under the lease: before every attempt of
// UpdateService the revision is announced in the lease (Intend, a write
// conditional on holding it: the lease check), so a newer execution that
// takes the lease meanwhile knows it as a possible late update before it
// lands, and the lease is checked again after the call. An update that
// turns out to have landed after a newer execution took the lease is also
// marked as late and wakes that execution's wait, whose check then finds
// the service on the marked revision: judged here, it is woken with cause
// replaced and re-applies its own.
type UpdateHandler struct {
	d UpdateDeps
	c *coord.Coordinator
}

// NewUpdate returns the update handler.
func NewUpdate(d UpdateDeps) (*UpdateHandler, error) {
	if d.ECS == nil || d.Leases == nil || d.SFN == nil || d.Clock == nil || d.Log == nil || d.Evaluator == nil {
		return nil, fmt.Errorf("update: %w", errMissing)
	}
	c, err := coord.NewCoordinator(d.Leases, d.SFN, d.Clock)
	if err != nil {
		return nil, fmt.Errorf("update: %w", err)
	}
	return &UpdateHandler{d: d, c: c.WithJudge(d.Evaluator)}, nil
}

// Handle updates the service.
func (h *UpdateHandler) Handle(ctx context.Context, in contract.UpdateInput) (contract.UpdateResult, error) {
	p := in.Plan
	if in.Purpose != contract.PurposeDeploy && in.Purpose != contract.PurposeUndo {
		return contract.UpdateResult{}, &contract.BadInput{Field: "purpose", Reason: fmt.Sprintf("unknown purpose %q", in.Purpose)}
	}
	if p.Action == contract.ActionSkip || p.Cluster == "" || p.Service == "" {
		return contract.UpdateResult{}, &contract.BadInput{Field: "plan", Reason: "update needs a plan for a service"}
	}
	log := planLog(h.d.Log, p).With("purpose", in.Purpose, "taskDefinition", in.TaskDefinitionArn)
	upd := &ecs.UpdateServiceInput{
		Cluster:        aws.String(p.Cluster),
		Service:        aws.String(p.Service),
		TaskDefinition: aws.String(in.TaskDefinitionArn),
	}
	guarded := coord.Update{ServiceARN: p.ServiceArn, Holder: p.LeaseOwner, Input: upd, Log: log}
	if p.LeaseOwner == "" {
		return contract.UpdateResult{}, &contract.BadInput{Field: "plan.leaseOwner", Reason: "the plan holds no lease"}
	}
	// No lease read here: the guarded update's Intend, before every
	// attempt, is the lease check (a conditional write on the holder), and
	// when it finds the lease lost it hands over an earlier attempt that
	// landed (a timeout, a 5xx) as a read here did. The paths that return
	// without that update check the lease themselves (unchanged).
	res := contract.UpdateResult{TaskDefinitionArn: in.TaskDefinitionArn, StartedAt: h.d.Clock.Now().UTC()}
	if in.Purpose == contract.PurposeDeploy && in.TaskDefinitionArn == "" {
		return contract.UpdateResult{}, &contract.BadInput{Field: "taskDefinitionArn", Reason: "required"}
	}
	// A deploy updates whatever the service runs (a look here would not
	// stop it landing over a change made meanwhile; the waits judge that):
	// what it replaced comes from UpdateService's answer, the service as
	// the update found it. An undo decides from the service as it is now.
	if in.Purpose == contract.PurposeUndo {
		svc, err := describeService(ctx, h.d.ECS, p.Cluster, p.Service)
		if err != nil {
			return contract.UpdateResult{}, err
		}
		res.PreviousTaskDefinitionArn = aws.ToString(svc.TaskDefinition)
		done, err := h.undoWithoutUpdate(ctx, guarded, p, svc, in.TaskDefinitionArn, &res, log)
		if err != nil {
			return contract.UpdateResult{}, err
		}
		if done {
			return res, nil
		}
	}
	if in.Purpose == contract.PurposeDeploy && p.Action == contract.ActionRedeploy {
		upd.ForceNewDeployment = true
	}
	// The guarded update (coord.UpdateService): the lease is checked, and
	// the revision announced (Intend), before every attempt the SDK makes,
	// so each lands at most one round trip after a check; a newer execution
	// that takes the lease inherits the revision as a possible late update
	// before it can see the service. A call that still fails becomes
	// Throttled or Retryable and the state machine's Retry runs the task
	// again.
	out, err := h.c.UpdateService(ctx, h.d.ECS, guarded)
	if err != nil {
		return contract.UpdateResult{}, supersededOr("update service "+p.Service, p, err)
	}
	if in.Purpose == contract.PurposeDeploy {
		res.PreviousTaskDefinitionArn = replacedRevision(out.Service, p.CurrentTaskDefinitionArn)
	}
	res.ServiceDeploymentArn = aws.ToString(out.Service.CurrentServiceDeployment)
	if d := primary(*out.Service); d != nil {
		res.DeploymentID = aws.ToString(d.Id)
		if d.CreatedAt != nil {
			// The deployment's own time: alarms and deadlines are judged
			// against the cloud's clock, not this function's.
			res.StartedAt = d.CreatedAt.UTC()
		}
		if td := aws.ToString(d.TaskDefinition); td != "" {
			res.TaskDefinitionArn = td
		}
	}
	log.InfoContext(ctx, "updated service", "previous", res.PreviousTaskDefinitionArn, "deployment", res.DeploymentID)
	return res, nil
}

// undoWithoutUpdate handles the undos that need no UpdateService: no
// revision to go back to, the service already back on it (ECS's circuit
// breaker), or the deploy's service deployment stopped with ROLLBACK. It
// fills res and reports whether the undo is done.
func (h *UpdateHandler) undoWithoutUpdate(ctx context.Context, guarded coord.Update, p contract.Plan, svc ecstypes.Service, undoTo string, res *contract.UpdateResult, log *slog.Logger) (bool, error) {
	current := aws.ToString(svc.TaskDefinition)
	if undoTo == "" {
		// Nowhere to go back to: leave the service as it is.
		res.TaskDefinitionArn, res.Unchanged = current, true
		if err := h.unchanged(ctx, guarded, p); err != nil {
			return true, err
		}
		log.WarnContext(ctx, "no revision to undo to; service left on its current revision", "current", current)
		return true, nil
	}
	if sameRevision(current, undoTo) {
		// ECS already put it back (circuit breaker rollback): wait for it
		// to be stable, but start nothing new.
		res.TaskDefinitionArn, res.Unchanged = current, true
		res.ServiceDeploymentArn = aws.ToString(svc.CurrentServiceDeployment)
		if d := primary(svc); d != nil {
			res.DeploymentID = aws.ToString(d.Id)
		}
		if err := h.unchanged(ctx, guarded, p); err != nil {
			return true, err
		}
		log.InfoContext(ctx, "service already on the undo revision")
		return true, nil
	}
	stopped, err := h.stopForUndo(ctx, guarded, p, svc, undoTo)
	if err != nil || stopped == "" {
		return err != nil, err
	}
	res.ServiceDeploymentArn, res.NativeRollback = stopped, true
	log.InfoContext(ctx, "stopped the deploy's service deployment with ROLLBACK", "serviceDeployment", stopped)
	return true, nil
}

// replacedRevision is the revision an update replaced, from UpdateService's
// answer: the newest deployment other than the new PRIMARY (the one that
// was primary until the call). Without one, the plan's current revision.
func replacedRevision(s *ecstypes.Service, planned string) string {
	var newest *ecstypes.Deployment
	if s != nil {
		for i := range s.Deployments {
			d := &s.Deployments[i]
			if aws.ToString(d.Status) == "PRIMARY" || aws.ToString(d.TaskDefinition) == "" {
				continue
			}
			if newest == nil || (d.CreatedAt != nil && (newest.CreatedAt == nil || d.CreatedAt.After(*newest.CreatedAt))) {
				newest = d
			}
		}
	}
	if newest == nil {
		return planned
	}
	return aws.ToString(newest.TaskDefinition)
}

// stopForUndo undoes a deploy whose ECS service deployment is still in
// progress (a blue/green bake included) with StopServiceDeployment
// (ROLLBACK): ECS returns to the deployment's source, which for blue/green,
// linear and canary still runs, so traffic moves back at once. Only when
// that source is where the undo goes: the revision the service ran before
// this deploy. It returns the stopped deployment's ARN, or "" when the
// undo must update the service as before (no service deployment, one
// already finished, or another source).
func (h *UpdateHandler) stopForUndo(ctx context.Context, guarded coord.Update, p contract.Plan, svc ecstypes.Service, undoTo string) (string, error) {
	arn := aws.ToString(svc.CurrentServiceDeployment)
	if arn == "" || p.CurrentTaskDefinitionArn == "" || !sameRevision(p.CurrentTaskDefinitionArn, undoTo) {
		return "", nil
	}
	sd, err := describeServiceDeployment(ctx, h.d.ECS, arn)
	if err != nil || sd == nil {
		return "", err
	}
	switch sd.Status {
	case ecstypes.ServiceDeploymentStatusPending, ecstypes.ServiceDeploymentStatusInProgress:
	default:
		return "", nil
	}
	// The lease right before the call: an execution that lost it must not
	// stop the newer one's deployment (nor leave an earlier attempt that
	// landed unannounced: CheckBefore hands it over).
	if err := h.c.CheckBefore(ctx, h.d.ECS, guarded); err != nil {
		return "", supersededOr("check lease", p, err)
	}
	_, err = h.d.ECS.StopServiceDeployment(ctx, &ecs.StopServiceDeploymentInput{
		ServiceDeploymentArn: aws.String(arn), StopType: ecstypes.StopServiceDeploymentStopTypeRollback})
	var conflict *ecstypes.ConflictException
	if errors.As(err, &conflict) {
		// It finished meanwhile: update the service as before.
		return "", nil
	}
	if err != nil {
		return "", boundary("stop service deployment", err)
	}
	return arn, nil
}

// unchanged checks the lease for an undo that leaves the service as it is
// (no guarded update to check it): an execution that lost the lease ends
// Superseded, and an earlier attempt of it that landed is handed over.
func (h *UpdateHandler) unchanged(ctx context.Context, guarded coord.Update, p contract.Plan) error {
	if err := h.c.CheckBefore(ctx, h.d.ECS, guarded); err != nil {
		return supersededOr("check lease", p, err)
	}
	return nil
}

// describeService returns the service or ServiceNotFound.
func describeService(ctx context.Context, api awsapi.ECS, cluster, service string) (ecstypes.Service, error) {
	out, err := api.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: []string{service}})
	if err != nil {
		return ecstypes.Service{}, boundary("describe service "+service, err)
	}
	if len(out.Services) == 0 {
		reason := "not found"
		if len(out.Failures) > 0 {
			reason = aws.ToString(out.Failures[0].Reason)
		}
		return ecstypes.Service{}, &contract.ServiceNotFound{Cluster: cluster, Service: service, Err: errors.New(reason)}
	}
	s := out.Services[0]
	if st := aws.ToString(s.Status); st != "ACTIVE" {
		return ecstypes.Service{}, &contract.ServiceNotFound{Cluster: cluster, Service: service, Err: fmt.Errorf("status %s", st)}
	}
	return s, nil
}

func primary(s ecstypes.Service) *ecstypes.Deployment { return coord.Primary(&s) }

// sameRevision compares revisions given as ARNs or family:N.
func sameRevision(a, b string) bool { return coord.SameRevision(a, b) }

// supersededOr maps a lease's SupersededError to the named Superseded
// error, anything else through boundary.
func supersededOr(op string, p contract.Plan, err error) error {
	var sup *coord.SupersededError
	if errors.As(err, &sup) {
		return &contract.Superseded{Service: p.ServiceArn, Holder: sup.By}
	}
	return boundary(op, err)
}
