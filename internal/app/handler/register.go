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
	"github.com/pushdeploy/pushdeploy/internal/app/contract"
	"github.com/pushdeploy/pushdeploy/internal/app/taskdef"
)

// RegisterDeps are the register function's dependencies.
type RegisterDeps struct {
	ECS    awsapi.ECS
	Leases Leases
	Policy taskdef.Policy
	Log    *slog.Logger
}

// RegisterHandler registers an exact copy of the plan's current task
// definition with the planned containers' images pinned by digest.
type RegisterHandler struct{ d RegisterDeps }

// NewRegister returns the register handler.
func NewRegister(d RegisterDeps) (*RegisterHandler, error) {
	if d.ECS == nil || d.Leases == nil || d.Log == nil {
		return nil, fmt.Errorf("register: %w", errMissing)
	}
	return &RegisterHandler{d: d}, nil
}

// Handle registers the new revision. Redeploy and rollback know their
// revision from plan: register returns it, with no AWS call.
func (h *RegisterHandler) Handle(ctx context.Context, in contract.RegisterInput) (contract.RegisterResult, error) {
	p := in.Plan
	if p.Action == contract.ActionRedeploy || p.Action == contract.ActionRollback {
		if p.TargetTaskDefinitionArn == "" {
			return contract.RegisterResult{}, &contract.BadInput{Field: "plan.targetTaskDefinitionArn", Reason: "a " + string(p.Action) + " plan names its revision"}
		}
		return contract.RegisterResult{TaskDefinitionArn: p.TargetTaskDefinitionArn}, nil
	}
	if p.Action != contract.ActionDeploy || p.Image == nil || p.CurrentTaskDefinitionArn == "" {
		return contract.RegisterResult{}, &contract.BadInput{Field: "plan", Reason: "register needs a deploy plan with an image and the current revision"}
	}
	if p.LeaseOwner == "" {
		return contract.RegisterResult{}, &contract.BadInput{Field: "plan.leaseOwner", Reason: "the plan holds no lease"}
	}
	// No lease read first: registering a revision does not touch the
	// service, and the announcement below is conditional on the lease.
	img, err := taskdef.ParseImage(p.Image.Ref())
	if err != nil {
		return contract.RegisterResult{}, &contract.BadInput{Field: "plan.image", Reason: err.Error()}
	}
	img.Tag = p.Image.Tag
	out, err := h.d.ECS.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{
		TaskDefinition: aws.String(p.CurrentTaskDefinitionArn),
		Include:        []ecstypes.TaskDefinitionField{ecstypes.TaskDefinitionFieldTags},
	})
	if err != nil {
		return contract.RegisterResult{}, boundary("describe task definition "+p.CurrentTaskDefinitionArn, err)
	}
	reg := taskdef.RegisterInput(out.TaskDefinition, out.Tags)
	changes, err := taskdef.ReplaceImages(reg, img, p.Containers, h.d.Policy)
	if err != nil {
		return contract.RegisterResult{}, boundary("replace images", err)
	}
	res, err := h.d.ECS.RegisterTaskDefinition(ctx, reg)
	if err != nil {
		return contract.RegisterResult{}, boundary("register task definition", err)
	}
	r := contract.RegisterResult{TaskDefinitionArn: aws.ToString(res.TaskDefinition.TaskDefinitionArn), Registered: true}
	// Announced in the lease at once, so that another execution's cleanup
	// of the family keeps it until this execution finishes.
	// It is also the lease check: superseded, this execution takes its
	// revision back (nothing else will: it is in no ledger) and stops.
	if err := h.d.Leases.Intend(ctx, p.ServiceArn, p.LeaseOwner, r.TaskDefinitionArn); err != nil {
		err = supersededOr("announce revision", p, err)
		var sup *contract.Superseded
		if errors.As(err, &sup) {
			if _, derr := h.d.ECS.DeregisterTaskDefinition(ctx, &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String(r.TaskDefinitionArn)}); derr != nil {
				planLog(h.d.Log, p).WarnContext(ctx, "superseded: registered revision left", "taskDefinition", r.TaskDefinitionArn, "error", derr)
			}
		}
		return contract.RegisterResult{}, err
	}
	for _, c := range changes {
		r.Images = append(r.Images, contract.ImageChange{Container: c.Container, From: c.From, To: c.To})
	}
	planLog(h.d.Log, p).InfoContext(ctx, "registered", "taskDefinition", r.TaskDefinitionArn, "from", p.CurrentTaskDefinitionArn, "containers", p.Containers)
	return r, nil
}

// checkLease returns Superseded when the plan's execution no longer holds
// the service's lease: it must not touch the service again.
func checkLease(ctx context.Context, l Leases, p contract.Plan) error {
	if p.LeaseOwner == "" {
		return &contract.BadInput{Field: "plan.leaseOwner", Reason: "the plan holds no lease"}
	}
	if err := l.Check(ctx, p.ServiceArn, p.LeaseOwner); err != nil {
		return supersededOr("check lease", p, err)
	}
	return nil
}
