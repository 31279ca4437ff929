package coord_test

import (
	"context"
	"testing"
	"time"

	"github.com/pushdeploy/pushdeploy/internal/app/contract"
	"github.com/pushdeploy/pushdeploy/internal/app/coord"
)

// TestProtocolOverDynamoDB runs the coordination protocol on the real
// Store against the local cloud's DynamoDB (the aws-sdk-go-v2 client over
// HTTP): acquire, park, wake by event (once, even with two wakers),
// supersede and wake the previous holder, late-update classification,
// release.
func TestProtocolOverDynamoDB(t *testing.T) {
	ctx := context.Background()
	s, cloud := setup(t)
	sfnA := &fakeSFN{}
	c, err := coord.NewCoordinator(s, sfnA, cloud.Clock)
	if err != nil {
		t.Fatal(err)
	}
	c.WithJudge(decided())
	other, _ := coord.NewCoordinator(s, sfnA, cloud.Clock) // a second function
	other.WithJudge(decided())
	if _, err := c.Acquire(ctx, coord.Request{Service: svc, Holder: "A", Seq: 100, TTL: time.Hour}); err != nil {
		t.Fatal(err)
	}
	if err := c.Park(ctx, svc, "A", coord.Wait{Token: "tokA", Phase: contract.PhaseRollout}); err != nil {
		t.Fatal(err)
	}
	ev := contract.Outcome{Status: contract.StatusFailed, Cause: "alarm"}
	w, err := c.WakeHolder(ctx, svc)
	if err != nil || w.Wake != coord.WakeSent || w.Holder != "A" {
		t.Fatalf("wake by event = %+v, %v", w, err)
	}
	if w, err := other.WakeHolder(ctx, svc); err != nil || w.Wake != coord.WakeNone {
		t.Fatalf("second waker = %+v, %v; the token was claimed, nobody waits", w, err)
	}
	// Parked again, two wakers race for one token: one sends.
	if err := c.Park(ctx, svc, "A", coord.Wait{Token: "tokA2", Phase: contract.PhaseRollout}); err != nil {
		t.Fatal(err)
	}
	w1, err1 := c.WakeToken(ctx, svc, "tokA2", ev)
	w2, err2 := other.WakeToken(ctx, svc, "tokA2", ev)
	if err1 != nil || err2 != nil || w1 != coord.WakeSent || w2 != coord.WakeClaimedElsewhere {
		t.Fatalf("racing wakers = %v/%v, %v/%v", w1, err1, w2, err2)
	}
	if len(sfnA.sent) != 2 {
		t.Fatalf("sent %d, want 2 (one per parked wait)", len(sfnA.sent))
	}

	// B supersedes A; A's parked token comes back with the lease and is
	// woken by B without a claim (Acquire dropped it from the item).
	if err := c.Park(ctx, svc, "A", coord.Wait{Token: "tokA3", Phase: contract.PhaseRollout}); err != nil {
		t.Fatal(err)
	}
	if err := s.Intend(ctx, svc, "A", tdPrefix+"web:7"); err != nil {
		t.Fatal(err)
	}
	got, err := c.Acquire(ctx, coord.Request{Service: svc, Holder: "B", Seq: 200, TTL: time.Hour})
	if err != nil || got.Previous != "A" || got.PreviousToken != "tokA3" {
		t.Fatalf("acquire by B = %+v, %v", got, err)
	}
	if w, err := c.WakeClaimed(ctx, got.PreviousToken, contract.Outcome{Status: contract.StatusSuperseded}); err != nil || w != coord.WakeSent {
		t.Fatalf("wake superseded = %v, %v", w, err)
	}
	if err := c.Park(ctx, svc, "A", coord.Wait{Token: "late", Phase: contract.PhaseRollout}); err == nil {
		t.Fatal("a superseded execution parked a wait")
	}
	// A's announced revision is B's to repair; anything else is outside.
	for rev, want := range map[string]coord.Foreign{
		tdPrefix + "web:7": coord.Replaced,
		tdPrefix + "web:8": coord.ChangedOutside,
		tdPrefix + "web:1": coord.Undone,
	} {
		if got, err := coord.ClassifyForeign(ctx, s, svc, rev, tdPrefix+"web:1"); err != nil || got != want {
			t.Errorf("classify %s = %v, %v; want %v", rev, got, err, want)
		}
	}
	if ok, err := s.MarkLateUpdate(ctx, svc, tdPrefix+"web:8"); err != nil || !ok {
		t.Fatalf("mark late update = %v, %v", ok, err)
	}
	if got, _ := coord.ClassifyForeign(ctx, s, svc, tdPrefix+"web:8"); got != coord.Replaced {
		t.Errorf("a marked late update classified %v, want replaced", got)
	}
	// Released: nobody to wake, the marks go with the tenure.
	if err := s.Release(ctx, svc, "B"); err != nil {
		t.Fatal(err)
	}
	if w, err := c.WakeHolder(ctx, svc); err != nil || w.Wake != coord.WakeNone {
		t.Fatalf("wake after release = %+v, %v", w, err)
	}
	if got, _ := coord.ClassifyForeign(ctx, s, svc, tdPrefix+"web:7"); got != coord.ChangedOutside {
		t.Errorf("after release, classify = %v; the late updates concern one tenure", got)
	}
}
