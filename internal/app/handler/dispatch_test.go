package handler

import (
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/pushdeploy/pushdeploy/internal/app/contract"
	"github.com/pushdeploy/pushdeploy/internal/app/coord"
	"github.com/pushdeploy/pushdeploy/internal/app/rollback"
	"github.com/pushdeploy/pushdeploy/internal/app/target"
	"github.com/pushdeploy/pushdeploy/internal/app/trigger"
)

func (w *world) dispatch(t *testing.T) *DispatchHandler {
	h, err := NewDispatch(DispatchDeps{Evaluator: w.evaluator(t), Resolver: w.resolver, SFN: w.sfn, ECR: w.ecr, Leases: w.leases, Triggers: w.triggers, Clock: w.clk, Log: w.log, Settings: w.settings})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func pushEvent(acct, repo, tag, digest string) contract.Event {
	d, _ := json.Marshal(contract.ECRImageActionDetail{Result: "SUCCESS", RepositoryName: repo, ImageDigest: digest, ActionType: "PUSH", ImageTag: tag})
	return contract.Event{Version: "0", ID: "evt-1", Source: "aws.ecr", DetailType: "ECR Image Action", AccountID: acct,
		Region: region, Time: t0, Detail: d}
}

func TestDispatchPush(t *testing.T) {
	w := newWorld(t)
	w.addService("web-canary", td(41), map[string]string{target.TagRepository: "web", target.TagTags: "v*"})
	w.addService("web-stable", td(41), map[string]string{target.TagRepository: "web", target.TagTags: "stable"})
	w.addService("api", tdPrefix+"api:3", map[string]string{target.TagRepository: "api", target.TagTags: "*"})
	w.addService("broken", td(41), map[string]string{target.TagRepository: "web", target.TagTags: "v*", target.TagBake: "soon"})
	pushedAt := t0.Add(437 * time.Millisecond) // the event says t0, whole seconds
	w.ecr.pushedAt = map[string]time.Time{digestNew: pushedAt}
	h := w.dispatch(t)
	res, err := h.Handle(context.Background(), pushEvent(account, "web", "v42", digestNew))
	if err != nil {
		t.Fatal(err)
	}
	var services []string
	for _, s := range res.Started {
		services = append(services, s.Service)
		if s.Existing || !strings.HasPrefix(s.ExecutionArn, "arn:aws:states:us-east-1:123456789012:execution:pushdeploy-deploy:push-") {
			t.Errorf("started %+v", s)
		}
		var in contract.ExecutionInput
		if err := contract.DecodeStrict([]byte(w.sfn.started[s.Name]), &in); err != nil {
			t.Fatalf("input: %v", err)
		}
		// Dispatch vouches for exactly this input, ordered by ECR's push time.
		svcArn := "arn:aws:ecs:us-east-1:123456789012:service/prod/" + s.Service
		tk, err := w.triggers.Verify(context.Background(), svcArn, s.Name, in)
		if err != nil || tk != (trigger.Ticket{Seq: pushedAt.UnixMilli(), Tie: digestNew}) {
			t.Errorf("ticket of %s: %+v %v", s.Name, tk, err)
		}
		if in.Action != contract.ActionDeploy || in.Trigger != contract.TriggerPush || in.Image != registry+"/web@"+digestNew || in.Push.Tag != "v42" {
			t.Errorf("input %+v", in)
		}
	}
	if strings.Join(services, ",") != "web,web-canary" {
		t.Errorf("started %v, want web and web-canary", services)
	}
	if len(res.Skipped) != 1 || res.Skipped[0].Service != "broken" || !strings.Contains(res.Skipped[0].Reason, "pushdeploy:bake") {
		t.Errorf("skipped %+v", res.Skipped)
	}
	// The same event again starts nothing new.
	again, err := h.Handle(context.Background(), pushEvent(account, "web", "v42", digestNew))
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range again.Started {
		if !s.Existing || s.Name != res.Started[i].Name || s.ExecutionArn != res.Started[i].ExecutionArn {
			t.Errorf("duplicate started %+v", s)
		}
	}
	if len(w.sfn.started) != 2 {
		t.Errorf("%d executions", len(w.sfn.started))
	}
}

// TestDispatchRevertByRetag: moving a tag back to an image pushed before
// is a new push event: it starts a new execution (the old one's name is
// kept by Step Functions for 90 days), ordered at the end of the event's
// second, not at the image's first push, so it outranks the newer image.
func TestDispatchRevertByRetag(t *testing.T) {
	w := newWorld(t)
	w.ecr.pushedAt = map[string]time.Time{digestOld: t0.Add(-time.Hour)}
	h := w.dispatch(t)
	first := pushEvent(account, "web", "v42", digestOld)
	first.ID, first.Time = "evt-first", t0.Add(-time.Hour)
	again := pushEvent(account, "web", "v42", digestOld)
	again.ID = "evt-revert"
	a, err := h.Handle(context.Background(), first)
	if err != nil {
		t.Fatal(err)
	}
	b, err := h.Handle(context.Background(), again)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Started) != 1 || len(b.Started) != 1 || b.Started[0].Existing || a.Started[0].Name == b.Started[0].Name {
		t.Fatalf("first %+v, revert %+v: want two executions", a.Started, b.Started)
	}
	var in contract.ExecutionInput
	if err := contract.DecodeStrict([]byte(w.sfn.started[b.Started[0].Name]), &in); err != nil {
		t.Fatal(err)
	}
	tk, err := w.triggers.Verify(context.Background(), webArn, b.Started[0].Name, in)
	if want := t0.Add(999 * time.Millisecond).UnixMilli(); err != nil || tk.Seq != want {
		t.Errorf("revert ticket %+v %v, want seq %d (end of the event's second)", tk, err, want)
	}
}

