package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"

	"github.com/pushdeploy/pushdeploy/internal/contract"
	"github.com/pushdeploy/pushdeploy/internal/history"
	"github.com/pushdeploy/pushdeploy/internal/localcloud/bus"
	"github.com/pushdeploy/pushdeploy/internal/localrun"
)

// TestForgedPushTriggerIsRefused: a manual StartExecution that claims to be
// a push, with a push time in 2099 and a digest that is not in ECR, fails
// as BadInput before anything is written: no deploy, no lease, and no
// sequence left behind, so the next real push deploys.
func TestForgedPushTriggerIsRefused(t *testing.T) {
	w := newWorld(t)
	svc := w.service("prod", "web", nil)
	before, _ := w.running("prod", "web")
	missing := "sha256:" + strings.Repeat("e", 64)
	w.start("forged", contract.ExecutionInput{
		Action: contract.ActionDeploy, Cluster: "prod", Service: "web", Image: w.repo + "@" + missing, Digest: missing,
		Trigger: contract.TriggerPush,
		Push: &contract.PushTrigger{EventID: "forged", Account: localrun.Account, Region: localrun.Region, Repository: "web",
			Tag: "latest", Digest: missing, Time: time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)},
	})
	w.wait(1)
	w.failedWith(svc, "set by pushdeploy's dispatch only")
	w.untouched("prod", "web", before)
	if l, err := w.Lease(w.ctx, svc); err != nil || l.Seq != 0 {
		t.Fatalf("lease %+v (%v): the forged execution left a sequence", l, err)
	}
	digest := w.push("latest", "web v1")
	w.wait(2)
	w.expectOutcomes(svc, history.Failed, history.Succeeded)
	if _, images := w.running("prod", "web"); images["app"] != w.repo+"@"+digest {
		t.Fatalf("app runs %s, want the real push %s", images["app"], digest)
	}
}

// TestRevertByRetag: moving "latest" back to an image deployed before is a
// new push: it deploys (it is not taken for a duplicate of the first push
// of that digest), and it wins over the newer image's sequence. Tagging the
// running image once more (another followed tag) is SKIPPED: the service
// already runs it.
func TestRevertByRetag(t *testing.T) {
	w := newWorld(t)
	svc := w.service("prod", "web", map[string]string{"pushdeploy:tags": "latest,stable", "pushdeploy:bake": "0s"})
	v1 := w.push("latest", "web v1")
	w.wait(1)
	w.clock.Advance(time.Minute)
	v2 := w.push("latest", "web v2")
	w.wait(2)
	w.clock.Advance(time.Minute)
	if again := w.push("latest", "web v1"); again != v1 {
		t.Fatalf("re-push gave digest %s, want %s", again, v1)
	}
	w.wait(3)
	if _, images := w.running("prod", "web"); images["app"] != w.repo+"@"+v1 {
		w.dump()
		t.Fatalf("app runs %s, want the reverted image %s (not %s)", images["app"], v1, v2)
	}
	w.clock.Advance(time.Minute)
	w.push("stable", "web v1")
	w.wait(4)
	recs := w.expectOutcomes(svc, history.Succeeded, history.Succeeded, history.Succeeded, history.Skipped)
	if !strings.Contains(recs[0].Reason, "already runs") {
		t.Errorf("skip reason %q", recs[0].Reason)
	}
}

