package contract

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Action is what an execution does to its service.
type Action string

const (
	// ActionDeploy deploys a new image: register a task definition copied from
	// the current one with the image replaced, update, wait, bake.
	ActionDeploy Action = "deploy"
	// ActionRollback updates the service to the last good (or a given) revision.
	ActionRollback Action = "rollback"
	// ActionRedeploy starts new tasks of the current revision.
	ActionRedeploy Action = "redeploy"
	// ActionRelease lifts the quarantine of a digest (Digest) on the
	// service, so that pushes of it deploy again.
	ActionRelease Action = "release"
	// ActionSkip is chosen by plan when nothing should happen; the reason is
	// in Plan.Reason and the execution ends SKIPPED.
	ActionSkip Action = "skip"
)

// Trigger says who or what started an execution.
type Trigger string

const (
	TriggerPush   Trigger = "push"   // ECR push, started by dispatch
	TriggerAlarm  Trigger = "alarm"  // CloudWatch alarm, started by dispatch
	TriggerManual Trigger = "manual" // operator (console, CLI); the default
	// TriggerPromotion: a follower's deploy of a digest that passed its
	// bake on the service its pushdeploy:after names, started by that
	// service's finish.
	TriggerPromotion Trigger = "promotion"
)

// Automatic reports whether t is a push or a promotion: a deploy nobody
// asked for by hand, held back by quarantines, tag policies, freezes and
// the promotion gate.
func (t Trigger) Automatic() bool { return t == TriggerPush || t == TriggerPromotion }

// ExecutionInput is the state machine's execution input, for all triggers.
// See the package doc for the manual forms.
type ExecutionInput struct {
	Action  Action `json:"action"`
	Cluster string `json:"cluster"`
	Service string `json:"service"`
	// Image is an image reference: repository URI with ":tag" or "@sha256:...".
	Image string `json:"image,omitempty"`
	// Digest ("sha256:...") selects an image of the repository the service
	// follows (its pushdeploy:repository tag).
	Digest string `json:"digest,omitempty"`
	// Revision is the rollback target: a task definition ARN, "family:revision"
	// or a revision number of the service's family. Empty: the last good one.
	Revision string `json:"revision,omitempty"`
	// Containers overrides the pushdeploy:containers tag for a deploy.
	Containers []string `json:"containers,omitempty"`
	// Force deploys a quarantined digest, or rolls back to a revision the
	// service was rolled back from (manual executions only; recorded).
	Force       bool              `json:"force,omitempty"`
	Reason      string            `json:"reason,omitempty"`
	RequestedBy string            `json:"requestedBy,omitempty"`
	Trigger     Trigger           `json:"trigger,omitempty"`
	Push        *PushTrigger      `json:"push,omitempty"`
	Alarm       *AlarmTrigger     `json:"alarm,omitempty"`
	Promotion   *PromotionTrigger `json:"promotion,omitempty"`
}

// PromotionTrigger describes the deploy whose success started a
// follower's deploy of the same digest (TriggerPromotion).
type PromotionTrigger struct {
	// From is the leader, "<cluster>/<service>" (the follower's pushdeploy:after).
	From string `json:"from"`
	// Execution is the leader's execution ARN that SUCCEEDED.
	Execution string `json:"execution"`
	// Tag is the image tag the leader deployed ("" for a deploy by digest).
	Tag string `json:"tag,omitempty"`
}

// PushTrigger describes the ECR push that started an execution.
type PushTrigger struct {
	EventID    string    `json:"eventId"`
	Account    string    `json:"account"`
	Region     string    `json:"region"`
	Repository string    `json:"repository"`
	Tag        string    `json:"tag"`
	Digest     string    `json:"digest"`
	Time       time.Time `json:"time"`
}

