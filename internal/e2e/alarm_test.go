package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/pushdeploy/pushdeploy/internal/app/history"
)

// alarmedService is a service whose alarm pushdeploy watches, with a
// four-minute rollout, a five-minute bake and a thirty-minute rollback window.
func (w *world) alarmedService() (serviceARN, firstRevision string) {
	w.t.Helper()
	if err := w.CreateAlarm(w.ctx, "web-5xx", nil); err != nil {
		w.t.Fatal(err)
	}
	svc := w.service("prod", "web", map[string]string{"pushdeploy:alarms": "web-5xx", "pushdeploy:rollback-window": "30m"})
	w.Cloud.ECS().Faults().SetRolloutDuration("", 4*time.Minute)
	td, _ := w.running("prod", "web")
	return svc, td
}

// alarmAt sets the alarm web-5xx to state at a moment on the virtual clock.
func (w *world) alarmAt(state string, at time.Time) {
	w.t.Helper()
	w.setAlarmAt("web-5xx", state, at)
}

// setAlarmAt schedules alarm's state change and holds the virtual clock
// until the next wait: a scenario schedules an alarm, then pushes, and the
// clock must not jump to the alarm while the push is on its way (idle for a
// few real milliseconds on a loaded machine, it would).
func (w *world) setAlarmAt(alarm, state string, at time.Time) {
	w.t.Helper()
	w.holdClock()
	if _, err := w.Cloud.CloudWatch().SetStateAt(w.ctx, alarm, state, at); err != nil {
		w.t.Fatal(err)
	}
}

func TestAlarmDuringDeployRolledBack(t *testing.T) {
	cases := []struct {
		name    string
		rollout time.Duration
		alarmAt time.Duration // after the push
	}{
		{"during the rollout", 10 * time.Minute, 3 * time.Minute},
		// The rollout ends at +4m; the bake lasts 5m: +6m is inside it.
		{"during the bake", 4 * time.Minute, 6 * time.Minute},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			svc, before := w.alarmedService()
			w.Cloud.ECS().Faults().SetRolloutDuration("", tc.rollout)
			w.alarmAt("ALARM", w.clock.Now().Add(tc.alarmAt))
			w.push("latest", "web v1")
			// One execution: the deploy saw its alarm and rolled back;
			// dispatch started no second one for the same alarm.
			w.wait(1)
			rec := w.expectOutcomes(svc, history.RolledBack)[0]
			if !strings.Contains(rec.Reason, "web-5xx") {
				t.Errorf("reason %q does not name the alarm", rec.Reason)
			}
			if after, _ := w.running("prod", "web"); after != before {
				t.Fatalf("service runs %s, want %s", after, before)
			}
		})
	}
}

func TestAlarmAfterBakeRollsBackOnce(t *testing.T) {
	w := newWorld(t)
	svc, first := w.alarmedService()
	start := w.clock.Now()
	// The deploy ends at +9m (4m rollout, 5m bake); the alarm fires at +15m,
	// inside the 30m rollback window.
	w.alarmAt("ALARM", start.Add(15*time.Minute))
	w.push("latest", "web v1")
	w.wait(2)
	recs := w.expectOutcomes(svc, history.Succeeded, history.RolledBack)
	if recs[0].Trigger != "alarm" {
		t.Errorf("rollback trigger %q, want alarm", recs[0].Trigger)
	}
	if td, _ := w.running("prod", "web"); td != first {
		t.Fatalf("service runs %s, want the last good %s", td, first)
	}
}

func TestFlappingAlarmRollsBackOnce(t *testing.T) {
	w := newWorld(t)
	svc, first := w.alarmedService()
	start := w.clock.Now()
	for i, state := range []string{"ALARM", "OK", "ALARM", "OK", "ALARM"} {
		w.alarmAt(state, start.Add(15*time.Minute+time.Duration(i)*20*time.Second))
	}
	w.push("latest", "web v1")
	w.wait(2)
	w.expectOutcomes(svc, history.Succeeded, history.RolledBack)
	if td, _ := w.running("prod", "web"); td != first {
		t.Fatalf("service runs %s, want %s", td, first)
	}
}

func TestAlarmOutsideWindowSkipped(t *testing.T) {
	w := newWorld(t)
	svc, _ := w.alarmedService()
	start := w.clock.Now()
	// +9m bake end, +39m window end: +50m is outside.
	w.alarmAt("ALARM", start.Add(50*time.Minute))
	digest := w.push("latest", "web v1")
	w.wait(2)
	recs := w.expectOutcomes(svc, history.Succeeded, history.Skipped)
	if !strings.Contains(recs[0].Reason, "window") {
		t.Errorf("skip reason %q does not mention the window", recs[0].Reason)
	}
	if _, images := w.running("prod", "web"); !strings.HasSuffix(images["app"], digest) {
		t.Fatalf("service was rolled back: runs %s", images["app"])
	}
}

func TestAlarmOnLastGoodSkipped(t *testing.T) {
	w := newWorld(t)
	svc, first := w.alarmedService()
	// Nothing was deployed by pushdeploy: the service runs its last good
	// revision, and there is nothing to roll back to.
	w.alarmAt("ALARM", w.clock.Now().Add(time.Minute))
	w.wait(1)
	w.expectOutcomes(svc, history.Skipped)
	if td, _ := w.running("prod", "web"); td != first {
		t.Fatalf("service changed to %s", td)
	}
}
