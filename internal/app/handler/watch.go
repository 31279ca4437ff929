package handler

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/pushdeploy/pushdeploy/internal/app/awsapi"
	"github.com/pushdeploy/pushdeploy/internal/app/contract"
	"github.com/pushdeploy/pushdeploy/internal/app/coord"
	"github.com/pushdeploy/pushdeploy/internal/app/notify"
)

// WatchDeps are the watch function's dependencies.
type WatchDeps struct {
	Evaluator *Evaluator
	Leases    Leases
	SFN       awsapi.SFN
	Log       *slog.Logger
	// Approvals publishes the approval requests (*notify.Publisher).
	Approvals ApprovalRequester
}

// ApprovalRequester publishes a Deployment Approval Requested event.
type ApprovalRequester interface {
	RequestApproval(ctx context.Context, r notify.ApprovalRequest) error
}

// WatchHandler starts a wait (lambda:invoke.waitForTaskToken): it stores
// the task token in the service's lease with what the wait is for and its
// deadline (coord.Coordinator.Park), where the events function and
// dispatch (alarms) find it and judge it, then looks once and ends the
// wait at once when already decided.
type WatchHandler struct {
	d WatchDeps
	c *coord.Coordinator
}

// NewWatch returns the watch handler.
func NewWatch(d WatchDeps) (*WatchHandler, error) {
	if d.Evaluator == nil || d.Leases == nil || d.SFN == nil || d.Log == nil || d.Approvals == nil {
		return nil, fmt.Errorf("watch: %w", errMissing)
	}
	c, err := coord.NewCoordinator(d.Leases, d.SFN, d.Evaluator.clk)
	if err != nil {
		return nil, fmt.Errorf("watch: %w", err)
	}
	return &WatchHandler{d: d, c: c.WithJudge(d.Evaluator)}, nil
}

// Handle stores the token and checks once.
func (h *WatchHandler) Handle(ctx context.Context, in contract.WatchInput) (contract.WatchResult, error) {
	if in.Token == "" {
		return contract.WatchResult{}, &contract.BadInput{Field: "token", Reason: "required"}
	}
	if err := validPhase(in.Phase); err != nil {
		return contract.WatchResult{}, err
	}
	p := in.Plan
	if p.LeaseOwner == "" {
		return contract.WatchResult{}, &contract.BadInput{Field: "plan.leaseOwner", Reason: "the plan holds no lease"}
	}
	log := planLog(h.d.Log, p).With("phase", in.Phase)
	if in.Phase == contract.PhaseApproval {
		return h.awaitApproval(ctx, log, in)
	}
	// Token first, then look: an event after this point finds the token, one
	// before it is reflected in what we see.
	wait := NewWait(in.Token, in.Phase, p, in.Update, in.Since)
	if err := h.c.Park(ctx, p.ServiceArn, p.LeaseOwner, wait); err != nil {
		return contract.WatchResult{}, supersededOr("store task token", p, err)
	}
	o, err := h.d.Evaluator.Judge(ctx, wait)
	if err != nil {
		return contract.WatchResult{Stored: true}, err
	}
	res := contract.WatchResult{Stored: true, Status: o.Status}
	if !o.Decided() {
		log.InfoContext(ctx, "waiting", "reason", o.Reason, "deadline", wait.Deadline)
		return res, nil
	}
	res.Decided = true
	switch w, err := h.c.WakeToken(ctx, p.ServiceArn, in.Token, o); {
	case err != nil:
		return res, boundary("wake own wait", err)
	case w == coord.WakeClaimedElsewhere:
		log.InfoContext(ctx, "already woken by an event", "status", o.Status)
	case w == coord.WakeStale:
		log.InfoContext(ctx, "own wait already ended", "status", o.Status)
	default:
		log.InfoContext(ctx, "decided at once", "status", o.Status, "cause", o.Cause, "reason", o.Reason)
	}
	return res, nil
}

// awaitApproval parks the approval wait and announces it. Nothing judges
// it: pushdeploy approve or reject answers it (coord.Approve, Reject), a
// newer execution supersedes it, or it times out. The event goes out after
// the park, so whoever reads it can answer at once.
func (h *WatchHandler) awaitApproval(ctx context.Context, log *slog.Logger, in contract.WatchInput) (contract.WatchResult, error) {
	p := in.Plan
	switch {
	case p.ApprovalSeconds <= 0:
		return contract.WatchResult{}, &contract.BadInput{Field: "plan.approvalSeconds", Reason: "the plan asks for no approval"}
	case in.Since.IsZero():
		return contract.WatchResult{}, &contract.BadInput{Field: "since", Reason: "required for an approval wait"}
	}
	wait := coord.Wait{Token: in.Token, Phase: in.Phase, Plan: p, Since: in.Since.UTC(), Deadline: coord.ApprovalDeadline(p, in.Since).UTC()}
	if err := h.c.Park(ctx, p.ServiceArn, p.LeaseOwner, wait); err != nil {
		return contract.WatchResult{}, supersededOr("store task token", p, err)
	}
	req := notify.ApprovalRequest{
		ExecutionARN: p.ExecutionArn, Cluster: p.Cluster, Service: p.Service, ServiceARN: p.ServiceArn,
		From: p.CurrentTaskDefinitionArn, Changes: p.ImageChanges,
		RequestedAt: wait.Since, Deadline: wait.Deadline,
		Approve: "pushdeploy approve " + p.ExecutionArn,
		Reject:  "pushdeploy reject " + p.ExecutionArn + " --reason REASON",
	}
	if p.Image != nil {
		req.Image, req.Tag = p.Image.Ref(), p.Image.Tag
	}
	if p.Started != nil {
		req.RequestedBy = p.Started.By
	}
	if err := h.d.Approvals.RequestApproval(ctx, req); err != nil {
		return contract.WatchResult{Stored: true}, boundary("publish approval request", err)
	}
	log.InfoContext(ctx, "waiting for approval", "deadline", wait.Deadline)
	return contract.WatchResult{Stored: true, Status: contract.StatusInProgress}, nil
}

func validPhase(ph contract.Phase) error {
	switch ph {
	case contract.PhaseRollout, contract.PhaseBake, contract.PhaseUndo, contract.PhaseApproval:
		return nil
	}
	return &contract.BadInput{Field: "phase", Reason: fmt.Sprintf("unknown phase %q", ph)}
}
