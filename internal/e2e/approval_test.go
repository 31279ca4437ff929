package e2e

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pushdeploy/pushdeploy/internal/app/contract"
	"github.com/pushdeploy/pushdeploy/internal/app/coord"
	"github.com/pushdeploy/pushdeploy/internal/app/history"
	"github.com/pushdeploy/pushdeploy/internal/app/notify"
)

const (
	alice = "arn:aws:sts::123456789012:assumed-role/ops/alice"
	bob   = "arn:aws:sts::123456789012:assumed-role/ops/bob"
)

// approvalService is prod/web holding pushes for an approval, no bake.
func (w *world) approvalService(extra map[string]string) (svc, before string) {
	w.t.Helper()
	tags := map[string]string{"pushdeploy:approval": "required", "pushdeploy:bake": "0s"}
	for k, v := range extra {
		tags[k] = v
	}
	svc = w.service("prod", "web", tags)
	before, _ = w.running("prod", "web")
	return svc, before
}

// approvalRequests are the Deployment Approval Requested events published.
func (w *world) approvalRequests() []notify.ApprovalRequest {
	w.t.Helper()
	var out []notify.ApprovalRequest
	for _, e := range w.Cloud.EventBridge().Accepted() {
		if e.Source != notify.Source || e.DetailType != notify.ApprovalDetailType {
			continue
		}
		var r notify.ApprovalRequest
		if err := json.Unmarshal(e.Detail, &r); err != nil {
			w.t.Fatalf("approval request detail %s: %v", e.Detail, err)
		}
		out = append(out, r)
	}
	return out
}

// TestApprovalGranted: a push to a service tagged pushdeploy:approval=
// required parks before Register and publishes one Deployment Approval
// Requested event naming the execution, the image and the diff; nothing
// changes until pushdeploy approve answers it, then the deploy runs and
// its record names the approver.
func TestApprovalGranted(t *testing.T) {
	w := newWorld(t)
	svc, before := w.approvalService(nil)
	w.holdClock()
	v1 := w.push("latest", "web v1")
	exec := w.parkedIn(svc, contract.PhaseApproval)
	w.untouched("prod", "web", before)
	reqs := w.approvalRequests()
	if len(reqs) != 1 {
		t.Fatalf("%d approval requests, want 1: %+v", len(reqs), reqs)
	}
	r := reqs[0]
	if r.ExecutionARN != exec || r.ServiceARN != svc || r.Image != w.repo+"@"+v1 || r.Tag != "latest" || r.From != before ||
		len(r.Changes) != 1 || r.Changes[0].Container != "app" || r.Changes[0].To != w.repo+"@"+v1 ||
		!r.Deadline.Equal(r.RequestedAt.Add(24*time.Hour)) || r.Approve != "pushdeploy approve "+exec {
		t.Errorf("approval request %+v", r)
	}
	if err := w.coordinator().Approve(w.ctx, svc, exec, alice); err != nil {
		t.Fatal(err)
	}
	w.wait(1)
	rec := w.expectOutcomes(svc, history.Succeeded)[0]
	if rec.ApprovedBy != alice || rec.ApprovedAt == nil {
		t.Errorf("record approved by %q at %v, want %s", rec.ApprovedBy, rec.ApprovedAt, alice)
	}
	w.expectRunning("prod", "web", v1)
	w.expectNoLease(svc)

	// A manual deploy is the operator's own approval: it does not wait.
	w.clock.Advance(time.Minute)
	w.start("manual", map[string]any{"action": "deploy", "cluster": "prod", "service": "web", "image": w.repo + ":latest", "digest": v1})
	w.wait(2)
	if n := len(w.approvalRequests()); n != 1 {
		t.Errorf("a manual deploy requested an approval (%d requests)", n)
	}
}

// TestApprovalRejected: a reject ends the deploy SKIPPED with who and why,
// nothing on the service changes, and a second answer is refused.
func TestApprovalRejected(t *testing.T) {
	w := newWorld(t)
	svc, before := w.approvalService(nil)
	w.holdClock()
	w.push("latest", "web v1")
	exec := w.parkedIn(svc, contract.PhaseApproval)
	c := w.coordinator()
	// Cancel is for deploys that changed something; it points at reject.
	var notCancel *coord.NotCancellableError
	if err := c.Cancel(w.ctx, svc, exec, bob); !errors.As(err, &notCancel) || !strings.Contains(err.Error(), "reject") {
		t.Errorf("cancel of a waiting approval: %v", err)
	}
	if err := c.Reject(w.ctx, svc, exec, bob, "not during the sale"); err != nil {
		t.Fatal(err)
	}
	w.wait(1)
	rec := w.expectOutcomes(svc, history.Skipped)[0]
	if want := "rejected by " + bob + ": not during the sale"; rec.Reason != want {
		t.Errorf("reason %q, want %q", rec.Reason, want)
	}
	w.untouched("prod", "web", before)
	w.expectNoLease(svc)
	var not *coord.NotApprovableError
	if err := c.Approve(w.ctx, svc, exec, alice); !errors.As(err, &not) {
		t.Errorf("approve after the reject: %v", err)
	}
}

