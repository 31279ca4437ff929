package handler

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pushdeploy/pushdeploy/internal/app/contract"
	"github.com/pushdeploy/pushdeploy/internal/app/coord"
	"github.com/pushdeploy/pushdeploy/internal/app/history"
	"github.com/pushdeploy/pushdeploy/internal/app/ledger"
	"github.com/pushdeploy/pushdeploy/internal/app/target"
)

func outcomeOf(status contract.Status, cause contract.Cause, rev string) *contract.Result[contract.Outcome] {
	return &contract.Result[contract.Outcome]{Payload: contract.Outcome{Status: status, Cause: cause, Reason: string(cause) + " reason", TaskDefinitionArn: rev, CheckedAt: t0}}
}

func lambdaError(name, msg string) *contract.TaskError {
	cause, _ := json.Marshal(map[string]string{"errorType": name, "errorMessage": msg})
	return &contract.TaskError{Error: name, Cause: string(cause)}
}

// doc builds a state document for a deploy of 42 over 41 that got as far
// as the given steps.
func doc(w *world, edit func(*contract.FinishInput)) contract.FinishInput {
	p := w.deployPlan()
	in := contract.FinishInput{
		Execution: contract.Execution{ID: execArn, Name: "run-1", StartTime: t0},
		Input:     json.RawMessage(`{"action":"deploy","cluster":"prod","service":"web","digest":"` + digestNew + `","requestedBy":"alice"}`),
		Plan:      &contract.Result[contract.Plan]{Payload: p},
		Register: &contract.Result[contract.RegisterResult]{Payload: contract.RegisterResult{TaskDefinitionArn: td(42), Registered: true,
			Images: []contract.ImageChange{{Container: "app", From: "old", To: registry + "/web@" + digestNew}}}},
		Update: &contract.Result[contract.UpdateResult]{Payload: contract.UpdateResult{PreviousTaskDefinitionArn: td(41), TaskDefinitionArn: td(42), StartedAt: t0}},
	}
	if edit != nil {
		edit(&in)
	}
	return in
}

