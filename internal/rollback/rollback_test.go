package rollback

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/pushdeploy/pushdeploy/internal/ledger"
	"github.com/pushdeploy/pushdeploy/internal/taskdef"
)

const (
	arn = "arn:aws:ecs:us-east-1:123456789012:task-definition/"
	r1  = arn + "web:1"
	r2  = arn + "web:2"
	r3  = arn + "web:3"
)

var t0 = time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)

// led builds a ledger from revision entries.
func led(revs ...ledger.Revision) ledger.Ledger { return ledger.Ledger{Revisions: revs} }

func good(rev string, at time.Duration, via string) ledger.Revision {
	return ledger.Revision{Revision: rev, Status: ledger.StatusGood, Since: t0.Add(at), Via: via}
}

func bad(rev string, at time.Duration) ledger.Revision {
	return ledger.Revision{Revision: rev, Status: ledger.StatusBad, Since: t0.Add(at), Reason: "alarm web-5xx"}
}

func TestAfterFailure(t *testing.T) {
	tests := []struct {
		name             string
		ledger           ledger.Ledger
		failed, previous string
		want             string
		skip             SkipReason
	}{
		{"last good", led(good(r1, 0, ledger.ViaDeploy)), r3, r2, r1, ""},
		{"the newest good", led(good(r2, time.Minute, ledger.ViaDeploy), good(r1, 0, ledger.ViaDeploy)), r3, r2, r2, ""},
		{"previous when no good revision", led(), r3, r2, r2, ""},
		{"never the failed one: last good is it", led(good(r3, 0, ledger.ViaDeploy)), r3, r2, r2, ""},
		{"never the failed one: family:N form", led(good("web:3", 0, ledger.ViaDeploy)), r3, "web:3", "", NoTarget},
		{"never a revision rolled back from", led(bad(r2, 0)), r3, r2, "", NoTarget},
		{"nothing", led(), r3, "", "", NoTarget},
	}
	for _, tt := range tests {
		d := AfterFailure(tt.ledger, tt.failed, tt.previous)
		if d.Target != tt.want || d.Skip != tt.skip || d.Detail == "" {
			t.Errorf("%s: got %+v, want target %q skip %q", tt.name, d, tt.want, tt.skip)
		}
	}
}

func TestManual(t *testing.T) {
	history := led(good(r1, 0, ledger.ViaDeploy), bad(r2, time.Minute), good(r3, 2*time.Minute, ledger.ViaDeploy))
	tests := []struct {
		name               string
		ledger             ledger.Ledger
		current, requested string
		force              bool
		want               string
		skip               SkipReason
		err                any
	}{
		{"to the newest good other than the current", history, r3, "", false, r1, "", nil},
		{"from a revision outside the ledger", history, arn + "web:4", "", false, r3, "", nil},
		{"to given number", history, r3, "1", false, "web:1", "", nil},
		{"to given ARN", led(), r3, r1, false, "web:1", "", nil},
		{"already there by number", led(), r2, "2", false, "", AlreadyOnTarget, nil},
		{"no good revision", led(good(r3, 0, ledger.ViaDeploy)), r3, "", false, "", NoTarget, nil},
		{"to a revision rolled back from", history, r3, "2", false, "", "", new(*RolledBackFromError)},
		{"to a revision rolled back from, forced", history, r3, "2", true, "web:2", "", nil},
		{"other family", history, r3, "api:1", false, "", "", new(*taskdef.WrongFamilyError)},
		{"garbage", history, r3, "web:zero", false, "", "", new(*taskdef.RevisionError)},
	}
	for _, tt := range tests {
		d, err := Manual(tt.ledger, tt.current, tt.requested, tt.force)
		if tt.err != nil {
			if !errors.As(err, tt.err) {
				t.Errorf("%s: err = %v, want %T", tt.name, err, tt.err)
			}
			continue
		}
		if err != nil || d.Target != tt.want || d.Skip != tt.skip {
			t.Errorf("%s: got %+v, %v; want target %q skip %q", tt.name, d, err, tt.want, tt.skip)
		}
	}
}

