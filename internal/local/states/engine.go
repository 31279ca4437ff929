package states

import (
	"context"
	"encoding/json"
	"fmt"
	mrand "math/rand/v2"
	"sync"
	"time"

	"github.com/pushdeploy/pushdeploy/internal/app/clock"
)

// TaskRunner performs the work of Task states. The engine holds the clock
// busy while RunTask runs (the work takes no virtual time); a runner that
// must wait on the clock calls Idle(ctx) around that wait.
type TaskRunner interface {
	// RunTask performs a Task state's work. For ".waitForTaskToken" resources
	// req.TaskToken is set and the returned output is ignored: the engine waits
	// for SendTaskSuccess/Failure on that token. Returning a *TaskFailure fails
	// the state with that Error/Cause; any other error fails it with
	// States.TaskFailed.
	RunTask(ctx context.Context, req TaskRequest) (json.RawMessage, error)
}

// TaskRunnerFunc adapts a function to TaskRunner.
type TaskRunnerFunc func(ctx context.Context, req TaskRequest) (json.RawMessage, error)

func (f TaskRunnerFunc) RunTask(ctx context.Context, req TaskRequest) (json.RawMessage, error) {
	return f(ctx, req)
}

// TaskRequest is one attempt of a Task state.
type TaskRequest struct {
	Resource  string          // as written in the definition
	Input     json.RawMessage // effective input after InputPath/Parameters
	TaskToken string          // set for ".waitForTaskToken" resources
	StateName string
	Execution ExecutionInfo
	// TimeoutSeconds and HeartbeatSeconds are the state's effective limits
	// (0 when unset), for runners that pass them on (Lambda, activities).
	TimeoutSeconds   int64
	HeartbeatSeconds int64
}

// TaskFailure is an error with a Step Functions error name and cause. (The
// field is ErrorName, not Error: a struct cannot have both a field and a
// method called Error.)
type TaskFailure struct{ ErrorName, Cause string }

func (f *TaskFailure) Error() string {
	if f.Cause == "" {
		return f.ErrorName
	}
	return f.ErrorName + ": " + f.Cause
}

// EngineOptions wires an Engine.
type EngineOptions struct {
	Clock clock.Clock // defaults to clock.Real
	Tasks TaskRunner  // nil fails every Task state with States.TaskFailed
	// AWSErrorNames reports States.ParameterPathFailure,
	// States.IntrinsicFailure and States.NoChoiceMatched as States.Runtime,
	// as the AWS service does today (its documentation calls those names
	// "reserved for future use"). Off, the engine follows the specification.
	AWSErrorNames bool
}

// ExecutionInfo identifies an execution; it feeds the context object ($$).
type ExecutionInfo struct {
	ID, Name, StateMachineID, StateMachineName, RoleArn string
	StartTime                                           time.Time
}

// Status is an execution's status as the sfn API reports it.
type Status string

const (
	StatusRunning   Status = "RUNNING"
	StatusSucceeded Status = "SUCCEEDED"
	StatusFailed    Status = "FAILED"
	StatusTimedOut  Status = "TIMED_OUT"
	StatusAborted   Status = "ABORTED"
)

// Result is a finished execution's outcome.
type Result struct {
	Status Status
	Output json.RawMessage
	Error  string
	Cause  string
}

// Engine runs executions and routes task tokens to them.
type Engine struct {
	clk      clock.Clock
	tasks    TaskRunner
	awsNames bool

	mu       sync.Mutex
	tokens   map[string]*tokenWait
	finished map[string]bool // tokens whose task is over
	order    []string        // finished tokens, oldest first, to bound the map
	seq      uint64
	watchers map[uint64]Watcher
	watchSeq uint64
}

// Watcher sees every history event an execution records while it runs, on
// the execution's own goroutine, before the execution goes on: what it does
// happens before the state's next step (and, on a virtual clock, before the
// clock can move on from it). It must not block on the execution.
type Watcher func(x *Execution, ev HistoryEvent)

// Watch adds a watcher; the returned func removes it.
func (e *Engine) Watch(w Watcher) (stop func()) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.watchSeq++
	id := e.watchSeq
	if e.watchers == nil {
		e.watchers = map[uint64]Watcher{}
	}
	e.watchers[id] = w
	return func() {
		e.mu.Lock()
		defer e.mu.Unlock()
		delete(e.watchers, id)
	}
}

