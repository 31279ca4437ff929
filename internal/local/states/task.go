package states

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"sync"
	"time"
)

const statesARNPrefix = "arn:aws:states:::"

// splitResource gives the resourceType and resource that task history events
// report: "arn:aws:states:::lambda:invoke.waitForTaskToken" is ("lambda",
// "invoke.waitForTaskToken"); "arn:aws:states:::aws-sdk:ecs:describeServices"
// is ("aws-sdk:ecs", "describeServices").
func splitResource(res string) (string, string) {
	if rest, ok := strings.CutPrefix(res, statesARNPrefix); ok {
		if i := strings.LastIndexByte(rest, ':'); i >= 0 {
			return rest[:i], rest[i+1:]
		}
		return rest, rest
	}
	parts := strings.SplitN(res, ":", 4)
	if len(parts) >= 3 {
		return parts[2], res
	}
	return "", res
}

func isLambdaARN(res string) bool {
	return strings.HasPrefix(res, "arn:aws:lambda:") || strings.HasPrefix(res, "arn:aws-cn:lambda:") || strings.HasPrefix(res, "arn:aws-us-gov:lambda:")
}

// taskAttempt runs one attempt of a Task state: InputPath, Parameters, the
// work, ResultSelector, ResultPath, OutputPath.
func (x *Execution) taskAttempt(ctx context.Context, th *thread, st *state, input any, cobj *contextObj) (any, *failure) {
	eff, ferr := st.inputPath.apply(input, cobj, "InputPath")
	if ferr != nil {
		return nil, ferr
	}
	if strings.HasSuffix(st.resource, ".waitForTaskToken") {
		cobj.token = x.engine.newToken(x, st.name)
		cobj.cache = nil
	}
	params := eff
	if st.parameters != nil {
		if params, ferr = st.parameters.eval(eff, cobj, "Parameters"); ferr != nil {
			return nil, ferr
		}
	}
	timeout := time.Duration(st.timeoutSeconds) * time.Second
	if st.timeoutPath != nil {
		n, ferr := positiveFromPath(st.timeoutPath, eff, cobj, "TimeoutSecondsPath")
		if ferr != nil {
			return nil, ferr
		}
		timeout = time.Duration(n) * time.Second
	}
	heartbeat := time.Duration(st.heartbeatSeconds) * time.Second
	if st.heartbeatPath != nil {
		n, ferr := positiveFromPath(st.heartbeatPath, eff, cobj, "HeartbeatSecondsPath")
		if ferr != nil {
			return nil, ferr
		}
		heartbeat = time.Duration(n) * time.Second
	}
	result, ferr := x.runTask(ctx, th, st, params, cobj.token, timeout, heartbeat)
	if ferr != nil {
		return nil, ferr
	}
	if st.resultSelector != nil {
		if result, ferr = st.resultSelector.eval(result, cobj, "ResultSelector"); ferr != nil {
			return nil, ferr
		}
	}
	out, ferr := st.resultPath.apply(input, result)
	if ferr != nil {
		return nil, ferr
	}
	return st.outputPath.apply(out, cobj, "OutputPath")
}

func positiveFromPath(p *jsonPath, data any, cobj *contextObj, field string) (int64, *failure) {
	v, err := p.eval(data, cobj.value())
	if err != nil {
		return 0, failf(ErrRuntime, "%s: %v", field, err)
	}
	n, ok := toInt(v)
	if !ok || n <= 0 {
		return 0, failf(ErrRuntime, "%s '%s' must select a positive integer, not %s", field, p.src, mustJSON(v))
	}
	return n, nil
}

// taskOutcome is what wakes a task waiting on its runner, its timeout or its
// token. busy, when set, is a clock hold handed to the woken thread.
type taskOutcome struct {
	output    json.RawMessage
	err       error
	timeout   bool
	heartbeat bool // the timeout is a missed heartbeat
	busy      func()
}