// AlarmTrigger describes the alarm that started a rollback execution.
type AlarmTrigger struct {
	EventID   string    `json:"eventId"`
	AlarmName string    `json:"alarmName"`
	AlarmArn  string    `json:"alarmArn"`
	Reason    string    `json:"reason,omitempty"`
	Time      time.Time `json:"time"`
	// TaskDefinitionArn is the revision the service ran when the alarm fired:
	// the culprit. Plan skips if the service no longer runs it.
	TaskDefinitionArn string `json:"taskDefinitionArn"`
}

// DecodeExecutionInput decodes an execution input strictly: unknown fields,
// trailing data and wrong types are BadInput.
func DecodeExecutionInput(raw []byte) (ExecutionInput, error) {
	var in ExecutionInput
	if err := DecodeStrict(raw, &in); err != nil {
		return ExecutionInput{}, &BadInput{Field: "input", Reason: err.Error()}
	}
	return in, nil
}

// DecodeStrict unmarshals one JSON value into v, rejecting unknown fields,
// duplicate object keys at any depth (encoding/json would keep the last one
// silently) and trailing data. Its messages never quote more than
// maxQuoted bytes of the input.
func DecodeStrict(raw []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if len(err.Error()) > maxMessage {
			// An unknown field's name is quoted whole: it may be most of the input.
			return errors.New(clip(err.Error(), maxMessage))
		}
		return err
	}
	if dec.More() {
		return fmt.Errorf("unexpected data after the JSON value")
	}
	return duplicateKeys(raw)
}

// DuplicateKeyError is a JSON object that has the same key twice.
type DuplicateKeyError struct {
	Key  string
	Path string // the enclosing object's keys from the top, dotted; "" at the top
}

func (e *DuplicateKeyError) Error() string {
	if e.Path == "" {
		return fmt.Sprintf("duplicate key %q", clip(e.Key, maxQuoted))
	}
	return fmt.Sprintf("duplicate key %q in %q", clip(e.Key, maxQuoted), clip(e.Path, maxQuoted))
}

// duplicateKeys walks the first JSON value of raw, already decoded once so
// known to be valid, and reports the first key that appears twice in one
// object.
func duplicateKeys(raw []byte) error {
	type frame struct {
		keys    map[string]bool // nil for an array
		path    string
		lastKey string
		wantKey bool
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil
		}
		var top *frame
		if n := len(stack); n > 0 {
			top = stack[n-1]
		}
		if top != nil && top.keys != nil && top.wantKey {
			if k, ok := tok.(string); ok {
				if top.keys[k] {
					return &DuplicateKeyError{Key: k, Path: top.path}
				}
				top.keys[k], top.lastKey, top.wantKey = true, k, false
				continue
			}
		}
		if top != nil && top.keys != nil {
			top.wantKey = true // a value was read: a key or '}' follows
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			path := ""
			switch {
			case top == nil:
			case top.keys != nil:
				path = strings.TrimPrefix(top.path+"."+top.lastKey, ".")
			default:
				path = top.path + "[]"
			}
			f := &frame{path: path}
			if tok == json.Delim('{') {
				f.keys, f.wantKey = map[string]bool{}, true
			}
			stack = append(stack, f)
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			if len(stack) == 0 {
				return nil
			}
			if p := stack[len(stack)-1]; p.keys != nil {
				p.wantKey = true
			}
		}
		if len(stack) == 0 {
			return nil // a scalar
		}
	}
}

// Execution identifies the running execution (from the context object).
type Execution struct {
	ID        string    `json:"id"` // execution ARN
	Name      string    `json:"name"`
	StartTime time.Time `json:"startTime"`
}

// Result is how the lambda:invoke integration's output is kept in the state
// document (ResultSelector {"Payload.$": "$.Payload"}). Task-token waits send
// their output in the same shape, so every step reads $.<step>.Payload.
type Result[T any] struct {
	Payload T `json:"Payload"`
}

// TaskError is what a Catch stores (ResultPath $.error): the error name (Go
// type name or States.*) and its cause.
type TaskError struct {
	Error string `json:"Error"`
	Cause string `json:"Cause"`
}

