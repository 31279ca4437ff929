package coord_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/pushdeploy/pushdeploy/internal/app/clock"
	"github.com/pushdeploy/pushdeploy/internal/app/contract"
	"github.com/pushdeploy/pushdeploy/internal/app/coord"
	"github.com/pushdeploy/pushdeploy/internal/local/localcloud"
	ddblocal "github.com/pushdeploy/pushdeploy/internal/local/localcloud/dynamodb"
	"github.com/pushdeploy/pushdeploy/internal/local/localtest"
)

const svc = "arn:aws:ecs:us-east-1:123456789012:service/prod/web"

func setup(t *testing.T) (*coord.Store, *localtest.Cloud) {
	c := localtest.New(t, func(clk *clock.Virtual) []localcloud.RPCService {
		return []localcloud.RPCService{ddblocal.New(clk, localtest.Account)}
	})
	db := c.CreateTable(t, "pushdeploy")
	s, err := coord.New(db, "pushdeploy", c.Clock)
	if err != nil {
		t.Fatal(err)
	}
	return s, c
}

// step is one call and the error type it must end with.
type step struct {
	name string
	do   func(context.Context, *coord.Store, *localtest.Cloud) error
	want any // nil, or a pointer to the error type
}

var (
	superseded = new(*coord.SupersededError)
	held       = new(*coord.HeldError)
	notHolder  = new(*coord.NotHolderError)
)

func acquire(holder string, seq int64, mode coord.Mode, check func(coord.Acquired) error) func(context.Context, *coord.Store, *localtest.Cloud) error {
	return func(ctx context.Context, s *coord.Store, _ *localtest.Cloud) error {
		a, err := s.Acquire(ctx, coord.Request{Service: svc, Holder: holder, Seq: seq, TTL: 15 * time.Minute, Mode: mode})
		if err == nil && check != nil {
			return check(a)
		}
		return err
	}
}

func previous(holder, token string) func(coord.Acquired) error {
	return func(a coord.Acquired) error {
		if a.Previous != holder || a.PreviousToken != token {
			return errors.New("took over from " + a.Previous + " token " + a.PreviousToken + ", want " + holder + " token " + token)
		}
		return nil
	}
}

func holderIs(want string) func(context.Context, *coord.Store, *localtest.Cloud) error {
	return func(ctx context.Context, s *coord.Store, c *localtest.Cloud) error {
		st, err := s.Get(ctx, svc)
		if err != nil {
			return err
		}
		live := ""
		if st.Held(c.Clock.Now()) {
			live = st.Holder
		}
		if live != want {
			return errors.New("live holder " + live + ", want " + want)
		}
		return nil
	}
}

