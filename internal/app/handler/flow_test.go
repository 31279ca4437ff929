package handler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/pushdeploy/pushdeploy/internal/app/awsapi"
	"github.com/pushdeploy/pushdeploy/internal/app/contract"
	"github.com/pushdeploy/pushdeploy/internal/app/coord"
	"github.com/pushdeploy/pushdeploy/internal/app/history"
	"github.com/pushdeploy/pushdeploy/internal/app/target"
	"github.com/pushdeploy/pushdeploy/internal/local/states"
	"github.com/pushdeploy/pushdeploy/statemachine"
)

// flow runs the real definition on the engine, on the virtual clock, with
// the real handlers (strict JSON, as Lambda runs them) over the fakes.
type flow struct {
	*world
	t        *testing.T
	engine   *states.Engine
	machine  *states.Machine
	fns      map[string]lambda.Handler
	events   *EventsHandler
	mu       sync.Mutex
	invokes  map[string]int
	failures []string
}

// flowHooks puts test doubles around the fakes for one function: the
// update function's ECS, the watch function's leases.
type flowHooks struct {
	updateECS   awsapi.ECS
	watchLeases Leases
}

func newFlow(t *testing.T, w *world, hooks ...flowHooks) *flow {
	t.Helper()
	f := &flow{world: w, t: t, fns: map[string]lambda.Handler{}, invokes: map[string]int{}}
	strict := lambda.WithDisallowUnknownFields(true)
	ev, err := NewEvaluator(w.ecs, w.cw, w.leases, w.clk)
	if err != nil {
		t.Fatal(err)
	}
	hk := flowHooks{updateECS: w.ecs, watchLeases: w.leases}
	for _, h := range hooks {
		if h.updateECS != nil {
			hk.updateECS = h.updateECS
		}
		if h.watchLeases != nil {
			hk.watchLeases = h.watchLeases
		}
	}
	plan, err := withExecutionInput(w.sfn, w.plan(t).Handle)
	if err != nil {
		t.Fatal(err)
	}
	reg, _ := NewRegister(RegisterDeps{ECS: w.ecs, Leases: w.leases, Policy: w.settings.Policy, Log: w.log})
	upd, err := NewUpdate(UpdateDeps{ECS: hk.updateECS, Leases: w.leases, SFN: w.sfn, Clock: w.clk, Log: w.log, Evaluator: mustEvaluator(t, hk.updateECS, w.cw, w.leases, w.clk)})
	if err != nil {
		t.Fatal(err)
	}
	watch, _ := NewWatch(WatchDeps{Evaluator: ev, Leases: hk.watchLeases, SFN: w.sfn, Log: w.log, Approvals: w.notifier})
	check, _ := NewCheck(CheckDeps{Evaluator: ev, Leases: w.leases, Log: w.log})
	fin := w.finish(t)
	f.events, _ = NewEvents(EventsDeps{Evaluator: w.evaluator(t), Leases: w.leases, SFN: w.sfn, Clock: w.clk, Log: w.log})
	for name, fn := range map[string]any{"Plan": plan, "Register": reg.Handle, "Update": upd.Handle,
		"Watch": watch.Handle, "Check": check.Handle, "Finish": fin.HandleRequest} {
		f.fns["arn:aws:lambda:us-east-1:123456789012:function:pushdeploy-"+name+"Function"] = lambda.NewHandlerWithOptions(fn, strict)
	}
	f.engine = states.NewEngine(states.EngineOptions{Clock: w.clk, Tasks: states.TaskRunnerFunc(f.run)})
	w.sfn.onSend = func(token, output string) error {
		err := f.engine.SendTaskSuccess(token, json.RawMessage(output))
		var te *states.TaskTokenError
		if errors.As(err, &te) {
			return &apiErr{code: te.Reason}
		}
		return err
	}
	subs := map[string]string{}
	for _, s := range statemachine.Substitutions {
		subs[s] = "arn:aws:lambda:us-east-1:123456789012:function:pushdeploy-" + strings.TrimSuffix(s, "Arn")
	}
	def := string(statemachine.Deploy)
	for k, v := range subs {
		def = strings.ReplaceAll(def, "${"+k+"}", v)
	}
	if f.machine, err = states.Parse([]byte(def)); err != nil {
		t.Fatal(err)
	}
	stop := w.clk.AutoAdvance(time.Millisecond)
	t.Cleanup(stop)
	return f
}

