package statemachine

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/pushdeploy/pushdeploy/internal/app/contract"
)

//go:generate go run ./gen

// The definition is generated from this file (go generate ./statemachine
// writes deploy.asl.json; TestGenerated fails when the checked-in file is
// stale). It is Go rather than Step Functions Variables (Assign) because
// what repeated in the hand-written JSON was policy and shape, not data:
// one retry policy, one catch rule per error class, three wait phases of
// one pattern. A Go value says each once and derives the names from
// internal/app/contract; Variables would still repeat every Retry and
// Catch block and the local engine does not run them.

// Policy is the one Retry policy of every Lambda task, by error class: the
// handlers' own errors (contract.ClassOf) and the Lambda service's.
//
// Throttling is retried long enough to queue behind a whole fan-out: one
// push to 500 services registers 500 task definitions through ECS's "Task
// definition modify actions" bucket (20, refilled at 1 per second), so the
// last of them waits about 8 minutes; UpdateService's bucket (50, 5 per
// second) drains in under 2. The retries are spread with FULL jitter (a
// uniform draw in [0, delay]) so that executions throttled together do not
// come back together, and capped at 60 s so that a refilled token is
// taken within a minute. Budget, 60 attempts: delays capped at 2, 4, 8,
// 16, 32 and then 60 s; on average half of that, about 28 minutes in all
// (55 draws of 30 s), at most 56; 55 uniform draws sum to under 8 minutes
// with a probability below 1e-18. The state machine waits, not the
// function: no Lambda time is billed while queueing. A throttled call
// changed nothing (AWS refuses it before acting), so the retry re-runs the
// task: Update's lease check and Intend come again before UpdateService,
// and only an outcome of the rollout, never a throttle, judges the image.
var Policy = []Retrier{throttled, transient}

var (
	throttleNames  = append(contract.NamesOf(contract.Throttle), "Lambda.TooManyRequestsException")
	transientNames = append(contract.NamesOf(contract.Transient),
		"Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.SdkClientException", "Lambda.Unknown")
	throttled = Retrier{ErrorEquals: throttleNames, IntervalSeconds: 2, MaxAttempts: 60, BackoffRate: 2.0,
		MaxDelaySeconds: 60, JitterStrategy: "FULL"}
	transient = Retrier{ErrorEquals: transientNames, IntervalSeconds: 1, MaxAttempts: 4, BackoffRate: 2.0}
)

// finishPolicy is finish's: it is idempotent (the record is written once)
// and the only step that writes the record, so it retries transient errors
// (a cancelled transaction) longer than any task (about 3 minutes) and
// retries Internal too: its history transaction can lose a race with
// another execution's and succeed again. Throttling: the one rule.
var finishPolicy = []Retrier{
	throttled,
	{ErrorEquals: transientNames, IntervalSeconds: 1, MaxAttempts: 10, BackoffRate: 2.0, MaxDelaySeconds: 30},
	{ErrorEquals: contract.NamesOf(contract.Unexpected), IntervalSeconds: 5, MaxAttempts: 3, BackoffRate: 2.0},
}

// Retrier is one Retry rule.
type Retrier struct {
	ErrorEquals     []string `json:"ErrorEquals"`
	IntervalSeconds int      `json:"IntervalSeconds"`
	MaxAttempts     int      `json:"MaxAttempts"`
	BackoffRate     float64  `json:"BackoffRate"`
	// MaxDelaySeconds caps the backoff (0: no cap).
	MaxDelaySeconds int `json:"MaxDelaySeconds,omitempty"`
	// JitterStrategy FULL draws each delay from [0, delay]; "" is NONE.
	JitterStrategy string `json:"JitterStrategy,omitempty"`
}

// MarshalJSON keeps BackoffRate a float (2.0) as Step Functions documents it.
func (r Retrier) MarshalJSON() ([]byte, error) {
	names, err := json.Marshal(r.ErrorEquals)
	if err != nil {
		return nil, err
	}
	cap := ""
	if r.MaxDelaySeconds > 0 {
		cap = fmt.Sprintf(`,"MaxDelaySeconds":%d`, r.MaxDelaySeconds)
	}
	if r.JitterStrategy != "" {
		cap += fmt.Sprintf(`,"JitterStrategy":%q`, r.JitterStrategy)
	}
	return fmt.Appendf(nil, `{"ErrorEquals":%s,"IntervalSeconds":%d,"MaxAttempts":%d,"BackoffRate":%.1f%s}`,
		names, r.IntervalSeconds, r.MaxAttempts, r.BackoffRate, cap), nil
}

// Catcher is one Catch rule.
type Catcher struct {
	ErrorEquals []string `json:"ErrorEquals"`
	ResultPath  string   `json:"ResultPath"`
	Next        string   `json:"Next"`
}

