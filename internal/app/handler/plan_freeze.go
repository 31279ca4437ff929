package handler

import (
	"context"
	"time"

	"github.com/pushdeploy/pushdeploy/internal/app/contract"
	"github.com/pushdeploy/pushdeploy/internal/app/freeze"
)

// Freezes reads the freeze covering a service (package freeze).
type Freezes interface {
	For(ctx context.Context, cluster, service string, now time.Time) (freeze.Freeze, bool, error)
}

var _ Freezes = (*freeze.Store)(nil)

// checkFreeze skips a push-triggered deploy that a freeze covers. Alarm
// rollbacks and an operator's manual executions are not held.
func (h *PlanHandler) checkFreeze(ctx context.Context, p *contract.Plan) error {
	if h.d.Freezes == nil || p.Action != contract.ActionDeploy || !p.Trigger.Automatic() {
		return nil
	}
	f, ok, err := h.d.Freezes.For(ctx, p.Cluster, p.ServiceArn, h.d.Clock.Now())
	if err != nil {
		return boundary("read freezes", err)
	}
	if ok {
		p.Action, p.Reason = contract.ActionSkip, f.Explain()
	}
	return nil
}