// run is the Lambda service: invoke the handler, wrap its response or
// report its error by type name, as Step Functions sees them.
func (f *flow) run(ctx context.Context, req states.TaskRequest) (json.RawMessage, error) {
	fn, payload, err := states.LambdaRequest(req.Input)
	if err != nil {
		return nil, err
	}
	h, ok := f.fns[fn]
	if !ok {
		return nil, fmt.Errorf("no function %s", fn)
	}
	f.mu.Lock()
	f.invokes[fn[strings.LastIndex(fn, "-")+1:]]++
	f.mu.Unlock()
	out, err := h.Invoke(ctx, payload)
	if err != nil {
		f.mu.Lock()
		f.failures = append(f.failures, req.StateName+": "+errName(err)+": "+err.Error())
		f.mu.Unlock()
		return nil, states.LambdaFunctionError(errName(err), err.Error())
	}
	return states.LambdaResult(out), nil
}

func (f *flow) start(t *testing.T, input string) states.Result {
	t.Helper()
	return wait(t, f.startAs(execArn, input))
}

// startAs starts an execution as dispatch would for push and alarm inputs:
// with their trigger ticket.
func (f *flow) startAs(id, input string) *states.Execution {
	if strings.Contains(input, `"trigger":"push"`) || strings.Contains(input, `"trigger":"alarm"`) {
		f.vouch(f.t, id[strings.LastIndex(id, ":")+1:], input)
	}
	f.sfn.mu.Lock()
	if f.sfn.inputs == nil {
		f.sfn.inputs = map[string]string{}
	}
	f.sfn.inputs[id] = input // what DescribeExecution answers
	f.sfn.mu.Unlock()
	return f.engine.Start(context.Background(), f.machine, states.ExecutionInfo{
		ID: id, Name: id[strings.LastIndex(id, ":")+1:], StateMachineID: smArn, StartTime: f.clk.Now(),
	}, json.RawMessage(input))
}

func wait(t *testing.T, x *states.Execution) states.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := x.Wait(ctx)
	if err != nil {
		t.Fatalf("execution did not end: %v (status %s)", err, x.Status())
	}
	return res
}

// rollout makes ECS finish each UpdateService after d: on rev when given
// (ECS rolled back), else on the new revision; then the ECS event fires.
func (f *flow) rollout(d time.Duration, ecsRollsBackTo string, sendEvents bool) {
	f.ecs.onUpdate = func(in *ecs.UpdateServiceInput) {
		taskDef := tdPrefix + strings.TrimPrefix(aws.ToString(in.TaskDefinition), tdPrefix)
		f.clk.AfterFunc(d, func() {
			f.ecs.mu.Lock()
			current := aws.ToString(f.ecs.svc("prod", "web").TaskDefinition)
			f.ecs.mu.Unlock()
			if current != taskDef {
				return // a later update replaced this deployment
			}
			state := ecstypes.DeploymentRolloutStateCompleted
			if ecsRollsBackTo != "" && taskDef != ecsRollsBackTo {
				taskDef = ecsRollsBackTo
			}
			f.ecs.setPrimary("prod", "web", taskDef, state, "")
			if sendEvents {
				ev := contract.Event{Source: contract.SourceECS, DetailType: contract.DetailTypeECSDeployment, Resources: []string{webArn},
					Detail: json.RawMessage(`{"eventName":"SERVICE_DEPLOYMENT_COMPLETED","deploymentId":"ecs-svc/1"}`)}
				if _, err := f.events.Handle(context.Background(), ev); err != nil {
					panic(err)
				}
			}
		})
	}
}

