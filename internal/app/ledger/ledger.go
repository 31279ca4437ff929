// Package ledger is a service's record of its revisions: which ones passed
// their bake (good), which ones were rolled back from (bad), and which image
// digests must not come back (quarantined). It is the one source of truth
// for "last good" and for rollback targets: a rollback goes to the newest
// good revision, never to one that was rolled back from, and a digest rolled
// back from is not deployed again by a push until an operator releases it.
//
// The ledger is pure data and rules; package history stores it in DynamoDB,
// in the same transaction as the execution's terminal record, so a retried
// finish applies an execution's change once.
package ledger

import (
	"slices"
	"sort"
	"time"

	"github.com/pushdeploy/pushdeploy/internal/app/taskdef"
)

// Status is a revision's standing.
type Status string

const (
	// StatusGood: the revision passed its rollout and bake, or a rollback
	// returned the service to it.
	StatusGood Status = "good"
	// StatusBad: the service was rolled back from it (alarm, circuit
	// breaker, timeout, an operator's rollback).
	StatusBad Status = "bad"
)

// Via says how a revision became good.
const (
	ViaDeploy   = "deploy"   // a deploy or redeploy passed its bake
	ViaRollback = "rollback" // a rollback returned the service to it
	// ViaBefore: the service ran it, stable, before pushdeploy's first
	// change; it counts as good so that the first deploy can be undone.
	ViaBefore = "before"
)

// Limits keep the ledger item far below DynamoDB's 400 KB item size. The
// oldest entries go first; a revision a rollback may still need is the
// newest good one, which is never the oldest.
const (
	MaxRevisions   = 50
	MaxQuarantined = 100
)

// Revision is one task definition revision the service ran under pushdeploy.
type Revision struct {
	// Revision is the task definition ARN.
	Revision string `json:"revision" dynamodbav:"revision"`
	// Digest is the image digest pushdeploy put into it ("" if unknown).
	Digest string `json:"digest,omitempty" dynamodbav:"digest,omitempty"`
	Status Status `json:"status" dynamodbav:"status"`
	// Since is when it got its Status; the newest good revision is last good.
	Since time.Time `json:"since" dynamodbav:"since"`
	// Via is how it became good (ViaDeploy, ViaRollback).
	Via string `json:"via,omitempty" dynamodbav:"via,omitempty"`
	// Execution changed its Status, for Reason.
	Execution string `json:"execution" dynamodbav:"execution"`
	Reason    string `json:"reason,omitempty" dynamodbav:"reason,omitempty"`
	// Registered: one of this service's deploys registered it, so this
	// service's cleanup may deregister it (never a revision someone else
	// registered).
	Registered bool `json:"registered,omitempty" dynamodbav:"registered,omitempty"`
}

// Quarantine is an image digest the service was rolled back from.
type Quarantine struct {
	Digest string `json:"digest" dynamodbav:"digest"`
	// Revision is the revision that carried it; Execution the incident.
	Revision  string    `json:"revision,omitempty" dynamodbav:"revision,omitempty"`
	Execution string    `json:"execution" dynamodbav:"execution"`
	Reason    string    `json:"reason,omitempty" dynamodbav:"reason,omitempty"`
	Since     time.Time `json:"since" dynamodbav:"since"`
}

// Ledger is one service's revisions and quarantined digests.
type Ledger struct {
	Service     string       `json:"service" dynamodbav:"service"`
	Revisions   []Revision   `json:"revisions" dynamodbav:"revisions"`
	Quarantined []Quarantine `json:"quarantined" dynamodbav:"quarantined"`
}

// LastGood returns the newest good revision, not counting exclude (ARNs or
// family:N) nor a revision whose image is quarantined (deployed again later
// and rolled back from: a rollback must not bring it back), or ok false.
func (l Ledger) LastGood(exclude ...string) (Revision, bool) {
	var best Revision
	found := false
	for _, r := range l.Revisions {
		if r.Status != StatusGood || slices.ContainsFunc(exclude, func(x string) bool { return Same(x, r.Revision) }) {
			continue
		}
		if _, q := l.Quarantine(r.Digest); q && r.Digest != "" {
			continue
		}
		if !found || r.Since.After(best.Since) {
			best, found = r, true
		}
	}
	return best, found
}

// Get returns the entry of a revision, or ok false.
func (l Ledger) Get(revision string) (Revision, bool) {
	if i := l.index(revision); i >= 0 {
		return l.Revisions[i], true
	}
	return Revision{}, false
}

// IsBad reports whether the service was rolled back from revision.
func (l Ledger) IsBad(revision string) bool {
	r, ok := l.Get(revision)
	return ok && r.Status == StatusBad
}