func (e *Engine) notify(x *Execution, ev HistoryEvent) {
	e.mu.Lock()
	ws := make([]Watcher, 0, len(e.watchers))
	for _, w := range e.watchers {
		ws = append(ws, w)
	}
	e.mu.Unlock()
	for _, w := range ws {
		w(x, ev)
	}
}

// NewEngine returns an engine; zero options give the real clock and no tasks.
func NewEngine(opts EngineOptions) *Engine {
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	return &Engine{
		clk:      opts.Clock,
		tasks:    opts.Tasks,
		awsNames: opts.AWSErrorNames,
		tokens:   map[string]*tokenWait{},
		finished: map[string]bool{},
	}
}

// Execution is one run of a Machine.
type Execution struct {
	engine *Engine
	m      *Machine
	info   ExecutionInfo
	input  json.RawMessage
	// inputValue is the decoded input, for $$.Execution.Input.
	inputValue any
	sched      sched
	ctx        context.Context
	cancel     context.CancelFunc
	done       chan struct{}

	mu     sync.Mutex
	status Status
	result Result
	events []HistoryEvent
}

// Start begins an execution in its own goroutine. An input that is not JSON
// fails the execution with States.Runtime.
func (e *Engine) Start(ctx context.Context, m *Machine, info ExecutionInfo, input json.RawMessage) *Execution {
	if info.StartTime.IsZero() {
		info.StartTime = e.clk.Now()
	}
	if len(input) == 0 {
		input = json.RawMessage("{}")
	}
	xctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	x := &Execution{
		engine: e, m: m, info: info, input: input,
		ctx: xctx, cancel: cancel, done: make(chan struct{}),
		status: StatusRunning,
	}
	th := newThread(x, 0, e.clk.Busy())
	x.record(th, HistoryEvent{Type: "ExecutionStarted", ExecutionStartedEventDetails: &ExecutionStartedEventDetails{
		Input: string(input), InputDetails: &HistoryDetails{}, RoleArn: info.RoleArn,
	}})
	if m.timeoutSeconds > 0 {
		t := e.clk.AfterFunc(time.Duration(m.timeoutSeconds)*time.Second, func() {
			x.finish(nil, Result{Status: StatusTimedOut, Error: ErrTimeout, Cause: "The execution timed out."})
		})
		go func() { <-x.done; t.Stop() }()
	}
	go x.run(th)
	return x
}

func (x *Execution) run(th *thread) {
	th.adopt(nil)
	defer th.release()
	v, err := decodeJSON(x.input)
	x.inputValue = v
	if err != nil {
		x.finish(th, Result{Status: StatusFailed, Error: ErrRuntime, Cause: "invalid execution input: " + err.Error()})
		return
	}
	out, ferr := x.runMachine(x.ctx, th, x.m.root, v, nil)
	if ferr != nil {
		if ferr.aborted {
			return
		}
		x.finish(th, Result{Status: StatusFailed, Error: ferr.Name, Cause: ferr.Cause})
		return
	}
	raw, err := json.Marshal(out)
	if err != nil {
		x.finish(th, Result{Status: StatusFailed, Error: ErrRuntime, Cause: err.Error()})
		return
	}
	x.finish(th, Result{Status: StatusSucceeded, Output: raw})
}

// finish moves the execution to its terminal status once; later calls are
// ignored (a Stop racing a success, a timeout racing a failure).
func (x *Execution) finish(th *thread, r Result) {
	x.mu.Lock()
	ended := x.endLocked(th, r)
	x.mu.Unlock()
	if ended {
		// Tokens of a finished execution are dead at once, not when its
		// goroutines get round to unwinding.
		x.engine.closeTokensOf(x)
	}
}

