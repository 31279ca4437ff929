package e2e

import (
	"testing"

	"github.com/pushdeploy/pushdeploy/internal/app/history"
	"github.com/pushdeploy/pushdeploy/internal/local/localcloud"
	lcecs "github.com/pushdeploy/pushdeploy/internal/local/localcloud/ecs"
)

// The soak's flake, driven on purpose: a crashing image is rolled back and
// finish's one transaction (the record and the ledger) fails again and
// again. Every such path must still end in exactly one record, the ledger
// changed (the digest quarantined) and the lease released; before, finish
// gave up after 2 minutes of throttling, or at once on a cancelled
// transaction, and the execution ended FinishFailed with no record, the
// lease held and the quarantine missing.
func TestFinishOutlastsFailingTransactions(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault func(*localcloud.Faults)
	}{
		// Throttled past the old retries: 7 runs of 6 SDK attempts.
		{"throttled", func(f *localcloud.Faults) {
			f.AddThrottle(localcloud.Throttle{Service: "dynamodb", Operation: "TransactWriteItems", Rate: 1, Limit: 60})
		}},
		// Cancelled for a conflict with another writer: no condition
		// failed, and the SDK does not retry it.
		{"conflict", func(f *localcloud.Faults) {
			f.AddCancel(localcloud.Cancel{Code: "TransactionConflict", Limit: 6})
		}},
		// Cancelled because an item's partition was throttled.
		{"partition throttled", func(f *localcloud.Faults) {
			f.AddCancel(localcloud.Cancel{Code: "ThrottlingError", Limit: 8})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			svc := w.service("prod", "web", nil)
			before, _ := w.running("prod", "web")
			crash := digestOf("web crash")
			w.Cloud.ECS().Faults().FailImage(lcecs.ImageFault{Image: crash, Mode: lcecs.FailToStart})
			tc.fault(w.Cloud.Faults())
			w.push("latest", "web crash")
			w.wait(1)
			rec := w.expectOutcomes(svc, history.RolledBack)[0]
			if rec.ToRevision != before {
				t.Fatalf("record says it runs %s, want %s", rec.ToRevision, before)
			}
			w.expectNoLease(svc)
			l, err := w.Ledger(w.ctx, svc)
			if err != nil {
				t.Fatal(err)
			}
			if _, q := l.Quarantine(crash); !q {
				t.Fatalf("%s not quarantined: %+v", crash, l.Quarantined)
			}
		})
	}
}
