// Package rollback chooses where a service goes back to, and whether an
// alarm should roll it back at all. Rules: go back to the last good revision
// (the newest good revision in the service's ledger), never to a revision
// rolled back from, never to the revision being rolled back, never twice
// for one incident, never while a deploy is in flight; when nothing
// should happen, say why with a SkipReason.
package rollback

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"sync"
	"time"

	"github.com/pushdeploy/pushdeploy/internal/app/ledger"
	"github.com/pushdeploy/pushdeploy/internal/app/taskdef"
)

// SkipReason says why no rollback happens. The values are stable words for
// records and logs.
type SkipReason string

const (
	// NoTarget: no last good revision and no previous revision to go to.
	NoTarget SkipReason = "no-rollback-target"
	// AlreadyOnTarget: the service already runs the revision a rollback
	// would go to (the last good one).
	AlreadyOnTarget SkipReason = "already-on-last-good"
	// NotDeployedByPushdeploy: the running revision was not put there by a
	// successful pushdeploy deploy, so an alarm has no culprit to undo.
	NotDeployedByPushdeploy SkipReason = "not-deployed-by-pushdeploy"
	// OutsideWindow: the deploy finished (bake included) longer ago than the
	// rollback window.
	OutsideWindow SkipReason = "outside-rollback-window"
	// DeployInFlight: an execution holds the service's lease; it watches the
	// alarms itself.
	DeployInFlight SkipReason = "deploy-in-flight"
	// RevisionChanged: the service no longer runs the revision that was
	// running when the alarm fired (the incident was already handled).
	RevisionChanged SkipReason = "revision-changed"
)

// Decision is a rollback target or a reason to do nothing.
type Decision struct {
	// Target is the revision to update the service to ("" when skipped).
	Target string
	Skip   SkipReason
	// Detail explains the decision for people.
	Detail string
}

// Skipped reports whether nothing should happen.
func (d Decision) Skipped() bool { return d.Skip != "" }

func skip(r SkipReason, detail string) Decision { return Decision{Skip: r, Detail: detail} }

// AfterFailure chooses where a failed deploy of failed goes back to: the
// ledger's last good revision, else the revision that ran before the deploy
// unless it was rolled back from; never failed itself.
func AfterFailure(l ledger.Ledger, failed, previous string) Decision {
	if lg, ok := l.LastGood(failed); ok {
		return Decision{Target: lg.Revision, Detail: "back to the last good revision " + lg.Revision}
	}
	if previous != "" && !ledger.Same(previous, failed) && !l.IsBad(previous) {
		return Decision{Target: previous, Detail: "back to the revision before the deploy " + previous + " (no good revision in the ledger)"}
	}
	return skip(NoTarget, "no good revision other than "+failed+" to go back to")
}

// RolledBackFromError: a manual rollback to a revision the service was
// rolled back from, without force.
type RolledBackFromError struct {
	Revision string
	Reason   string
}

func (e *RolledBackFromError) Error() string {
	return fmt.Sprintf("the service was rolled back from %s (%s); roll back to it with force", e.Revision, e.Reason)
}

// Manual resolves an operator's rollback: to requested (ARN, family:N or N
// of the current family) or, when empty, to the newest good revision other
// than the current one. It returns *taskdef.WrongFamilyError or
// *taskdef.RevisionError for a bad revision, and *RolledBackFromError for a
// revision rolled back from (unless force).
func Manual(l ledger.Ledger, current, requested string, force bool) (Decision, error) {
	if requested == "" {
		lg, ok := l.LastGood(current)
		if !ok {
			return skip(NoTarget, "no good revision other than "+current+" in the ledger; give a revision"), nil
		}
		return Decision{Target: lg.Revision, Detail: "back to the last good revision " + lg.Revision}, nil
	}
	r, err := taskdef.ResolveRevision(requested, current)
	if err != nil {
		return Decision{}, err
	}
	target := r.String()
	if ledger.Same(target, current) {
		return skip(AlreadyOnTarget, "service already runs "+current), nil
	}
	if e, ok := l.Get(target); ok && e.Status == ledger.StatusBad && !force {
		return Decision{}, &RolledBackFromError{Revision: target, Reason: e.Reason}
	}
	return Decision{Target: target, Detail: "back to " + target}, nil
}

// AlarmInput is what ForAlarm looks at.
type AlarmInput struct {
	Now time.Time
	// Current is the revision the service runs now.
	Current string
	// Culprit is the revision that ran when the alarm fired, if known.
	Culprit string
	// Ledger is the service's ledger.
	Ledger ledger.Ledger
	// LeaseHeld: an execution holds the service's lease.
	LeaseHeld bool
	// Window is how long after a deploy finished (its bake included) an
	// alarm still rolls it back.
	Window time.Duration
}

// ForAlarm decides whether an alarm rolls the service back, and where to:
// only a revision a pushdeploy deploy made good within the window is rolled
// back, to the newest other good revision.
func ForAlarm(in AlarmInput) Decision {
	if in.LeaseHeld {
		return skip(DeployInFlight, "an execution holds the service; it watches the alarm")
	}
	if in.Culprit != "" && !ledger.Same(in.Culprit, in.Current) {
		return skip(RevisionChanged, "alarm fired on "+in.Culprit+" but the service now runs "+in.Current)
	}
	cur, ok := in.Ledger.Get(in.Current)
	switch {
	case !ok:
		return skip(NotDeployedByPushdeploy, "pushdeploy's ledger has no deploy that left "+in.Current+" running")
	case cur.Status == ledger.StatusBad:
		return skip(AlreadyOnTarget, "the service was already rolled back from "+in.Current)
	case cur.Via == ledger.ViaRollback:
		return skip(AlreadyOnTarget, "the service was rolled back to "+in.Current)
	}
	if end := cur.Since.Add(in.Window); in.Now.After(end) {
		return skip(OutsideWindow, "the deploy of "+in.Current+" finished at "+cur.Since.UTC().Format(time.RFC3339)+", window ended "+end.UTC().Format(time.RFC3339))
	}
	target, ok := in.Ledger.LastGood(in.Current)
	if !ok {
		return skip(NoTarget, "no good revision other than "+in.Current+" to go back to")
	}
	return Decision{Target: target.Revision, Detail: "alarm within the rollback window of the deploy of " + in.Current + ": back to " + target.Revision}
}

// Compiled at first use: package init runs at every cold start.
var unsafe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`[^A-Za-z0-9_-]+`) })

// IncidentKey names one incident: rolling back culprit on service. Using it
// as the Step Functions execution name makes an alarm that flaps (or a
// duplicated event) start one rollback only. It is at most 80 characters
// of [A-Za-z0-9_-].
func IncidentKey(service, culprit string) string {
	sum := sha256.Sum256([]byte(service + "\x00" + culprit))
	label := culprit
	if r, err := taskdef.ParseRevision(culprit); err == nil {
		label = r.String()
	}
	label = unsafe().ReplaceAllString(label, "-")
	const max = 80 - len("rollback-") - 1 - 16
	if len(label) > max {
		label = label[len(label)-max:]
	}
	return "rollback-" + label + "-" + hex.EncodeToString(sum[:8])
}