func TestDispatchPushNothingToDo(t *testing.T) {
	tests := []struct {
		name string
		ev   contract.Event
		err  string
	}{
		{"tag matches no pattern", pushEvent(account, "web", "feature-x", digestNew), ""},
		{"repository nobody follows", pushEvent(account, "other", "v1", digestNew), ""},
		{"untagged push", pushEvent(account, "web", "", digestNew), ""},
		{"other account", pushEvent("999999999999", "web", "v42", digestNew), "RegistryNotAllowed"},
		{"bad digest", pushEvent(account, "web", "v42", "sha256:nope"), "BadInput"},
		{"unexpected event", contract.Event{Source: "aws.s3", DetailType: "Object Created", Detail: []byte(`{}`)}, "BadInput"},
		{"malformed detail", contract.Event{Source: "aws.ecr", DetailType: "ECR Image Action", Detail: []byte(`[1]`)}, "BadInput"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			res, err := w.dispatch(t).Handle(context.Background(), tt.ev)
			if errName(err) != tt.err {
				t.Fatalf("err %v, want %q", err, tt.err)
			}
			if len(res.Started) != 0 || len(w.sfn.started) != 0 {
				t.Errorf("started %+v", res.Started)
			}
		})
	}
}

func alarmEventFor(name, value string) contract.Event {
	return contract.Event{ID: "a-1", Source: "aws.cloudwatch", DetailType: "CloudWatch Alarm State Change", Time: t0,
		Resources: []string{"arn:aws:cloudwatch:us-east-1:123456789012:alarm:" + name},
		Detail:    []byte(`{"alarmName":"` + name + `","state":{"value":"` + value + `","reason":"high"},"previousState":{"value":"OK"}}`)}
}

