package e2e

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/pushdeploy/pushdeploy/internal/history"
	"github.com/pushdeploy/pushdeploy/internal/localcloud/bus"
	"github.com/pushdeploy/pushdeploy/internal/localrun"
)

// ecrPushEvent is an ECR Image Action event as EventBridge delivers it.
func (w *world) ecrPushEvent(id, repo, tag, digest string) []byte {
	detail, _ := json.Marshal(map[string]string{
		"result": "SUCCESS", "repository-name": repo, "image-digest": digest, "action-type": "PUSH", "image-tag": tag,
	})
	ev, _ := json.Marshal(bus.Event{
		Version: "0", ID: id, DetailType: "ECR Image Action", Source: "aws.ecr", Account: localrun.Account,
		Time: bus.FormatTime(w.clock.Now()), Region: localrun.Region, Resources: []string{}, Detail: detail,
	})
	return ev
}

// invokeDispatch delivers an event to the dispatch function directly, as
// EventBridge's at-least-once delivery may do more than once.
func (w *world) invokeDispatch(payload []byte) *lambda.InvokeOutput {
	w.t.Helper()
	fn, ok := w.Installed.Functions["DispatchFunction"]
	if !ok {
		w.t.Fatal("no DispatchFunction in the template")
	}
	out, err := lambda.NewFromConfig(w.Config).Invoke(w.ctx, &lambda.InvokeInput{FunctionName: aws.String(fn.Name), Payload: payload})
	if err != nil {
		w.t.Fatalf("invoke dispatch: %v", err)
	}
	return out
}

func TestDuplicatedEventStartsOneExecution(t *testing.T) {
	w := newWorld(t)
	svc := w.service("prod", "web", nil)
	// The push's event is delivered by hand, three times: at once, while
	// its execution is in flight, and after it ended. (Executions are named
	// after the event's id: an event of its own would be a new push.)
	w.deliverPushesByHand()
	digest := w.push("latest", "web v1")
	event := w.ecrPushEvent("6c6f9a5e-dup", "web", "latest", digest)
	for range 2 {
		if out := w.invokeDispatch(event); out.FunctionError != nil {
			t.Fatalf("dispatch failed: %s", out.Payload)
		}
	}
	w.wait(1)
	if out := w.invokeDispatch(event); out.FunctionError != nil {
		t.Fatalf("dispatch of a finished duplicate failed: %s", out.Payload)
	}
	w.wait(1)
	w.expectOutcomes(svc, history.Succeeded)
}

func TestLatestPushWins(t *testing.T) {
	w := newWorld(t)
	svc := w.service("prod", "web", nil)
	w.Cloud.ECS().Faults().SetRolloutDuration("", 10*time.Minute)
	// Hold the virtual clock still while both pushes land, so that the
	// first rollout is still in progress when the second push arrives.
	before, _ := w.running("prod", "web")
	hold := w.clock.Busy()
	first := w.push("latest", "web v1")
	w.waitUntil(hold, "the first deploy updates the service", func() bool {
		td, _ := w.running("prod", "web")
		return td != before
	})
	// A few milliseconds later: pushes of the same millisecond are ordered
	// by digest, not by arrival.
	w.clock.Advance(5 * time.Millisecond)
	second := w.push("latest", "web v2")
	w.waitUntil(hold, "the second execution starts", func() bool {
		execs, err := w.Executions(w.ctx)
		return err == nil && len(execs) == 2
	})
	hold()
	w.wait(2)
	// Both started at the same virtual instant: tell them apart by image.
	recs := w.records(svc)
	if len(recs) != 2 {
		t.Fatalf("%d records, want 2: %s", len(recs), reasons(recs))
	}
	for _, r := range recs {
		want := map[string]history.Outcome{first: history.Superseded, second: history.Succeeded}[digestOfRecord(r)]
		if r.Outcome != want {
			t.Errorf("deploy of %s ended %s (%s), want %s", digestOfRecord(r), r.Outcome, r.Reason, want)
		}
	}
	w.expectNoLease(svc)
	if _, images := w.running("prod", "web"); images["app"] != w.repo+"@"+second {
		t.Fatalf("app runs %s, want the second push %s", images["app"], second)
	}
}

// waitUntil waits in real time, with the virtual clock held, until cond.
func (w *world) waitUntil(release func(), what string, cond func() bool) {
	w.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	release()
	w.dump()
	w.t.Fatalf("gave up waiting until %s", what)
}

func digestOfRecord(r history.Record) string {
	if len(r.Images) == 0 {
		return ""
	}
	return r.Images[0].Digest
}
