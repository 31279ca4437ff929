package e2e

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/pushdeploy/pushdeploy/internal/app/contract"
	"github.com/pushdeploy/pushdeploy/internal/app/coord"
	"github.com/pushdeploy/pushdeploy/internal/app/freeze"
	"github.com/pushdeploy/pushdeploy/internal/app/handler"
	"github.com/pushdeploy/pushdeploy/internal/app/history"
)

// TestSemverPolicy: a service following "semver:>=1.4.0 <2" over a
// sequence of pushes deploys 1.4.0 and 1.6.0, starts nothing for the tags
// outside the range (1.3.0, 2.0.0, latest) nor for a pre-release
// (1.7.0-rc.1: the range names none), and records 1.5.0, pushed after 1.6.0
// runs, SKIPPED as a lower version, leaving 1.6.0 running.
func TestSemverPolicy(t *testing.T) {
	w := newWorld(t)
	svc := w.service("prod", "web", map[string]string{"pushdeploy:tags": "semver:>=1.4.0 <2", "pushdeploy:bake": "0s"})

	w.push("1.3.0", "web 1.3.0")
	w.push("2.0.0", "web 2.0.0")
	v140 := w.push("1.4.0", "web 1.4.0")
	w.wait(1)
	w.expectRunning("prod", "web", v140)

	w.clock.Advance(time.Minute)
	w.push("1.7.0-rc.1", "web 1.7.0-rc.1")
	w.push("latest", "web latest")
	v160 := w.push("v1.6.0", "web 1.6.0")
	w.wait(2)
	w.expectRunning("prod", "web", v160)

	w.clock.Advance(time.Minute)
	w.push("1.5.0", "web 1.5.0")
	w.wait(3)
	recs := w.expectOutcomes(svc, history.Succeeded, history.Succeeded, history.Skipped)
	if want := "lower-version: 1.5.0 is lower than v1.6.0, the version running"; recs[0].Reason != want {
		t.Errorf("skip reason %q, want %q", recs[0].Reason, want)
	}
	w.expectRunning("prod", "web", v160)

	// A manual deploy of the lower version is the operator's call: it runs.
	w.clock.Advance(time.Minute)
	w.start("manual-downgrade", map[string]any{"action": "deploy", "cluster": "prod", "service": "web", "image": w.repo + ":1.5.0"})
	w.wait(4)
	w.expectOutcomes(svc, history.Succeeded, history.Succeeded, history.Skipped, history.Succeeded)
	w.expectRunning("prod", "web", digestOf("web 1.5.0"))
}

// expectRunning checks the service's app container runs the digest.
func (w *world) expectRunning(cluster, service, digest string) {
	w.t.Helper()
	if _, images := w.running(cluster, service); images["app"] != w.repo+"@"+digest {
		w.dump()
		w.t.Fatalf("%s/%s runs %s, want %s", cluster, service, images["app"], strings.TrimPrefix(digest, w.repo+"@"))
	}
}

// freezes is the freeze store on the world's table, as the CLI writes it.
func (w *world) freezes() *freeze.Store {
	w.t.Helper()
	var table string
	for _, name := range w.Installed.Tables {
		table = name
	}
	s, err := freeze.NewStore(dynamodb.NewFromConfig(w.Config), table)
	if err != nil {
		w.t.Fatal(err)
	}
	return s
}