// Rule is one Choice rule (a comparison, or And of comparisons).
type Rule struct {
	Comment            string `json:"Comment,omitempty"`
	And                []Rule `json:"And,omitempty"`
	Variable           string `json:"Variable,omitempty"`
	StringEquals       string `json:"StringEquals,omitempty"`
	NumericGreaterThan *int   `json:"NumericGreaterThan,omitempty"`
	Next               string `json:"Next,omitempty"`
}

// State is one state, its fields in the order the console shows them.
type State struct {
	Type               string    `json:"Type"`
	Comment            string    `json:"Comment,omitempty"`
	Resource           string    `json:"Resource,omitempty"`
	Parameters         any       `json:"Parameters,omitempty"`
	ResultSelector     any       `json:"ResultSelector,omitempty"`
	TimeoutSecondsPath string    `json:"TimeoutSecondsPath,omitempty"`
	ResultPath         string    `json:"ResultPath,omitempty"`
	Retry              []Retrier `json:"Retry,omitempty"`
	Catch              []Catcher `json:"Catch,omitempty"`
	Choices            []Rule    `json:"Choices,omitempty"`
	Default            string    `json:"Default,omitempty"`
	OutputPath         string    `json:"OutputPath,omitempty"`
	ErrorPath          string    `json:"ErrorPath,omitempty"`
	CausePath          string    `json:"CausePath,omitempty"`
	Next               string    `json:"Next,omitempty"`
}

// Named is a state and its name.
type Named struct {
	Name string
	State
}

// Machine is a state machine whose states keep their order.
type Machine struct {
	Comment string
	StartAt string
	States  []Named
}

// MarshalJSON writes the states in order (a map would sort them).
func (m Machine) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	head, err := json.Marshal(map[string]string{"Comment": m.Comment})
	if err != nil {
		return nil, err
	}
	b.Write(head[:len(head)-1])
	fmt.Fprintf(&b, `,"StartAt":%q,"States":{`, m.StartAt)
	for i, s := range m.States {
		if i > 0 {
			b.WriteByte(',')
		}
		body, err := json.Marshal(s.State)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(&b, "%q:%s", s.Name, body)
	}
	b.WriteString("}}")
	return b.Bytes(), nil
}

// obj is a JSON object of Parameters (the json package sorts its keys).
type obj = map[string]any

const (
	invoke = "arn:aws:states:::lambda:invoke"
	wait   = "arn:aws:states:::lambda:invoke.waitForTaskToken"

	finish = "Finish"
	undo   = "Undo"
)

// task is a Lambda task with the one retry policy: fn gets payload and its
// result's Payload lands at result.
func task(comment, fn string, payload obj, result string, next string, catch ...Catcher) State {
	return State{
		Type: "Task", Comment: comment, Resource: invoke,
		Parameters:     obj{"FunctionName": "${" + fn + "FunctionArn}", "Payload": payload},
		ResultSelector: obj{"Payload.$": "$.Payload"},
		ResultPath:     result, Retry: Policy, Catch: catch, Next: next,
	}
}

// on catches errors of the given names, keeping the error at path.
func on(path, next string, names ...string) Catcher {
	return Catcher{ErrorEquals: names, ResultPath: path, Next: next}
}

// deployCatch is where a failure goes once the service may have changed:
// an execution that lost the lease finishes, any other failure is undone.
func deployCatch() []Catcher {
	return []Catcher{on("$.error", finish, contract.NamesOf(contract.Lost)...), on("$.error", undo, "States.ALL")}
}

// phase is one wait: park on a task token for the phase's whole window
// (the deadline travels with the token in the lease, so a wake-up that
// does not decide leaves the wait as it is), then one look if the window
// passes without a decision.
type phase struct {
	phase         contract.Phase
	wait, check   string // state names
	waitComment   string
	checkComment  string
	window        string // TimeoutSecondsPath: the phase's whole window
	update, since string // paths of the update the phase watches and when it began
	result        string // where the outcome lands
	catch         []Catcher
	next          string // after the outcome
}

func (p phase) states() []Named {
	payload := obj{"phase": string(p.phase), "plan.$": "$.plan.Payload", "update.$": p.update, "since.$": p.since}
	waitPayload := obj{"token.$": "$$.Task.Token"}
	for k, v := range payload {
		waitPayload[k] = v
	}
	checkPayload := obj{"timedOut": true}
	for k, v := range payload {
		checkPayload[k] = v
	}
	w := State{
		Type: "Task", Comment: p.waitComment, Resource: wait,
		Parameters:         obj{"FunctionName": "${WatchFunctionArn}", "Payload": waitPayload},
		TimeoutSecondsPath: p.window, ResultPath: p.result, Retry: Policy,
		Catch: append([]Catcher{on("$.timeout", p.check, "States.Timeout")}, p.catch...),
		Next:  p.next,
	}
	return []Named{
		{p.wait, w},
		{p.check, task(p.checkComment, "Check", checkPayload, p.result, p.next, p.catch...)},
	}
}

