package e2e

import "github.com/pushdeploy/pushdeploy/internal/app/ledger"

// The soak reads the product's view of each service (good and bad
// revisions, quarantined digests) through the ledger.
type soakLedger = ledger.Ledger

const ledgerGood = ledger.StatusGood

func (w *world) ledger(serviceARN string) (soakLedger, error) { return w.Ledger(w.ctx, serviceARN) }

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
