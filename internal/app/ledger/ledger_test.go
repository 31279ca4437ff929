package ledger

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const (
	arn = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:"
	r1  = arn + "1"
	r2  = arn + "2"
	r3  = arn + "3"
	dA  = "sha256:aaaa"
	dB  = "sha256:bbbb"
	dC  = "sha256:cccc"
)

var t0 = time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)

// summary is a ledger in a few words: revision status (via) and the
// quarantined digests, for table comparisons.
func summary(l Ledger) []string {
	var out []string
	for _, r := range l.Revisions {
		out = append(out, fmt.Sprintf("%s %s %s %s", r.Revision[len(arn):], r.Digest, r.Status, r.Via))
	}
	for _, q := range l.Quarantined {
		out = append(out, "quarantined "+q.Digest+" from "+q.Revision[len(arn):])
	}
	return out
}

func TestChangeOf(t *testing.T) {
	// r1 (dA) passed its bake; r2 (dB) passed its bake after it.
	base := Ledger{Revisions: []Revision{
		{Revision: r1, Digest: dA, Status: StatusGood, Via: ViaDeploy, Since: t0},
		{Revision: r2, Digest: dB, Status: StatusGood, Via: ViaDeploy, Since: t0.Add(time.Hour)},
	}}
	tests := []struct {
		name     string
		f        Finished
		want     []string
		lastGood string // after the change
	}{
		{"deploy succeeded: the new revision is the last good",
			Finished{Action: "deploy", Outcome: "SUCCEEDED", From: r2, Deployed: r3, To: r3, Digest: dC},
			[]string{"1 sha256:aaaa good deploy", "2 sha256:bbbb good deploy", "3 sha256:cccc good deploy"}, r3},
		{"deploy rolled back: bad, quarantined, and the revision rolled back to is last good",
			Finished{Action: "deploy", Outcome: "ROLLED_BACK", From: r2, Deployed: r3, To: r2, Digest: dC, Undone: true},
			[]string{"1 sha256:aaaa good deploy", "2 sha256:bbbb good rollback", "3 sha256:cccc bad ", "quarantined sha256:cccc from 3"}, r2},
		{"deploy cancelled and rolled back: nothing held against it",
			Finished{Action: "deploy", Outcome: "ROLLED_BACK", From: r2, Deployed: r3, To: r2, Digest: dC, Undone: true, Cancelled: true},
			summary(base), r2},
		{"deploy cancelled whose rollback failed: nothing held against it",
			Finished{Action: "deploy", Outcome: "FAILED", From: r2, Deployed: r3, To: r3, Digest: dC, Undone: true, Cancelled: true},
			summary(base), r2},
		{"deploy whose rollback failed: bad and quarantined",
			Finished{Action: "deploy", Outcome: "FAILED", From: r2, Deployed: r3, To: r3, Digest: dC, Undone: true},
			[]string{"1 sha256:aaaa good deploy", "2 sha256:bbbb good deploy", "3 sha256:cccc bad ", "quarantined sha256:cccc from 3"}, r2},
		{"deploy that failed before the update: nothing",
			Finished{Action: "deploy", Outcome: "FAILED", From: r2, Deployed: r3, To: r2, Digest: dC},
			summary(base), r2},
		{"alarm rollback of the last good: it turns bad, last good goes back",
			Finished{Action: "rollback", Outcome: "ROLLED_BACK", From: r2, Deployed: r1, To: r1},
			[]string{"1 sha256:aaaa good rollback", "2 sha256:bbbb bad ", "quarantined sha256:bbbb from 2"}, r1},
		{"rollback that did not complete: nothing",
			Finished{Action: "rollback", Outcome: "FAILED", From: r2, Deployed: r1, To: r2},
			summary(base), r2},
		{"superseded and skipped change nothing",
			Finished{Action: "deploy", Outcome: "SUPERSEDED", From: r2, Deployed: r3, To: r3, Digest: dC},
			summary(base), r2},
		{"redeploy succeeded keeps the digest",
			Finished{Action: "redeploy", Outcome: "SUCCEEDED", From: r1, Deployed: r1, To: r1},
			[]string{"2 sha256:bbbb good deploy", "1 sha256:aaaa good deploy"}, r1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := clone(base)
			tt.f.Execution, tt.f.At, tt.f.Reason = "exec", t0.Add(2*time.Hour), "why"
			l.Apply(l.ChangeOf(tt.f))
			if diff := cmp.Diff(tt.want, summary(l)); diff != "" {
				t.Errorf("ledger (-want +got):\n%s", diff)
			}
			if lg, _ := l.LastGood(); lg.Revision != tt.lastGood {
				t.Errorf("last good %s, want %s", lg.Revision, tt.lastGood)
			}
			for _, r := range l.Revisions {
				if _, q := l.Quarantine(r.Digest); q && r.Status == StatusGood {
					t.Errorf("good revision %s carries a quarantined digest", r.Revision)
				}
			}
		})
	}
}