func pushInput() string { return pushOf(digestNew, t0) }

func pushOf(digest string, at time.Time) string {
	return `{"action":"deploy","cluster":"prod","service":"web","image":"` + registry + `/web@` + digest + `","digest":"` + digest +
		`","trigger":"push","push":{"eventId":"e1","account":"` + account + `","region":"us-east-1","repository":"web","tag":"v42","digest":"` + digest + `","time":"` + at.Format(time.RFC3339) + `"}}`
}

func (f *flow) onlyRecord(t *testing.T) history.Record {
	t.Helper()
	if len(f.history.records) != 1 {
		t.Fatalf("%d history records: %+v", len(f.history.records), f.history.records)
	}
	if st := f.leases.state[webArn]; st.Holder != "" {
		t.Errorf("lease still held by %s", st.Holder)
	}
	return f.history.records[0]
}

func TestFlowDeploySucceeds(t *testing.T) {
	for _, events := range []bool{true, false} {
		t.Run(fmt.Sprintf("events %v", events), func(t *testing.T) {
			f := newFlow(t, newWorld(t))
			f.rollout(3*time.Minute, "", events)
			res := f.start(t, pushInput())
			if res.Status != states.StatusSucceeded {
				t.Fatalf("status %s %s %s; failures %v", res.Status, res.Error, res.Cause, f.failures)
			}
			var out contract.FinishResult
			if err := contract.DecodeStrict(res.Output, &out); err != nil || out.Status != contract.TerminalSucceeded {
				t.Fatalf("output %s (%v)", res.Output, err)
			}
			r := f.onlyRecord(t)
			if r.Outcome != history.Succeeded || r.ToRevision != td(42) || f.history.lastGoodOf(webArn) != td(42) {
				t.Errorf("record %+v", r)
			}
			// Bake: 10m after the rollout was seen complete.
			minEnd := t0.Add(3*time.Minute + 10*time.Minute)
			if events && r.FinishedAt.Before(minEnd) {
				t.Errorf("finished at %s, before the bake ended %s", r.FinishedAt, minEnd)
			}
			if !events && f.invokes["CheckFunction"] != 2 {
				t.Errorf("without events: %d checks, want 2 (rollout and bake safety nets)", f.invokes["CheckFunction"])
			}
		})
	}
}

func TestFlowCircuitBreakerRollsBack(t *testing.T) {
	f := newFlow(t, newWorld(t))
	f.rollout(2*time.Minute, td(41), true)
	res := f.start(t, pushInput())
	if res.Status != states.StatusFailed || res.Error != "RolledBack" {
		t.Fatalf("status %s %s; failures %v", res.Status, res.Error, f.failures)
	}
	r := f.onlyRecord(t)
	if r.Outcome != history.RolledBack || r.ToRevision != td(41) || !strings.Contains(r.Reason, "ecs-rollback") {
		t.Errorf("record %+v", r)
	}
	if len(f.ecs.updates) != 1 {
		t.Errorf("%d UpdateService calls; ECS already rolled back, want only the deploy's", len(f.ecs.updates))
	}
	// The revision rolled back to is last good; the one rolled back from
	// is bad and its image quarantined.
	l := f.history.ledgers[webArn]
	if f.history.lastGoodOf(webArn) != td(41) || !l.IsBad(td(42)) {
		t.Errorf("ledger after the rollback: %+v", l)
	}
	if _, ok := l.Quarantine(digestNew); !ok || !slices.Contains(r.Quarantined, digestNew) {
		t.Errorf("%s not quarantined: ledger %+v, record %v", digestNew, l.Quarantined, r.Quarantined)
	}
}

