package states

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/pushdeploy/pushdeploy/internal/app/clock"
)

// tokenRunner hands each task token to the test, together with a hold on the
// clock taken before RunTask returns, as the local cloud's HTTP handling
// would: time cannot move until the test has answered.
type tokenRunner struct {
	clk    clock.Clock
	tokens chan tokenHandoff
}

type tokenHandoff struct {
	token string
	input json.RawMessage
	done  func()
}

func (r *tokenRunner) RunTask(ctx context.Context, req TaskRequest) (json.RawMessage, error) {
	if req.TaskToken == "" {
		return req.Input, nil
	}
	r.tokens <- tokenHandoff{token: req.TaskToken, input: req.Input, done: r.clk.Busy()}
	return json.RawMessage(`{"StatusCode":200}`), nil
}

type tokenRig struct {
	clk    *clock.Virtual
	engine *Engine
	runner *tokenRunner
	x      *Execution
}

func startTokenRig(t *testing.T, def, input string, auto bool) *tokenRig {
	t.Helper()
	m, err := Parse([]byte(def))
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewVirtual(t0)
	if auto {
		t.Cleanup(clk.AutoAdvance(0))
	}
	r := &tokenRunner{clk: clk, tokens: make(chan tokenHandoff, 10)}
	e := NewEngine(EngineOptions{Clock: clk, Tasks: r})
	x := e.Start(context.Background(), m, testInfo(), json.RawMessage(input))
	return &tokenRig{clk: clk, engine: e, runner: r, x: x}
}

func (g *tokenRig) nextToken(t *testing.T) tokenHandoff {
	t.Helper()
	select {
	case h := <-g.runner.tokens:
		return h
	case <-time.After(10 * time.Second):
		t.Fatalf("no task token; history %v", eventTypes(g.x))
	}
	return tokenHandoff{}
}

func (g *tokenRig) wait(t *testing.T) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := g.x.Wait(ctx)
	if err != nil {
		t.Fatalf("wait: %v; history %v", err, eventTypes(g.x))
	}
	return res
}

const tokenDef = `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke.waitForTaskToken",
	"Parameters":{"FunctionName":"f","Payload":{"token.$":"$$.Task.Token","in.$":"$"}},%s"ResultPath":"$.res","Next":"W"},
	"W":{"Type":"Wait","Seconds":5,"End":true}}}`

func TestTaskTokenSuccess(t *testing.T) {
	g := startTokenRig(t, fmt.Sprintf(tokenDef, `"TimeoutSeconds":3600,`), `{"a":1}`, true)
	h := g.nextToken(t)
	var payload struct {
		Payload struct {
			Token string
			In    map[string]any
		}
	}
	if err := json.Unmarshal(h.input, &payload); err != nil || payload.Payload.Token != h.token {
		t.Fatalf("task input %s does not carry the token %q", h.input, h.token)
	}
	if err := g.engine.SendTaskSuccess(h.token, json.RawMessage(`{"ok":true}`)); err != nil {
		t.Fatal(err)
	}
	h.done()
	res := g.wait(t)
	if res.Status != StatusSucceeded || canon(t, string(res.Output)) != canon(t, `{"a":1,"res":{"ok":true}}`) {
		t.Fatalf("got %+v %s", res, res.Output)
	}
	// The 3600 s task timeout must not have fired; the Wait adds 5 s.
	if got := g.x.StopTime().Sub(t0); got != 5*time.Second {
		t.Errorf("finished at +%v, want +5s", got)
	}
	want := "[ExecutionStarted TaskStateEntered TaskScheduled TaskStarted TaskSubmitted TaskSucceeded TaskStateExited WaitStateEntered WaitStateExited ExecutionSucceeded]"
	if got := fmt.Sprint(eventTypes(g.x)); got != want {
		t.Errorf("events %s\nwant   %s", got, want)
	}
	for _, err := range []error{
		g.engine.SendTaskSuccess(h.token, json.RawMessage(`{}`)),
		g.engine.SendTaskFailure(h.token, "E", ""),
		g.engine.SendTaskHeartbeat(h.token),
	} {
		var te *TaskTokenError
		if !errors.As(err, &te) || te.Reason != "TaskTimedOut" {
			t.Errorf("reusing a finished token: %v", err)
		}
	}
}