func TestQuarantineLifecycle(t *testing.T) {
	l := Ledger{}
	l.Apply(l.ChangeOf(Finished{Action: "deploy", Outcome: "SUCCEEDED", Execution: "e1", At: t0, To: r1, Deployed: r1, Digest: dA}))
	l.Apply(l.ChangeOf(Finished{Action: "deploy", Outcome: "ROLLED_BACK", Execution: "e2", At: t0.Add(time.Minute), From: r1, Deployed: r2, To: r1, Digest: dB, Undone: true, Reason: "alarm"}))
	q, ok := l.Quarantine(dB)
	if !ok || q.Execution != "e2" || q.Revision != r2 || q.Reason != "alarm" {
		t.Fatalf("quarantine of %s: %+v %v", dB, q, ok)
	}
	// A forced deploy of it that fails keeps it; one that succeeds lifts it.
	l.Apply(l.ChangeOf(Finished{Action: "deploy", Outcome: "ROLLED_BACK", Execution: "e3", At: t0.Add(2 * time.Minute), From: r1, Deployed: r3, To: r1, Digest: dB, Undone: true, Forced: true}))
	if q, _ := l.Quarantine(dB); q.Execution != "e3" {
		t.Fatalf("a failed forced deploy should renew the quarantine: %+v", q)
	}
	l.Apply(l.ChangeOf(Finished{Action: "deploy", Outcome: "SUCCEEDED", Execution: "e4", At: t0.Add(3 * time.Minute), From: r1, Deployed: r3, To: r3, Digest: dB, Forced: true}))
	if _, ok := l.Quarantine(dB); ok {
		t.Fatal("a forced deploy that succeeded should lift the quarantine")
	}
	l.Apply(l.ChangeOf(Finished{Action: "rollback", Outcome: "ROLLED_BACK", Execution: "e5", At: t0.Add(4 * time.Minute), From: r3, Deployed: r1, To: r1}))
	if _, ok := l.Quarantine(dB); !ok || !l.IsBad(r3) {
		t.Fatal("a manual rollback should mark the revision bad and quarantine its digest")
	}
	l.Apply(l.ChangeOf(Finished{Action: "release", Outcome: "SUCCEEDED", Execution: "e6", At: t0.Add(5 * time.Minute), Digest: dB}))
	if _, ok := l.Quarantine(dB); ok {
		t.Fatal("release should lift the quarantine")
	}
}

func TestRollbackToSameImageSparesIt(t *testing.T) {
	// r3 is a retag-revert of dA: rolling back from it to r1 (also dA)
	// leaves dA running, so dA is not quarantined.
	l := Ledger{Revisions: []Revision{
		{Revision: r1, Digest: dA, Status: StatusGood, Via: ViaDeploy, Since: t0},
		{Revision: r3, Digest: dA, Status: StatusGood, Via: ViaDeploy, Since: t0.Add(time.Hour)},
	}}
	l.Apply(l.ChangeOf(Finished{Action: "rollback", Outcome: "ROLLED_BACK", At: t0.Add(2 * time.Hour), From: r3, Deployed: r1, To: r1}))
	if _, ok := l.Quarantine(dA); ok {
		t.Fatal("the running image was quarantined")
	}
	if !l.IsBad(r3) {
		t.Fatal("the revision rolled back from is not bad")
	}
}

