package e2e

// The soak's reference model: per service, what it runs, its good revisions
// in the order they last became good, its bad revisions and its quarantined
// digests; and, per phase, the terminal outcome each new execution must end
// with. The rules are pushdeploy's intended semantics (see soak_test.go).

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/pushdeploy/pushdeploy/internal/app/history"
)

// mRev is one revision of a service as the model knows it. Its ARN is
// learned from the execution that registered it (the model cannot know the
// revision number ECS will give); the digest is known up front.
type mRev struct {
	arn      string
	digest   string
	bad      bool
	incident bool // an alarm execution exists for (service, this revision)
}

func (r *mRev) String() string {
	if r == nil {
		return "-"
	}
	name := r.arn
	if i := strings.LastIndex(name, "/"); i >= 0 {
		name = name[i+1:]
	}
	if name == "" {
		name = "(new)"
	}
	return name + "@" + short(r.digest)
}

func short(digest string) string {
	d := strings.TrimPrefix(digest, "sha256:")
	if len(d) > 8 {
		d = d[:8]
	}
	return d
}

// mService is the model of one service.
type mService struct {
	spec *soakService
	cur  *mRev
	revs []*mRev // every revision the model knows, oldest first
	good []*mRev // oldest first; the newest good is last
	quar map[string]bool
	// initial is the revision the soak created the service with; recorded
	// once pushdeploy has noted it as good: at the first deploy that
	// SUCCEEDED or was rolled back (it ran before pushdeploy's first
	// change), or a redeploy of it.
	initial  *mRev
	recorded bool
	win      *mRev     // the revision a SUCCEEDED deploy put there, while its rollback window may be open
	winAt    time.Time // when that deploy finished
}

func (s *mService) newRev(digest string) *mRev {
	r := &mRev{digest: digest}
	s.revs = append(s.revs, r)
	return r
}

// newestGood is the last good revision.
func (s *mService) newestGood() *mRev {
	if len(s.good) == 0 {
		return nil
	}
	return s.good[len(s.good)-1]
}

// target is where a rollback goes: the newest good revision other than
// exclude, passing over any that carries a quarantined digest (a rollback
// must not bring a quarantined image back; it can carry one when that image
// was deployed again later, in a revision that was then rolled back from).
func (s *mService) target(exclude *mRev) *mRev {
	for i := len(s.good) - 1; i >= 0; i-- {
		if g := s.good[i]; g != exclude && !g.bad && !s.quar[g.digest] {
			return g
		}
	}
	return nil
}

// record notes the initial revision as good, the oldest, the first time
// pushdeploy completes a change of the service.
func (s *mService) record() {
	if s.recorded {
		return
	}
	s.recorded = true
	if s.initial != nil && !s.initial.bad {
		for _, g := range s.good {
			if g == s.initial {
				return
			}
		}
		s.good = append([]*mRev{s.initial}, s.good...)
	}
}

// makeGood makes r the newest good revision.
func (s *mService) makeGood(r *mRev) {
	s.dropGood(r)
	r.bad = false
	s.good = append(s.good, r)
}

func (s *mService) dropGood(r *mRev) {
	for i, g := range s.good {
		if g == r {
			s.good = append(s.good[:i], s.good[i+1:]...)
			return
		}
	}
}

// makeBad marks r bad and quarantines its digest.
func (s *mService) makeBad(r *mRev) {
	s.dropGood(r)
	r.bad = true
	s.quar[r.digest] = true
}

func (s *mService) quarantined() []string {
	var out []string
	for d := range s.quar {
		out = append(out, d)
	}
	sort.Strings(out)
	return out
}

// learn says which revision of a matched record fills an mRev's ARN.
type learn int

const (
	learnNone     learn = iota
	learnTo             // the record's toRevision (a deploy that SUCCEEDED)
	learnDeployed       // the record's deployedRevision (a deploy that was rolled back)
)

// expect is one execution the model expects in a phase.
type expect struct {
	svc      *mService
	exec     string // execution ARN when the soak started it; else matched by the fields below
	action   string
	digest   string // deploys: the image's digest
	outcomes []history.Outcome
	reason   string // a substring the record's reason must contain
	rev      *mRev  // learn its ARN from the record
	learn    learn
	toRev    *mRev // the revision the record must name as toRevision
	optional bool  // no execution at all is as good
	what     string
}

func (e expect) String() string {
	var outs []string
	for _, o := range e.outcomes {
		outs = append(outs, string(o))
	}
	s := fmt.Sprintf("%s %s %s", e.svc.spec.label(), e.what, strings.Join(outs, "|"))
	if e.optional {
		s += " or none"
	}
	if e.reason != "" {
		s += fmt.Sprintf(" (reason ~%q)", e.reason)
	}
	if e.toRev != nil {
		s += " to " + e.toRev.String()
	}
	return s
}