// endLocked records the terminal status; x.mu is held.
func (x *Execution) endLocked(th *thread, r Result) bool {
	if x.status != StatusRunning {
		return false
	}
	x.status = r.Status
	x.result = r
	ev := HistoryEvent{}
	switch r.Status {
	case StatusSucceeded:
		ev.Type = "ExecutionSucceeded"
		ev.ExecutionSucceededEventDetails = &OutputEventDetails{Output: string(r.Output), OutputDetails: &HistoryDetails{}}
	case StatusFailed:
		ev.Type = "ExecutionFailed"
		ev.ExecutionFailedEventDetails = &ErrorEventDetails{Error: r.Error, Cause: r.Cause}
	case StatusTimedOut:
		ev.Type = "ExecutionTimedOut"
		ev.ExecutionTimedOutEventDetails = &ErrorEventDetails{Error: r.Error, Cause: r.Cause}
	case StatusAborted:
		ev.Type = "ExecutionAborted"
		ev.ExecutionAbortedEventDetails = &ErrorEventDetails{Error: r.Error, Cause: r.Cause}
	}
	x.appendLocked(th, ev)
	close(x.done)
	x.cancel()
	return true
}

// record appends a history event while the execution runs; events from
// branches still unwinding after the end are dropped, as on AWS.
//
// Like Step Functions, an execution whose history reaches 25,000 events
// fails; this also bounds the memory of a machine that loops forever.
func (x *Execution) record(th *thread, ev HistoryEvent) int64 {
	x.mu.Lock()
	if x.status != StatusRunning {
		x.mu.Unlock()
		return 0
	}
	id := x.appendLocked(th, ev)
	ev = x.events[len(x.events)-1]
	ended := false
	if len(x.events) >= maxHistoryEvents-1 {
		ended = x.endLocked(th, Result{Status: StatusFailed, Error: ErrRuntime,
			Cause: fmt.Sprintf("The execution reached the maximum number of history events (%d).", maxHistoryEvents)})
	}
	x.mu.Unlock()
	x.engine.notify(x, ev)
	if ended {
		x.engine.closeTokensOf(x)
	}
	return id
}

// maxHistoryEvents is Step Functions' quota of events per execution.
const maxHistoryEvents = 25000

func (x *Execution) appendLocked(th *thread, ev HistoryEvent) int64 {
	ev.Timestamp = x.engine.clk.Now()
	ev.ID = int64(len(x.events) + 1)
	if th != nil {
		ev.PreviousEventID = th.prev
		th.prev = ev.ID
	} else if len(x.events) > 0 {
		ev.PreviousEventID = x.events[len(x.events)-1].ID
	}
	x.events = append(x.events, ev)
	return ev.ID
}

// Wait blocks until the execution is terminal or ctx is done. Do not hold
// the clock busy while calling it.
func (x *Execution) Wait(ctx context.Context) (Result, error) {
	select {
	case <-x.done:
		x.mu.Lock()
		defer x.mu.Unlock()
		return x.result, nil
	case <-ctx.Done():
		return Result{}, ctx.Err()
	}
}

// Result returns the outcome without blocking; ok is false while running.
func (x *Execution) Result() (r Result, ok bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.status == StatusRunning {
		return Result{Status: StatusRunning}, false
	}
	return x.result, true
}

// Done is closed when the execution is terminal.
func (x *Execution) Done() <-chan struct{} { return x.done }

// Status reports RUNNING or the terminal status.
func (x *Execution) Status() Status {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.status
}

// Info returns the identity the execution was started with.
func (x *Execution) Info() ExecutionInfo { return x.info }

// Input returns the execution's input as given to Start.
func (x *Execution) Input() json.RawMessage { return x.input }

// Stop aborts a running execution; it is a no-op on a finished one.
func (x *Execution) Stop(errName, cause string) {
	x.finish(nil, Result{Status: StatusAborted, Error: errName, Cause: cause})
}

// History returns a copy of the events so far, in order.
func (x *Execution) History() []HistoryEvent {
	x.mu.Lock()
	defer x.mu.Unlock()
	return append([]HistoryEvent(nil), x.events...)
}

// StopTime is the time of the terminal event, zero while running.
func (x *Execution) StopTime() time.Time {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.status == StatusRunning || len(x.events) == 0 {
		return time.Time{}
	}
	return x.events[len(x.events)-1].Timestamp
}

// thread is one line of execution (the machine, a Parallel branch, a Map
// iteration). It holds a busy token on the clock while it computes, and the
// execution's baton: one thread of an execution computes at a time, handing
// the baton on in FIFO order when it waits, so that branches interleave the
// same way on every run (history order, which of two failing branches
// fails first).
type thread struct {
	x    *Execution
	prev int64 // id of this thread's last event

	mu       sync.Mutex
	cond     *sync.Cond // signals the end of an acquire in progress
	busy     func()
	baton    bool
	acquring bool
	ticket   chan struct{} // a child's place in the baton queue
}

