package handler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/pushdeploy/pushdeploy/internal/awsapi"
	"github.com/pushdeploy/pushdeploy/internal/clock"
	"github.com/pushdeploy/pushdeploy/internal/contract"
	"github.com/pushdeploy/pushdeploy/internal/lease"
	"github.com/pushdeploy/pushdeploy/internal/taskdef"
)

// UpdateDeps are the update function's dependencies.
type UpdateDeps struct {
	ECS    awsapi.ECS
	Leases Leases
	Clock  clock.Clock
	Log    *slog.Logger
}

// UpdateHandler updates the service to a revision, for the plan's action or
// to roll a failed deploy back, after checking the lease.
type UpdateHandler struct{ d UpdateDeps }

// NewUpdate returns the update handler.
func NewUpdate(d UpdateDeps) (*UpdateHandler, error) {
	if d.ECS == nil || d.Leases == nil || d.Clock == nil || d.Log == nil {
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
	if err := checkLease(ctx, h.d.Leases, p); err != nil {
		return contract.UpdateResult{}, err
	}
	log := planLog(h.d.Log, p).With("purpose", in.Purpose, "taskDefinition", in.TaskDefinitionArn)
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
	out, err := h.d.ECS.UpdateService(ctx, upd)
	if err != nil {
		return contract.UpdateResult{}, boundary("update service "+p.Service, err)
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