// PlanInput is the plan function's payload.
type PlanInput struct {
	Execution Execution `json:"execution"`
	// Input is the raw execution input; plan validates it strictly. The
	// state machine leaves it out (it may be 256 KiB, more than fits in a
	// payload beside anything else): plan then reads it with
	// DescribeExecution.
	Input json.RawMessage `json:"input,omitempty"`
}

// Image is a container image pinned by digest.
type Image struct {
	// Repository is the repository URI: registry host + "/" + name.
	Repository string `json:"repository"`
	Tag        string `json:"tag,omitempty"`
	Digest     string `json:"digest"`
}

// Ref returns the pinned reference written into task definitions.
func (i Image) Ref() string { return i.Repository + "@" + i.Digest }

// Plan is the plan function's result: what this execution will do. Fields the
// state machine reads by path (action, targetTaskDefinitionArn,
// undoTaskDefinitionArn, bakeSeconds, timeoutSeconds) are always present:
// a missing path is a States.Runtime error that no Catch handles.
type Plan struct {
	// ExecutionArn is the execution this plan belongs to (for logs, records).
	ExecutionArn string  `json:"executionArn"`
	Action       Action  `json:"action"`
	Trigger      Trigger `json:"trigger"`
	// Reason explains a skip, or carries the operator's/alarm's reason.
	Reason     string `json:"reason,omitempty"`
	Cluster    string `json:"cluster"`
	Service    string `json:"service"`
	ServiceArn string `json:"serviceArn,omitempty"`
	// Image is the image to deploy (deploy only).
	Image *Image `json:"image,omitempty"`
	// Containers get the image (deploy only).
	Containers []string `json:"containers,omitempty"`
	// CurrentTaskDefinitionArn is the service's revision at plan time.
	CurrentTaskDefinitionArn string `json:"currentTaskDefinitionArn,omitempty"`
	// TargetTaskDefinitionArn is the revision to update to, known at plan
	// time for redeploy and rollback; empty for deploy (register makes it).
	TargetTaskDefinitionArn string `json:"targetTaskDefinitionArn"`
	// UndoTaskDefinitionArn is where a failed deploy goes back to: the last
	// good revision, or the revision before this deploy when none is recorded.
	UndoTaskDefinitionArn string `json:"undoTaskDefinitionArn"`
	// LastGoodTaskDefinitionArn is the service's last good revision at plan
	// time ("" if none recorded), kept in the history record.
	LastGoodTaskDefinitionArn string `json:"lastGoodTaskDefinitionArn,omitempty"`
	// Alarms are watched during rollout and bake.
	Alarms []string `json:"alarms,omitempty"`
	// BakeSeconds is the bake window after the rollout; 0 skips the bake.
	// With an ECS bake (ECSBakeSeconds) it is what is left of
	// pushdeploy:bake after ECS's: the two compose, never double.
	BakeSeconds int `json:"bakeSeconds"`
	// Strategy is the service's ECS deployment strategy (ROLLING,
	// BLUE_GREEN, LINEAR, CANARY); ECSBakeSeconds its bakeTimeInMinutes,
	// which ECS spends inside the deployment with the old revision still
	// running.
	Strategy       string `json:"strategy,omitempty"`
	ECSBakeSeconds int    `json:"ecsBakeSeconds,omitempty"`
	// TimeoutSeconds bounds each wait for a rollout (safety-net poll after).
	// At least 1 unless Action is skip (TimeoutSecondsPath needs a positive
	// integer).
	TimeoutSeconds int `json:"timeoutSeconds"`
	// ApprovalSeconds > 0: the deploy waits that long for an approval
	// before Register (pushdeploy:approval=required; push and promotion
	// deploys only). Always present: Route reads it.
	ApprovalSeconds int `json:"approvalSeconds"`
	// ImageChanges are the deploy's image changes, per container, for the
	// approval request's diff (only when ApprovalSeconds > 0).
	ImageChanges []ImageChange `json:"imageChanges,omitempty"`
	// LeaseOwner is the lease holder (this execution) when a lease was taken.
	LeaseOwner string `json:"leaseOwner,omitempty"`
	// Superseded names the execution this one took the lease from, if any.
	Superseded string `json:"superseded,omitempty"`
	// Forced: the operator overrode a quarantine or a bad revision.
	Forced bool `json:"forced,omitempty"`
	// Warnings are problems that do not stop the execution but that its
	// record must show (an alarm in pushdeploy:alarms that does not exist).
	Warnings []string `json:"warnings,omitempty"`
	// Started is what the record needs of the execution input beyond the
	// plan, so that finish need not read the input again (bounded: the
	// input itself is kept out of the state document).
	Started *Started `json:"started,omitempty"`
}