func TestDispatchAlarm(t *testing.T) {
	w := newWorld(t)
	h := w.dispatch(t)
	res, err := h.Handle(context.Background(), alarmEventFor("web-5xx", "ALARM"))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Started) != 1 || res.Started[0].Name != rollback.IncidentKey(webArn, td(41)) {
		t.Fatalf("started %+v", res.Started)
	}
	var in contract.ExecutionInput
	if err := contract.DecodeStrict([]byte(w.sfn.started[res.Started[0].Name]), &in); err != nil {
		t.Fatal(err)
	}
	if in.Action != contract.ActionRollback || in.Trigger != contract.TriggerAlarm || in.Alarm.TaskDefinitionArn != td(41) || in.Alarm.AlarmName != "web-5xx" {
		t.Errorf("input %+v", in)
	}
	// Flapping: the same incident again is the same execution.
	ev := alarmEventFor("web-5xx", "ALARM")
	ev.ID, ev.Time = "a-2", t0.Add(time.Minute)
	again, err := h.Handle(context.Background(), ev)
	if err != nil || len(again.Started) != 1 || !again.Started[0].Existing || len(w.sfn.started) != 1 {
		t.Errorf("flap started %+v (%v)", again.Started, err)
	}

	t.Run("deploy in flight", func(t *testing.T) {
		w := newWorld(t)
		w.leases.state[webArn] = coord.State{Holder: "deploy", Seq: 1, Until: t0.Add(time.Hour)}
		res, err := w.dispatch(t).Handle(context.Background(), alarmEventFor("web-5xx", "ALARM"))
		if err != nil || len(res.Started) != 0 || len(res.Skipped) != 1 || !strings.Contains(res.Skipped[0].Reason, "deploy-in-flight") {
			t.Errorf("res %+v (%v)", res, err)
		}
	})
	t.Run("deploy in flight, waiting: woken, not started", func(t *testing.T) {
		w := newWorld(t)
		w.leases.state[webArn] = leaseWaiting()
		res, err := w.dispatch(t).Handle(context.Background(), alarmEventFor("web-5xx", "ALARM"))
		if err != nil || len(res.Started) != 0 || len(res.Woken) != 1 || res.Woken[0] != execArn || len(w.sfn.sent) != 1 ||
			len(res.Skipped) != 1 || !strings.Contains(res.Skipped[0].Reason, "deploy-in-flight") {
			t.Fatalf("res %+v (%v), sent %d", res, err, len(w.sfn.sent))
		}
		// Judged before the wake-up: the wait gets the decided outcome.
		if !strings.Contains(w.sfn.sent[0].output, `"status":"FAILED"`) || w.leases.state[webArn].Token != "" {
			t.Errorf("woke with %s; token %q", w.sfn.sent[0].output, w.leases.state[webArn].Token)
		}
		// The same alarm again finds the token claimed: one wake per wait.
		again, err := w.dispatch(t).Handle(context.Background(), alarmEventFor("web-5xx", "ALARM"))
		if err != nil || len(again.Woken) != 0 || len(again.Started) != 0 || len(w.sfn.sent) != 1 {
			t.Errorf("again %+v (%v)", again, err)
		}
	})
	t.Run("deploy in flight, undecided: left parked, not started", func(t *testing.T) {
		w := newWorld(t)
		// An undo ignores alarms: the alarm decides nothing.
		w.ecs.setPrimary("prod", "web", td(41), ecstypes.DeploymentRolloutStateInProgress, "")
		w.leases.state[webArn] = leaseWaitingIn(contract.PhaseUndo)
		w.leases.state[webArn].Wait.Update.TaskDefinitionArn = td(41)
		res, err := w.dispatch(t).Handle(context.Background(), alarmEventFor("web-5xx", "ALARM"))
		if err != nil || len(res.Started) != 0 || len(res.Woken) != 0 || res.Parked != 1 || len(w.sfn.sent) != 0 ||
			len(res.Skipped) != 1 || w.leases.state[webArn].Token != "tok1" {
			t.Fatalf("res %+v (%v), sent %d", res, err, len(w.sfn.sent))
		}
	})
	t.Run("deploy in flight, stale token: skipped, no error", func(t *testing.T) {
		w := newWorld(t)
		w.leases.state[webArn] = leaseWaiting()
		w.sfn.sendErr = &apiErr{code: "TaskTimedOut"}
		res, err := w.dispatch(t).Handle(context.Background(), alarmEventFor("web-5xx", "ALARM"))
		if err != nil || len(res.Started) != 0 || len(res.Woken) != 0 || len(res.Skipped) != 1 {
			t.Errorf("res %+v (%v)", res, err)
		}
	})
	t.Run("expired lease: the alarm rollback starts", func(t *testing.T) {
		w := newWorld(t)
		w.leases.state[webArn] = coord.State{Holder: "deploy", Seq: 1, Until: t0.Add(-time.Second), Token: "tok1"}
		res, err := w.dispatch(t).Handle(context.Background(), alarmEventFor("web-5xx", "ALARM"))
		if err != nil || len(res.Started) != 1 || len(w.sfn.sent) != 0 {
			t.Errorf("res %+v (%v), sent %d", res, err, len(w.sfn.sent))
		}
	})
	t.Run("back to OK", func(t *testing.T) {
		w := newWorld(t)
		res, err := w.dispatch(t).Handle(context.Background(), alarmEventFor("web-5xx", "OK"))
		if err != nil || len(res.Started) != 0 {
			t.Errorf("res %+v (%v)", res, err)
		}
	})
	t.Run("alarm of no service", func(t *testing.T) {
		w := newWorld(t)
		res, err := w.dispatch(t).Handle(context.Background(), alarmEventFor("db-cpu", "ALARM"))
		if err != nil || len(res.Started) != 0 {
			t.Errorf("res %+v (%v)", res, err)
		}
	})
}