// TestApprovalTimesOut: unanswered for pushdeploy:approval-timeout, the
// deploy ends SKIPPED with the reason and releases the service.
func TestApprovalTimesOut(t *testing.T) {
	w := newWorld(t)
	svc, before := w.approvalService(map[string]string{"pushdeploy:approval-timeout": "2h"})
	start := w.clock.Now()
	w.push("latest", "web v1")
	w.wait(1)
	rec := w.expectOutcomes(svc, history.Skipped)[0]
	if want := "not approved: the approval timed out after 2h0m0s"; rec.Reason != want {
		t.Errorf("reason %q, want %q", rec.Reason, want)
	}
	if took := rec.FinishedAt.Sub(start); took < 2*time.Hour || took > 2*time.Hour+time.Minute {
		t.Errorf("finished %s after the push, want 2h", took)
	}
	w.untouched("prod", "web", before)
	w.expectNoLease(svc)
}

// TestApprovalSupersededByNewerPush: a newer push takes the lease from a
// push waiting for its approval; the older ends SUPERSEDED without
// touching the service, the newer waits for its own approval and deploys.
func TestApprovalSupersededByNewerPush(t *testing.T) {
	w := newWorld(t)
	svc, before := w.approvalService(nil)
	w.holdClock()
	w.push("latest", "web v1")
	first := w.parkedIn(svc, contract.PhaseApproval)
	w.clock.Advance(time.Minute)
	v2 := w.push("latest", "web v2")
	var second string
	w.waitUntil(w.held, "the newer push parked in approval", func() bool {
		h, ok := w.parked(svc, contract.PhaseApproval)
		second = h
		return ok && h != first
	})
	w.untouched("prod", "web", before)
	var not *coord.NotApprovableError
	if err := w.coordinator().Approve(w.ctx, svc, first, alice); !errors.As(err, &not) {
		t.Errorf("approve of the superseded push: %v", err)
	}
	if err := w.coordinator().Approve(w.ctx, svc, second, alice); err != nil {
		t.Fatal(err)
	}
	w.wait(2)
	recs := w.expectOutcomes(svc, history.Superseded, history.Succeeded)
	if recs[1].ExecutionARN != first || !strings.Contains(recs[1].Reason, "superseded while waiting for approval by "+second) {
		t.Errorf("superseded record %+v", recs[1]) // newest first
	}
	w.expectRunning("prod", "web", v2)
	if n := len(w.approvalRequests()); n != 2 {
		t.Errorf("%d approval requests, want 2", n)
	}
}

// TestAlarmWhileWaitingForApproval: an alarm on a service whose push waits
// for approval is not left to the waiting deploy (nothing judges an
// approval): the alarm rollback takes the lease from it, the push ends
// SUPERSEDED and the service goes back to its last good revision.
func TestAlarmWhileWaitingForApproval(t *testing.T) {
	w := newWorld(t)
	if err := w.CreateAlarm(w.ctx, "web-5xx", nil); err != nil {
		t.Fatal(err)
	}
	svc, before := w.approvalService(map[string]string{"pushdeploy:alarms": "web-5xx", "pushdeploy:rollback-window": "30m"})
	v1 := digestOf("web v1")
	w.push("v1", "web v1") // follows latest only: starts nothing
	w.start("manual-v1", map[string]any{"action": "deploy", "cluster": "prod", "service": "web", "image": w.repo + ":v1"})
	w.wait(1)
	w.expectRunning("prod", "web", v1)

	w.clock.Advance(time.Minute)
	w.holdClock()
	w.push("latest", "web v2")
	waiting := w.parkedIn(svc, contract.PhaseApproval)
	w.alarmAt("ALARM", w.clock.Now().Add(time.Minute))
	w.wait(3)
	recs := w.expectOutcomes(svc, history.Succeeded, history.Superseded, history.RolledBack)
	if recs[1].ExecutionARN != waiting || recs[0].Trigger != "alarm" { // newest first
		t.Errorf("records %s", reasons(recs))
	}
	if td, _ := w.running("prod", "web"); td != before {
		t.Fatalf("service runs %s, want the last good %s", td, before)
	}
}
