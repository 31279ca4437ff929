package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/pushdeploy/pushdeploy/internal/history"
	"github.com/pushdeploy/pushdeploy/internal/ledger"
	lcecs "github.com/pushdeploy/pushdeploy/internal/localcloud/ecs"
	"github.com/pushdeploy/pushdeploy/internal/localrun"
)

// ledgerOf reads a service's ledger.
func (w *world) ledgerOf(serviceARN string) ledger.Ledger {
	w.t.Helper()
	l, err := w.Ledger(w.ctx, serviceARN)
	if err != nil {
		w.t.Fatal(err)
	}
	return l
}

// active reports whether a revision is ACTIVE in ECS.
func (w *world) active(rev string) bool {
	w.t.Helper()
	out, err := ecs.NewFromConfig(w.Config).DescribeTaskDefinition(w.ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(rev)})
	if err != nil {
		w.t.Fatal(err)
	}
	return out.TaskDefinition.Status == ecstypes.TaskDefinitionStatusActive
}

// After an alarm rolls a deploy back, the culprit is bad and last good is
// where the rollback went: the next failed deploy goes back there, not
// forward to the culprit, and a plain rollback has nowhere to go. (Before
// the ledger, last good still named the culprit.)
func TestAlarmRollbackMovesLastGoodBack(t *testing.T) {
	w := newWorld(t)
	svc, first := w.alarmedService()
	start := w.clock.Now()
	w.alarmAt("ALARM", start.Add(15*time.Minute)) // after v1's bake, inside the window
	culpritDigest := w.push("latest", "web v1")
	w.wait(2)
	w.expectOutcomes(svc, history.Succeeded, history.RolledBack)
	w.alarmAt("OK", w.clock.Now())
	l := w.ledgerOf(svc)
	culprit, _ := l.LastGood() // the rollback target: first
	if culprit.Revision != first || culprit.Via != ledger.ViaRollback {
		t.Fatalf("last good after the alarm rollback: %+v, want %s via rollback", culprit, first)
	}
	if _, ok := l.Quarantine(culpritDigest); !ok {
		t.Fatalf("the culprit's digest is not quarantined: %+v", l.Quarantined)
	}

	w.Cloud.ECS().Faults().FailImage(lcecs.ImageFault{Image: digestOf("web crash"), Mode: lcecs.FailToStart})
	w.push("latest", "web crash")
	w.wait(3)
	w.expectOutcomes(svc, history.Succeeded, history.RolledBack, history.RolledBack)
	if td, _ := w.running("prod", "web"); td != first {
		t.Fatalf("the failed deploy went back to %s, want %s (never to the culprit)", td, first)
	}

	w.start("plain-rollback", map[string]string{"action": "rollback", "cluster": "prod", "service": "web"})
	w.wait(4)
	recs := w.expectOutcomes(svc, history.Succeeded, history.RolledBack, history.RolledBack, history.Skipped)
	if !strings.Contains(recs[0].Reason, "no-rollback-target") {
		t.Errorf("plain rollback: %q, want no-rollback-target", recs[0].Reason)
	}
	if td, _ := w.running("prod", "web"); td != first {
		t.Fatalf("the plain rollback moved the service to %s", td)
	}
}