// TestPushDuringFreezeSkippedThenDeployed: pushes while the service is
// frozen are recorded SKIPPED with who froze it, why and until when, and
// nothing on the service changes; a cluster-wide freeze holds the service
// too; after unfreezing, the held-back digest deploys (as
// `pushdeploy unfreeze --deploy-latest` starts it) and the next push
// deploys by itself.
func TestPushDuringFreezeSkippedThenDeployed(t *testing.T) {
	w := newWorld(t)
	svc := w.service("prod", "web", map[string]string{"pushdeploy:bake": "0s"})
	before, _ := w.running("prod", "web")
	fs := w.freezes()
	until := w.clock.Now().Add(6 * time.Hour)
	if err := fs.Put(w.ctx, freeze.Freeze{Cluster: "prod", Service: svc, Reason: "incident 42", By: "arn:aws:sts::123456789012:assumed-role/ops/alice",
		Since: w.clock.Now(), Until: until}, w.clock.Now()); err != nil {
		t.Fatal(err)
	}
	w.push("latest", "web v1")
	w.wait(1)
	recs := w.expectOutcomes(svc, history.Skipped)
	if want := "frozen: incident 42 by arn:aws:sts::123456789012:assumed-role/ops/alice until " + until.Format(time.RFC3339); recs[0].Reason != want {
		t.Errorf("reason %q, want %q", recs[0].Reason, want)
	}
	w.untouched("prod", "web", before)

	// The service's freeze lifted, the cluster's still holds it.
	if _, err := fs.Delete(w.ctx, "prod", svc); err != nil {
		t.Fatal(err)
	}
	if err := fs.Put(w.ctx, freeze.Freeze{Cluster: "prod", Reason: "release window", By: "bob", Since: w.clock.Now()}, w.clock.Now()); err != nil {
		t.Fatal(err)
	}
	w.clock.Advance(time.Minute)
	v2 := w.push("latest", "web v2")
	w.wait(2)
	recs = w.expectOutcomes(svc, history.Skipped, history.Skipped)
	if want := "frozen: release window by bob until unfrozen"; recs[0].Reason != want {
		t.Errorf("reason %q, want %q", recs[0].Reason, want)
	}
	w.untouched("prod", "web", before)

	if _, err := fs.Delete(w.ctx, "prod", ""); err != nil {
		t.Fatal(err)
	}
	w.clock.Advance(time.Minute)
	w.start("deploy-latest-skipped", map[string]any{"action": "deploy", "cluster": "prod", "service": "web", "image": w.repo + "@" + v2})
	w.wait(3)
	w.expectRunning("prod", "web", v2)
	w.clock.Advance(time.Minute)
	v3 := w.push("latest", "web v3")
	w.wait(4)
	w.expectOutcomes(svc, history.Skipped, history.Skipped, history.Succeeded, history.Succeeded)
	w.expectRunning("prod", "web", v3)
}

// TestAlarmRollbackDuringFreeze: a freeze holds pushes, not alarm
// rollbacks: an alarm inside the rollback window of a deploy that baked
// before the freeze still returns the service to its last good revision.
func TestAlarmRollbackDuringFreeze(t *testing.T) {
	w := newWorld(t)
	svc, first := w.alarmedService()
	start := w.clock.Now()
	w.push("latest", "web v1")
	w.wait(1) // 4m rollout, 5m bake
	if err := w.freezes().Put(w.ctx, freeze.Freeze{Cluster: "prod", Reason: "incident", By: "alice", Since: w.clock.Now()}, w.clock.Now()); err != nil {
		t.Fatal(err)
	}
	w.alarmAt("ALARM", start.Add(15*time.Minute))
	w.wait(2)
	recs := w.expectOutcomes(svc, history.Succeeded, history.RolledBack)
	if recs[0].Trigger != "alarm" {
		t.Errorf("rollback trigger %q, want alarm", recs[0].Trigger)
	}
	if td, _ := w.running("prod", "web"); td != first {
		t.Fatalf("service runs %s, want the last good %s", td, first)
	}
}

// coordinator is the lease coordinator on the world's table, as the CLI's
// cancel builds it.
func (w *world) coordinator() *coord.Coordinator {
	w.t.Helper()
	var table string
	for _, name := range w.Installed.Tables {
		table = name
	}
	store, err := coord.New(dynamodb.NewFromConfig(w.Config), table, w.clock)
	if err != nil {
		w.t.Fatal(err)
	}
	c, err := coord.NewCoordinator(store, sfn.NewFromConfig(w.Config), w.clock)
	if err != nil {
		w.t.Fatal(err)
	}
	return c
}