func TestFlowAlarmDuringBakeRollsBack(t *testing.T) {
	w := newWorld(t)
	w.history.good(webArn, td(40))
	f := newFlow(t, w)
	f.rollout(2*time.Minute, "", true)
	disp := w.dispatch(t) // the one alarm path: it wakes the deploy in flight
	// Four minutes into the 5-minute bake the alarm fires (at the bake's
	// very end, +7m, it would race the bake's own timer).
	w.clk.AfterFunc(6*time.Minute, func() {
		w.cw.alarms[0].StateValue = cwtypes.StateValueAlarm
		w.cw.alarms[0].StateReason = aws.String("5xx above 5%")
		w.cw.alarms[0].StateUpdatedTimestamp = aws.Time(w.clk.Now())
		ev := contract.Event{Source: contract.SourceCloudWatch, DetailType: contract.DetailTypeAlarmState,
			Detail: json.RawMessage(`{"alarmName":"web-5xx","state":{"value":"ALARM"}}`)}
		if res, err := disp.Handle(context.Background(), ev); err != nil || len(res.Woken) != 1 || len(res.Started) != 0 {
			panic(fmt.Sprintf("dispatch %+v: %v", res, err))
		}
	})
	res := f.start(t, pushInput())
	if res.Status != states.StatusFailed || res.Error != "RolledBack" {
		t.Fatalf("status %s %s; failures %v", res.Status, res.Error, f.failures)
	}
	r := f.onlyRecord(t)
	if r.Outcome != history.RolledBack || r.ToRevision != td(40) || !strings.Contains(r.Reason, "alarm") {
		t.Errorf("record %+v", r)
	}
	if len(f.ecs.updates) != 2 || aws.ToString(f.ecs.updates[1].TaskDefinition) != td(40) {
		t.Errorf("updates %+v", f.ecs.updates)
	}
	if !r.FinishedAt.Before(t0.Add(12 * time.Minute)) {
		t.Errorf("finished at %s: the alarm did not cut the bake short", r.FinishedAt)
	}
}

func TestFlowBadInputChangesNothing(t *testing.T) {
	for _, in := range []string{
		`{"action":"destroy","cluster":"prod","service":"web"}`,
		`{"action":"deploy","cluster":"prod","service":"web","image":"nginx:latest"}`,
		`{"action":"deploy","cluster":"prod","service":"web","digest":"` + digestNew + `","containers":["worker"]}`,
		`{"action":"rollback","cluster":"prod","service":"web","revision":"api:3"}`,
		`{"action":"redeploy","cluster":"prod","service":"gone"}`,
		`"not an object"`,
	} {
		t.Run(in, func(t *testing.T) {
			f := newFlow(t, newWorld(t))
			res := f.start(t, in)
			if res.Status != states.StatusFailed || res.Error != "DeploymentFailed" {
				t.Fatalf("status %s %s", res.Status, res.Error)
			}
			r := f.onlyRecord(t)
			if r.Outcome != history.Failed || f.ecs.mutations() != 0 || f.leases.acquires != 0 {
				t.Errorf("record %+v, %d mutations", r, f.ecs.mutations())
			}
		})
	}
}

func TestFlowManualRollback(t *testing.T) {
	w := newWorld(t)
	w.history.good(webArn, td(40))
	f := newFlow(t, w)
	f.rollout(time.Minute, "", true)
	res := f.start(t, `{"action":"rollback","cluster":"prod","service":"web","requestedBy":"alice"}`)
	if res.Status != states.StatusFailed || res.Error != "RolledBack" {
		t.Fatalf("status %s %s; failures %v", res.Status, res.Error, f.failures)
	}
	r := f.onlyRecord(t)
	if r.Outcome != history.RolledBack || r.ToRevision != td(40) || r.StartedBy != "alice" || r.Action != "rollback" {
		t.Errorf("record %+v", r)
	}
}