func newThread(x *Execution, prev int64, busy func()) *thread {
	th := &thread{x: x, prev: prev, busy: busy}
	th.cond = sync.NewCond(&th.mu)
	return th
}

// release gives up the baton and the busy token (before waiting).
func (th *thread) release() {
	th.mu.Lock()
	defer th.mu.Unlock()
	if th.baton {
		th.baton = false
		th.x.sched.release()
	}
	if th.busy != nil {
		th.busy()
		th.busy = nil
	}
}

// releaseBaton lets other threads of the execution run while this one keeps
// the clock busy.
func (th *thread) releaseBaton() {
	th.mu.Lock()
	defer th.mu.Unlock()
	if th.baton {
		th.baton = false
		th.x.sched.release()
	}
}

// adopt takes over a busy token handed over by whoever woke the thread (the
// hand-over keeps time from jumping between the wake-up and the work), then
// waits for the baton.
func (th *thread) adopt(done func()) {
	th.mu.Lock()
	if done != nil {
		if th.busy == nil {
			th.busy = done
		} else {
			done()
		}
	}
	for th.acquring {
		th.cond.Wait()
	}
	if th.baton {
		th.mu.Unlock()
		return
	}
	th.acquring = true
	ticket := th.ticket
	th.ticket = nil
	th.mu.Unlock()
	if ticket == nil {
		ticket = th.x.sched.enqueue()
	}
	<-ticket
	th.mu.Lock()
	th.baton = true
	th.acquring = false
	th.cond.Broadcast()
	th.mu.Unlock()
}

func (th *thread) clk() clock.Clock { return th.x.engine.clk }

// child returns a thread for a branch, holding its own busy token and a
// place in the baton queue taken now, so that branches start in order.
func (th *thread) child(prev int64) *thread {
	c := newThread(th.x, prev, th.clk().Busy())
	c.ticket = th.x.sched.enqueue()
	return c
}

// sched is an execution's baton: a FIFO lock.
type sched struct {
	mu    sync.Mutex
	held  bool
	queue []chan struct{}
}

// enqueue takes a place in line; the channel is closed when it is this
// place's turn.
func (s *sched) enqueue() chan struct{} {
	ch := make(chan struct{})
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.held {
		s.held = true
		close(ch)
		return ch
	}
	s.queue = append(s.queue, ch)
	return ch
}

func (s *sched) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.queue) == 0 {
		s.held = false
		return
	}
	next := s.queue[0]
	s.queue = s.queue[1:]
	close(next)
}

// sleep waits d on the clock without holding the clock busy.
func (th *thread) sleep(ctx context.Context, d time.Duration) error {
	clk := th.clk()
	wake := make(chan func(), 1)
	t := clk.AfterFunc(d, func() { wake <- clk.Busy() })
	th.release()
	select {
	case done := <-wake:
		th.adopt(done)
		return nil
	case <-ctx.Done():
		if t.Stop() {
			th.adopt(clk.Busy())
		} else {
			th.adopt(<-wake)
		}
		return ctx.Err()
	}
}

// TaskTokenError reports a task token that cannot be used. Reason is the sfn
// exception name: InvalidToken, TaskDoesNotExist, TaskTimedOut, InvalidOutput.
type TaskTokenError struct{ Reason string }

func (e *TaskTokenError) Error() string {
	switch e.Reason {
	case "TaskTimedOut":
		return "task timed out: provided task does not exist anymore"
	case "TaskDoesNotExist":
		return "task does not exist"
	case "InvalidOutput":
		return "invalid output: not JSON"
	}
	return "invalid token"
}

// maxFinishedTokens bounds how many finished tokens are remembered (to
// answer TaskTimedOut rather than TaskDoesNotExist).
const maxFinishedTokens = 10000

// tokenWait is a task waiting for its token.
type tokenWait struct {
	x      *Execution
	ch     chan tokenMsg // buffered 1: the first resolution wins
	hbDur  time.Duration
	hb     clock.Timer
	hbGen  int
	closed bool
}

type tokenMsg struct {
	output json.RawMessage
	fail   *failure
	busy   func()
}

func (e *Engine) newToken(x *Execution, state string) string {
	e.mu.Lock()
	e.seq++
	n := e.seq
	e.mu.Unlock()
	return encodeToken(x.info.ID, state, n)
}