// Quarantine returns the quarantine of digest, or ok false.
func (l Ledger) Quarantine(digest string) (Quarantine, bool) {
	for _, q := range l.Quarantined {
		if q.Digest == digest {
			return q, true
		}
	}
	return Quarantine{}, false
}

// GoodNewest returns the n newest good revisions, newest first: what
// rollbacks go to, and what cleanup keeps.
func (l Ledger) GoodNewest(n int) []string {
	var good []Revision
	for _, r := range l.Revisions {
		if r.Status == StatusGood {
			good = append(good, r)
		}
	}
	sort.SliceStable(good, func(i, j int) bool { return good[i].Since.After(good[j].Since) })
	var out []string
	for _, r := range good[:min(n, len(good))] {
		out = append(out, r.Revision)
	}
	return out
}

// Registered returns the revisions this service's deploys registered:
// the only ones its cleanup may deregister.
func (l Ledger) Registered() []string {
	var out []string
	for _, r := range l.Revisions {
		if r.Registered {
			out = append(out, r.Revision)
		}
	}
	return out
}

// Without returns a copy of the ledger without revision: a choice that
// must pass over one (deregistered since) asks the copy again.
func (l Ledger) Without(revision string) Ledger {
	l.Revisions = slices.DeleteFunc(slices.Clone(l.Revisions), func(r Revision) bool { return Same(r.Revision, revision) })
	return l
}

func (l Ledger) index(revision string) int {
	return slices.IndexFunc(l.Revisions, func(r Revision) bool { return Same(r.Revision, revision) })
}

// Mark is one revision's new standing, set by an execution.
type Mark struct {
	Revision string
	Digest   string // "" keeps the digest already recorded
	Status   Status
	Via      string
	Reason   string
	// At overrides the change's time (a revision that was good before).
	At time.Time
	// Registered: the execution registered the revision.
	Registered bool
}

// Change is what one finished execution does to the ledger.
type Change struct {
	Execution string
	At        time.Time
	// Marks are applied in order (a rolled-back-from revision, then the
	// revision rolled back to).
	Marks []Mark
	// Quarantine digests (with the Mark's revision and reason).
	Quarantine []Quarantine
	// Release lifts these digests' quarantine.
	Release []string
}

// Empty reports whether the change does nothing.
func (c Change) Empty() bool {
	return len(c.Marks) == 0 && len(c.Quarantine) == 0 && len(c.Release) == 0
}

// Apply applies a change and trims the ledger to its limits.
func (l *Ledger) Apply(c Change) {
	for _, m := range c.Marks {
		if m.Revision == "" {
			continue
		}
		e := Revision{Revision: m.Revision, Digest: m.Digest, Status: m.Status, Since: c.At, Via: m.Via, Execution: c.Execution, Reason: m.Reason, Registered: m.Registered}
		if !m.At.IsZero() {
			e.Since = m.At
		}
		if i := l.index(m.Revision); i >= 0 {
			if e.Digest == "" {
				e.Digest = l.Revisions[i].Digest
			}
			e.Registered = e.Registered || l.Revisions[i].Registered
			l.Revisions[i] = e
		} else {
			l.Revisions = append(l.Revisions, e)
		}
	}
	for _, d := range c.Release {
		l.Quarantined = slices.DeleteFunc(l.Quarantined, func(q Quarantine) bool { return q.Digest == d })
	}
	for _, q := range c.Quarantine {
		if q.Digest == "" {
			continue
		}
		q.Execution, q.Since = c.Execution, c.At
		l.Quarantined = slices.DeleteFunc(l.Quarantined, func(o Quarantine) bool { return o.Digest == q.Digest })
		l.Quarantined = append(l.Quarantined, q)
	}
	l.trim()
}

// trim drops the oldest entries beyond the limits, but never the last good
// revision.
func (l *Ledger) trim() {
	sort.SliceStable(l.Revisions, func(i, j int) bool { return l.Revisions[i].Since.Before(l.Revisions[j].Since) })
	lg, hasLG := l.LastGood()
	for len(l.Revisions) > MaxRevisions {
		i := 0
		if hasLG && Same(l.Revisions[0].Revision, lg.Revision) {
			i = 1
		}
		l.Revisions = slices.Delete(l.Revisions, i, i+1)
	}
	sort.SliceStable(l.Quarantined, func(i, j int) bool { return l.Quarantined[i].Since.Before(l.Quarantined[j].Since) })
	if n := len(l.Quarantined) - MaxQuarantined; n > 0 {
		l.Quarantined = slices.Delete(l.Quarantined, 0, n)
	}
}

// Same compares revisions given as ARNs or family:N.
func Same(a, b string) bool {
	if a == b {
		return true
	}
	ra, err1 := taskdef.ParseRevision(a)
	rb, err2 := taskdef.ParseRevision(b)
	return err1 == nil && err2 == nil && ra == rb
}
