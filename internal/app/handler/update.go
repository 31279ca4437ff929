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
	"github.com/pushdeploy/pushdeploy/internal/app/lease"
	"github.com/pushdeploy/pushdeploy/internal/app/taskdef"
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
}

// UpdateHandler updates the service to a revision, for the plan's action or
// to roll a failed deploy back, under the lease: the lease is checked, the
// service updated in a single attempt (no SDK retry: a retried call could
// land long after the check, over a newer execution's deploy), and the lease
// checked again. Each attempt's check announces the revision in the lease
// (Intend), so a newer execution that takes the lease meanwhile knows it as
// a possible late update before it lands. An update that turns out to have
// landed after a newer execution took the lease is also marked as late and
// wakes that execution's wait, whose check then finds the service on the
// marked revision and re-applies its own.
type UpdateHandler struct{ d UpdateDeps }

// NewUpdate returns the update handler.
func NewUpdate(d UpdateDeps) (*UpdateHandler, error) {
	if d.ECS == nil || d.Leases == nil || d.SFN == nil || d.Clock == nil || d.Log == nil {
		return nil, fmt.Errorf("update: %w", errMissing)
	}
	return &UpdateHandler{d: d}, nil
}

// Handle updates the service.
func (h *UpdateHandler) Handle(ctx context.Context, in contract.UpdateInput) (contract.UpdateResult, error) {
	p := in.Plan
	if in.Purpose != contract.PurposeDeploy && in.Purpose != contract.PurposeRollback {
		return contract.UpdateResult{}, &contract.BadInput{Field: "purpose", Reason: fmt.Sprintf("unknown purpose %q", in.Purpose)}
	}
	if p.Action == contract.ActionSkip || p.Cluster == "" || p.Service == "" {
		return contract.UpdateResult{}, &contract.BadInput{Field: "plan", Reason: "update needs a plan for a service"}
	}
	log := planLog(h.d.Log, p).With("purpose", in.Purpose, "taskDefinition", in.TaskDefinitionArn)
	if err := checkLease(ctx, h.d.Leases, p); err != nil {
		// A previous attempt that failed on our side (a timeout, a 5xx)
		// may still have landed before the lease was lost.
		if isSuperseded(err) && in.TaskDefinitionArn != "" {
			h.handOverIfOurs(ctx, log, p, in.TaskDefinitionArn)
		}
		return contract.UpdateResult{}, err
	}
	svc, err := describeService(ctx, h.d.ECS, p.Cluster, p.Service)
	if err != nil {
		return contract.UpdateResult{}, err
	}
	current := aws.ToString(svc.TaskDefinition)
	res := contract.UpdateResult{PreviousTaskDefinitionArn: current, TaskDefinitionArn: in.TaskDefinitionArn, StartedAt: h.d.Clock.Now().UTC()}
	if in.TaskDefinitionArn == "" {
		if in.Purpose != contract.PurposeRollback {
			return contract.UpdateResult{}, &contract.BadInput{Field: "taskDefinitionArn", Reason: "required"}
		}
		// Nowhere to go back to: leave the service as it is.
		res.TaskDefinitionArn, res.Unchanged = current, true
		log.WarnContext(ctx, "no rollback revision; service left on its current revision", "current", current)
		return res, nil
	}
	if in.Purpose == contract.PurposeRollback && sameRevision(current, in.TaskDefinitionArn) {
		// ECS already put it back (circuit breaker rollback): wait for it
		// to be stable, but start nothing new.
		res.TaskDefinitionArn, res.Unchanged = current, true
		if d := primary(svc); d != nil {
			res.DeploymentID = aws.ToString(d.Id)
		}
		log.InfoContext(ctx, "service already on the rollback revision")
		return res, nil
	}
	upd := &ecs.UpdateServiceInput{
		Cluster:        aws.String(p.Cluster),
		Service:        aws.String(p.Service),
		TaskDefinition: aws.String(in.TaskDefinitionArn),
	}
	if in.Purpose == contract.PurposeDeploy && p.Action == contract.ActionRedeploy {
		upd.ForceNewDeployment = true
	}
	// The SDK may retry a throttled or failed call for many seconds: the
	// guard checks the lease before every attempt, so each attempt lands
	// at most one round trip after a check, never over a newer execution's
	// deploy. A call that still fails becomes Throttled or Retryable and
	// the state machine's Retry runs the task again.
	// Each check also records the revision as in flight (Intend): a newer
	// execution that takes the lease inherits it as a possible late update
	// before it can see the service, and repairs it, where it leaves any
	// other revision (a change outside pushdeploy) alone.
	out, err := h.d.ECS.UpdateService(ctx, upd, guardAttempts(func(ctx context.Context) error {
		if err := h.d.Leases.Intend(ctx, p.ServiceArn, p.LeaseOwner, in.TaskDefinitionArn); err != nil {
			return supersededOr("check lease", p, err)
		}
		return nil
	}))
	if err != nil {
		err = boundary("update service "+p.Service, err)
		if isSuperseded(err) {
			// An earlier attempt may have landed (a timeout, a 5xx).
			h.handOverIfOurs(ctx, log, p, in.TaskDefinitionArn)
		}
		return contract.UpdateResult{}, err
	}
	if err := checkLease(ctx, h.d.Leases, p); err != nil {
		if !isSuperseded(err) {
			// The service changed: failing now would roll it back. The
			// wait's SetToken checks the lease again.
			log.WarnContext(ctx, "lease not checked after the update", "error", err)
		} else {
			log.WarnContext(ctx, "lease lost while the update was in flight; waking the newer execution", "error", err)
			landed := in.TaskDefinitionArn
			if d := primary(*out.Service); d != nil && aws.ToString(d.TaskDefinition) != "" {
				landed = aws.ToString(d.TaskDefinition) // as the holder will see it
			}
			h.wakeHolder(ctx, log, p, landed)
			return contract.UpdateResult{}, err
		}
	}
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
	log.InfoContext(ctx, "updated service", "previous", current, "deployment", res.DeploymentID)
	return res, nil
}