// parkedIn waits, with the clock held, until the service's lease holder is
// parked in phase, and returns the holder.
func (w *world) parkedIn(svc string, phase contract.Phase) string {
	w.t.Helper()
	var holder string
	w.waitUntil(w.held, "a wait parked in "+string(phase), func() bool {
		var ok bool
		holder, ok = w.parked(svc, phase)
		return ok
	})
	return holder
}

// parked reports whether a wait of svc is parked in phase, and whose.
func (w *world) parked(svc string, phase contract.Phase) (holder string, ok bool) {
	l, err := w.Lease(w.ctx, svc)
	if err == nil && l.Token != "" && l.Wait != nil && l.Wait.Phase == phase {
		return l.Holder, true
	}
	return "", false
}

// stepUntilParked moves the held virtual clock on a rollout tick (15 s) at
// a time until a wait of svc is parked in phase, at most limit. One
// Advance over several ticks would fire only the first: each tick's work
// schedules the next one when it runs, after Advance has returned.
func (w *world) stepUntilParked(svc string, phase contract.Phase, limit time.Duration) {
	w.t.Helper()
	for moved := time.Duration(0); moved <= limit; moved += 15 * time.Second {
		for range 10 { // let the tick's work land: up to 200 ms of real time
			if _, ok := w.parked(svc, phase); ok {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		w.clock.Advance(15 * time.Second)
	}
	w.dump()
	w.t.Fatalf("no wait parked in %s within %s", phase, limit)
}

// TestCancelRollsBack: a cancel during the rollout, and one during the
// bake, wake the deploy's wait with a cancelled outcome; its own Undo
// states put back the revision it replaced and finish writes one record,
// ROLLED_BACK "cancelled by <who>", without quarantining the image (it
// deploys again without force). A second cancel, of a finished execution,
// is refused.
func TestCancelRollsBack(t *testing.T) {
	for _, phase := range []contract.Phase{contract.PhaseRollout, contract.PhaseBake} {
		t.Run(string(phase), func(t *testing.T) {
			w := newWorld(t)
			svc := w.service("prod", "web", nil)
			w.Cloud.ECS().Faults().SetRolloutDuration("", 2*time.Minute)
			before, _ := w.running("prod", "web")
			w.holdClock()
			v1 := w.push("latest", "web v1")
			exec := w.parkedIn(svc, contract.PhaseRollout)
			if phase == contract.PhaseBake {
				w.stepUntilParked(svc, contract.PhaseBake, 4*time.Minute) // the 2m rollout completes; the 5m bake begins
			}
			c := w.coordinator()
			if err := c.Cancel(w.ctx, svc, exec, "arn:aws:sts::123456789012:assumed-role/ops/alice"); err != nil {
				t.Fatal(err)
			}
			w.wait(1)
			recs := w.expectOutcomes(svc, history.RolledBack)
			if !strings.HasPrefix(recs[0].Reason, "cancelled by arn:aws:sts::123456789012:assumed-role/ops/alice; rolled back to ") {
				t.Errorf("reason %q", recs[0].Reason)
			}
			if td, _ := w.running("prod", "web"); td != before {
				t.Fatalf("service runs %s after the cancel, want %s", td, before)
			}
			if l := w.ledgerOf(svc); len(l.Quarantined) != 0 {
				t.Errorf("a cancel quarantined %+v", l.Quarantined)
			}
			var not *coord.NotCancellableError
			if err := c.Cancel(w.ctx, svc, exec, "bob"); !errors.As(err, &not) || !strings.Contains(err.Error(), "does not hold the service's lease") {
				t.Errorf("cancel of a finished execution: %v", err)
			}
			// Not quarantined: the same image deploys on its next push.
			w.clock.Advance(time.Minute)
			// (a quarantined digest would be refused without force)
			w.start("deploy-again", map[string]any{"action": "deploy", "cluster": "prod", "service": "web", "image": w.repo + "@" + v1})
			w.wait(2)
			w.expectOutcomes(svc, history.RolledBack, history.Succeeded)
			w.expectRunning("prod", "web", v1)
		})
	}
}

// TestPromotionAfterStagingBake: production follows staging/web
// (pushdeploy:after). A push both follow deploys staging and is SKIPPED
// on production "waiting for staging/web" (the digest had not baked there
// when production planned); when staging's deploy SUCCEEDED (its bake
// passed), staging's finish starts production's deploy of the digest by
// itself, with a ticket, and it SUCCEEDS. A digest staging rolled back
// from never reaches production, by a push or by a forged promotion.
func TestPromotionAfterStagingBake(t *testing.T) {
	w := newWorld(t)
	if err := w.CreateAlarm(w.ctx, "web-5xx", nil); err != nil {
		t.Fatal(err)
	}
	staging := w.service("staging", "web", map[string]string{"pushdeploy:tags": "latest,release-*", "pushdeploy:alarms": "web-5xx"})
	prod := w.service("prod", "web", map[string]string{"pushdeploy:tags": "latest,release-*", "pushdeploy:after": "staging/web"})
	// Follows staging but another repository: never promoted.
	other := w.service("prod", "api", map[string]string{"pushdeploy:repository": "api", "pushdeploy:after": "staging/web"})
	otherBefore, _ := w.running("prod", "api")

	v1 := w.push("latest", "web v1")
	w.wait(3) // staging, production's skip, production's promotion
	recs := w.expectOutcomes(staging, history.Succeeded)
	stagingExec := recs[0].ExecutionARN
	recs = w.expectOutcomes(prod, history.Skipped, history.Succeeded)
	if want := "waiting for staging/web: " + v1 + " has not passed its bake there"; recs[1].Reason != want {
		t.Errorf("reason %q, want %q", recs[1].Reason, want)
	}
	promoted := recs[0]
	if promoted.Trigger != string(contract.TriggerPromotion) || promoted.StartedBy != "promotion from staging/web" {
		t.Errorf("production's deploy: trigger %q, started by %q; want a promotion from staging/web", promoted.Trigger, promoted.StartedBy)
	}
	if promoted.StartedAt.Before(w.outcome(staging, stagingExec).FinishedAt) {
		t.Errorf("production's deploy started at %s, before staging's finish", promoted.StartedAt)
	}
	w.expectRunning("prod", "web", v1)
	w.untouched("prod", "api", otherBefore)
	w.expectOutcomes(other)

	// v2 fails its bake on staging: production never gets it.
	w.clock.Advance(time.Minute)
	w.alarmAt("ALARM", w.clock.Now().Add(4*time.Minute))
	w.push("latest", "web v2")
	v2 := digestOf("web v2")
	w.wait(5)
	w.expectOutcomes(staging, history.Succeeded, history.RolledBack)
	w.setAlarmAt("web-5xx", "OK", w.clock.Now())
	w.clock.Advance(time.Minute)
	w.push("release-2", "web v2")
	w.wait(7)
	w.expectOutcomes(staging, history.Succeeded, history.RolledBack, history.Skipped) // quarantined
	recs = w.expectOutcomes(prod, history.Skipped, history.Succeeded, history.Skipped, history.Skipped)
	for _, r := range recs[:2] {
		if !strings.HasPrefix(r.Reason, "waiting for staging/web") {
			t.Errorf("reason %q", r.Reason)
		}
	}
	w.expectRunning("prod", "web", v1)

	// A manual StartExecution posing as staging's promotion of v2, even
	// under the name finish would give it, has no ticket: refused.
	w.clock.Advance(time.Minute)
	w.start(handler.PromotionName(prod, v2, stagingExec), contract.ExecutionInput{
		Action: contract.ActionDeploy, Cluster: "prod", Service: "web", Image: w.repo + "@" + v2, Digest: v2,
		Trigger:   contract.TriggerPromotion,
		Promotion: &contract.PromotionTrigger{From: "staging/web", Execution: stagingExec, Tag: "latest"},
	})
	w.wait(8)
	recs = w.expectOutcomes(prod, history.Skipped, history.Succeeded, history.Skipped, history.Skipped, history.Failed)
	if !strings.Contains(recs[0].Reason, "trigger promotion is set by pushdeploy's finish") {
		t.Errorf("forged promotion: reason %q", recs[0].Reason)
	}
	w.expectRunning("prod", "web", v1)
}
