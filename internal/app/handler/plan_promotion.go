package handler

import (
	"context"
	"strings"

	"github.com/pushdeploy/pushdeploy/internal/app/contract"
	"github.com/pushdeploy/pushdeploy/internal/app/target"
)

// checkPromotion skips a push-triggered deploy of a service that follows
// another (pushdeploy:after) until the digest passed its bake there: the
// other service's ledger must hold it good by a deploy. One ledger read,
// only for such services. An operator's manual deploy is not held.
func (h *PlanHandler) checkPromotion(ctx context.Context, t target.Target, p *contract.Plan) error {
	if t.Config.After == "" || p.Action != contract.ActionDeploy || !p.Trigger.Automatic() || p.Image == nil {
		return nil
	}
	led, err := h.d.History.Ledger(ctx, siblingARN(t.ServiceARN, t.Config.After))
	if err != nil {
		return boundary("read the ledger of "+t.Config.After, err)
	}
	if _, ok := led.Baked(p.Image.Digest); !ok {
		p.Action, p.Reason = contract.ActionSkip, "waiting for "+t.Config.After+": "+p.Image.Digest+" has not passed its bake there"
	}
	return nil
}

// siblingARN is the ARN of cluster/service in the account and region of
// serviceARN (arn:aws:ecs:<region>:<account>:service/<cluster>/<service>).
func siblingARN(serviceARN, clusterService string) string {
	if i := strings.Index(serviceARN, ":service/"); i >= 0 {
		return serviceARN[:i] + ":service/" + clusterService
	}
	return clusterService
}