// TestFlowLatestPushWins: a second push while the first deploy waits takes
// the lease; the first execution ends SUPERSEDED at once and never touches
// the service again; the second deploys.
func TestFlowLatestPushWins(t *testing.T) {
	w := newWorld(t)
	f := newFlow(t, w)
	f.rollout(10*time.Minute, "", true)
	first := f.startAs(execArn+"-a", pushInput())
	digest3 := "sha256:" + strings.Repeat("3", 64)
	var second *states.Execution
	started := make(chan struct{})
	w.clk.AfterFunc(2*time.Minute, func() {
		second = f.startAs(execArn+"-b", pushOf(digest3, t0.Add(2*time.Minute)))
		close(started)
	})
	r1 := wait(t, first)
	<-started
	r2 := wait(t, second)
	if r1.Status != states.StatusSucceeded || r2.Status != states.StatusSucceeded {
		t.Fatalf("first %s %s, second %s %s; failures %v", r1.Status, r1.Error, r2.Status, r2.Error, f.failures)
	}
	byExec := map[string]history.Record{}
	for _, r := range w.history.records {
		byExec[r.ExecutionARN] = r
	}
	if len(w.history.records) != 2 || byExec[execArn+"-a"].Outcome != history.Superseded || byExec[execArn+"-b"].Outcome != history.Succeeded {
		t.Fatalf("records %+v", w.history.records)
	}
	if !byExec[execArn+"-a"].FinishedAt.Before(t0.Add(3 * time.Minute)) {
		t.Errorf("first finished at %s: not woken by the takeover", byExec[execArn+"-a"].FinishedAt)
	}
	if len(w.ecs.updates) != 2 || aws.ToString(w.ecs.updates[1].TaskDefinition) != td(43) {
		t.Errorf("updates %+v", w.ecs.updates)
	}
	if got := aws.ToString(w.ecs.svc("prod", "web").TaskDefinition); got != td(43) {
		t.Errorf("service runs %s", got)
	}
	if st := w.leases.state[webArn]; st.Holder != "" {
		t.Errorf("lease held by %s", st.Holder)
	}
}

// TestFlowWakeKeepsTheDeadline: an event that wakes the wait before the
// rollout is decided does not restart the deploy timeout: the timeout
// still ends the rollout 20 minutes after the update, and rolls it back.
func TestFlowWakeKeepsTheDeadline(t *testing.T) {
	w := newWorld(t)
	f := newFlow(t, w)
	// The deploy never completes; the rollback to 41 does, in a minute.
	f.ecs.onUpdate = func(in *ecs.UpdateServiceInput) {
		if aws.ToString(in.TaskDefinition) != td(41) {
			return
		}
		w.clk.AfterFunc(time.Minute, func() {
			w.ecs.setPrimary("prod", "web", td(41), ecstypes.DeploymentRolloutStateCompleted, "")
		})
	}
	w.clk.AfterFunc(5*time.Minute, func() {
		ev := contract.Event{Source: contract.SourceECS, DetailType: contract.DetailTypeECSDeployment, Resources: []string{webArn},
			Detail: json.RawMessage(`{"eventName":"SERVICE_DEPLOYMENT_IN_PROGRESS","deploymentId":"ecs-svc/1"}`)}
		if _, err := f.events.Handle(context.Background(), ev); err != nil {
			panic(err)
		}
	})
	res := f.start(t, pushInput())
	if res.Status != states.StatusFailed || res.Error != "RolledBack" {
		t.Fatalf("status %s %s; failures %v", res.Status, res.Error, f.failures)
	}
	r := f.onlyRecord(t)
	if !strings.Contains(r.Reason, "timeout") || r.ToRevision != td(41) {
		t.Errorf("record %+v", r)
	}
	// Update at 0, timeout at 20m, rollback stable at 21m (the rollback's
	// wait ends on its check at its own timeout at the latest: 41m).
	if r.FinishedAt.Before(t0.Add(20*time.Minute)) || r.FinishedAt.After(t0.Add(41*time.Minute)) {
		t.Errorf("finished at %s", r.FinishedAt.Sub(t0))
	}
	// The wake-up judged the rollout undecided and left the wait parked:
	// no check but the two safety nets.
	if got := f.invokes["CheckFunction"]; got != 2 {
		t.Errorf("%d checks, want 2 (at the timeout, rollback's safety net)", got)
	}
}