func TestVerdict(t *testing.T) {
	w := newWorld(t)
	completed := outcomeOf(contract.StatusCompleted, "completed", td(42))
	tests := []struct {
		name   string
		edit   func(*contract.FinishInput)
		status contract.Terminal
		reason string
	}{
		{"deployed and baked", func(in *contract.FinishInput) {
			in.Outcome, in.Bake = completed, outcomeOf(contract.StatusCompleted, "baked", td(42))
		}, contract.TerminalSucceeded, "baked 600s"},
		{"no bake configured", func(in *contract.FinishInput) {
			in.Plan.Payload.BakeSeconds = 0
			in.Outcome = completed
		}, contract.TerminalSucceeded, "completed reason"},
		{"bad input", func(in *contract.FinishInput) {
			in.Plan, in.Register, in.Update = nil, nil, nil
			in.Error = lambdaError("BadInput", "bad input: action: unknown action")
		}, contract.TerminalFailed, "BadInput: bad input: action: unknown action"},
		{"container not found at register", func(in *contract.FinishInput) {
			in.Register, in.Update = nil, nil
			in.Error = lambdaError("ContainerNotFound", "container \"x\" not found")
		}, contract.TerminalFailed, "ContainerNotFound"},
		{"skipped", func(in *contract.FinishInput) {
			in.Plan.Payload.Action, in.Plan.Payload.Reason = contract.ActionSkip, "service already runs it"
			in.Register, in.Update = nil, nil
		}, contract.TerminalSkipped, "service already runs it"},
		{"circuit breaker, rolled back", func(in *contract.FinishInput) {
			in.Outcome = outcomeOf(contract.StatusFailed, "circuit-breaker", td(41))
			in.Undo = &contract.Result[contract.UpdateResult]{Payload: contract.UpdateResult{TaskDefinitionArn: td(41), Unchanged: true}}
			in.UndoOutcome = outcomeOf(contract.StatusCompleted, "completed", td(41))
		}, contract.TerminalRolledBack, "circuit-breaker: circuit-breaker reason; rolled back to " + td(41)},
		{"alarm during bake, rolled back", func(in *contract.FinishInput) {
			in.Outcome = completed
			in.Bake = outcomeOf(contract.StatusFailed, "alarm", td(42))
			in.Undo = &contract.Result[contract.UpdateResult]{Payload: contract.UpdateResult{TaskDefinitionArn: td(40)}}
			in.UndoOutcome = outcomeOf(contract.StatusCompleted, "completed", td(40))
		}, contract.TerminalRolledBack, "alarm: alarm reason"},
		{"rollback failed", func(in *contract.FinishInput) {
			in.Outcome = outcomeOf(contract.StatusFailed, "timeout", td(42))
			in.Undo = &contract.Result[contract.UpdateResult]{Payload: contract.UpdateResult{TaskDefinitionArn: td(40)}}
			in.UndoError = lambdaError("Internal", "boom")
		}, contract.TerminalFailed, "rollback failed: Internal: boom"},
		{"watch crashed, rolled back", func(in *contract.FinishInput) {
			in.Error = lambdaError("Internal", "describe alarms: boom")
			in.Undo = &contract.Result[contract.UpdateResult]{Payload: contract.UpdateResult{TaskDefinitionArn: td(40)}}
			in.UndoOutcome = outcomeOf(contract.StatusCompleted, "completed", td(40))
		}, contract.TerminalRolledBack, "Internal: describe alarms: boom"},
		{"update rejected, service unchanged", func(in *contract.FinishInput) {
			in.Update = nil
			in.Error = lambdaError("Internal", "update service web: InvalidParameterException")
			in.Undo = &contract.Result[contract.UpdateResult]{Payload: contract.UpdateResult{TaskDefinitionArn: td(41), Unchanged: true}}
			in.UndoOutcome = outcomeOf(contract.StatusCompleted, "completed", td(41))
		}, contract.TerminalFailed, "left unchanged"},
		{"superseded at update", func(in *contract.FinishInput) {
			in.Update = nil
			in.Error = lambdaError("Superseded", "lease taken over")
		}, contract.TerminalSuperseded, "lease taken over"},
		{"superseded during the wait", func(in *contract.FinishInput) {
			in.Outcome = outcomeOf(contract.StatusSuperseded, "superseded", td(43))
		}, contract.TerminalSuperseded, "superseded reason"},
		{"superseded during the rollback", func(in *contract.FinishInput) {
			in.Outcome = outcomeOf(contract.StatusFailed, "alarm", td(42))
			in.UndoError = lambdaError("Superseded", "lease taken over")
		}, contract.TerminalSuperseded, "lease taken over"},
		{"manual rollback", func(in *contract.FinishInput) {
			in.Plan.Payload.Action = contract.ActionRollback
			in.Outcome = outcomeOf(contract.StatusCompleted, "completed", td(40))
		}, contract.TerminalRolledBack, "rolled back to " + td(40)},
		{"manual rollback that failed", func(in *contract.FinishInput) {
			in.Plan.Payload.Action = contract.ActionRollback
			in.Outcome = outcomeOf(contract.StatusFailed, "circuit-breaker", td(41))
		}, contract.TerminalFailed, "rollback did not complete"},
		{"ecs rolled back on its own", func(in *contract.FinishInput) {
			in.Outcome = outcomeOf(contract.StatusFailed, "ecs-rollback", td(41))
			in.Undo = &contract.Result[contract.UpdateResult]{Payload: contract.UpdateResult{TaskDefinitionArn: td(41), Unchanged: true}}
			in.UndoOutcome = outcomeOf(contract.StatusCompleted, "completed", td(41))
		}, contract.TerminalRolledBack, "ecs-rollback"},
		// No rollback over an operator's change: the state machine goes
		// straight to finish.
		{"changed outside pushdeploy during the rollout", func(in *contract.FinishInput) {
			in.Outcome = outcomeOf(contract.StatusFailed, contract.CauseChangedOutside, td(39))
		}, contract.TerminalFailed, "changed-outside: changed-outside reason"},
		{"changed outside pushdeploy during the bake", func(in *contract.FinishInput) {
			in.Outcome = completed
			in.Bake = outcomeOf(contract.StatusFailed, contract.CauseChangedOutside, td(39))
		}, contract.TerminalFailed, "changed-outside: changed-outside reason"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, reason := Verdict(doc(w, tt.edit))
			if status != tt.status || !strings.Contains(reason, tt.reason) {
				t.Errorf("got %s %q, want %s containing %q", status, reason, tt.status, tt.reason)
			}
		})
	}
}