// A digest rolled back from is quarantined: a new push of it is skipped,
// a manual deploy of it needs force, and a release (through the state
// machine, recorded) lets pushes of it deploy again.
func TestQuarantinedDigestStaysOut(t *testing.T) {
	w := newWorld(t)
	if err := w.CreateAlarm(w.ctx, "web-5xx", nil); err != nil {
		t.Fatal(err)
	}
	svc := w.service("prod", "web", map[string]string{"pushdeploy:alarms": "web-5xx", "pushdeploy:tags": "v*"})
	w.Cloud.ECS().Faults().SetRolloutDuration("", 4*time.Minute)
	first, _ := w.running("prod", "web")
	w.alarmAt("ALARM", w.clock.Now().Add(6*time.Minute)) // during the bake
	bad := w.push("v1", "web v1")
	w.wait(1)
	w.expectOutcomes(svc, history.RolledBack)
	w.alarmAt("OK", w.clock.Now())

	// The same image pushed again under another followed tag.
	w.clock.Advance(time.Second)
	w.push("v1-again", "web v1")
	w.wait(2)
	recs := w.expectOutcomes(svc, history.RolledBack, history.Skipped)
	if !strings.Contains(recs[0].Reason, "quarantined") || !strings.Contains(recs[0].Reason, recs[1].ExecutionARN) {
		t.Fatalf("re-push: %q, want quarantined naming the incident %s", recs[0].Reason, recs[1].ExecutionARN)
	}

	// A manual deploy of it without force changes nothing.
	w.clock.Advance(time.Second)
	w.start("manual-bad", map[string]string{"action": "deploy", "cluster": "prod", "service": "web", "digest": bad})
	w.wait(3)
	recs = w.expectOutcomes(svc, history.RolledBack, history.Skipped, history.Failed)
	if !strings.Contains(recs[0].Reason, "BadInput") || !strings.Contains(recs[0].Reason, "force") {
		t.Fatalf("manual deploy of a quarantined digest: %q", recs[0].Reason)
	}
	w.untouched("prod", "web", first)

	// Released, with the operator's name on the record.
	w.clock.Advance(time.Second)
	w.start("release", map[string]string{"action": "release", "cluster": "prod", "service": "web", "digest": bad, "requestedBy": "alice", "reason": "fixed the config"})
	w.wait(4)
	recs = w.expectOutcomes(svc, history.RolledBack, history.Skipped, history.Failed, history.Succeeded)
	if recs[0].Action != "release" || recs[0].StartedBy != "alice" || len(recs[0].Released) != 1 || recs[0].Released[0] != bad {
		t.Fatalf("release record %+v", recs[0])
	}
	if _, ok := w.ledgerOf(svc).Quarantine(bad); ok {
		t.Fatal("still quarantined after the release")
	}
	w.untouched("prod", "web", first)
	w.clock.Advance(time.Second)
	w.push("v1-third", "web v1")
	w.wait(5)
	w.expectOutcomes(svc, history.RolledBack, history.Skipped, history.Failed, history.Succeeded, history.Succeeded)
	if _, images := w.running("prod", "web"); !strings.HasSuffix(images["app"], bad) {
		t.Fatalf("after the release the push did not deploy: %v", images)
	}
}

// A forced manual deploy of a quarantined digest deploys it, and its
// success lifts the quarantine.
func TestForcedDeployLiftsQuarantine(t *testing.T) {
	w := newWorld(t)
	svc := w.service("prod", "web", nil)
	w.Cloud.ECS().Faults().SetRolloutDuration("", 2*time.Minute)
	good := w.push("latest", "web v1")
	w.wait(1)
	w.start("undo", map[string]string{"action": "rollback", "cluster": "prod", "service": "web"})
	w.wait(2)
	w.expectOutcomes(svc, history.Succeeded, history.RolledBack)
	if _, ok := w.ledgerOf(svc).Quarantine(good); !ok {
		t.Fatal("a manual rollback did not quarantine the digest it rolled back from")
	}
	w.start("forced", map[string]any{"action": "deploy", "cluster": "prod", "service": "web", "digest": good, "force": true})
	w.wait(3)
	recs := w.expectOutcomes(svc, history.Succeeded, history.RolledBack, history.Succeeded)
	if !recs[0].Forced || len(recs[0].Released) != 1 {
		t.Fatalf("forced deploy record %+v", recs[0])
	}
	if _, ok := w.ledgerOf(svc).Quarantine(good); ok {
		t.Fatal("a forced deploy that succeeded left the quarantine")
	}
}