// TestFlowCostDoesNotGrowWithRollout: the Lambda invocations of a deploy
// are the same for a 2, 10 or 30 minute rollout: waits are event driven.
func TestFlowCostDoesNotGrowWithRollout(t *testing.T) {
	var counts, transitions []int
	for _, d := range []time.Duration{2 * time.Minute, 10 * time.Minute, 30 * time.Minute} {
		w := newWorld(t)
		w.ecs.services["prod/web"].Tags = nil
		w.addService("web", td(41), map[string]string{target.TagRepository: "web", target.TagTags: "v*",
			target.TagContainers: "app", target.TagAlarms: "web-5xx", target.TagBake: "10m", target.TagTimeout: "1h"})
		f := newFlow(t, w)
		f.rollout(d, "", true)
		x := f.startAs(execArn, pushInput())
		if res := wait(t, x); res.Status != states.StatusSucceeded {
			t.Fatalf("%s: %s %s", d, res.Status, res.Error)
		}
		total := 0
		for _, n := range f.invokes {
			total += n
		}
		entered := 0
		for _, ev := range x.History() {
			if strings.HasSuffix(ev.Type, "StateEntered") {
				entered++
			}
		}
		counts = append(counts, total)
		transitions = append(transitions, entered)
	}
	t.Logf("per deploy, for 2, 10, 30 minute rollouts: Lambda invocations %v, states entered %v", counts, transitions)
	if counts[0] != counts[1] || counts[1] != counts[2] || transitions[0] != transitions[1] || transitions[1] != transitions[2] {
		t.Errorf("cost grows with the rollout: invocations %v, states entered %v", counts, transitions)
	}
}

// TestFlowThrottledUpdateRetried: a throttled UpdateService is retried by
// the state machine's backoff and the deploy succeeds.
func TestFlowThrottledUpdateRetried(t *testing.T) {
	w := newWorld(t)
	w.ecs.throttleUpdates = 2
	f := newFlow(t, w)
	f.rollout(2*time.Minute, "", true)
	if res := f.start(t, pushInput()); res.Status != states.StatusSucceeded {
		t.Fatalf("%s %s; failures %v", res.Status, res.Error, f.failures)
	}
	if f.invokes["UpdateFunction"] != 3 || len(w.ecs.updates) != 1 {
		t.Errorf("%d update invocations, %d updates", f.invokes["UpdateFunction"], len(w.ecs.updates))
	}
	if r := f.onlyRecord(t); r.Outcome != history.Succeeded {
		t.Errorf("record %+v", r)
	}
}

// lateECS holds the first UpdateService to revision rev at the door until
// release is closed, then lets it land: a call that the SDK retried, or
// that was slow, reaching ECS long after its lease check.
type lateECS struct {
	awsapi.ECS
	rev     string
	once    sync.Once
	held    chan struct{} // closed when the call is held
	release chan struct{}
	landed  chan struct{} // closed when it landed
}

func newLateECS(api awsapi.ECS, rev string) *lateECS {
	return &lateECS{ECS: api, rev: rev, held: make(chan struct{}), release: make(chan struct{}), landed: make(chan struct{})}
}

func (l *lateECS) UpdateService(ctx context.Context, in *ecs.UpdateServiceInput, optFns ...func(*ecs.Options)) (*ecs.UpdateServiceOutput, error) {
	late := false
	if aws.ToString(in.TaskDefinition) == l.rev {
		l.once.Do(func() { late = true })
	}
	if !late {
		return l.ECS.UpdateService(ctx, in, optFns...)
	}
	// The attempt's lease check runs when it is sent; the request is
	// what arrives late.
	if err := attemptGuard(ctx, optFns); err != nil {
		return nil, err
	}
	close(l.held)
	<-l.release
	defer close(l.landed)
	return l.ECS.UpdateService(ctx, in)
}

