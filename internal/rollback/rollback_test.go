package rollback

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/pushdeploy/pushdeploy/internal/history"
	"github.com/pushdeploy/pushdeploy/internal/taskdef"
)

const (
	arn = "arn:aws:ecs:us-east-1:123456789012:task-definition/"
	r1  = arn + "web:1"
	r2  = arn + "web:2"
	r3  = arn + "web:3"
)

func TestAfterFailure(t *testing.T) {
	tests := []struct {
		name                       string
		failed, previous, lastGood string
		want                       string
		skip                       SkipReason
	}{
		{"last good", r3, r2, r1, r1, ""},
		{"previous when no last good", r3, r2, "", r2, ""},
		{"never the failed one: last good is it", r3, r2, r3, r2, ""},
		{"never the failed one: family:N form", r3, "web:3", "web:3", "", NoTarget},
		{"nothing", r3, "", "", "", NoTarget},
	}
	for _, tt := range tests {
		d := AfterFailure(tt.failed, tt.previous, tt.lastGood)
		if d.Target != tt.want || d.Skip != tt.skip || d.Detail == "" {
			t.Errorf("%s: got %+v, want target %q skip %q", tt.name, d, tt.want, tt.skip)
		}
	}
}

func TestManual(t *testing.T) {
	tests := []struct {
		name                         string
		current, requested, lastGood string
		want                         string
		skip                         SkipReason
		err                          any
	}{
		{"to last good", r3, "", r2, r2, "", nil},
		{"to given number", r3, "1", r2, "web:1", "", nil},
		{"to given ARN", r3, r1, "", "web:1", "", nil},
		{"already there", r2, "", r2, "", AlreadyOnTarget, nil},
		{"already there by number", r2, "2", "", "", AlreadyOnTarget, nil},
		{"no last good", r3, "", "", "", NoTarget, nil},
		{"other family", r3, "api:1", r2, "", "", new(*taskdef.WrongFamilyError)},
		{"garbage", r3, "web:zero", r2, "", "", new(*taskdef.RevisionError)},
	}
	for _, tt := range tests {
		d, err := Manual(tt.current, tt.requested, tt.lastGood)
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
	finished := time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)
	deploy := history.Record{Action: "deploy", Outcome: history.Succeeded, FromRevision: r1, ToRevision: r2, LastGoodBefore: r1, FinishedAt: finished}
	skipped := history.Record{Action: "rollback", Outcome: history.Skipped, ToRevision: r2, FinishedAt: finished.Add(time.Minute)}
	rolledBack := history.Record{Action: "deploy", Outcome: history.RolledBack, FromRevision: r1, ToRevision: r1, DeployedRevision: r2, FinishedAt: finished}
	alarmRollback := history.Record{Action: "rollback", Trigger: "alarm", Outcome: history.Succeeded, FromRevision: r2, ToRevision: r1, FinishedAt: finished.Add(2 * time.Minute)}
	failed := history.Record{Action: "deploy", Outcome: history.Failed, FromRevision: r1, ToRevision: r2, FinishedAt: finished}
	in := func(f func(*AlarmInput)) AlarmInput {
		a := AlarmInput{Now: finished.Add(20 * time.Minute), Current: r2, Culprit: r2, Records: []history.Record{deploy}, Window: time.Hour}
		f(&a)
		return a
	}
	tests := []struct {
		name string
		in   AlarmInput
		want string
		skip SkipReason
	}{
		{"inside the window: back to the last good before the deploy", in(func(*AlarmInput) {}), r1, ""},
		{"at the window's end", in(func(a *AlarmInput) { a.Now = finished.Add(time.Hour) }), r1, ""},
		{"outside the window", in(func(a *AlarmInput) { a.Now = finished.Add(time.Hour + time.Second) }), "", OutsideWindow},
		{"deploy in flight", in(func(a *AlarmInput) { a.LeaseHeld = true }), "", DeployInFlight},
		{"culprit no longer running", in(func(a *AlarmInput) { a.Current = r1 }), "", RevisionChanged},
		{"no culprit given", in(func(a *AlarmInput) { a.Culprit = "" }), r1, ""},
		{"culprit as family:N", in(func(a *AlarmInput) { a.Culprit = "web:2" }), r1, ""},
		{"skipped records are passed over", in(func(a *AlarmInput) { a.Records = []history.Record{skipped, skipped, deploy} }), r1, ""},
		{"records of executions that failed before planning are passed over", in(func(a *AlarmInput) {
			a.Records = []history.Record{{Action: "redeploy", Outcome: history.Failed, FinishedAt: finished.Add(time.Minute)}, deploy}
		}), r1, ""},
		{"no history", in(func(a *AlarmInput) { a.Records = nil }), "", NotDeployedByPushdeploy},
		{"changed outside pushdeploy", in(func(a *AlarmInput) { a.Current, a.Culprit = r3, r3 }), "", NotDeployedByPushdeploy},
		{"flapping after the rollback: on the last good", in(func(a *AlarmInput) {
			a.Current, a.Culprit = r1, r1
			a.Records = []history.Record{alarmRollback, deploy}
		}), "", AlreadyOnTarget},
		{"after a deploy that was rolled back", in(func(a *AlarmInput) {
			a.Current, a.Culprit = r1, r1
			a.Records = []history.Record{rolledBack}
		}), "", AlreadyOnTarget},
		{"after a failed deploy", in(func(a *AlarmInput) { a.Records = []history.Record{failed} }), "", AlreadyOnTarget},
		{"first deploy: previous revision", in(func(a *AlarmInput) {
			d := deploy
			d.LastGoodBefore = ""
			a.Records = []history.Record{d}
		}), r1, ""},
		{"nothing before", in(func(a *AlarmInput) {
			d := deploy
			d.LastGoodBefore, d.FromRevision = "", ""
			a.Records = []history.Record{d}
		}), "", NoTarget},
		{"redeploy of the last good", in(func(a *AlarmInput) {
			d := deploy
			d.Action, d.FromRevision, d.LastGoodBefore = "redeploy", r2, r2
			a.Records = []history.Record{d}
		}), "", AlreadyOnTarget},
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