// runTask performs the work through the TaskRunner, recording the task's
// history events, and for .waitForTaskToken waits for the token.
func (x *Execution) runTask(ctx context.Context, th *thread, st *state, params any, token string, timeout, heartbeat time.Duration) (any, *failure) {
	e := x.engine
	clk := th.clk()
	paramJSON := mustJSON(params)
	lambda := isLambdaARN(st.resource)
	rtype, rname := splitResource(st.resource)
	ev := taskEvents{x: x, th: th, lambda: lambda, rtype: rtype, rname: rname}
	if lambda {
		x.record(th, HistoryEvent{Type: "LambdaFunctionScheduled", LambdaFunctionScheduledEventDetails: &LambdaFunctionScheduledEventDetails{
			Resource: st.resource, Input: paramJSON, InputDetails: &HistoryDetails{}, TimeoutInSeconds: int64(timeout / time.Second),
		}})
		x.record(th, HistoryEvent{Type: "LambdaFunctionStarted"})
	} else {
		x.record(th, HistoryEvent{Type: "TaskScheduled", TaskScheduledEventDetails: &TaskScheduledEventDetails{
			ResourceType: rtype, Resource: rname, Region: regionOf(x.info.StateMachineID), Parameters: paramJSON,
			TimeoutInSeconds: int64(timeout / time.Second), HeartbeatInSeconds: int64(heartbeat / time.Second),
		}})
		x.record(th, HistoryEvent{Type: "TaskStarted", TaskStartedEventDetails: &TaskEventDetails{ResourceType: rtype, Resource: rname}})
	}

	var tw *tokenWait
	if token != "" {
		tw = e.register(x, token, heartbeat)
		defer func() {
			// After unregister no one can resolve the token; a resolution
			// that came too late still handed over a clock hold: drop it.
			e.unregister(token)
			select {
			case m := <-tw.ch:
				m.busy()
			default:
			}
		}()
	}
	// hold scopes the runner's call: outcomes that arrive once the attempt
	// is over no longer take a hold on the clock, and Idle stops working.
	hold := &runnerHold{th: th, active: true}
	wake := make(chan taskOutcome, 3)
	post := func(o taskOutcome, fromRunner bool) {
		hold.mu.Lock()
		defer hold.mu.Unlock()
		if (fromRunner && hold.active) || (!fromRunner && !hold.over) {
			o.busy = clk.Busy()
		}
		wake <- o // never blocks: one runner outcome, one timeout, one heartbeat at most
	}
	if timeout > 0 {
		timer := clk.AfterFunc(timeout, func() { post(taskOutcome{timeout: true}, false) })
		defer timer.Stop()
	}
	if heartbeat > 0 && token == "" {
		// Nothing can send heartbeats for a task without a token: a task that
		// runs longer than HeartbeatSeconds has missed its heartbeat.
		timer := clk.AfterFunc(heartbeat, func() { post(taskOutcome{timeout: true, heartbeat: true}, false) })
		defer timer.Stop()
	}
	defer func() {
		hold.mu.Lock()
		hold.active = false
		hold.over = true
		hold.mu.Unlock()
		for {
			select {
			case o := <-wake:
				if o.busy != nil {
					o.busy()
				}
				continue
			default:
			}
			return
		}
	}()
	rctx, cancel := context.WithCancel(context.WithValue(ctx, holdKey{}, hold))
	defer cancel()
	req := TaskRequest{
		Resource: st.resource, Input: json.RawMessage(paramJSON), TaskToken: token, StateName: st.name,
		Execution: x.info, TimeoutSeconds: int64(timeout / time.Second), HeartbeatSeconds: int64(heartbeat / time.Second),
	}
	go func() {
		if e.tasks == nil {
			post(taskOutcome{err: &TaskFailure{ErrorName: ErrTaskFailed, Cause: "no task runner is configured for resource " + st.resource}}, true)
			return
		}
		out, err := e.tasks.RunTask(rctx, req)
		post(taskOutcome{output: out, err: err}, true)
	}()

	// The runner works under this thread's hold on the clock unless it
	// calls Idle.
	var o taskOutcome
	select {
	case o = <-wake:
		hold.mu.Lock()
		hold.active = false
		hold.mu.Unlock()
		th.adopt(o.busy)
	case <-ctx.Done():
		return nil, &failure{aborted: true}
	}
	if o.timeout {
		if o.heartbeat {
			return nil, ev.timedOut(ErrHeartbeatTimeout, "")
		}
		return nil, ev.timedOut(ErrTimeout, "")
	}
	if o.err != nil {
		f := asFailure(o.err)
		return nil, ev.failed(f)
	}
	if tw == nil {
		v, err := decodeJSON(o.output)
		if len(o.output) == 0 {
			v, err = nil, nil
		}
		if err != nil {
			return nil, ev.failed(failf(ErrRuntime, "the task's output is not JSON: %v", err))
		}
		ev.succeeded(o.output)
		return v, nil
	}

	x.record(th, HistoryEvent{Type: "TaskSubmitted", TaskSubmittedEventDetails: &TaskEventDetails{
		ResourceType: rtype, Resource: rname, Output: string(orNull(o.output)), OutputDetails: &HistoryDetails{},
	}})
	th.release()
	select {
	case m := <-tw.ch:
		th.adopt(m.busy)
		if m.fail != nil {
			if m.fail.Name == ErrHeartbeatTimeout {
				return nil, ev.timedOut(ErrHeartbeatTimeout, "")
			}
			return nil, ev.failed(m.fail)
		}
		v, err := decodeJSON(m.output)
		if err != nil {
			return nil, ev.failed(failf(ErrRuntime, "task output is not JSON: %v", err))
		}
		ev.succeeded(m.output)
		return v, nil
	case o := <-wake:
		th.adopt(o.busy)
		return nil, ev.timedOut(ErrTimeout, "")
	case <-ctx.Done():
		th.adopt(clk.Busy())
		return nil, &failure{aborted: true}
	}
}