func TestTaskTokenErrors(t *testing.T) {
	e := NewEngine(EngineOptions{Clock: clock.NewVirtual(t0)})
	cases := []struct {
		err    error
		reason string
	}{
		{e.SendTaskSuccess("not a token!", json.RawMessage(`{}`)), "InvalidToken"},
		{e.SendTaskSuccess(encodeToken("x", "s", 99), json.RawMessage(`{}`)), "TaskDoesNotExist"},
		{e.SendTaskSuccess(encodeToken("x", "s", 99), json.RawMessage(`{nope`)), "InvalidOutput"},
		{e.SendTaskHeartbeat(encodeToken("x", "s", 99)), "TaskDoesNotExist"},
		{e.SendTaskFailure("", "E", "C"), "InvalidToken"},
	}
	for i, c := range cases {
		var te *TaskTokenError
		if !errors.As(c.err, &te) || te.Reason != c.reason {
			t.Errorf("case %d: got %v, want %s", i, c.err, c.reason)
		}
	}
}

func TestTaskTokenFailureIsCatchable(t *testing.T) {
	def := `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::sqs:sendMessage.waitForTaskToken","Parameters":{"t.$":"$$.Task.Token"},
		"Catch":[{"ErrorEquals":["Deploy.Failed"],"ResultPath":"$.err","Next":"H"}],"End":true},"H":{"Type":"Pass","End":true}}}`
	g := startTokenRig(t, def, `{}`, true)
	h := g.nextToken(t)
	if err := g.engine.SendTaskFailure(h.token, "Deploy.Failed", "circuit breaker"); err != nil {
		t.Fatal(err)
	}
	h.done()
	res := g.wait(t)
	if canon(t, string(res.Output)) != canon(t, `{"err":{"Error":"Deploy.Failed","Cause":"circuit breaker"}}`) {
		t.Fatalf("got %+v %s", res, res.Output)
	}
	var failed *HistoryEvent
	for _, ev := range g.x.History() {
		if ev.Type == "TaskFailed" {
			failed = &ev
		}
	}
	if failed == nil || failed.TaskFailedEventDetails.ResourceType != "sqs" || failed.TaskFailedEventDetails.Resource != "sendMessage.waitForTaskToken" {
		t.Errorf("TaskFailed event %+v", failed)
	}
}

func TestTaskTokenTimeouts(t *testing.T) {
	cases := []struct {
		name  string
		extra string
		err   string
		at    time.Duration
	}{
		{"timeout", `"TimeoutSeconds":600,`, ErrTimeout, 600 * time.Second},
		{"heartbeat", `"TimeoutSeconds":600,"HeartbeatSeconds":60,`, ErrHeartbeatTimeout, 60 * time.Second},
		{"timeout path", `"TimeoutSecondsPath":"$.limit",`, ErrTimeout, 42 * time.Second},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := startTokenRig(t, fmt.Sprintf(tokenDef, c.extra), `{"limit":42}`, true)
			h := g.nextToken(t)
			h.done()
			res := g.wait(t)
			if res.Status != StatusFailed || res.Error != c.err {
				t.Fatalf("got %+v", res)
			}
			if got := g.x.StopTime().Sub(t0); got != c.at {
				t.Errorf("failed at +%v, want +%v", got, c.at)
			}
			if err := g.engine.SendTaskSuccess(h.token, json.RawMessage(`{}`)); err == nil {
				t.Errorf("token still usable after %s", c.err)
			}
		})
	}
}

// TestHeartbeatKeepsTaskAlive drives the clock by hand: heartbeats every 8 s
// keep a 10 s heartbeat limit from firing until they stop.
func TestHeartbeatKeepsTaskAlive(t *testing.T) {
	g := startTokenRig(t, fmt.Sprintf(tokenDef, `"TimeoutSeconds":600,"HeartbeatSeconds":10,`), `{}`, false)
	h := g.nextToken(t)
	h.done()
	waitPending(t, g.clk, 2) // heartbeat and timeout timers
	for i := 0; i < 5; i++ {
		g.clk.Advance(8 * time.Second)
		if err := g.engine.SendTaskHeartbeat(h.token); err != nil {
			t.Fatalf("heartbeat %d: %v", i, err)
		}
	}
	if s := g.x.Status(); s != StatusRunning {
		t.Fatalf("status %s after heartbeats", s)
	}
	g.clk.Advance(10 * time.Second)
	res := g.wait(t)
	if res.Error != ErrHeartbeatTimeout || g.x.StopTime().Sub(t0) != 50*time.Second {
		t.Fatalf("got %+v at +%v", res, g.x.StopTime().Sub(t0))
	}
}