// Started is the execution input's bounded facts for its record: the action
// asked for (a skip's record names it) and who or what started it.
type Started struct {
	Action string `json:"action"`
	By     string `json:"by,omitempty"`
}

// StartedOf returns the record's facts of an execution input, clipped to
// the input's limits.
func StartedOf(action, requestedBy, alarmName, pushEventID string, alarm, push bool) Started {
	st := Started{Action: Clip(action, 64)}
	switch {
	case requestedBy != "":
		st.By = Clip(requestedBy, MaxRequestedByBytes)
	case alarm:
		st.By = "alarm " + Clip(alarmName, MaxNameBytes)
	case push:
		st.By = "ecr event " + Clip(pushEventID, 64)
	}
	return st
}

// RegisterInput is the register function's payload.
type RegisterInput struct {
	Plan Plan `json:"plan"`
}

// RegisterResult is the register function's result. For redeploy and
// rollback it is the plan's target revision, Registered false (nothing
// registered, no AWS call).
type RegisterResult struct {
	TaskDefinitionArn string        `json:"taskDefinitionArn"`
	Registered        bool          `json:"registered"`
	Images            []ImageChange `json:"images,omitempty"`
}

// ImageChange is one container whose image register replaced.
type ImageChange struct {
	Container string `json:"container"`
	From      string `json:"from"`
	To        string `json:"to"`
}

// Purpose says why update is called.
type Purpose string

const (
	PurposeDeploy Purpose = "deploy" // the plan's action (deploy, redeploy, rollback)
	PurposeUndo   Purpose = "undo"   // undoing a failed deploy (not a rollback execution)
)

// UpdateInput is the update function's payload.
type UpdateInput struct {
	Plan              Plan    `json:"plan"`
	TaskDefinitionArn string  `json:"taskDefinitionArn"`
	Purpose           Purpose `json:"purpose"`
}

// UpdateResult is the update function's result.
type UpdateResult struct {
	PreviousTaskDefinitionArn string `json:"previousTaskDefinitionArn"`
	TaskDefinitionArn         string `json:"taskDefinitionArn"`
	// DeploymentID is the ECS deployment the update started ("" if Unchanged).
	DeploymentID string    `json:"deploymentId,omitempty"`
	StartedAt    time.Time `json:"startedAt"`
	// Unchanged: the service already ran the target revision; no UpdateService.
	Unchanged bool `json:"unchanged,omitempty"`
	// ServiceDeploymentArn is ECS's service deployment that the update
	// started (the service's currentServiceDeployment), or, for an undo,
	// the one ECS rolls back; "" where ECS reports none.
	ServiceDeploymentArn string `json:"serviceDeploymentArn,omitempty"`
	// NativeRollback: the undo stopped the deploy's service deployment
	// with StopServiceDeployment (ROLLBACK) while it was in progress,
	// instead of updating the service to the undo revision.
	NativeRollback bool `json:"nativeRollback,omitempty"`
}

// Phase is what a wait is waiting for.
type Phase string

const (
	PhaseRollout Phase = "rollout" // the deployment's outcome
	PhaseBake    Phase = "bake"    // alarms during the bake window
	PhaseUndo    Phase = "undo"    // the undo deployment's outcome (undoing a failed deploy)
	// PhaseApproval: an operator's answer (pushdeploy approve/reject)
	// before anything changes; no ECS event or alarm judges it.
	PhaseApproval Phase = "approval"
)