func TestForAlarm(t *testing.T) {
	finished := t0.Add(time.Hour)
	// r1 passed its bake, then the deploy of r2 did, finishing at finished.
	deployed := led(good(r1, 0, ledger.ViaDeploy), good(r2, time.Hour, ledger.ViaDeploy))
	in := func(f func(*AlarmInput)) AlarmInput {
		a := AlarmInput{Now: finished.Add(20 * time.Minute), Current: r2, Culprit: r2, Ledger: deployed, Window: time.Hour}
		f(&a)
		return a
	}
	tests := []struct {
		name string
		in   AlarmInput
		want string
		skip SkipReason
	}{
		{"inside the window: back to the good revision before the culprit", in(func(*AlarmInput) {}), r1, ""},
		{"at the window's end", in(func(a *AlarmInput) { a.Now = finished.Add(time.Hour) }), r1, ""},
		{"outside the window", in(func(a *AlarmInput) { a.Now = finished.Add(time.Hour + time.Second) }), "", OutsideWindow},
		{"deploy in flight", in(func(a *AlarmInput) { a.LeaseHeld = true }), "", DeployInFlight},
		{"culprit no longer running", in(func(a *AlarmInput) { a.Current = r1 }), "", RevisionChanged},
		{"no culprit given", in(func(a *AlarmInput) { a.Culprit = "" }), r1, ""},
		{"culprit as family:N", in(func(a *AlarmInput) { a.Culprit = "web:2" }), r1, ""},
		{"never past a revision rolled back from", in(func(a *AlarmInput) {
			a.Ledger = led(good(r1, 0, ledger.ViaDeploy), bad(arn+"web:5", 30*time.Minute), good(r2, time.Hour, ledger.ViaDeploy))
		}), r1, ""},
		{"empty ledger", in(func(a *AlarmInput) { a.Ledger = led() }), "", NotDeployedByPushdeploy},
		{"changed outside pushdeploy", in(func(a *AlarmInput) { a.Current, a.Culprit = r3, r3 }), "", NotDeployedByPushdeploy},
		{"flapping after the rollback: on the revision rolled back to", in(func(a *AlarmInput) {
			a.Current, a.Culprit = r1, r1
			a.Ledger = led(bad(r2, time.Hour), good(r1, time.Hour+time.Minute, ledger.ViaRollback))
		}), "", AlreadyOnTarget},
		{"on a revision rolled back from", in(func(a *AlarmInput) { a.Ledger = led(good(r1, 0, ledger.ViaDeploy), bad(r2, time.Hour)) }), "", AlreadyOnTarget},
		{"nothing else good", in(func(a *AlarmInput) { a.Ledger = led(good(r2, time.Hour, ledger.ViaDeploy)) }), "", NoTarget},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := ForAlarm(tt.in)
			if diff := cmp.Diff(struct {
				T string
				S SkipReason
			}{tt.want, tt.skip}, struct {
				T string
				S SkipReason
			}{d.Target, d.Skip}); diff != "" {
				t.Errorf("(-want +got)\n%s\ndetail: %s", diff, d.Detail)
			}
			if d.Detail == "" {
				t.Error("no detail")
			}
			if d.Skipped() != (tt.skip != "") {
				t.Error("Skipped disagrees")
			}
		})
	}
}

func TestIncidentKey(t *testing.T) {
	svc := "arn:aws:ecs:us-east-1:123456789012:service/prod/web"
	a, b := IncidentKey(svc, r2), IncidentKey(svc, r2)
	if a != b {
		t.Fatal("not deterministic")
	}
	if IncidentKey(svc, r3) == a || IncidentKey(svc+"2", r2) == a {
		t.Fatal("different incidents share a key")
	}
	valid := regexp.MustCompile(`^[A-Za-z0-9_-]{1,80}$`)
	long := arn + strings.Repeat("x", 200) + ":12"
	for _, k := range []string{a, IncidentKey(svc, long), IncidentKey(svc, "weird name/with:stuff")} {
		if !valid.MatchString(k) {
			t.Errorf("key %q is not a valid execution name", k)
		}
	}
	if !strings.HasPrefix(a, "rollback-web-2-") {
		t.Errorf("key %q does not say what it rolls back", a)
	}
}