func TestLatestPushWins(t *testing.T) {
	steps := []step{
		{"A acquires", acquire("A", 100, coord.Preempt, previous("", "")), nil},
		{"A holds", holderIs("A"), nil},
		{"A checks", func(ctx context.Context, s *coord.Store, _ *localtest.Cloud) error { return s.Check(ctx, svc, "A") }, nil},
		{"A acquires again (renew)", acquire("A", 100, coord.Preempt, previous("", "")), nil},
		{"A stores a token", func(ctx context.Context, s *coord.Store, _ *localtest.Cloud) error {
			return s.SetWait(ctx, svc, "A", coord.Wait{Token: "tokA"})
		}, nil},
		{"B, a newer push, takes over and learns A's token", acquire("B", 200, coord.Preempt, previous("A", "tokA")), nil},
		{"B holds", holderIs("B"), nil},
		{"A checks: superseded", func(ctx context.Context, s *coord.Store, _ *localtest.Cloud) error { return s.Check(ctx, svc, "A") }, superseded},
		{"A renews: superseded", func(ctx context.Context, s *coord.Store, _ *localtest.Cloud) error {
			return s.Renew(ctx, svc, "A", time.Minute)
		}, superseded},
		{"A stores a token: superseded", func(ctx context.Context, s *coord.Store, _ *localtest.Cloud) error {
			return s.SetWait(ctx, svc, "A", coord.Wait{Token: "tokA2"})
		}, superseded},
		{"A releases: superseded, B keeps it", func(ctx context.Context, s *coord.Store, _ *localtest.Cloud) error { return s.Release(ctx, svc, "A") }, superseded},
		{"B still holds", holderIs("B"), nil},
		{"A cannot take it back", acquire("A", 100, coord.Preempt, nil), superseded},
		// Equal sequences are ordered by holder (no Tie given): B2 > B.
		{"same sequence, higher rank takes over", acquire("B2", 200, coord.Preempt, previous("B", "")), nil},
		{"same sequence, lower rank cannot take it back", acquire("B", 200, coord.Preempt, nil), superseded},
		{"B checks: superseded", func(ctx context.Context, s *coord.Store, _ *localtest.Cloud) error { return s.Check(ctx, svc, "B") }, superseded},
		{"B2 releases", func(ctx context.Context, s *coord.Store, _ *localtest.Cloud) error { return s.Release(ctx, svc, "B2") }, nil},
		{"B2 releases again", func(ctx context.Context, s *coord.Store, _ *localtest.Cloud) error { return s.Release(ctx, svc, "B2") }, nil},
		{"free", holderIs(""), nil},
		{"a stale push stays superseded after B released", acquire("C", 150, coord.Preempt, nil), superseded},
		{"a stranger cannot release", func(ctx context.Context, s *coord.Store, _ *localtest.Cloud) error { return s.Release(ctx, svc, "X") }, notHolder},
		{"D acquires if free", acquire("D", 300, coord.IfFree, previous("", "")), nil},
		{"E (if free) does not fight D", acquire("E", 400, coord.IfFree, nil), held},
		{"D still holds", holderIs("D"), nil},
		{"D's lease expires", func(_ context.Context, _ *coord.Store, c *localtest.Cloud) error {
			c.Clock.Advance(16 * time.Minute)
			return nil
		}, nil},
		{"expired: not held", holderIs(""), nil},
		{"D stores a token", func(ctx context.Context, s *coord.Store, _ *localtest.Cloud) error {
			return s.SetWait(ctx, svc, "D", coord.Wait{Token: "tokD"})
		}, nil},
		{"E takes the expired lease and learns D's token", acquire("E", 400, coord.IfFree, previous("D", "tokD")), nil},
		{"D checks: superseded", func(ctx context.Context, s *coord.Store, _ *localtest.Cloud) error { return s.Check(ctx, svc, "D") }, superseded},
		{"F, newer, preempts E", acquire("F", 500, coord.Preempt, previous("E", "")), nil},
		{"F renews", func(ctx context.Context, s *coord.Store, _ *localtest.Cloud) error {
			return s.Renew(ctx, svc, "F", time.Hour)
		}, nil},
		{"an hour minus a minute later F still holds", func(ctx context.Context, s *coord.Store, c *localtest.Cloud) error {
			c.Clock.Advance(59 * time.Minute)
			return holderIs("F")(ctx, s, c)
		}, nil},
	}
	s, c := setup(t)
	ctx := context.Background()
	for _, st := range steps {
		err := st.do(ctx, s, c)
		switch {
		case st.want == nil && err != nil:
			t.Fatalf("%s: %v", st.name, err)
		case st.want != nil && !errors.As(err, st.want):
			t.Fatalf("%s: err = %v (%T), want %T", st.name, err, err, st.want)
		}
		if st.want == superseded && !errors.Is(err, coord.ErrSuperseded) {
			t.Fatalf("%s: errors.Is(err, ErrSuperseded) is false", st.name)
		}
	}
}