func orNull(b json.RawMessage) json.RawMessage {
	if len(b) == 0 {
		return json.RawMessage("null")
	}
	return b
}

// regionOf reads the region from an ARN, defaulting to us-east-1.
func regionOf(arn string) string {
	parts := strings.Split(arn, ":")
	if len(parts) > 3 && parts[3] != "" {
		return parts[3]
	}
	return "us-east-1"
}

// taskEvents records the end of a task attempt in the right event family.
type taskEvents struct {
	x      *Execution
	th     *thread
	lambda bool
	rtype  string
	rname  string
}

func (t taskEvents) succeeded(out json.RawMessage) {
	if t.lambda {
		t.x.record(t.th, HistoryEvent{Type: "LambdaFunctionSucceeded", LambdaFunctionSucceededEventDetails: &OutputEventDetails{Output: string(orNull(out)), OutputDetails: &HistoryDetails{}}})
		return
	}
	t.x.record(t.th, HistoryEvent{Type: "TaskSucceeded", TaskSucceededEventDetails: &TaskEventDetails{
		ResourceType: t.rtype, Resource: t.rname, Output: string(orNull(out)), OutputDetails: &HistoryDetails{},
	}})
}

func (t taskEvents) failed(f *failure) *failure {
	if t.lambda {
		t.x.record(t.th, HistoryEvent{Type: "LambdaFunctionFailed", LambdaFunctionFailedEventDetails: &ErrorEventDetails{Error: f.Name, Cause: f.Cause}})
		return f
	}
	t.x.record(t.th, HistoryEvent{Type: "TaskFailed", TaskFailedEventDetails: &TaskEventDetails{ResourceType: t.rtype, Resource: t.rname, Error: f.Name, Cause: f.Cause}})
	return f
}

func (t taskEvents) timedOut(name, cause string) *failure {
	if t.lambda {
		t.x.record(t.th, HistoryEvent{Type: "LambdaFunctionTimedOut", LambdaFunctionTimedOutEventDetails: &ErrorEventDetails{Error: name, Cause: cause}})
	} else {
		t.x.record(t.th, HistoryEvent{Type: "TaskTimedOut", TaskTimedOutEventDetails: &TaskEventDetails{ResourceType: t.rtype, Resource: t.rname, Error: name, Cause: cause}})
	}
	return &failure{Name: name, Cause: cause}
}

// Task tokens are opaque to callers; ours encode the execution, state and a
// sequence number so that a malformed token is told apart from a stale one.
type tokenBody struct {
	Execution string `json:"e"`
	State     string `json:"s"`
	Seq       uint64 `json:"n"`
}

func encodeToken(execID, state string, n uint64) string {
	b, _ := json.Marshal(tokenBody{Execution: execID, State: state, Seq: n})
	return base64.RawURLEncoding.EncodeToString(b)
}

func validToken(t string) bool {
	b, err := base64.RawURLEncoding.DecodeString(t)
	if err != nil {
		return false
	}
	var tb tokenBody
	return json.Unmarshal(b, &tb) == nil && tb.Seq > 0
}

// runnerHold lets a TaskRunner give up its execution's hold on the clock
// (Idle) for the duration of one RunTask call, and no longer.
type runnerHold struct {
	th       *thread
	mu       sync.Mutex
	active   bool // the engine still waits for this call
	over     bool // the attempt has ended
	released bool // the runner called Idle and has not resumed
}

type holdKey struct{}

// Idle releases the calling task's hold on the clock, for a TaskRunner that
// waits on the clock (or on something that waits on it) inside RunTask; call
// the returned func when the wait is over. It does nothing outside RunTask
// or once the engine has stopped waiting for the call (timeout, abort).
func Idle(ctx context.Context) (resume func()) {
	h, ok := ctx.Value(holdKey{}).(*runnerHold)
	if !ok {
		return func() {}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.active || h.released {
		return func() {}
	}
	h.released = true
	h.th.release()
	return func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		if h.active && h.released {
			h.released = false
			h.th.adopt(h.th.clk().Busy())
		}
	}
}