// Approval is what pushdeploy approve sends to a parked approval wait
// (SendTaskSuccess, Result[Approval] at $.approval): who approved, when.
type Approval struct {
	ApprovedBy string    `json:"approvedBy"`
	ApprovedAt time.Time `json:"approvedAt"`
}

// ErrorApprovalRejected is the error pushdeploy reject fails an approval
// wait with (SendTaskFailure; its cause "rejected by <arn>: <reason>"):
// the Approval state's Catch sends it to Finish, which records SKIPPED.
// A failure, not a success, so that no Choice state is needed to keep a
// rejected deploy from Register.
const ErrorApprovalRejected = "ApprovalRejected"

// ErrorSuperseded is the error a newer execution fails a superseded
// execution's approval wait with: nothing was done, it finishes SUPERSEDED.
const ErrorSuperseded = "Superseded"

// WatchInput is the watch function's payload (lambda:invoke.waitForTaskToken).
// Watch stores the token in the service's lease and checks once: when the
// outcome is already decided it sends it (Result[Outcome]) with
// SendTaskSuccess. Otherwise the token stays in the lease with the wait
// (phase, plan, update, since and the phase's deadline, coord.Wait): the
// events function, on an ECS deployment event for the service, and
// dispatch, on an alarm of the service (the one alarm path), judge it with
// the evaluator check uses and send the outcome only when decided; an
// undecided event leaves the wait parked. Plan sends SUPERSEDED to the wait
// of an execution it takes the lease from. The wait's TimeoutSeconds is the
// phase's whole window, set once; when it passes, check with timedOut true
// decides (an unfinished rollout is a timeout).
type WatchInput struct {
	Token string `json:"token"`
	Phase Phase  `json:"phase"`
	Plan  Plan   `json:"plan"`
	// Update is the update the phase watches (none for an approval).
	Update UpdateResult `json:"update,omitzero"`
	// Since is when the phase began: the bake starts when the rollout was
	// seen complete ($.outcome.Payload.checkedAt); rollout and rollback start
	// at Update.StartedAt (Since may be zero for them); an approval when its
	// state was entered.
	Since time.Time `json:"since"`
}

// WatchResult is what the watch function returns (Step Functions ignores it
// for token tasks; it is logged).
type WatchResult struct {
	Stored  bool   `json:"stored"`
	Decided bool   `json:"decided"`
	Status  Status `json:"status"`
}

// CheckInput is the check function's payload: one look, after a wait's
// window passed (the state machine always sets TimedOut).
type CheckInput struct {
	Phase  Phase        `json:"phase"`
	Plan   Plan         `json:"plan"`
	Update UpdateResult `json:"update"`
	Since  time.Time    `json:"since"` // as in WatchInput
	// TimedOut: the wait hit its TimeoutSeconds (rollout: the deploy timeout;
	// bake: the normal end of the bake window).
	TimedOut bool `json:"timedOut"`
}

// Status is an outcome's verdict.
type Status string

const (
	// StatusInProgress: not decided yet. From check after a rollout wait timed
	// out, it means the deploy timed out.
	StatusInProgress Status = "IN_PROGRESS"
	// StatusCompleted: rollout completed on the target revision (rollout,
	// rollback) or the bake window passed with no alarm (bake).
	StatusCompleted Status = "COMPLETED"
	// StatusFailed: circuit breaker, ECS rolled back on its own (stable on
	// another revision), an alarm, or a rollout that stopped.
	StatusFailed Status = "FAILED"
	// StatusSuperseded: another execution holds the service's lease.
	StatusSuperseded Status = "SUPERSEDED"
)

// Cause is a short machine-readable word for why an outcome was reached,
// the same in package outcome's verdicts, the state document and the
// records' reasons.
type Cause string

