package ledger

import (
	"slices"
	"time"
)

// Finished is what the ledger needs to know of a finished execution.
type Finished struct {
	Execution string
	// Started and At are when the execution started and finished.
	Started, At time.Time
	// Action is deploy, redeploy, rollback or release; Outcome its terminal
	// status (SUCCEEDED, ROLLED_BACK, FAILED, SUPERSEDED, SKIPPED).
	Action  string
	Outcome string
	Reason  string
	// From ran before the execution; Deployed is what it put on the service
	// (a deploy's new revision, a redeploy's current one, a rollback's
	// target); To runs when it finished.
	From, Deployed, To string
	// Digest is the image a deploy put into Deployed, or the digest a
	// release lifts.
	Digest string
	// Undone: a deploy's update landed and was rolled back, or the rollback
	// was tried and failed. Either way the deployed revision is bad.
	Undone bool
	// Forced: an operator deployed a quarantined digest on purpose; its
	// success lifts the quarantine.
	Forced bool
	// Cancelled: an operator cancelled the deploy (pushdeploy cancel): it
	// was undone, but that is no evidence against its revision or image.
	Cancelled bool
	// Changed: the execution's update of the service landed (whatever
	// became of it after: a deploy superseded in its rollout changed the
	// service all the same).
	Changed bool
}

// maxReason caps the reasons kept in the ledger item.
const maxReason = 512

// ChangeOf says what a finished execution does to the ledger. Superseded and
// skipped executions, and failures that did not change the service, change
// nothing.
func (l Ledger) ChangeOf(f Finished) Change {
	c := Change{Execution: f.Execution, At: f.At}
	reason := f.Reason
	if len(reason) > maxReason {
		reason = reason[:maxReason] + "…"
	}
	// A deploy registers the revision it deploys; nothing else registers.
	registered := func(rev string) bool { return f.Action == "deploy" && Same(rev, f.Deployed) }
	bad := func(rev, digest string) {
		if rev == "" {
			return
		}
		if digest == "" {
			if r, ok := l.Get(rev); ok {
				digest = r.Digest
			}
		}
		c.Marks = append(c.Marks, Mark{Revision: rev, Digest: digest, Status: StatusBad, Reason: reason, Registered: registered(rev)})
		if digest != "" {
			c.Quarantine = append(c.Quarantine, Quarantine{Digest: digest, Revision: rev, Reason: reason})
		}
	}
	good := func(rev, digest, via string) {
		if rev != "" {
			c.Marks = append(c.Marks, Mark{Revision: rev, Digest: digest, Status: StatusGood, Via: via, Reason: reason, Registered: registered(rev)})
		}
	}
	switch f.Action {
	case "deploy", "redeploy":
		if len(l.Revisions) == 0 && f.From != "" && !Same(f.From, f.Deployed) && (f.Outcome == "SUCCEEDED" || f.Undone || f.Outcome == "SUPERSEDED" && f.Changed) {
			// pushdeploy's first change: the service ran From before it.
			// (Later, an unknown From is no evidence of anything: a
			// superseded deploy's revision, an operator's change.) A deploy
			// superseded after its update landed was that first change, so
			// it records From; else the deploy that overtook it would
			// record its own From, the superseded one's unbaked revision.
			c.Marks = append(c.Marks, Mark{Revision: f.From, Status: StatusGood, Via: ViaBefore, At: f.Started,
				Reason: "ran before pushdeploy's first change"})
		}
		switch {
		case f.Outcome == "SUCCEEDED":
			good(f.To, f.Digest, ViaDeploy)
			if f.Forced && f.Digest != "" {
				c.Release = append(c.Release, f.Digest)
			}
		case f.Outcome == "ROLLED_BACK" && f.Cancelled:
			// Back where it was, on request: nothing learned of the revision.
		case f.Outcome == "ROLLED_BACK":
			bad(f.Deployed, f.Digest)
			if !Same(f.To, f.Deployed) {
				good(f.To, "", ViaRollback)
			}
		case f.Outcome == "FAILED" && f.Undone && f.Cancelled:
		case f.Outcome == "FAILED" && f.Undone:
			bad(f.Deployed, f.Digest)
		}
	case "rollback":
		if f.Outcome == "ROLLED_BACK" && f.From != "" && !Same(f.From, f.To) {
			bad(f.From, "")
			good(f.To, "", ViaRollback)
		}
	case "release":
		if f.Outcome == "SUCCEEDED" && f.Digest != "" {
			c.Release = append(c.Release, f.Digest)
		}
	}
	return l.spareRunning(c, f.To)
}

// spareRunning drops the quarantine of the digest of the revision a
// rollback returned to: a rollback to another revision of the same image
// leaves that image running as a good one, and a quarantine of it would say
// the opposite; a forced rollback to a revision of a quarantined image
// lifts its quarantine. (A failed rollback leaves the bad image running,
// and quarantined: it needs an operator.)
func (l Ledger) spareRunning(c Change, running string) Change {
	digest, target := "", false
	for _, m := range c.Marks {
		if Same(m.Revision, running) && m.Status == StatusGood {
			digest, target = m.Digest, true
		}
	}
	if r, ok := l.Get(running); ok && target && digest == "" {
		digest = r.Digest
	}
	if digest == "" {
		return c
	}
	kept := c.Quarantine[:0]
	for _, q := range c.Quarantine {
		if q.Digest != digest {
			kept = append(kept, q)
		}
	}
	c.Quarantine = kept
	if _, ok := l.Quarantine(digest); ok && !slices.Contains(c.Release, digest) {
		c.Release = append(c.Release, digest) // rolled back to it on purpose (force)
	}
	return c
}