// thenECS runs then after the first UpdateService to rev, before the call
// returns.
type thenECS struct {
	awsapi.ECS
	rev  string
	once sync.Once
	then func()
}

func (e *thenECS) UpdateService(ctx context.Context, in *ecs.UpdateServiceInput, optFns ...func(*ecs.Options)) (*ecs.UpdateServiceOutput, error) {
	out, err := e.ECS.UpdateService(ctx, in, optFns...)
	if aws.ToString(in.TaskDefinition) == e.rev {
		e.once.Do(e.then)
	}
	return out, err
}

// tokenHook runs after each SetWait that succeeded.
type tokenHook struct {
	Leases
	after func(holder string)
}

func (h *tokenHook) SetWait(ctx context.Context, service, holder string, w coord.Wait) error {
	if err := h.Leases.SetWait(ctx, service, holder, w); err != nil {
		return err
	}
	h.after(holder)
	return nil
}

// TestFlowLateUpdateOfSupersededExecution: the first push's UpdateService
// reaches ECS only after the second push's execution took the lease,
// registered its revision and updated the service. The late update lands
// over it; the first execution finds it lost the lease and ends SUPERSEDED
// without touching the service again; the second finds the service on a
// revision that is not its own while it holds the lease, re-applies its
// revision and succeeds. Latest push wins.
func TestFlowLateUpdateOfSupersededExecution(t *testing.T) {
	const (
		older = execArn + "-a"
		newer = execArn + "-b"
	)
	for _, tt := range []struct {
		name string
		// whileWaiting lands the late update once the newer execution
		// waits (its token is stored: the older wakes it); otherwise right
		// after the newer one's UpdateService, before that call returns
		// (the newer one's watch finds it).
		whileWaiting bool
	}{
		{"lands while the newer execution waits", true},
		{"lands before the newer execution waits", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			late := newLateECS(w.ecs, td(42))
			var hook flowHooks
			hook.updateECS = late
			woken := make(chan struct{})
			var wokenOnce sync.Once
			if tt.whileWaiting {
				var once sync.Once
				hook.watchLeases = &tokenHook{Leases: w.leases, after: func(holder string) {
					if holder != newer {
						return
					}
					once.Do(func() {
						close(late.release)
						// Keep this wait open until the older execution
						// has woken it, so the wake-up is what ends it.
						select {
						case <-woken:
						case <-time.After(10 * time.Second):
							t.Error("the older execution did not wake the newer one")
						}
					})
				}}
			} else {
				hook.updateECS = &thenECS{ECS: late, rev: td(43), then: func() {
					close(late.release)
					<-late.landed
				}}
			}
			f := newFlow(t, w, hook)
			f.rollout(3*time.Minute, "", true)
			send := w.sfn.onSend
			w.sfn.onSend = func(token, output string) error {
				err := send(token, output)
				if strings.Contains(output, `"cause":"replaced"`) {
					wokenOnce.Do(func() { close(woken) })
				}
				return err
			}

			first := f.startAs(older, pushInput())
			<-late.held // the older execution's update is in flight
			digest3 := "sha256:" + strings.Repeat("3", 64)
			second := f.startAs(newer, pushOf(digest3, t0.Add(time.Minute)))
			r1, r2 := wait(t, first), wait(t, second)
			if r1.Status != states.StatusSucceeded || r2.Status != states.StatusSucceeded {
				t.Fatalf("first %s %s %s, second %s %s %s; failures %v", r1.Status, r1.Error, r1.Cause, r2.Status, r2.Error, r2.Cause, f.failures)
			}
			byExec := map[string]history.Record{}
			for _, r := range w.history.records {
				byExec[r.ExecutionARN] = r
			}
			if len(w.history.records) != 2 || byExec[older].Outcome != history.Superseded || byExec[newer].Outcome != history.Succeeded {
				t.Fatalf("records %+v", w.history.records)
			}
			if r := byExec[newer]; r.ToRevision != td(43) || w.history.lastGoodOf(webArn) != td(43) {
				t.Errorf("newer record %+v, last good %+v", r, w.history.lastGoodOf(webArn))
			}
			// The newer deploy, the late one, the newer one's re-apply.
			var revs []string
			for _, u := range w.ecs.updates {
				revs = append(revs, aws.ToString(u.TaskDefinition))
			}
			if want := []string{td(43), td(42), td(43)}; !slices.Equal(revs, want) {
				t.Errorf("UpdateService calls %v, want %v", revs, want)
			}
			if got := aws.ToString(w.ecs.svc("prod", "web").TaskDefinition); got != td(43) {
				t.Errorf("service runs %s, want the newer push's %s", got, td(43))
			}
			if st := w.leases.state[webArn]; st.Holder != "" {
				t.Errorf("lease held by %s", st.Holder)
			}
			if tt.whileWaiting {
				select {
				case <-woken:
				default:
					t.Error("no late-update wake-up sent")
				}
			}
		})
	}
}