// Cleanup keeps what an alarm rollback needs, even with KeepRevisions 1:
// the rollback after the bake goes to the good revision before the
// culprit, which must still be ACTIVE. (Before, cleanup protected only the
// current and last good revisions, and the rollback failed.)
func TestCleanupKeepsTheAlarmRollbackTarget(t *testing.T) {
	w := newWorldWith(t, map[string]string{"KeepRevisions": "1"})
	svc, _ := w.alarmedService()
	w.push("latest", "web v1")
	w.wait(1)
	target, _ := w.running("prod", "web")
	w.alarmAt("ALARM", w.clock.Now().Add(15*time.Minute))
	w.push("latest", "web v2")
	w.wait(3)
	w.expectOutcomes(svc, history.Succeeded, history.Succeeded, history.RolledBack)
	if td, _ := w.running("prod", "web"); td != target {
		t.Fatalf("service runs %s, want the good revision before the culprit %s", td, target)
	}
}

// Two services share a task definition family: one's cleanup never
// deregisters what the other runs or may roll back to.
func TestCleanupOfASharedFamily(t *testing.T) {
	w := newWorldWith(t, map[string]string{"KeepRevisions": "1"})
	w.Cloud.ECS().Faults().SetRolloutDuration("", 2*time.Minute)
	tags := map[string]string{"pushdeploy:repository": "web", "pushdeploy:tags": "latest", "pushdeploy:bake": "1m"}
	img, err := w.Push(w.ctx, "web", "v0", "web v0 shared")
	if err != nil {
		t.Fatal(err)
	}
	var arns []string
	for _, name := range []string{"web", "web-canary"} {
		tags := tags
		if name == "web-canary" {
			tags = map[string]string{"pushdeploy:repository": "web", "pushdeploy:tags": "canary", "pushdeploy:bake": "1m"}
		}
		arn, err := w.CreateService(w.ctx, localrun.ServiceSpec{Cluster: "prod", Name: name, Family: "shared",
			Containers: []localrun.Container{{Name: "app", Image: w.repo + "@" + img}}, Tags: tags})
		if err != nil {
			t.Fatal(err)
		}
		arns = append(arns, arn)
	}
	w.push("canary", "web canary 1")
	w.wait(1)
	canary, _ := w.running("prod", "web-canary")
	for i, seed := range []string{"web v1", "web v2", "web v3"} {
		w.push("latest", seed)
		w.wait(i + 2)
	}
	w.expectOutcomes(arns[0], history.Succeeded, history.Succeeded, history.Succeeded)
	if !w.active(canary) {
		t.Fatalf("web's cleanup deregistered %s, which web-canary runs", canary)
	}
	for _, svc := range arns {
		for _, rev := range w.ledgerOf(svc).GoodNewest(2) {
			if !w.active(rev) {
				t.Errorf("%s: good revision %s was deregistered", svc, rev)
			}
		}
	}
}

// A manual rollback to a deregistered revision is bad input before
// anything changes (it used to pass plan and fail late as Internal).
func TestManualRollbackToInactiveRevision(t *testing.T) {
	w := newWorld(t)
	svc := w.service("prod", "web", nil)
	w.Cloud.ECS().Faults().SetRolloutDuration("", 2*time.Minute)
	first, _ := w.running("prod", "web")
	w.push("latest", "web v1")
	w.wait(1)
	now, _ := w.running("prod", "web")
	if _, err := ecs.NewFromConfig(w.Config).DeregisterTaskDefinition(w.ctx, &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String(first)}); err != nil {
		t.Fatal(err)
	}
	w.start("to-inactive", map[string]string{"action": "rollback", "cluster": "prod", "service": "web", "revision": first})
	w.wait(2)
	recs := w.expectOutcomes(svc, history.Succeeded, history.Failed)
	if !strings.Contains(recs[0].Reason, "BadInput") || !strings.Contains(recs[0].Reason, "INACTIVE") {
		t.Fatalf("rollback to an INACTIVE revision: %q", recs[0].Reason)
	}
	w.untouched("prod", "web", now)
}