// guardAttempts makes the client's retryer run check before every attempt
// of the call and give up with its error. Without a retryer it can wrap,
// the call gets a single attempt.
func guardAttempts(check func(context.Context) error) func(*ecs.Options) {
	return func(o *ecs.Options) {
		r, ok := o.Retryer.(aws.RetryerV2)
		if !ok {
			o.RetryMaxAttempts = 1
			return
		}
		o.Retryer = &guardedRetryer{RetryerV2: r, check: check}
	}
}

// guardedRetryer is the client's retryer with a check before each attempt
// (GetAttemptToken is called before every attempt, the first included).
type guardedRetryer struct {
	aws.RetryerV2
	check func(context.Context) error
}

func (g *guardedRetryer) GetAttemptToken(ctx context.Context) (func(error) error, error) {
	if err := g.check(ctx); err != nil {
		return nil, err
	}
	return g.RetryerV2.GetAttemptToken(ctx)
}

func isSuperseded(err error) bool {
	var sup *contract.Superseded
	return errors.As(err, &sup)
}

// handOverIfOurs wakes the newer lease holder if the service runs rev, the
// revision this superseded execution was putting on it: an earlier attempt
// landed after all. Otherwise the newer execution owns what it sees.
func (h *UpdateHandler) handOverIfOurs(ctx context.Context, log *slog.Logger, p contract.Plan, rev string) {
	svc, err := describeService(ctx, h.d.ECS, p.Cluster, p.Service)
	if err != nil {
		log.WarnContext(ctx, "describe service after losing the lease", "error", err)
		return
	}
	if current := aws.ToString(svc.TaskDefinition); sameRevision(current, rev) {
		log.WarnContext(ctx, "service runs this superseded execution's revision; waking the newer execution", "current", current)
		h.wakeHolder(ctx, log, p, current)
	}
}

// wakeHolder marks rev in the lease as this superseded execution's late
// update, so that the holder repairs it (a revision it does not find marked
// is a change outside pushdeploy, which it leaves alone), then ends the
// holder's current wait (claiming its token, as the events function does)
// so that it checks the service now and re-applies its own revision. The
// wake-up is best effort: its timeout's check finds the same. This
// execution itself must not touch the service again.
func (h *UpdateHandler) wakeHolder(ctx context.Context, log *slog.Logger, p contract.Plan, rev string) {
	marked, err := h.d.Leases.MarkLateUpdate(ctx, p.ServiceArn, rev)
	switch {
	case err != nil:
		log.ErrorContext(ctx, "mark the late update: the newer execution will take "+rev+" for a change outside pushdeploy and leave it", "error", err)
	case !marked:
		// The newer execution finished before our update landed.
		log.ErrorContext(ctx, "superseded update landed after the newer execution finished: the service runs "+rev+"; redeploy the latest image")
		return
	}
	st, err := h.d.Leases.Get(ctx, p.ServiceArn)
	switch {
	case err != nil:
		log.ErrorContext(ctx, "read lease to wake the newer execution", "error", err)
		return
	case st.Holder == "":
		log.ErrorContext(ctx, "superseded update landed after the newer execution finished: the service runs "+rev+"; redeploy the latest image",
			"lastHolder", st.LastHolder)
		return
	case st.Token == "":
		log.InfoContext(ctx, "newer execution is not waiting; its next look finds the service on "+rev, "holder", st.Holder)
		return
	}
	claimed, err := h.d.Leases.ClearToken(ctx, p.ServiceArn, st.Token)
	if err != nil || !claimed {
		log.InfoContext(ctx, "newer execution already woken", "holder", st.Holder, "error", err)
		return
	}
	o := contract.Outcome{Status: contract.StatusInProgress, Cause: "late-update",
		Reason:    "a superseded execution's update landed after yours: the service runs " + rev,
		CheckedAt: h.d.Clock.Now().UTC()}
	if err := sendOutcome(ctx, h.d.SFN, st.Token, o); err != nil {
		log.WarnContext(ctx, "wake the newer execution", "holder", st.Holder, "error", err)
		return
	}
	log.InfoContext(ctx, "woke the newer execution", "holder", st.Holder)
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

func primary(s ecstypes.Service) *ecstypes.Deployment {
	for i := range s.Deployments {
		if aws.ToString(s.Deployments[i].Status) == "PRIMARY" {
			return &s.Deployments[i]
		}
	}
	return nil
}

// sameRevision compares revisions given as ARNs or family:N.
func sameRevision(a, b string) bool {
	if a == b {
		return true
	}
	ra, err1 := taskdef.ParseRevision(a)
	rb, err2 := taskdef.ParseRevision(b)
	return err1 == nil && err2 == nil && ra == rb
}

// supersededOr maps a lease's SupersededError to the named Superseded
// error, anything else through boundary.
func supersededOr(op string, p contract.Plan, err error) error {
	var sup *lease.SupersededError
	if errors.As(err, &sup) {
		return &contract.Superseded{Service: p.ServiceArn, Holder: sup.By}
	}
	return boundary(op, err)
}