func waitPending(t *testing.T, clk *clock.Virtual, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for clk.Pending() < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d timers pending, want %d", clk.Pending(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestSendTaskSuccessHandOff answers tokens while a far timer (the task's
// timeout) is pending: the hold taken by SendTaskSuccess must keep the
// virtual clock from jumping to that timer before the execution resumes.
func TestSendTaskSuccessHandOff(t *testing.T) {
	for i := range 30 {
		g := startTokenRig(t, fmt.Sprintf(tokenDef, `"TimeoutSeconds":3600,`), `{}`, true)
		h := g.nextToken(t)
		go func() {
			defer h.done()
			g.engine.SendTaskSuccess(h.token, json.RawMessage(`1`))
		}()
		if res := g.wait(t); res.Status != StatusSucceeded {
			t.Fatalf("run %d: %+v", i, res)
		}
	}
}

func TestTaskTimeoutWhileRunnerWaitsOnClock(t *testing.T) {
	var clk *clock.Virtual
	runner := TaskRunnerFunc(func(ctx context.Context, req TaskRequest) (json.RawMessage, error) {
		resume := Idle(ctx)
		defer resume()
		if err := clk.Sleep(ctx, time.Hour); err != nil {
			return nil, err
		}
		return json.RawMessage(`"late"`), nil
	})
	m, _ := Parse([]byte(`{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::test:r","TimeoutSeconds":90,
		"Retry":[{"ErrorEquals":["States.Timeout"],"MaxAttempts":1,"IntervalSeconds":10}],"End":true}}}`))
	clk = clock.NewVirtual(t0)
	defer clk.AutoAdvance(0)()
	x := NewEngine(EngineOptions{Clock: clk, Tasks: runner}).Start(context.Background(), m, testInfo(), nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := x.Wait(ctx)
	if err != nil || res.Error != ErrTimeout {
		t.Fatalf("got %+v %v", res, err)
	}
	// Two attempts of 90 s with 10 s between them.
	if got := x.StopTime().Sub(t0); got != 190*time.Second {
		t.Errorf("failed at +%v, want +190s", got)
	}
}

func TestStopAbortsWaitingExecution(t *testing.T) {
	g := startTokenRig(t, fmt.Sprintf(tokenDef, ""), `{}`, true)
	h := g.nextToken(t)
	h.done()
	g.x.Stop("User.Stop", "stopped by test")
	res := g.wait(t)
	if res.Status != StatusAborted || res.Error != "User.Stop" {
		t.Fatalf("got %+v", res)
	}
	if err := g.engine.SendTaskSuccess(h.token, json.RawMessage(`{}`)); err == nil {
		t.Error("token of an aborted execution still accepted")
	}
	hist := g.x.History()
	if last := hist[len(hist)-1]; last.Type != "ExecutionAborted" || last.ExecutionAbortedEventDetails.Cause != "stopped by test" {
		t.Errorf("last event %+v", last)
	}
	time.Sleep(10 * time.Millisecond)
	if n := len(g.x.History()); n != len(hist) {
		t.Errorf("events recorded after the abort: %d -> %d", len(hist), n)
	}
}

func TestExecutionTimeout(t *testing.T) {
	res, x, _ := run(t, `{"TimeoutSeconds":30,"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":3600,"End":true}}}`, `{}`, nil)
	if res.Status != StatusTimedOut || res.Error != ErrTimeout {
		t.Fatalf("got %+v", res)
	}
	if got := x.StopTime().Sub(t0); got != 30*time.Second {
		t.Errorf("timed out at +%v", got)
	}
}

func TestWaitStates(t *testing.T) {
	cases := []struct {
		wait  string
		input string
		at    time.Duration
		err   string
	}{
		{`"Seconds":90`, `{}`, 90 * time.Second, ""},
		{`"Seconds":0`, `{}`, 0, ""},
		{`"Timestamp":"2026-01-01T01:00:00Z"`, `{}`, time.Hour, ""},
		{`"Timestamp":"2025-01-01T00:00:00Z"`, `{}`, 0, ""},
		{`"SecondsPath":"$.s"`, `{"s":15}`, 15 * time.Second, ""},
		{`"SecondsPath":"$.s"`, `{"s":-1}`, 0, ErrRuntime},
		{`"SecondsPath":"$.s"`, `{"s":"x"}`, 0, ErrRuntime},
		{`"SecondsPath":"$.nope"`, `{}`, 0, ErrRuntime},
		{`"TimestampPath":"$.t"`, `{"t":"2026-01-01T00:02:00+00:00"}`, 2 * time.Minute, ""},
		{`"TimestampPath":"$.t"`, `{"t":"tomorrow"}`, 0, ErrRuntime},
		{`"Seconds":10,"InputPath":"$.a","OutputPath":"$.b"`, `{"a":{"b":7}}`, 10 * time.Second, ""},
	}
	for _, c := range cases {
		t.Run(c.wait+c.input, func(t *testing.T) {
			res, x, _ := run(t, `{"StartAt":"W","States":{"W":{"Type":"Wait",`+c.wait+`,"End":true}}}`, c.input, nil)
			if res.Error != c.err {
				t.Fatalf("got %+v", res)
			}
			if c.err == "" {
				if got := x.StopTime().Sub(t0); got != c.at {
					t.Errorf("done at +%v, want +%v", got, c.at)
				}
			}
		})
	}
}

func TestLambdaEventsAndResource(t *testing.T) {
	var got TaskRequest
	runner := TaskRunnerFunc(func(ctx context.Context, req TaskRequest) (json.RawMessage, error) {
		got = req
		return json.RawMessage(`{"r":1}`), nil
	})
	res, x, _ := run(t, `{"StartAt":"L","States":{"L":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:f","TimeoutSeconds":30,"End":true}}}`, `{"in":1}`, runner)
	if res.Status != StatusSucceeded || string(got.Input) != `{"in":1}` || got.StateName != "L" || got.TimeoutSeconds != 30 || got.Execution.Name != "exec1" {
		t.Fatalf("res %+v req %+v", res, got)
	}
	want := "[ExecutionStarted TaskStateEntered LambdaFunctionScheduled LambdaFunctionStarted LambdaFunctionSucceeded TaskStateExited ExecutionSucceeded]"
	if g := fmt.Sprint(eventTypes(x)); g != want {
		t.Errorf("events %s", g)
	}
}

func TestHistoryJSON(t *testing.T) {
	_, x, _ := run(t, `{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}`, `{"a":1}`, nil)
	h := x.History()
	b, err := json.Marshal(h[0])
	if err != nil {
		t.Fatal(err)
	}
	want := `{"timestamp":1767225600,"type":"ExecutionStarted","id":1,"previousEventId":0,"executionStartedEventDetails":{"input":"{\"a\":1}","inputDetails":{"truncated":false},"roleArn":"arn:aws:iam::123456789012:role/sfn"}}`
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
	for i, ev := range h {
		if ev.ID != int64(i+1) || (i > 0 && ev.PreviousEventID != int64(i)) {
			t.Errorf("event %d: id %d previous %d", i, ev.ID, ev.PreviousEventID)
		}
	}
	if epochSeconds(t0.Add(1500*time.Millisecond)) != "1767225601.5" {
		t.Errorf("epochSeconds = %s", epochSeconds(t0.Add(1500*time.Millisecond)))
	}
}

func TestLambdaHelpers(t *testing.T) {
	if !IsLambdaInvoke("arn:aws:states:::lambda:invoke.waitForTaskToken") || IsLambdaInvoke("arn:aws:states:::lambda:invokeX") {
		t.Error("IsLambdaInvoke")
	}
	if !IsLambdaFunction("arn:aws:lambda:us-east-1:123456789012:function:f") || IsLambdaFunction("arn:aws:states:::lambda:invoke") {
		t.Error("IsLambdaFunction")
	}
	fn, payload, err := LambdaRequest(json.RawMessage(`{"FunctionName":"f","Payload":{"a":1}}`))
	if err != nil || fn != "f" || string(payload) != `{"a":1}` {
		t.Errorf("LambdaRequest = %q %s %v", fn, payload, err)
	}
	if _, _, err := LambdaRequest(json.RawMessage(`{"Payload":1}`)); err == nil {
		t.Error("LambdaRequest without FunctionName")
	}
	if got := string(LambdaResult(json.RawMessage(`{"ok":true}`))); got != `{"ExecutedVersion":"$LATEST","Payload":{"ok":true},"StatusCode":200}` {
		t.Errorf("LambdaResult = %s", got)
	}
	f := LambdaFunctionError("ServiceNotFound", "no such service")
	if f.ErrorName != "ServiceNotFound" || f.Cause != `{"errorMessage":"no such service","errorType":"ServiceNotFound"}` {
		t.Errorf("LambdaFunctionError = %+v", f)
	}
}

func TestResultWhileRunning(t *testing.T) {
	g := startTokenRig(t, fmt.Sprintf(tokenDef, ""), `{}`, true)
	h := g.nextToken(t)
	if r, ok := g.x.Result(); ok || r.Status != StatusRunning || !g.x.StopTime().IsZero() {
		t.Fatalf("Result while running = %+v %v", r, ok)
	}
	g.engine.SendTaskSuccess(h.token, json.RawMessage(`{}`))
	h.done()
	g.wait(t)
	if r, ok := g.x.Result(); !ok || r.Status != StatusSucceeded {
		t.Fatalf("Result after the end = %+v %v", r, ok)
	}
}

func TestHistoryLimitStopsEndlessLoop(t *testing.T) {
	res, x, _ := run(t, `{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"D"},"C":{"Type":"Succeed"},
		"D":{"Type":"Choice","Choices":[{"Variable":"$.stop","IsPresent":true,"Next":"C"}],"Default":"A"}}}`, `{}`, nil)
	if res.Status != StatusFailed || res.Error != ErrRuntime || len(x.History()) != maxHistoryEvents {
		t.Fatalf("got %+v after %d events", res, len(x.History()))
	}
}
