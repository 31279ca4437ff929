package coord

import (
	"errors"
	"testing"
	"time"

	"github.com/pushdeploy/pushdeploy/internal/app/contract"
)

func TestCancelOf(t *testing.T) {
	now := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	const exec = "arn:aws:states:us-east-1:1:execution:d:e1"
	parked := func(phase contract.Phase, action contract.Action) State {
		return State{Holder: exec, Until: now.Add(time.Hour), Token: "tok",
			Wait: &Wait{Phase: phase, Plan: contract.Plan{Action: action}}}
	}
	for _, tc := range []struct {
		name  string
		st    State
		retry bool
		ok    bool
	}{
		{name: "rollout", st: parked(contract.PhaseRollout, contract.ActionDeploy), ok: true},
		{name: "bake of a redeploy", st: parked(contract.PhaseBake, contract.ActionRedeploy), ok: true},
		{name: "undo in progress", st: parked(contract.PhaseUndo, contract.ActionDeploy)},
		{name: "a rollback", st: parked(contract.PhaseRollout, contract.ActionRollback)},
		{name: "another holder", st: State{Holder: "other", Token: "tok", Wait: &Wait{Phase: contract.PhaseRollout}}, retry: true},
		{name: "between steps", st: State{Holder: exec, Until: now.Add(time.Hour)}, retry: true},
	} {
		o, token, err := CancelOf(tc.st, exec, "alice", now)
		if tc.ok {
			if err != nil || token != "tok" || o.Status != contract.StatusFailed || o.Cause != CauseCancelled || o.Reason != "cancelled by alice" {
				t.Errorf("%s: %+v %q %v", tc.name, o, token, err)
			}
			continue
		}
		var not *NotCancellableError
		if !errors.As(err, &not) || not.Retry != tc.retry || token != "" {
			t.Errorf("%s: %v (token %q), want *NotCancellableError retry=%v", tc.name, err, token, tc.retry)
		}
	}
}