func (w *world) finish(t *testing.T) *FinishHandler {
	h, err := NewFinish(FinishDeps{History: w.history, Leases: w.leases, SFN: w.sfn, Notifier: w.notifier, Cleaner: w.cleaner, Clock: w.clk, Log: w.log, KeepRevisions: 5})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestFinishSucceeded(t *testing.T) {
	w := newWorld(t)
	// td(30) was registered by an earlier deploy of web; td(31) by someone else.
	w.cleaner.drop = []string{td(30), td(31)}
	l := w.history.ledgers[webArn]
	l.Apply(ledger.Change{Execution: "old", At: t0.Add(-2 * time.Hour), Marks: []ledger.Mark{{Revision: td(30), Status: ledger.StatusBad, Registered: true}}})
	w.history.ledgers[webArn] = l
	w.clk.Advance(20 * time.Minute)
	in := doc(w, func(in *contract.FinishInput) {
		in.Outcome = outcomeOf(contract.StatusCompleted, "completed", td(42))
		in.Bake = outcomeOf(contract.StatusCompleted, "baked", td(42))
	})
	h := w.finish(t)
	res, err := h.Handle(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != contract.TerminalSucceeded || !res.Notified || !res.LeaseReleased || len(res.Deregistered) != 1 {
		t.Errorf("result %+v", res)
	}
	if len(w.history.records) != 1 {
		t.Fatalf("%d records", len(w.history.records))
	}
	r := w.history.records[0]
	want := history.Record{Service: webArn, Cluster: "prod", ServiceName: "web", ExecutionARN: execArn, Action: "deploy", Trigger: "manual",
		StartedBy: "alice", Images: []history.Image{{Container: "app", Image: registry + "/web@" + digestNew, Tag: "v42", Digest: digestNew}},
		FromRevision: td(41), ToRevision: td(42), DeployedRevision: td(42), Outcome: history.Succeeded, StartedAt: t0, FinishedAt: t0.Add(20 * time.Minute)}
	r.Reason = ""
	r.LastGoodBefore = ""
	if cmpRecord(r, want) != "" {
		t.Errorf("record: %s", cmpRecord(r, want))
	}
	if lg, _ := w.history.ledgers[webArn].LastGood(); lg.Revision != td(42) || lg.Execution != execArn {
		t.Errorf("last good %+v", lg)
	}
	if w.leases.state[webArn].Holder != "" || len(w.notifier.published) != 1 {
		t.Errorf("lease %+v, %d events", w.leases.state[webArn], len(w.notifier.published))
	}
	if got := w.cleaner.calls[0]; strings.Join(got[:2], " ") != "web 5" || !slices.Contains(got[2:], td(42)) {
		t.Errorf("cleanup %v", got)
	}
	if !slices.Equal(res.Deregistered, []string{td(30)}) {
		t.Errorf("deregistered %v, want only the revision web's deploys registered", res.Deregistered)
	}
	if _, ok := w.history.ledgers[webArn].Get(td(30)); ok {
		t.Error("the deregistered revision is still in the ledger")
	}
	// Retried (e.g. the response was lost): still one record.
	if _, err := h.Handle(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	if len(w.history.records) != 1 || w.history.puts != 2 {
		t.Errorf("%d records after retry", len(w.history.records))
	}
}

func TestFinishSupersededLeavesLeaseAndRevisions(t *testing.T) {
	w := newWorld(t)
	in := doc(w, func(in *contract.FinishInput) {
		in.Outcome = outcomeOf(contract.StatusSuperseded, "superseded", td(43))
	})
	w.supersede()
	res, err := w.finish(t).Handle(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != contract.TerminalSuperseded || res.LeaseReleased || len(w.cleaner.calls) != 0 {
		t.Errorf("result %+v, cleanup %v", res, w.cleaner.calls)
	}
	if w.leases.state[webArn].Holder != "newer" {
		t.Error("released someone else's lease")
	}
	if len(w.history.records) != 1 || w.history.records[0].Outcome != history.Superseded {
		t.Errorf("records %+v", w.history.records)
	}
}

func TestFinishBadInputRecordsTheService(t *testing.T) {
	w := newWorld(t)
	in := contract.FinishInput{
		Execution: contract.Execution{ID: execArn, StartTime: t0},
		Input:     json.RawMessage(`{"action":"destroy","cluster":"prod","service":"web"}`),
		Error:     lambdaError("BadInput", "bad input: action: unknown action \"destroy\""),
	}
	res, err := w.finish(t).Handle(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != contract.TerminalFailed || res.LeaseReleased || w.ecs.mutations() != 0 {
		t.Errorf("result %+v", res)
	}
	r := w.history.records[0]
	if r.Service != webArn || r.Outcome != history.Failed || !strings.Contains(r.Reason, "unknown action") {
		t.Errorf("record %+v", r)
	}
	// The lease of another execution is untouched.
	w.leases.state[webArn] = coord.State{Holder: "other", Seq: 1, Until: t0.Add(time.Hour)}
	if _, err := w.finish(t).Handle(context.Background(), contract.FinishInput{Execution: contract.Execution{ID: execArn + "-2", StartTime: t0}, Input: in.Input, Error: in.Error}); err != nil {
		t.Fatal(err)
	}
	if w.leases.state[webArn].Holder != "other" {
		t.Error("lease released")
	}
}

func TestFinishNeedsExecution(t *testing.T) {
	w := newWorld(t)
	_, err := w.finish(t).Handle(context.Background(), contract.FinishInput{Input: json.RawMessage(`{}`)})
	if errName(err) != "BadInput" {
		t.Fatalf("err %v", err)
	}
}

func cmpRecord(got, want history.Record) string {
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if string(g) != string(w) {
		return "\n got " + string(g) + "\nwant " + string(w)
	}
	return ""
}

// A plan that passed on the input's facts spares finish the second read of
// the input: the record is the same, with no DescribeExecution.
func TestFinishUsesThePlansFactsOfTheInput(t *testing.T) {
	w := newWorld(t)
	in := doc(w, func(in *contract.FinishInput) {
		in.Plan.Payload.Action, in.Plan.Payload.Reason = contract.ActionSkip, "service already runs it"
		in.Plan.Payload.Started = &contract.Started{Action: "deploy", By: "alice"}
		in.Update, in.Register = nil, nil
	})
	if _, err := w.finish(t).Handle(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	if w.sfn.described != 0 {
		t.Errorf("%d DescribeExecution, want none", w.sfn.described)
	}
	if len(w.history.records) != 1 {
		t.Fatalf("%d records", len(w.history.records))
	}
	r := w.history.records[0]
	if r.Action != "deploy" || r.StartedBy != "alice" || r.Trigger != string(in.Plan.Payload.Trigger) || r.Outcome != history.Skipped {
		t.Errorf("record action %q, startedBy %q, trigger %q, outcome %s", r.Action, r.StartedBy, r.Trigger, r.Outcome)
	}
}

// Cleanup lists the family only when the service's ledger holds a revision
// it registered that is not sure to be kept (the one deployed, the one
// replaced, the newest good ones): a first deploy has nothing to list.
func TestFinishCleanupListsOnlyWhenSomethingCouldGo(t *testing.T) {
	w := newWorld(t)
	w.cleaner.drop = []string{td(30)}
	in := doc(w, func(in *contract.FinishInput) {
		in.Outcome = outcomeOf(contract.StatusCompleted, "completed", td(42))
		in.Bake = outcomeOf(contract.StatusCompleted, "baked", td(42))
	})
	res, err := w.finish(t).Handle(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != contract.TerminalSucceeded || len(w.cleaner.calls) != 0 || len(res.Deregistered) != 0 {
		t.Errorf("status %s, cleanup calls %v, deregistered %v: want no listing", res.Status, w.cleaner.calls, res.Deregistered)
	}
}

// TestFinishStartsPromotions: a SUCCEEDED deploy starts its followers'
// deploys once (a retried finish finds them started); a follower that
// cannot be found does not fail the finish; a deploy rolled back promotes
// nothing.
func TestFinishStartsPromotions(t *testing.T) {
	for _, tt := range []struct {
		name     string
		baked    contract.Status
		findErr  error
		promoted int
	}{
		{"succeeded", contract.StatusCompleted, nil, 1},
		{"followers unreadable", contract.StatusCompleted, errors.New("throttled"), 0},
		{"rolled back", contract.StatusFailed, nil, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			dr, err := target.Parse("arn:aws:ecs:us-east-1:123456789012:service/dr/web",
				map[string]string{target.TagRepository: "web", target.TagTags: "v*", target.TagAfter: "prod/web"}, target.Defaults{Timeout: time.Minute})
			if err != nil {
				t.Fatal(err)
			}
			f := &fakeFollowers{err: tt.findErr, disc: target.Discovery{Targets: []target.Target{
				{ClusterName: "dr", ServiceName: "web", ServiceARN: "arn:aws:ecs:us-east-1:123456789012:service/dr/web", Config: dr}}}}
			pr, err := NewPromoter(PromoterDeps{Followers: f, Triggers: w.triggers, SFN: w.sfn, Settings: Settings{StateMachineArn: smArn, Account: account, Region: region}, Log: w.log})
			if err != nil {
				t.Fatal(err)
			}
			h, err := NewFinish(FinishDeps{History: w.history, Leases: w.leases, SFN: w.sfn, Notifier: w.notifier, Cleaner: w.cleaner, Clock: w.clk, Log: w.log, Promoter: pr})
			if err != nil {
				t.Fatal(err)
			}
			in := doc(w, func(in *contract.FinishInput) {
				in.Outcome = outcomeOf(contract.StatusCompleted, "completed", td(42))
				in.Bake = outcomeOf(tt.baked, "alarm", td(42))
				if tt.baked == contract.StatusFailed {
					in.Undo = &contract.Result[contract.UpdateResult]{Payload: contract.UpdateResult{TaskDefinitionArn: td(41)}}
					in.UndoOutcome = outcomeOf(contract.StatusCompleted, "completed", td(41))
				}
			})
			for range 2 { // the second is a retried finish
				res, err := h.Handle(context.Background(), in)
				if err != nil {
					t.Fatal(err)
				}
				if len(res.Promoted) != tt.promoted || len(w.sfn.started) != tt.promoted || len(w.history.records) != 1 {
					t.Fatalf("%s: promoted %+v, %d started, %d records", res.Status, res.Promoted, len(w.sfn.started), len(w.history.records))
				}
			}
			if tt.promoted > 0 && f.leader != webArn {
				t.Errorf("followers of %q", f.leader)
			}
		})
	}
}
