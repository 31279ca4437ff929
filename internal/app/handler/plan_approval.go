package handler

import (
	"github.com/pushdeploy/pushdeploy/internal/app/contract"
	"github.com/pushdeploy/pushdeploy/internal/app/target"
)

// approvalNeeded: a service tagged pushdeploy:approval=required holds
// automatic deploys (a push, a promotion) for a person's answer. An
// operator's manual deploy is its own approval; rollbacks never wait.
func approvalNeeded(tr contract.Trigger, cfg target.Config) bool {
	return cfg.ApprovalTimeout > 0 && tr.Automatic()
}

// requireApproval sets the plan's approval window when the deploy is
// still going ahead after the freeze and promotion checks: the state
// machine's Route then parks it on the Approval state before Register, and
// the lease is held through the window (its TTL grows by it).
func requireApproval(cfg target.Config, p *contract.Plan) {
	if p.Action != contract.ActionDeploy || !approvalNeeded(p.Trigger, cfg) {
		p.ImageChanges = nil
		return
	}
	p.ApprovalSeconds = seconds(cfg.ApprovalTimeout)
}
