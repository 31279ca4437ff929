package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/pushdeploy/pushdeploy/internal/app/history"
)

// compositeService is a service whose pushdeploy:alarms names only a
// composite alarm, web-health, over the metric alarms web-5xx and
// web-latency: the composite is what must roll the service back.
func (w *world) compositeService() (serviceARN, firstRevision string) {
	w.t.Helper()
	for _, n := range []string{"web-5xx", "web-latency"} {
		if err := w.CreateAlarm(w.ctx, n, nil); err != nil {
			w.t.Fatal(err)
		}
	}
	if err := w.CreateCompositeAlarm(w.ctx, "web-health", `ALARM("web-5xx") OR ALARM(web-latency)`, nil); err != nil {
		w.t.Fatal(err)
	}
	svc := w.service("prod", "web", map[string]string{"pushdeploy:alarms": "web-health", "pushdeploy:rollback-window": "30m"})
	w.Cloud.ECS().Faults().SetRolloutDuration("", 4*time.Minute)
	td, _ := w.running("prod", "web")
	return svc, td
}

// A child of the composite goes to ALARM during the bake (the rollout ends
// at +4m, the bake lasts 5m): the deploy rolls back.
func TestCompositeAlarmDuringBakeRolledBack(t *testing.T) {
	w := newWorld(t)
	svc, before := w.compositeService()
	w.setAlarmAt("web-latency", "ALARM", w.clock.Now().Add(6*time.Minute))
	w.push("latest", "web v1")
	w.wait(1)
	rec := w.expectOutcomes(svc, history.RolledBack)[0]
	if !strings.Contains(rec.Reason, "web-health") {
		t.Errorf("reason %q does not name the composite alarm", rec.Reason)
	}
	if after, _ := w.running("prod", "web"); after != before {
		t.Fatalf("service runs %s, want %s", after, before)
	}
}

// A child goes to ALARM after the bake, inside the rollback window: the
// composite's own state change event makes dispatch start a rollback.
func TestCompositeAlarmAfterBakeRollsBack(t *testing.T) {
	w := newWorld(t)
	svc, first := w.compositeService()
	// The deploy ends at +9m; the child fires at +15m.
	w.setAlarmAt("web-5xx", "ALARM", w.clock.Now().Add(15*time.Minute))
	w.push("latest", "web v1")
	w.wait(2)
	recs := w.expectOutcomes(svc, history.Succeeded, history.RolledBack)
	if recs[0].Trigger != "alarm" || recs[0].StartedBy != "alarm web-health" {
		t.Errorf("rollback trigger %q by %q, want alarm web-health", recs[0].Trigger, recs[0].StartedBy)
	}
	if td, _ := w.running("prod", "web"); td != first {
		t.Fatalf("service runs %s, want the last good %s", td, first)
	}
}

// An alarm named in pushdeploy:alarms that does not exist does not stop
// the deploy; its record says the deploy had no such safety net.
func TestMissingAlarmWarned(t *testing.T) {
	w := newWorld(t)
	if err := w.CreateAlarm(w.ctx, "web-5xx", nil); err != nil {
		t.Fatal(err)
	}
	svc := w.service("prod", "web", map[string]string{"pushdeploy:alarms": "web-5xx,web-latncy"})
	w.push("latest", "web v1")
	w.wait(1)
	rec := w.expectOutcomes(svc, history.Succeeded)[0]
	if len(rec.Warnings) != 1 || !strings.Contains(rec.Warnings[0], "alarm web-latncy (pushdeploy:alarms) does not exist") {
		t.Errorf("warnings %q, want one naming web-latncy", rec.Warnings)
	}
}
