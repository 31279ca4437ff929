// Package rollback chooses where a service goes back to, and whether an
// alarm should roll it back at all. Rules: go back to the last good revision
// (at most one deploy back), never to the revision being rolled back, never
// twice for one incident, never while a deploy is in flight; when nothing
// should happen, say why with a SkipReason.
package rollback

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"time"

	"github.com/pushdeploy/pushdeploy/internal/history"
	"github.com/pushdeploy/pushdeploy/internal/taskdef"
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
// last good revision, else the revision that ran before the deploy; never
// failed itself.
func AfterFailure(failed, previous, lastGood string) Decision {
	for _, c := range []struct{ rev, why string }{
		{lastGood, "last good revision"},
		{previous, "revision before the deploy (no last good revision recorded)"},
	} {
		if c.rev != "" && !same(c.rev, failed) {
			return Decision{Target: c.rev, Detail: "back to the " + c.why + " " + c.rev}
		}
	}
	return skip(NoTarget, "no revision other than "+failed+" to go back to")
}

// Manual resolves an operator's rollback: to requested (ARN, family:N or N
// of the current family) or, when empty, to the last good revision. It
// returns *taskdef.WrongFamilyError or *taskdef.RevisionError for a bad
// revision.
func Manual(current, requested, lastGood string) (Decision, error) {
	target := lastGood
	if requested != "" {
		r, err := taskdef.ResolveRevision(requested, current)
		if err != nil {
			return Decision{}, err
		}
		target = r.String()
	}
	if target == "" {
		return skip(NoTarget, "no last good revision recorded; give a revision"), nil
	}
	if same(target, current) {
		return skip(AlreadyOnTarget, "service already runs "+current), nil
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
	// Records are the service's newest history records, newest first (one
	// page is plenty: skipped and superseded records are passed over).
	Records []history.Record
	// LeaseHeld: an execution holds the service's lease.
	LeaseHeld bool
	// Window is how long after a deploy finished (its bake included) an
	// alarm still rolls it back.
	Window time.Duration
}

// ForAlarm decides whether an alarm rolls the service back, and where to.
func ForAlarm(in AlarmInput) Decision {
	if in.LeaseHeld {
		return skip(DeployInFlight, "an execution holds the service; it watches the alarm")
	}
	if in.Culprit != "" && !same(in.Culprit, in.Current) {
		return skip(RevisionChanged, "alarm fired on "+in.Culprit+" but the service now runs "+in.Current)
	}
	var rec *history.Record
	for i := range in.Records {
		switch r := in.Records[i]; {
		case r.Outcome == history.Failed && r.ToRevision == "":
			// Failed before planning (a bad manual input): it changed
			// nothing and says nothing about what runs.
		case r.Outcome == history.Succeeded, r.Outcome == history.RolledBack, r.Outcome == history.Failed:
			rec = &in.Records[i]
		}
		if rec != nil {
			break
		}
	}
	if rec == nil || !same(rec.ToRevision, in.Current) {
		return skip(NotDeployedByPushdeploy, "pushdeploy's history has no deploy that left "+in.Current+" running")
	}
	if rec.Outcome != history.Succeeded {
		return skip(AlreadyOnTarget, "the last execution ended "+string(rec.Outcome)+" on "+in.Current)
	}
	if rec.Action == "rollback" {
		return skip(AlreadyOnTarget, "the service was rolled back to "+in.Current)
	}
	if end := rec.FinishedAt.Add(in.Window); in.Now.After(end) {
		return skip(OutsideWindow, "the deploy of "+in.Current+" finished at "+rec.FinishedAt.UTC().Format(time.RFC3339)+", window ended "+end.UTC().Format(time.RFC3339))
	}
	target := rec.LastGoodBefore
	if target == "" {
		target = rec.FromRevision
	}
	if target == "" {
		return skip(NoTarget, "no revision recorded before the deploy of "+in.Current)
	}
	if same(target, in.Current) {
		return skip(AlreadyOnTarget, "service already runs its last good revision "+in.Current)
	}
	return Decision{Target: target, Detail: "alarm within the rollback window of the deploy of " + in.Current + ": back to " + target}
}

// same compares revisions given as ARNs or family:N.
func same(a, b string) bool {
	if a == b {
		return true
	}
	ra, err1 := taskdef.ParseRevision(a)
	rb, err2 := taskdef.ParseRevision(b)
	return err1 == nil && err2 == nil && ra == rb
}

var unsafe = regexp.MustCompile(`[^A-Za-z0-9_-]+`)

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
	label = unsafe.ReplaceAllString(label, "-")
	const max = 80 - len("rollback-") - 1 - 16
	if len(label) > max {
		label = label[len(label)-max:]
	}
	return "rollback-" + label + "-" + hex.EncodeToString(sum[:8])
}