const (
	CauseInProgress     Cause = "in-progress"
	CauseCompleted      Cause = "completed"       // rollout completed on the expected revision
	CauseBaked          Cause = "baked"           // bake window passed with no alarm
	CauseCircuitBreaker Cause = "circuit-breaker" // ECS deployment circuit breaker failed the rollout
	CauseECSRollback    Cause = "ecs-rollback"    // ECS rolled back (deployment alarms, or rollback) to the previous revision
	CauseRolloutFailed  Cause = "rollout-failed"  // rollout FAILED for another reason
	CauseTasksFailing   Cause = "tasks-failing"   // too many tasks failed to start
	CauseAlarm          Cause = "alarm"           // an alarm of the service is in ALARM
	CauseTimeout        Cause = "timeout"         // the rollout did not complete in time
	CauseSuperseded     Cause = "superseded"      // someone else's deployment replaced ours
	CauseServiceGone    Cause = "service-gone"    // the service is not ACTIVE any more
)

// CauseReplaced is the Cause of a FAILED outcome seen by the lease holder
// when the service runs a revision that a superseded execution's update
// put there late: one it announced before its attempt (coord.Store.Intend,
// inherited by Acquire) or marked after landing (MarkLateUpdate).
// The state machine routes it back to Update, which re-applies the
// execution's revision after checking the lease.
const CauseReplaced Cause = "replaced"

// CauseChangedOutside is the Cause of a FAILED outcome seen by the lease
// holder when the service runs a revision nobody in pushdeploy put there
// (an operator's update-service during the deploy). The execution leaves
// the service as it is: no re-apply, no rollback; it finishes FAILED.
const CauseChangedOutside Cause = "changed-outside"

// CauseCancelled is the Cause of a FAILED outcome an operator's cancel
// (pushdeploy cancel) woke a deploy's wait with: undone like any failure,
// recorded ROLLED_BACK "cancelled by <who>", the revision not held bad.
const CauseCancelled = "cancelled"

// Outcome is the result of a wait (sent by events/watch) or of check.
type Outcome struct {
	Status Status `json:"status"`
	Cause  Cause  `json:"cause"`
	Reason string `json:"reason"`
	// TaskDefinitionArn is the service's primary revision when decided.
	TaskDefinitionArn string `json:"taskDefinitionArn,omitempty"`
	RolloutState      string `json:"rolloutState,omitempty"`
	Alarm             string `json:"alarm,omitempty"`
	FailedTasks       int    `json:"failedTasks,omitempty"`
	// ServiceDeploymentStatus and LifecycleStage are the ECS service
	// deployment's when judged by it.
	ServiceDeploymentStatus string    `json:"serviceDeploymentStatus,omitempty"`
	LifecycleStage          string    `json:"lifecycleStage,omitempty"`
	CheckedAt               time.Time `json:"checkedAt"`
}

// Decided reports whether the outcome ends a wait.
func (o Outcome) Decided() bool { return o.Status != StatusInProgress }

// FinishInput is the whole state document (see the package doc).
type FinishInput struct {
	Execution Execution `json:"execution"`
	// Input is the raw execution input in documents of executions started
	// before the state machine stopped carrying it; otherwise finish reads
	// it with DescribeExecution, and bounds what it keeps.
	Input       json.RawMessage         `json:"input,omitempty"`
	Plan        *Result[Plan]           `json:"plan,omitempty"`
	Approval    *Result[Approval]       `json:"approval,omitempty"`
	Register    *Result[RegisterResult] `json:"register,omitempty"`
	Update      *Result[UpdateResult]   `json:"update,omitempty"`
	Outcome     *Result[Outcome]        `json:"outcome,omitempty"`
	Bake        *Result[Outcome]        `json:"bake,omitempty"`
	Undo        *Result[UpdateResult]   `json:"undo,omitempty"`
	UndoOutcome *Result[Outcome]        `json:"undoOutcome,omitempty"`
	Error       *TaskError              `json:"error,omitempty"`
	// Timeout is the last wait that timed out (its Catch keeps the document).
	Timeout   *TaskError `json:"timeout,omitempty"`
	UndoError *TaskError `json:"undoError,omitempty"`
	// Clock is the document's finish time in executions started before the
	// Finish state passed it beside the document (FinishRequest).
	Clock *FinishClock `json:"clock,omitempty"`
}

