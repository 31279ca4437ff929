package handler

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/pushdeploy/pushdeploy/internal/app/awsapi"
	"github.com/pushdeploy/pushdeploy/internal/app/clock"
	"github.com/pushdeploy/pushdeploy/internal/app/contract"
	"github.com/pushdeploy/pushdeploy/internal/app/coord"
	"github.com/pushdeploy/pushdeploy/internal/app/target"
)

// EventsDeps are the events function's dependencies.
type EventsDeps struct {
	Evaluator *Evaluator
	Leases    Leases
	SFN       awsapi.SFN
	Clock     clock.Clock
	Log       *slog.Logger
}

// EventsHandler judges the wait parked on a service when an ECS
// Deployment State Change concerns it, with the evaluator check uses, and
// wakes it with the outcome only when decided: an undecided event leaves
// the wait parked. (Alarms take one path, through dispatch, which judges a
// deploy in flight the same way or starts the alarm rollback.)
type EventsHandler struct {
	d EventsDeps
	c *coord.Coordinator
}

// NewEvents returns the events handler.
func NewEvents(d EventsDeps) (*EventsHandler, error) {
	if d.Evaluator == nil || d.Leases == nil || d.SFN == nil || d.Clock == nil || d.Log == nil {
		return nil, fmt.Errorf("events: %w", errMissing)
	}
	c, err := coord.NewCoordinator(d.Leases, d.SFN, d.Clock)
	if err != nil {
		return nil, fmt.Errorf("events: %w", err)
	}
	return &EventsHandler{d: d, c: c.WithJudge(d.Evaluator)}, nil
}

// Handle wakes waits for one event.
func (h *EventsHandler) Handle(ctx context.Context, ev contract.Event) (contract.EventsResult, error) {
	res := contract.EventsResult{Woken: []string{}}
	switch {
	case ev.Source == contract.SourceECS && ev.DetailType == contract.DetailTypeECSDeployment:
		var d contract.ECSDeploymentDetail
		if err := json.Unmarshal(ev.Detail, &d); err != nil {
			return res, &contract.BadInput{Field: "detail", Reason: err.Error()}
		}
		if len(ev.Resources) == 0 {
			return res, &contract.BadInput{Field: "resources", Reason: "no service ARN"}
		}
		svc := ev.Resources[0]
		if _, _, ok := target.SplitServiceARN(svc); !ok {
			return res, &contract.BadInput{Field: "resources", Reason: fmt.Sprintf("%q is not a service ARN", svc)}
		}
		reason := fmt.Sprintf("ECS %s for deployment %s", d.EventName, d.DeploymentID)
		if err := h.wake(ctx, svc, reason, &res); err != nil {
			return res, err
		}
	default:
		return res, &contract.BadInput{Field: "detail-type", Reason: fmt.Sprintf("unexpected event %s / %s", ev.Source, ev.DetailType)}
	}
	return res, nil
}

// wake judges the wait the service's lease holder parked, if any, and
// wakes it when decided (coord.WakeHolder: judge, claim the token, send).
func (h *EventsHandler) wake(ctx context.Context, service, reason string, res *contract.EventsResult) error {
	log := h.d.Log.With("service", service)
	w, err := h.c.WakeHolder(ctx, service)
	if err != nil {
		return boundary("wake the waiting execution", err)
	}
	switch w.Wake {
	case coord.WakeClaimedElsewhere:
		res.Waiting++
	case coord.WakeUndecided:
		log.InfoContext(ctx, "not decided; wait left parked", "execution", w.Holder, "event", reason, "outcome", w.Outcome.Reason)
		res.Parked++
	case coord.WakeStale:
		// The wait ended on its own (timeout, stop); nothing to wake.
		log.InfoContext(ctx, "stale task token", "execution", w.Holder)
	case coord.WakeSent:
		log.InfoContext(ctx, "woke execution", "execution", w.Holder, "event", reason,
			"status", w.Outcome.Status, "cause", w.Outcome.Cause, "reason", w.Outcome.Reason)
		res.Woken = append(res.Woken, w.Holder)
	}
	return nil
}
