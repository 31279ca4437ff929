package e2e

// The soak reads the product's view of each service through the ledger API
// (internal/ledger, (*localrun.World).Ledger). Until that package lands on
// main, this adapter mirrors its shape and derives what it can from the
// history records and the LASTGOOD item; it knows no quarantine, because
// the product has none yet. When the package lands: delete the mirror types
// and make soakLedger an alias of ledger.Ledger read by w.Ledger.

import (
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/pushdeploy/pushdeploy/internal/history"
)

type ledgerStatus string

const (
	ledgerGood ledgerStatus = "good"
	ledgerBad  ledgerStatus = "bad"
)

type ledgerRevision struct {
	Revision  string
	Digest    string
	Status    ledgerStatus
	Since     time.Time
	Execution string
	Reason    string
	Via       string
}

type ledgerQuarantine struct {
	Digest    string
	Revision  string
	Execution string
	Reason    string
	Since     time.Time
}

type soakLedger struct {
	Service     string
	Revisions   []ledgerRevision
	Quarantined []ledgerQuarantine
}

// LastGood is the newest good revision not in exclude.
func (l soakLedger) LastGood(exclude ...string) (ledgerRevision, bool) {
	for i := len(l.Revisions) - 1; i >= 0; i-- {
		r := l.Revisions[i]
		if r.Status != ledgerGood || contains(exclude, r.Revision) {
			continue
		}
		return r, true
	}
	return ledgerRevision{}, false
}

func (l soakLedger) Quarantine(digest string) (ledgerQuarantine, bool) {
	for _, q := range l.Quarantined {
		if q.Digest == digest {
			return q, true
		}
	}
	return ledgerQuarantine{}, false
}

func (l soakLedger) IsBad(revision string) bool {
	for _, r := range l.Revisions {
		if r.Revision == revision {
			return r.Status == ledgerBad
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// ledger reads the product's ledger of a service. Derived, until
// internal/ledger lands: a ROLLED_BACK record makes the revision it left
// bad, and the LASTGOOD item is the one good revision (the product knows no
// other: it is what it rolls back to).
func (w *world) ledger(serviceARN string) (soakLedger, error) {
	recs, err := w.History(w.ctx, serviceARN)
	if err != nil {
		return soakLedger{}, err
	}
	l := soakLedger{Service: serviceARN}
	set := func(rev, digest string, st ledgerStatus, r history.Record) {
		if rev == "" {
			return
		}
		for i := range l.Revisions {
			if l.Revisions[i].Revision == rev {
				l.Revisions = append(l.Revisions[:i], l.Revisions[i+1:]...)
				break
			}
		}
		l.Revisions = append(l.Revisions, ledgerRevision{Revision: rev, Digest: digest, Status: st, Since: r.FinishedAt, Execution: r.ExecutionARN, Reason: r.Reason, Via: r.Action})
	}
	for i := len(recs) - 1; i >= 0; i-- {
		r := recs[i]
		switch r.Outcome {
		case history.RolledBack:
			if r.Action == "rollback" {
				set(r.FromRevision, "", ledgerBad, r)
			} else if r.DeployedRevision != r.ToRevision {
				set(r.DeployedRevision, digestOfRecord(r), ledgerBad, r)
			}
		}
	}
	name, err := w.tableName()
	if err != nil {
		return l, err
	}
	store, err := history.New(dynamodb.NewFromConfig(w.Config), name, 0)
	if err != nil {
		return l, err
	}
	lg, ok, err := store.LastGood(w.ctx, serviceARN)
	if err != nil {
		return l, err
	}
	if ok && lg.Revision != "" {
		digest := ""
		for _, r := range l.Revisions {
			if r.Revision == lg.Revision {
				digest = r.Digest
			}
		}
		set(lg.Revision, digest, ledgerGood, history.Record{FinishedAt: lg.UpdatedAt, ExecutionARN: lg.ExecutionARN, Action: "deploy"})
	}
	return l, nil
}

func (w *world) tableName() (string, error) {
	for _, name := range w.Installed.Tables {
		return name, nil
	}
	return "", errNoTable
}

type soakError string

func (e soakError) Error() string { return string(e) }

const errNoTable = soakError("no history table installed")