// TestFlowChangedOutsideIsLeftAlone: an operator updates the service by
// hand during the rollout or the bake. The execution neither re-applies its
// revision nor rolls back: it finishes FAILED naming the outside change and
// releases the lease.
func TestFlowChangedOutsideIsLeftAlone(t *testing.T) {
	for _, tt := range []struct {
		name string
		at   time.Duration // after the start; the rollout takes 2 minutes
	}{
		{"during the rollout", time.Minute},
		{"during the bake", 5 * time.Minute},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			w.history.good(webArn, td(40))
			f := newFlow(t, w)
			f.rollout(2*time.Minute, "", true)
			// The operator acts tt.at after the deploy's UpdateService.
			deployed := f.ecs.onUpdate
			var changedAt time.Time
			f.ecs.onUpdate = func(in *ecs.UpdateServiceInput) {
				deployed(in)
				if !changedAt.IsZero() {
					return
				}
				changedAt = w.clk.Now().Add(tt.at)
				w.clk.AfterFunc(tt.at, func() {
					w.ecs.setPrimary("prod", "web", td(39), ecstypes.DeploymentRolloutStateInProgress, "")
					ev := contract.Event{Source: contract.SourceECS, DetailType: contract.DetailTypeECSDeployment, Resources: []string{webArn},
						Detail: json.RawMessage(`{"eventName":"SERVICE_DEPLOYMENT_IN_PROGRESS","deploymentId":"ecs-svc/op"}`)}
					if _, err := f.events.Handle(context.Background(), ev); err != nil {
						panic(err)
					}
				})
			}
			res := f.start(t, pushInput())
			if res.Status != states.StatusFailed {
				t.Fatalf("status %s %s %s; failures %v", res.Status, res.Error, res.Cause, f.failures)
			}
			r := f.onlyRecord(t) // and the lease released
			if r.Outcome != history.Failed || !strings.Contains(r.Reason, "changed-outside") || !strings.Contains(r.Reason, "web:39") {
				t.Errorf("record %+v", r)
			}
			if len(f.ecs.updates) != 1 || aws.ToString(f.ecs.updates[0].TaskDefinition) != td(42) {
				t.Errorf("UpdateService calls %+v, want only the deploy's", f.ecs.updates)
			}
			if got := aws.ToString(w.ecs.svc("prod", "web").TaskDefinition); got != td(39) {
				t.Errorf("service runs %s, want the operator's %s", got, td(39))
			}
			if !r.FinishedAt.Before(changedAt.Add(time.Minute)) {
				t.Errorf("finished at %s: the event did not end the wait", r.FinishedAt)
			}
		})
	}
}