func TestTrimKeepsLastGood(t *testing.T) {
	l := Ledger{}
	l.Apply(Change{At: t0, Marks: []Mark{{Revision: arn + "1", Status: StatusGood}}})
	for i := 2; i <= MaxRevisions+10; i++ {
		l.Apply(Change{At: t0.Add(time.Duration(i) * time.Minute), Marks: []Mark{{Revision: fmt.Sprintf("%s%d", arn, i), Status: StatusBad}}})
	}
	if len(l.Revisions) != MaxRevisions {
		t.Fatalf("%d revisions, want %d", len(l.Revisions), MaxRevisions)
	}
	if lg, ok := l.LastGood(); !ok || lg.Revision != arn+"1" {
		t.Fatalf("the only good revision was trimmed: %+v", lg)
	}
}

func clone(l Ledger) Ledger {
	l.Revisions = append([]Revision(nil), l.Revisions...)
	l.Quarantined = append([]Quarantine(nil), l.Quarantined...)
	return l
}

func TestFirstDeployRecordsTheRevisionBefore(t *testing.T) {
	l := Ledger{}
	l.Apply(l.ChangeOf(Finished{Action: "deploy", Outcome: "SUCCEEDED", Execution: "e1", Started: t0, At: t0.Add(9 * time.Minute), From: r1, Deployed: r2, To: r2, Digest: dB}))
	if lg, _ := l.LastGood(); lg.Revision != r2 {
		t.Fatalf("last good %s, want the deployed %s", lg.Revision, r2)
	}
	before, ok := l.LastGood(r2)
	if !ok || before.Revision != r1 || before.Via != ViaBefore || !before.Since.Equal(t0) {
		t.Fatalf("the revision before the first deploy: %+v, %v", before, ok)
	}
	// A later deploy from a known revision records nothing before it.
	l.Apply(l.ChangeOf(Finished{Action: "deploy", Outcome: "SUCCEEDED", Execution: "e2", Started: t0.Add(time.Hour), At: t0.Add(70 * time.Minute), From: r2, Deployed: r3, To: r3, Digest: dC}))
	if r, _ := l.Get(r2); r.Via != ViaDeploy {
		t.Fatalf("%s became %+v", r2, r)
	}
}

// A burst: the first deploy's update lands, a newer push supersedes it and
// succeeds. The newer deploy's From is the superseded one's revision, which
// never baked: the revision before pushdeploy's first change is the one the
// superseded deploy found, and only that one is good.
func TestSupersededFirstChangeRecordsTheRevisionBefore(t *testing.T) {
	l := Ledger{}
	l.Apply(l.ChangeOf(Finished{Action: "deploy", Outcome: "SUPERSEDED", Execution: "e1", Started: t0, At: t0.Add(time.Second), From: r1, Deployed: r2, To: r2, Digest: dB, Changed: true}))
	l.Apply(l.ChangeOf(Finished{Action: "deploy", Outcome: "SUCCEEDED", Execution: "e2", Started: t0, At: t0.Add(9 * time.Minute), From: r2, Deployed: r3, To: r3, Digest: dC}))
	want := []string{"1  good before", "3 sha256:cccc good deploy"}
	if diff := cmp.Diff(want, summary(l)); diff != "" {
		t.Fatalf("ledger (-want +got):\n%s", diff)
	}
	// Superseded before its update landed, it changed nothing.
	l = Ledger{}
	l.Apply(l.ChangeOf(Finished{Action: "deploy", Outcome: "SUPERSEDED", Execution: "e1", Started: t0, At: t0.Add(time.Second), From: r1, Deployed: r2, To: r1, Digest: dB}))
	if len(l.Revisions) != 0 {
		t.Fatalf("a deploy superseded before its update recorded %v", summary(l))
	}
}