func one(o history.Outcome) []history.Outcome { return []history.Outcome{o} }

// model is the whole world's model.
type model struct {
	svcs  []*mService
	crash map[string]bool // digests whose tasks fail to start
	now   func() time.Time
}

// deployKind is how a deploy was asked for.
type deployKind int

const (
	byPush   deployKind = iota // a push or a retag, through dispatch
	byManual                   // a manual StartExecution
)

// deploy applies a deploy of digest to s and returns the expected execution.
// alarmed: the service's alarm fires during this deploy's bake.
func (m *model) deploy(s *mService, digest string, kind deployKind, force, alarmed bool, what string) expect {
	e := expect{svc: s, action: "deploy", digest: digest, what: what}
	switch {
	case s.quar[digest] && !force && kind == byPush:
		e.outcomes, e.reason = one(history.Skipped), "quarantined"
	case s.quar[digest] && !force:
		e.outcomes, e.reason = one(history.Failed), "BadInput"
	case s.cur.digest == digest:
		e.outcomes = one(history.Skipped)
	case m.crash[digest] || alarmed:
		s.record()
		nr := s.newRev(digest)
		target := s.target(nil)
		if target == nil {
			target = s.cur // nothing recorded good: ECS's own rollback, to what ran before
		}
		e.outcomes, e.rev, e.learn, e.toRev = one(history.RolledBack), nr, learnDeployed, target
		s.makeBad(nr)
		s.makeGood(target)
		s.cur, s.win = target, nil
	default:
		s.record()
		nr := s.newRev(digest)
		e.outcomes, e.rev, e.learn = one(history.Succeeded), nr, learnTo
		s.makeGood(nr)
		if force {
			delete(s.quar, digest)
		}
		s.cur, s.win, s.winAt = nr, nr, m.now()
	}
	return e
}

// superseded is a burst's push that a later one overtook.
func (m *model) superseded(s *mService, digest, what string) expect {
	return expect{svc: s, action: "deploy", digest: digest, what: what, outcomes: []history.Outcome{history.Superseded, history.Skipped}}
}

// alarm applies the service's alarm going to ALARM now, with no deploy in
// flight. An alarm on a revision that already had one starts nothing (the
// incident's execution is named after the service and the revision) or, at
// most, an execution that is SKIPPED: that revision was alarmed before and
// is still running, so the earlier alarm did not roll it back, and nothing
// since can have given it a rollback window or a target.
func (m *model) alarm(s *mService, window time.Duration) expect {
	culprit := s.cur
	e := expect{svc: s, action: "rollback", what: "alarm on " + culprit.String(), outcomes: one(history.Skipped)}
	if culprit.incident {
		e.optional, e.what = true, "again "+e.what
		return e
	}
	culprit.incident = true
	if s.win != culprit || m.now().After(s.winAt.Add(window)) {
		return e
	}
	target := s.target(culprit)
	if target == nil {
		return e
	}
	e.outcomes, e.toRev = one(history.RolledBack), target
	s.makeBad(culprit)
	s.makeGood(target)
	s.cur, s.win = target, nil
	return e
}

// rollback applies a manual rollback.
func (m *model) rollback(s *mService) expect {
	e := expect{svc: s, action: "rollback", what: "manual rollback from " + s.cur.String(), outcomes: one(history.Skipped)}
	target := s.target(s.cur)
	if target == nil {
		return e
	}
	e.outcomes, e.toRev = one(history.RolledBack), target
	s.makeBad(s.cur)
	s.makeGood(target)
	s.cur, s.win = target, nil
	return e
}

// redeploy applies a manual redeploy: new tasks, same revision, which passes
// its bake again and so becomes the newest good; a redeploy ends the
// rollback window of the deploy that put the revision there.
func (m *model) redeploy(s *mService) expect {
	e := expect{svc: s, action: "redeploy", what: "redeploy of " + s.cur.String(), outcomes: one(history.Succeeded), toRev: s.cur}
	s.recorded = true
	s.makeGood(s.cur)
	s.win = nil
	return e
}

// release lifts a digest's quarantine.
func (m *model) release(s *mService, digest string) expect {
	delete(s.quar, digest)
	return expect{svc: s, action: "release", what: "release " + short(digest), outcomes: one(history.Succeeded)}
}

func (s *mService) summary() string {
	var good []string
	for _, g := range s.good {
		good = append(good, g.String())
	}
	var q []string
	for _, d := range s.quarantined() {
		q = append(q, short(d))
	}
	return fmt.Sprintf("%s runs %s good=[%s] quarantined=[%s]", s.spec.label(), s.cur, strings.Join(good, " "), strings.Join(q, " "))
}