func is(path, value, next string) Rule { return Rule{Variable: path, StringEquals: value, Next: next} }

// Build returns the deployment state machine.
func Build() Machine {
	zero := 0
	status := func(path string, s contract.Status, next string) Rule {
		return is(path+".Payload.status", string(s), next)
	}
	cause := func(path string, c contract.Cause, next string) Rule {
		return is(path+".Payload.cause", string(c), next)
	}

	// What a decided rollout or bake outcome at path leads to.
	decision := func(path string, completed []Rule, rest ...Rule) State {
		rules := []Rule{status(path, contract.StatusSuperseded, finish)}
		rules = append(rules, completed...)
		rules = append(rules,
			cause(path, contract.CauseReplaced, "Update"),
			cause(path, contract.CauseChangedOutside, finish))
		return State{Type: "Choice", Choices: append(rules, rest...), Default: undo}
	}

	rollout := phase{
		phase: contract.PhaseRollout, wait: "WaitRollout", check: "CheckRollout",
		waitComment:  "Wait for the outcome for the whole deploy timeout: watch looks once; ECS deployment events (events) and alarms (dispatch) judge it and wake the wait only when it is decided.",
		checkComment: "Safety net: one look after the deploy timeout (undecided is a timeout).",
		window:       "$.plan.Payload.timeoutSeconds",
		update:       "$.update.Payload", since: "$.update.Payload.startedAt",
		result: "$.outcome", catch: deployCatch(), next: "RolloutDecision",
	}
	bake := phase{
		phase: contract.PhaseBake, wait: "Bake", check: "CheckBake",
		waitComment:  "Watch the alarms for the bake window; an alarm (dispatch) or a takeover ends it early.",
		checkComment: "The bake window passed: a final look at the alarms and the revision.",
		window:       "$.plan.Payload.bakeSeconds",
		update:       "$.update.Payload", since: "$.outcome.Payload.checkedAt",
		result: "$.bake", catch: deployCatch(), next: "BakeDecision",
	}
	undoCatch := []Catcher{on("$.undoError", finish, "States.ALL")}
	undoWait := phase{
		phase: contract.PhaseUndo, wait: "WaitUndo", check: "CheckUndo",
		waitComment:  "Wait until the undo deployment is stable, for the deploy timeout.",
		checkComment: "Safety net: one look after the undo's timeout.",
		window:       "$.plan.Payload.timeoutSeconds",
		update:       "$.undo.Payload", since: "$.undo.Payload.startedAt",
		result: "$.undoOutcome", catch: undoCatch, next: finish,
	}
	toFinish := on("$.error", finish, "States.ALL")

	var states []Named
	add := func(name string, s State) { states = append(states, Named{name, s}) }
	add("Init", State{
		Type:       "Pass",
		Comment:    "Build the state document from the execution identity only: the input may be 256 KiB itself, so no state carries it (plan and finish read it with DescribeExecution) and the document's size does not depend on it.",
		Parameters: obj{"execution": obj{"id.$": "$$.Execution.Id", "name.$": "$$.Execution.Name", "startTime.$": "$$.Execution.StartTime"}},
		Next:       "Plan",
	})
	add("Plan", task("Validate the input, describe the service, choose action and revisions, take the lease.",
		"Plan", obj{"execution.$": "$.execution"}, "$.plan", "Route", toFinish))
	add("Route", State{Type: "Choice", Choices: []Rule{
		is("$.plan.Payload.action", string(contract.ActionSkip), finish),
		{Comment: "Lifting a quarantine changes the ledger only: finish writes it with the record.",
			Variable: "$.plan.Payload.action", StringEquals: string(contract.ActionRelease), Next: finish},
		{Comment: "pushdeploy:approval=required: a push or promotion waits for a person before anything changes.",
			Variable: "$.plan.Payload.approvalSeconds", NumericGreaterThan: &zero, Next: "Approval"},
	}, Default: "Register"})
	add("Approval", State{
		Type:     "Task",
		Comment:  "Wait for pushdeploy approve (SendTaskSuccess: who, when) for the approval window: watch parks the token in the lease and publishes Deployment Approval Requested; no event or alarm judges it. A reject (ApprovalRejected), a newer execution (Superseded) or the window's end (States.Timeout) go to Finish: nothing changed, nothing to undo.",
		Resource: wait,
		Parameters: obj{"FunctionName": "${WatchFunctionArn}", "Payload": obj{
			"token.$": "$$.Task.Token", "phase": string(contract.PhaseApproval), "plan.$": "$.plan.Payload", "since.$": "$$.State.EnteredTime"}},
		TimeoutSecondsPath: "$.plan.Payload.approvalSeconds", ResultPath: "$.approval", Retry: Policy,
		Catch: []Catcher{toFinish},
		Next:  "Register",
	})
	add("Register", task("Copy the current task definition with the new image pinned by digest; redeploy and rollback get the plan's revision back, nothing registered.",
		"Register", obj{"plan.$": "$.plan.Payload"}, "$.register", "Update", toFinish))
	add("Update", task("Update the service (checks the lease first and after); any failure from here on is undone. Also re-applies the revision when a wait finds the service replaced under the lease (cause replaced).",
		"Update", obj{"plan.$": "$.plan.Payload", "taskDefinitionArn.$": "$.register.Payload.taskDefinitionArn", "purpose": string(contract.PurposeDeploy)},
		"$.update", rollout.wait, deployCatch()...))
	states = append(states, rollout.states()...)
	add("RolloutDecision", decision("$.outcome", []Rule{
		{And: []Rule{
			{Variable: "$.outcome.Payload.status", StringEquals: string(contract.StatusCompleted)},
			{Variable: "$.plan.Payload.bakeSeconds", NumericGreaterThan: &zero},
		}, Next: bake.wait},
		status("$.outcome", contract.StatusCompleted, finish),
	}, Rule{Comment: "A rollback execution that failed has nowhere to go back to.",
		Variable: "$.plan.Payload.action", StringEquals: string(contract.ActionRollback), Next: finish}))
	states = append(states, bake.states()...)
	add("BakeDecision", decision("$.bake", []Rule{status("$.bake", contract.StatusCompleted, finish)}))
	add(undo, State{
		Type:     "Task",
		Comment:  "Undo the failed deploy: back to the last good revision (no UpdateService when ECS already put it back).",
		Resource: invoke,
		Parameters: obj{"FunctionName": "${UpdateFunctionArn}", "Payload": obj{
			"plan.$": "$.plan.Payload", "taskDefinitionArn.$": "$.plan.Payload.undoTaskDefinitionArn", "purpose": string(contract.PurposeUndo)}},
		ResultSelector: obj{"Payload.$": "$.Payload"},
		ResultPath:     "$.undo", Retry: Policy, Catch: undoCatch, Next: undoWait.wait,
	})
	states = append(states, undoWait.states()...)
	add(finish, State{
		Type:     "Task",
		Comment:  "Exactly one history record, the notification, release the lease, clean up. finishedAt is Step Functions' clock, the clock of the start time, so a record's duration never mixes clocks.",
		Resource: invoke,
		Parameters: obj{"FunctionName": "${FinishFunctionArn}", "Payload": obj{
			"document.$": "$", "finishedAt.$": "$$.State.EnteredTime"}},
		ResultSelector: obj{"Payload.$": "$.Payload"},
		ResultPath:     "$.finish", Retry: finishPolicy,
		Catch: []Catcher{on("$.finishError", "FinishFailed", "States.ALL")},
		Next:  "Done",
	})
	var succeed []Rule // the terminal statuses that fail no execution
	for _, t := range contract.Terminals {
		if t.ExecutionError() == "" {
			succeed = append(succeed, is("$.finish.Payload.status", string(t), "Succeeded"))
		}
	}
	add("Done", State{Type: "Choice", Choices: succeed, Default: "Failed"})
	add("FinishFailed", State{
		Type:       "Pass",
		Comment:    "Finish failed after its retries: no history record was written; the lease expires on its own.",
		Parameters: obj{"Payload": obj{"error": "FinishFailed", "reason": "The finish step failed after its retries: no history record was written; the lease expires on its own."}},
		ResultPath: "$.finish",
		Next:       "Failed",
	})
	add("Succeeded", State{Type: "Succeed", OutputPath: "$.finish.Payload"})
	add("Failed", State{
		Type:      "Fail",
		Comment:   "RolledBack, DeploymentFailed (both named by finish) or FinishFailed.",
		ErrorPath: "$.finish.Payload.error", CausePath: "$.finish.Payload.reason",
	})
	return Machine{
		Comment: "pushdeploy: deploy one ECS service (push, manual or alarm trigger), wait for the real outcome, bake, roll back, finish. Payloads: internal/app/contract. Generated by statemachine/definition.go (go generate ./statemachine): do not edit.",
		StartAt: "Init",
		States:  states,
	}
}

// Generate returns deploy.asl.json's content.
func Generate() ([]byte, error) {
	b, err := json.Marshal(Build())
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		return nil, err
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}