// FinishRequest is the finish function's payload: the whole state document
// and when the execution reached Finish ($$.State.EnteredTime, the clock
// that also gave its start time, so a record's duration never mixes the
// orchestrator's and a function's clocks). A payload of an execution
// started with the earlier definition is the document itself (its fields
// inline, with Clock).
type FinishRequest struct {
	Document   *FinishInput `json:"document,omitempty"`
	FinishedAt time.Time    `json:"finishedAt,omitzero"`
	// The earlier shape: the document itself.
	*FinishInput
}

// Doc is the state document, with FinishedAt as its Clock.
func (r FinishRequest) Doc() FinishInput {
	var in FinishInput
	switch {
	case r.Document != nil:
		in = *r.Document
	case r.FinishInput != nil:
		in = *r.FinishInput
	}
	if !r.FinishedAt.IsZero() {
		in.Clock = &FinishClock{FinishedAt: r.FinishedAt}
	}
	return in
}

// FinishClock is when the execution reached finish, on the clock that also
// gave its start time ($$.State.EnteredTime), so a record's duration never
// mixes the orchestrator's and a function's clocks.
type FinishClock struct {
	FinishedAt time.Time `json:"finishedAt"`
}

// Terminal is an execution's terminal status, written once to the history.
type Terminal string

const (
	TerminalSucceeded  Terminal = "SUCCEEDED"
	TerminalRolledBack Terminal = "ROLLED_BACK"
	TerminalFailed     Terminal = "FAILED"
	TerminalSuperseded Terminal = "SUPERSEDED"
	TerminalSkipped    Terminal = "SKIPPED"
)

// Valid reports whether t is one of the five terminal statuses.
func (t Terminal) Valid() bool {
	switch t {
	case TerminalSucceeded, TerminalRolledBack, TerminalFailed, TerminalSuperseded, TerminalSkipped:
		return true
	}
	return false
}

// Terminals lists every terminal status.
var Terminals = []Terminal{TerminalSucceeded, TerminalRolledBack, TerminalFailed, TerminalSuperseded, TerminalSkipped}

// ExecutionError is the error an execution that ends with t fails with (the
// Fail state's ErrorPath reads it from FinishResult.Error): "" for the
// statuses that succeed the execution.
func (t Terminal) ExecutionError() string {
	switch t {
	case TerminalSucceeded, TerminalSkipped, TerminalSuperseded:
		return ""
	case TerminalRolledBack:
		return "RolledBack"
	}
	return "DeploymentFailed"
}

// FinishResult is the finish function's result; the Done choice routes on
// Status (SUCCEEDED, SKIPPED and SUPERSEDED succeed the execution, ROLLED_BACK
// and FAILED fail it, with Error and Reason as the execution's error and
// cause).
type FinishResult struct {
	Status Terminal `json:"status"`
	// Error is Status.ExecutionError(): RolledBack or DeploymentFailed, absent
	// when the execution succeeds.
	Error   string `json:"error,omitempty"`
	Reason  string `json:"reason"`
	Cluster string `json:"cluster,omitempty"`
	Service string `json:"service,omitempty"`
	Image   *Image `json:"image,omitempty"`
	// FromTaskDefinitionArn is what ran before; ToTaskDefinitionArn what runs now.
	FromTaskDefinitionArn string   `json:"fromTaskDefinitionArn,omitempty"`
	ToTaskDefinitionArn   string   `json:"toTaskDefinitionArn,omitempty"`
	Deregistered          []string `json:"deregistered,omitempty"`
	Notified              bool     `json:"notified"`
	LeaseReleased         bool     `json:"leaseReleased"`
	// Promoted are the followers' deploys of the digest this deploy's
	// success started (pushdeploy:after).
	Promoted []StartedExecution `json:"promoted,omitempty"`
}