func TestPushName(t *testing.T) {
	valid := regexp.MustCompile(`^[A-Za-z0-9_-]{1,80}$`)
	long := "arn:aws:ecs:us-east-1:123456789012:service/prod/" + strings.Repeat("very.long.service.name", 20)
	names := map[string]bool{}
	for _, c := range []struct{ svc, digest, event string }{
		{webArn, digestNew, "ev-1"}, {webArn, digestOld, "ev-1"}, {"arn:aws:ecs:us-east-1:123456789012:service/staging/web", digestNew, "ev-1"},
		{long, digestNew, "ev-1"}, {"arn:aws:ecs:us-east-1:123456789012:service/prod/...", digestNew, "ev-1"},
		// A revert by retag: the same digest pushed again is a new name.
		{webArn, digestNew, "ev-2"},
	} {
		n := PushName(c.svc, c.digest, c.event)
		if !valid.MatchString(n) {
			t.Errorf("%q is not a valid execution name", n)
		}
		if n != PushName(c.svc, c.digest, c.event) {
			t.Error("not deterministic")
		}
		if names[n] {
			t.Errorf("%q twice", n)
		}
		names[n] = true
	}
	if n := PushName(webArn, digestNew, "ev-1"); !strings.HasPrefix(n, "push-web-") {
		t.Errorf("%q does not name the service", n)
	}
}

// TestFanOut: dispatch's fan-out starts every item, never more than
// startParallelism at once; after an error it starts no more and returns
// it; with the function's deadline near it starts nothing and says how
// many were left, as Retryable (the event's retry starts them).
func TestFanOut(t *testing.T) {
	t.Run("bounded", func(t *testing.T) {
		var mu sync.Mutex
		running, peak, done := 0, 0, map[int]bool{}
		err := fanOut(context.Background(), 200, func(i int) error {
			mu.Lock()
			running++
			peak = max(peak, running)
			mu.Unlock()
			time.Sleep(time.Millisecond)
			mu.Lock()
			running--
			done[i] = true
			mu.Unlock()
			return nil
		})
		if err != nil || len(done) != 200 {
			t.Fatalf("err %v, %d done, want 200", err, len(done))
		}
		if peak > startParallelism || peak < 2 {
			t.Fatalf("peak %d at once, want 2..%d", peak, startParallelism)
		}
	})
	t.Run("first error stops", func(t *testing.T) {
		var calls atomic.Int32
		boom := errors.New("boom")
		err := fanOut(context.Background(), 1000, func(i int) error {
			calls.Add(1)
			if i == 3 {
				return boom
			}
			time.Sleep(time.Millisecond)
			return nil
		})
		if !errors.Is(err, boom) {
			t.Fatalf("err %v, want boom", err)
		}
		if n := calls.Load(); n >= 1000 {
			t.Fatalf("%d calls: the error did not stop the fan-out", n)
		}
	})
	t.Run("deadline near", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), deadlineMargin-time.Second)
		defer cancel()
		var calls atomic.Int32
		err := fanOut(ctx, 50, func(int) error { calls.Add(1); return nil })
		var retry *contract.Retryable
		var near *DeadlineNearError
		if !errors.As(err, &retry) || !errors.As(err, &near) || near.Remaining != 50 || near.Total != 50 || calls.Load() != 0 {
			t.Fatalf("err %v, %d calls: want Retryable(DeadlineNearError 50 of 50), none started", err, calls.Load())
		}
	})
}
