package coord

import (
	"context"
	"fmt"
	"time"

	"github.com/pushdeploy/pushdeploy/internal/app/contract"
)

// CauseCancelled is the Cause of the FAILED outcome a cancel wakes a
// deploy's wait with: the state machine's decision sends it, like any
// failure, to the Undo states (back to the plan's undo revision), and
// finish records ROLLED_BACK "cancelled by <who>" without holding the
// revision bad or quarantining its image (a cancel is no evidence
// against it).
const CauseCancelled = contract.CauseCancelled

// NotCancellableError: the execution cannot be cancelled (now or ever).
type NotCancellableError struct {
	Execution string
	Reason    string
	// Retry: the execution may reach a wait that can be cancelled soon
	// (it is between states).
	Retry bool
}

func (e *NotCancellableError) Error() string {
	return fmt.Sprintf("execution %s cannot be cancelled: %s", e.Execution, e.Reason)
}

// Cancel wakes execution's parked rollout or bake wait with a cancelled
// outcome, claiming its token first (so an ECS event or an alarm cannot
// wake it a second time). The execution must hold the service's lease and
// be parked on a deploy's wait: an undo is already going back, a rollback
// has nowhere to go back to.
func (c *Coordinator) Cancel(ctx context.Context, service, execution, by string) error {
	st, err := c.Get(ctx, service)
	if err != nil {
		return fmt.Errorf("read lease: %w", err)
	}
	o, token, err := CancelOf(st, execution, by, c.clk.Now())
	if err != nil {
		return err
	}
	w, err := c.WakeToken(ctx, service, token, o)
	if err != nil {
		return err
	}
	if w != WakeSent {
		return &NotCancellableError{Execution: execution, Reason: "its wait ended meanwhile (" + w.String() + ")", Retry: true}
	}
	return nil
}

// CancelOf decides, from the lease, whether execution can be cancelled
// now, and the outcome and token to wake it with. The caller has seen the
// execution running (Step Functions says so, on any clock): the lease's
// expiry is not read here, since the CLI's clock is not the functions'.
func CancelOf(st State, execution, by string, now time.Time) (contract.Outcome, string, error) {
	no := func(reason string, retry bool) (contract.Outcome, string, error) {
		return contract.Outcome{}, "", &NotCancellableError{Execution: execution, Reason: reason, Retry: retry}
	}
	switch {
	case st.Holder != execution:
		// Running and not holding: not planned yet (or superseded, and
		// about to finish): the caller may try again, for a while.
		return no("it does not hold the service's lease (not planned yet, finished or superseded)", true)
	case st.Token == "" || st.Wait == nil:
		return no("it is not waiting on its rollout or bake (between steps)", true)
	case st.Wait.Plan.Action == contract.ActionRollback:
		return no("it is a rollback: there is no revision to go back to", false)
	case st.Wait.Phase == contract.PhaseApproval:
		return no("it waits for an approval and changed nothing yet: reject it (pushdeploy reject)", false)
	case st.Wait.Phase == contract.PhaseUndo:
		return no("it is already rolling back", false)
	case st.Wait.Phase != contract.PhaseRollout && st.Wait.Phase != contract.PhaseBake:
		return no("it waits on phase "+string(st.Wait.Phase), false)
	}
	return contract.Outcome{Status: contract.StatusFailed, Cause: CauseCancelled, Reason: "cancelled by " + by, CheckedAt: now.UTC()}, st.Token, nil
}