func TestTokens(t *testing.T) {
	s, _ := setup(t)
	ctx := context.Background()
	if _, err := s.Acquire(ctx, coord.Request{Service: svc, Holder: "A", Seq: 1, TTL: time.Minute}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetWait(ctx, svc, "A", coord.Wait{Token: "t1"}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Date(2026, 11, 22, 2, 30, 0, 0, time.UTC)
	if err := s.SetWait(ctx, svc, "A", coord.Wait{Token: "t2", Phase: contract.PhaseBake, Deadline: deadline}); err != nil {
		t.Fatal(err)
	}
	st, err := s.Get(ctx, svc)
	if err != nil || st.Token != "t2" {
		t.Fatalf("token = %q, %v", st.Token, err)
	}
	// The wait travels with its token: a waker can judge it.
	if w := st.Wait; w == nil || w.Token != "t2" || w.Phase != contract.PhaseBake || !w.Deadline.Equal(deadline) {
		t.Fatalf("wait = %+v", st.Wait)
	}
	for _, tc := range []struct {
		token string
		want  bool
	}{{"t1", false}, {"t2", true}, {"t2", false}} {
		got, err := s.ClearToken(ctx, svc, tc.token)
		if err != nil || got != tc.want {
			t.Errorf("ClearToken(%s) = %v, %v; want %v", tc.token, got, err, tc.want)
		}
	}
	if got, err := s.ClearToken(ctx, "arn:aws:ecs:us-east-1:123456789012:service/prod/none", "t"); got || err != nil {
		t.Errorf("ClearToken on a service never leased = %v, %v", got, err)
	}
	if st, _ := s.Get(ctx, svc); st.Wait != nil {
		t.Errorf("claimed token left its wait: %+v", st.Wait)
	}
	if err := s.SetWait(ctx, svc, "A", coord.Wait{}); err == nil {
		t.Error("empty token accepted")
	}
	// Release drops the token: nothing is left to wake.
	if err := s.SetWait(ctx, svc, "A", coord.Wait{Token: "t3"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Release(ctx, svc, "A"); err != nil {
		t.Fatal(err)
	}
	if st, _ := s.Get(ctx, svc); st.Token != "" || st.Holder != "" || st.LastHolder != "A" || st.Seq != 1 {
		t.Errorf("after release: %+v", st)
	}
}

func TestBadRequests(t *testing.T) {
	s, _ := setup(t)
	ctx := context.Background()
	for name, r := range map[string]coord.Request{
		"no service": {Holder: "A", Seq: 1, TTL: time.Minute},
		"no holder":  {Service: svc, Seq: 1, TTL: time.Minute},
		"no TTL":     {Service: svc, Holder: "A", Seq: 1},
	} {
		if _, err := s.Acquire(ctx, r); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if err := s.Check(ctx, svc, "A"); !errors.Is(err, coord.ErrSuperseded) {
		t.Errorf("Check on a service never leased: %v", err)
	}
}

// Throttled DynamoDB calls are retried by the SDK's retryer: the lease
// works through a 50% throttling rate, and every throttle shows in the log.
func TestThrottledCallsRetried(t *testing.T) {
	s, c := setup(t)
	c.Server.Faults.AddThrottle(localcloud.Throttle{Service: "dynamodb", Rate: 0.5})
	ctx := context.Background()
	if _, err := s.Acquire(ctx, coord.Request{Service: svc, Holder: "A", Seq: 1, TTL: time.Minute}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetWait(ctx, svc, "A", coord.Wait{Token: "t"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Release(ctx, svc, "A"); err != nil {
		t.Fatal(err)
	}
	throttled := 0
	for _, call := range c.Server.Log.Calls() {
		if call.Service == "dynamodb" && call.Error == "ThrottlingException" {
			throttled++
		}
	}
	if throttled < 2 {
		t.Errorf("%d throttled calls, want the fault to have bitten", throttled)
	}
}

// TestLateUpdateMarks: a superseded execution marks the revision its late
// UpdateService put on the service; the marks live for the holder's tenure.
func TestLateUpdateMarks(t *testing.T) {
	const (
		rev7 = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:7"
		rev8 = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:8"
	)
	type mark struct {
		rev  string
		want bool // written
	}
	for _, tc := range []struct {
		name  string
		setup func(context.Context, *coord.Store) error
		marks []mark
		want  []string // marks read back by Get
	}{
		{"never leased: nobody to repair", nil, []mark{{rev7, false}}, nil},
		{"held: marks add up, once each", func(ctx context.Context, s *coord.Store) error {
			_, err := s.Acquire(ctx, coord.Request{Service: svc, Holder: "B", Seq: 2, TTL: time.Minute})
			return err
		}, []mark{{rev7, true}, {rev8, true}, {rev7, true}}, []string{rev7, rev8}},
		{"released: not marked, earlier marks gone", func(ctx context.Context, s *coord.Store) error {
			if _, err := s.Acquire(ctx, coord.Request{Service: svc, Holder: "B", Seq: 2, TTL: time.Minute}); err != nil {
				return err
			}
			if _, err := s.MarkLateUpdate(ctx, svc, rev8); err != nil {
				return err
			}
			return s.Release(ctx, svc, "B")
		}, []mark{{rev7, false}}, nil},
		{"a newer holder inherits the marks of the one it superseded", func(ctx context.Context, s *coord.Store) error {
			if _, err := s.Acquire(ctx, coord.Request{Service: svc, Holder: "B", Seq: 2, TTL: time.Minute}); err != nil {
				return err
			}
			if _, err := s.MarkLateUpdate(ctx, svc, rev8); err != nil {
				return err
			}
			_, err := s.Acquire(ctx, coord.Request{Service: svc, Holder: "C", Seq: 3, TTL: time.Minute})
			return err
		}, []mark{{rev7, true}}, []string{rev7, rev8}},
		{"a holder that took over a released lease has no marks", func(ctx context.Context, s *coord.Store) error {
			if _, err := s.Acquire(ctx, coord.Request{Service: svc, Holder: "B", Seq: 2, TTL: time.Minute}); err != nil {
				return err
			}
			if err := s.Intend(ctx, svc, "B", rev8); err != nil {
				return err
			}
			if err := s.Release(ctx, svc, "B"); err != nil {
				return err
			}
			_, err := s.Acquire(ctx, coord.Request{Service: svc, Holder: "C", Seq: 3, TTL: time.Minute})
			return err
		}, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := setup(t)
			ctx := context.Background()
			if tc.setup != nil {
				if err := tc.setup(ctx, s); err != nil {
					t.Fatal(err)
				}
			}
			for _, m := range tc.marks {
				got, err := s.MarkLateUpdate(ctx, svc, m.rev)
				if err != nil || got != m.want {
					t.Fatalf("MarkLateUpdate(%s) = %v, %v; want %v", m.rev, got, err, m.want)
				}
			}
			st, err := s.Get(ctx, svc)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(slices.Sorted(slices.Values(st.LateUpdates)), tc.want) {
				t.Errorf("marks = %v, want %v", st.LateUpdates, tc.want)
			}
			for _, r := range []string{rev7, rev8} {
				if st.IsLateUpdate(r) != slices.Contains(tc.want, r) {
					t.Errorf("IsLateUpdate(%s) = %v", r, st.IsLateUpdate(r))
				}
			}
		})
	}
	s, _ := setup(t)
	if _, err := s.MarkLateUpdate(context.Background(), svc, ""); err == nil {
		t.Error("empty revision accepted")
	}
}

// TestIntend: the revisions a holder announces before its UpdateService
// attempts become late updates of the execution that takes the lease from
// it, before that one can look at the service.
func TestIntend(t *testing.T) {
	const (
		rev7 = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:7"
		rev8 = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:8"
		rev9 = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:9"
	)
	s, _ := setup(t)
	ctx := context.Background()
	get := func() coord.State {
		t.Helper()
		st, err := s.Get(ctx, svc)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	if err := s.Intend(ctx, svc, "A", rev7); !errors.As(err, superseded) {
		t.Fatalf("Intend without the lease: %v", err)
	}
	if _, err := s.Acquire(ctx, coord.Request{Service: svc, Holder: "A", Seq: 1, TTL: time.Minute}); err != nil {
		t.Fatal(err)
	}
	for _, r := range []string{rev7, rev8, rev7} {
		if err := s.Intend(ctx, svc, "A", r); err != nil {
			t.Fatalf("Intend(%s): %v", r, err)
		}
	}
	if st := get(); !slices.Equal(slices.Sorted(slices.Values(st.Pending)), []string{rev7, rev8}) || len(st.LateUpdates) != 0 {
		t.Fatalf("A's lease %+v", st)
	}
	if _, err := s.Acquire(ctx, coord.Request{Service: svc, Holder: "B", Seq: 2, TTL: time.Minute}); err != nil {
		t.Fatal(err)
	}
	if st := get(); !slices.Equal(slices.Sorted(slices.Values(st.LateUpdates)), []string{rev7, rev8}) || len(st.Pending) != 0 {
		t.Fatalf("B's lease %+v: A's revisions not inherited as late updates", st)
	}
	if err := s.Intend(ctx, svc, "A", rev9); !errors.As(err, superseded) {
		t.Fatalf("Intend by the superseded holder: %v", err)
	}
	if err := s.Intend(ctx, svc, "B", rev9); err != nil {
		t.Fatal(err)
	}
	// C inherits B's pending revision and what B inherited (a chain of pushes).
	if _, err := s.Acquire(ctx, coord.Request{Service: svc, Holder: "C", Seq: 3, TTL: time.Minute}); err != nil {
		t.Fatal(err)
	}
	if st := get(); !slices.Equal(slices.Sorted(slices.Values(st.LateUpdates)), []string{rev7, rev8, rev9}) {
		t.Fatalf("C's lease %+v", st)
	}
	if err := s.Release(ctx, svc, "C"); err != nil {
		t.Fatal(err)
	}
	if st := get(); len(st.LateUpdates) != 0 || len(st.Pending) != 0 {
		t.Errorf("after release %+v", st)
	}
	if err := s.Intend(ctx, svc, "C", ""); err == nil {
		t.Error("empty revision accepted")
	}
}

// TestEqualSequenceOrder: two pushes in the same millisecond are ordered by
// their Tie (the digest), whichever acquires last, and the loser learns it
// is superseded, not merely held.
func TestEqualSequenceOrder(t *testing.T) {
	const low, high = "sha256:1111", "sha256:9999"
	for _, order := range [][]string{{low, high}, {high, low}} {
		t.Run(order[0]+"-first", func(t *testing.T) {
			s, _ := setup(t)
			ctx := context.Background()
			acq := func(tie string) error {
				_, err := s.Acquire(ctx, coord.Request{Service: svc, Holder: "exec-" + tie, Seq: 100, Tie: tie, TTL: time.Minute, Mode: coord.Preempt})
				return err
			}
			if err := acq(order[0]); err != nil {
				t.Fatal(err)
			}
			err := acq(order[1])
			if order[1] == low && !errors.Is(err, coord.ErrSuperseded) {
				t.Fatalf("lower digest second: %v, want superseded", err)
			}
			if order[1] == high && err != nil {
				t.Fatalf("higher digest second: %v", err)
			}
			if err := s.Check(ctx, svc, "exec-"+high); err != nil {
				t.Fatalf("higher digest does not hold the lease: %v", err)
			}
			if err := s.Check(ctx, svc, "exec-"+low); !errors.Is(err, coord.ErrSuperseded) {
				t.Fatalf("lower digest: %v, want superseded", err)
			}
			// Released, the sequence and rank stay: the lower one stays out.
			if err := s.Release(ctx, svc, "exec-"+high); err != nil {
				t.Fatal(err)
			}
			if err := acq(low); !errors.Is(err, coord.ErrSuperseded) {
				t.Fatalf("lower digest after release: %v, want superseded", err)
			}
			// Renewing by the holder at the same rank still works.
			if err := acq(high); err != nil {
				t.Fatalf("holder re-acquires: %v", err)
			}
			if err := acq(high); err != nil {
				t.Fatalf("holder renews: %v", err)
			}
		})
	}
}