// TestSameSecondPushesLatestWins: two pushes to "latest" within one second
// (ECR's event time is whole seconds), at different sub-second offsets,
// delivered to dispatch in both orders, the older one's plan last when it
// arrives last. The newer image always runs, the older ends SUPERSEDED.
func TestSameSecondPushesLatestWins(t *testing.T) {
	const rounds = 30
	w := newWorld(t)
	svc := w.service("prod", "web", map[string]string{"pushdeploy:bake": "0s"})
	w.Cloud.ECS().Faults().SetRolloutDuration("", 30*time.Second)
	// Deliver the push events ourselves, in the order each round wants.
	w.deliverPushesByHand()
	var want []history.Outcome
	for r := 0; r < rounds; r++ {
		older := time.Duration(r*31%900) * time.Millisecond
		newer := older + time.Duration(1+r*53%(999-int(older/time.Millisecond)))*time.Millisecond
		hold := w.clock.Busy()
		sec := w.clock.Now().Truncate(time.Second).Add(time.Second)
		w.clock.Advance(sec.Add(older).Sub(w.clock.Now()))
		a := w.push("latest", fmt.Sprintf("web round %d older", r))
		w.clock.Advance(newer - older)
		b := w.push("latest", fmt.Sprintf("web round %d newer", r))
		first, second := a, b
		if r%2 == 1 {
			first, second = b, a // the newer push arrives first
		}
		execs := map[string]string{} // digest -> execution
		execs[first] = w.dispatchPush(fmt.Sprintf("r%d-%s", r, first[7:15]), first, sec)
		w.waitUntil(hold, "the first delivered push holds the lease", func() bool {
			l, err := w.Lease(w.ctx, svc)
			return err == nil && l.Holder == execs[first]
		})
		execs[second] = w.dispatchPush(fmt.Sprintf("r%d-%s", r, second[7:15]), second, sec)
		hold()
		w.wait(2 * (r + 1))
		if _, images := w.running("prod", "web"); images["app"] != w.repo+"@"+b {
			w.dump()
			t.Fatalf("round %d (older at +%s, newer at +%s, newer delivered first: %v): app runs %s, want the newer %s",
				r, older, newer, r%2 == 1, images["app"], b)
		}
		oa, ob := w.outcome(svc, execs[a]), w.outcome(svc, execs[b])
		if oa.Outcome != history.Superseded || ob.Outcome != history.Succeeded {
			w.dump()
			t.Fatalf("round %d: older %s (%s), newer %s (%s); want SUPERSEDED, SUCCEEDED", r, oa.Outcome, oa.Reason, ob.Outcome, ob.Reason)
		}
		want = append(want, history.Superseded, history.Succeeded)
	}
	if got := len(w.records(svc)); got != len(want) {
		t.Fatalf("%d records, want %d", got, len(want))
	}
	w.expectNoLease(svc)
}

// deliverPushesByHand disables the template's ECR push rule: the test
// delivers push events to dispatch itself (invokeDispatch).
func (w *world) deliverPushesByHand() {
	w.t.Helper()
	if _, err := eventbridge.NewFromConfig(w.Config).DisableRule(w.ctx, &eventbridge.DisableRuleInput{Name: aws.String("pushdeploy-ecr-push")}); err != nil {
		w.t.Fatal(err)
	}
}

// dispatchPush delivers the ECR event of a push to "latest" stamped at the
// whole second sec, and returns the execution it started.
func (w *world) dispatchPush(id, digest string, sec time.Time) string {
	w.t.Helper()
	detail, _ := json.Marshal(map[string]string{
		"result": "SUCCESS", "repository-name": "web", "image-digest": digest, "action-type": "PUSH", "image-tag": "latest",
	})
	ev, _ := json.Marshal(bus.Event{
		Version: "0", ID: id, DetailType: "ECR Image Action", Source: "aws.ecr", Account: localrun.Account,
		Time: bus.FormatTime(sec), Region: localrun.Region, Resources: []string{}, Detail: detail,
	})
	out := w.invokeDispatch(ev)
	if out.FunctionError != nil {
		w.t.Fatalf("dispatch failed: %s", out.Payload)
	}
	var res contract.DispatchResult
	if err := json.Unmarshal(out.Payload, &res); err != nil || len(res.Started) != 1 {
		w.t.Fatalf("dispatch result %s (%v), want one execution", out.Payload, err)
	}
	return res.Started[0].ExecutionArn
}

// TestOtherRegionImageIsNotAllowedByDefault: the default allow-list is this
// account's ECR in this region only: a manual deploy of the same account's
// image in eu-west-1 is RegistryNotAllowed, and nothing changes.
func TestOtherRegionImageIsNotAllowedByDefault(t *testing.T) {
	w := newWorld(t)
	svc := w.service("prod", "web", nil)
	before, _ := w.running("prod", "web")
	arn := w.start("other-region", contract.ExecutionInput{Action: contract.ActionDeploy, Cluster: "prod", Service: "web",
		Image: localrun.Account + ".dkr.ecr.eu-west-1.amazonaws.com/web:v1"})
	w.wait(1)
	w.failedWith(svc, "RegistryNotAllowed")
	w.untouched("prod", "web", before)
	if l, err := w.Lease(w.ctx, svc); err != nil || l.Seq != 0 {
		t.Fatalf("lease %+v (%v): the refused execution took the lease", l, err)
	}
	if rec := w.outcome(svc, arn); rec.Outcome != history.Failed {
		t.Fatalf("outcome %s", rec.Outcome)
	}
}
