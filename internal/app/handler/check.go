package handler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/pushdeploy/pushdeploy/internal/app/contract"
)

// CheckDeps are the check function's dependencies.
type CheckDeps struct {
	Evaluator *Evaluator
	Leases    Leases
	Log       *slog.Logger
}

// CheckHandler looks once at the outcome after a wait's window passed (the
// safety net), when it always decides. (Wake-ups are judged by the waker.)
type CheckHandler struct{ d CheckDeps }

// NewCheck returns the check handler.
func NewCheck(d CheckDeps) (*CheckHandler, error) {
	if d.Evaluator == nil || d.Leases == nil || d.Log == nil {
		return nil, fmt.Errorf("check: %w", errMissing)
	}
	return &CheckHandler{d: d}, nil
}

// Handle checks once.
func (h *CheckHandler) Handle(ctx context.Context, in contract.CheckInput) (contract.Outcome, error) {
	if err := validPhase(in.Phase); err != nil {
		return contract.Outcome{}, err
	}
	p := in.Plan
	if err := checkLease(ctx, h.d.Leases, p); err != nil {
		var sup *contract.Superseded
		if errors.As(err, &sup) {
			return contract.Outcome{Status: contract.StatusSuperseded, Cause: contract.CauseSuperseded,
				Reason: sup.Error(), CheckedAt: h.d.Evaluator.clk.Now().UTC()}, nil
		}
		return contract.Outcome{}, err
	}
	o, err := h.d.Evaluator.Evaluate(ctx, in.Phase, p, in.Update, in.Since, in.TimedOut)
	if err != nil {
		return contract.Outcome{}, err
	}
	if in.TimedOut && !o.Decided() {
		// Evaluate decides whenever the deadline has passed; keep the
		// contract that a timed-out check never says "wait more".
		if in.Phase == contract.PhaseBake {
			o.Status, o.Cause = contract.StatusCompleted, contract.CauseBaked
		} else {
			o.Status, o.Cause = contract.StatusFailed, contract.CauseTimeout
		}
	}
	planLog(h.d.Log, p).InfoContext(ctx, "checked", "phase", in.Phase, "timedOut", in.TimedOut,
		"status", o.Status, "cause", o.Cause, "reason", o.Reason)
	return o, nil
}