// register makes token usable and starts its heartbeat timer.
func (e *Engine) register(x *Execution, token string, hb time.Duration) *tokenWait {
	tw := &tokenWait{x: x, ch: make(chan tokenMsg, 1), hbDur: hb}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.tokens[token] = tw
	if hb > 0 {
		e.armHeartbeatLocked(token, tw)
	}
	return tw
}

func (e *Engine) armHeartbeatLocked(token string, tw *tokenWait) {
	tw.hbGen++
	gen := tw.hbGen
	tw.hb = e.clk.AfterFunc(tw.hbDur, func() {
		e.resolve(token, gen, tokenMsg{fail: &failure{Name: ErrHeartbeatTimeout, Cause: ""}})
	})
}

// resolve delivers the first outcome for token, handing a busy token to the
// waiting thread. gen, when non-zero, must match the current heartbeat.
func (e *Engine) resolve(token string, gen int, msg tokenMsg) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	tw, ok := e.tokens[token]
	if !ok {
		if e.finished[token] {
			return &TaskTokenError{Reason: "TaskTimedOut"}
		}
		return &TaskTokenError{Reason: "TaskDoesNotExist"}
	}
	if gen != 0 && gen != tw.hbGen {
		return nil
	}
	e.closeLocked(token, tw)
	msg.busy = e.clk.Busy()
	tw.ch <- msg
	return nil
}

// closeTokensOf kills the tokens of a finished execution.
func (e *Engine) closeTokensOf(x *Execution) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for token, tw := range e.tokens {
		if tw.x == x {
			e.closeLocked(token, tw)
		}
	}
}

// unregister forgets token (the task ended without it).
func (e *Engine) unregister(token string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if tw, ok := e.tokens[token]; ok {
		e.closeLocked(token, tw)
	}
}

func (e *Engine) closeLocked(token string, tw *tokenWait) {
	delete(e.tokens, token)
	e.finished[token] = true
	e.order = append(e.order, token)
	if len(e.order) > maxFinishedTokens {
		delete(e.finished, e.order[0])
		e.order = e.order[1:]
	}
	tw.closed = true
	if tw.hb != nil {
		tw.hb.Stop()
	}
}

// SendTaskSuccess completes the task waiting on token with output.
func (e *Engine) SendTaskSuccess(token string, output json.RawMessage) error {
	if !validToken(token) {
		return &TaskTokenError{Reason: "InvalidToken"}
	}
	if !json.Valid(output) {
		return &TaskTokenError{Reason: "InvalidOutput"}
	}
	return e.resolve(token, 0, tokenMsg{output: append(json.RawMessage(nil), output...)})
}

// SendTaskFailure fails the task waiting on token.
func (e *Engine) SendTaskFailure(token, errName, cause string) error {
	if !validToken(token) {
		return &TaskTokenError{Reason: "InvalidToken"}
	}
	return e.resolve(token, 0, tokenMsg{fail: &failure{Name: errName, Cause: cause}})
}

// SendTaskHeartbeat restarts the heartbeat timer of the task waiting on token.
func (e *Engine) SendTaskHeartbeat(token string) error {
	if !validToken(token) {
		return &TaskTokenError{Reason: "InvalidToken"}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	tw, ok := e.tokens[token]
	if !ok {
		if e.finished[token] {
			return &TaskTokenError{Reason: "TaskTimedOut"}
		}
		return &TaskTokenError{Reason: "TaskDoesNotExist"}
	}
	if tw.hb != nil {
		tw.hb.Stop()
		e.armHeartbeatLocked(token, tw)
	}
	return nil
}

func itoa(n int64) string { return fmt.Sprint(n) }

// rename applies AWSErrorNames to a state's failure.
func (e *Engine) rename(f *failure) *failure {
	if f == nil || !e.awsNames {
		return f
	}
	switch f.Name {
	case ErrParameterPathFailure, ErrIntrinsicFailure, ErrNoChoiceMatched:
		return &failure{Name: ErrRuntime, Cause: f.Cause, aborted: f.aborted}
	}
	return f
}

// rnd returns a random source for retry jitter.
func (e *Engine) rnd() *mrand.Rand {
	return mrand.New(mrand.NewPCG(mrand.Uint64(), mrand.Uint64()))
}
