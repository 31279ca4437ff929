package handler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/pushdeploy/pushdeploy/internal/app/awsapi"
	"github.com/pushdeploy/pushdeploy/internal/app/clock"
	"github.com/pushdeploy/pushdeploy/internal/app/contract"
	"github.com/pushdeploy/pushdeploy/internal/app/history"
	"github.com/pushdeploy/pushdeploy/internal/app/ledger"
	"github.com/pushdeploy/pushdeploy/internal/app/taskdef"
)

// FinishDeps are the finish function's dependencies.
type FinishDeps struct {
	History       History
	Leases        Leases
	SFN           awsapi.SFN // reads the execution's input (DescribeExecution)
	Notifier      Notifier
	Cleaner       Cleaner
	Clock         clock.Clock
	Log           *slog.Logger
	KeepRevisions int // 0 disables cleanup
	// Promoter starts the followers' deploys of a digest that SUCCEEDED
	// (promote.go); nil: none.
	Promoter *Promoter
}

// FinishHandler ends every execution, whatever path it took: it decides the
// terminal status from the state document, writes exactly one history
// record, publishes the Deployment State Change event, releases the lease
// (unless superseded) and deregisters old revisions. It is safe to retry:
// a second run finds the record and goes on with the rest.
type FinishHandler struct{ d FinishDeps }

// NewFinish returns the finish handler.
func NewFinish(d FinishDeps) (*FinishHandler, error) {
	if d.History == nil || d.Leases == nil || d.SFN == nil || d.Notifier == nil || d.Cleaner == nil || d.Clock == nil || d.Log == nil {
		return nil, fmt.Errorf("finish: %w", errMissing)
	}
	return &FinishHandler{d: d}, nil
}

// HandleRequest finishes the execution of the Finish state's payload.
func (h *FinishHandler) HandleRequest(ctx context.Context, r contract.FinishRequest) (contract.FinishResult, error) {
	return h.Handle(ctx, r.Doc())
}

// Handle finishes one execution.
func (h *FinishHandler) Handle(ctx context.Context, in contract.FinishInput) (contract.FinishResult, error) {
	if in.Execution.ID == "" || in.Execution.StartTime.IsZero() {
		return contract.FinishResult{}, &contract.BadInput{Field: "execution", Reason: "id and startTime are required"}
	}
	raw, err := h.input(ctx, in)
	if err != nil {
		return contract.FinishResult{}, err
	}
	status, reason := Verdict(in)
	rec := record(in, raw, status, reason)
	rec.FinishedAt = h.d.Clock.Now().UTC()
	if in.Clock != nil && !in.Clock.FinishedAt.IsZero() {
		rec.FinishedAt = in.Clock.FinishedAt.UTC()
	}
	res := contract.FinishResult{
		Status: status, Error: status.ExecutionError(), Reason: reason, Cluster: rec.Cluster, Service: rec.ServiceName,
		FromTaskDefinitionArn: rec.FromRevision, ToTaskDefinitionArn: rec.ToRevision,
	}
	var p contract.Plan
	if in.Plan != nil {
		p = in.Plan.Payload
		res.Image = p.Image
	}
	log := h.d.Log.With("cluster", rec.Cluster, "service", rec.ServiceName, "execution", in.Execution.ID)
	if p.Image != nil {
		log = log.With("digest", p.Image.Digest)
	}

	fin := finished(in, status, rec)
	release := p.LeaseOwner != "" && status != contract.TerminalSuperseded
	written, err := h.write(ctx, rec, func(l ledger.Ledger) ledger.Change { return l.ChangeOf(fin) }, release, p)
	applied, released := written.Change, written.Also
	var dup *history.DuplicateRecordError
	switch {
	case errors.As(err, &dup):
		log.InfoContext(ctx, "record already written (retried finish)")
	case err != nil:
		return res, boundary("write history record", err)
	default:
		if !applied.Empty() {
			log.InfoContext(ctx, "ledger", "marks", applied.Marks, "quarantined", applied.Quarantine, "released", applied.Release)
		}
	}
	if err := h.d.Notifier.Publish(ctx, rec); err != nil {
		return res, boundary("publish deployment event", err)
	}
	res.Notified = true

	if released {
		res.LeaseReleased = true
	} else if release {
		if err := h.d.Leases.Release(ctx, p.ServiceArn, p.LeaseOwner); err != nil {
			// Superseded or never held: it is not ours to release.
			log.WarnContext(ctx, "lease not released", "error", err)
		} else {
			res.LeaseReleased = true
		}
	}
	if h.d.KeepRevisions > 0 && p.LeaseOwner != "" && (status == contract.TerminalSucceeded || status == contract.TerminalRolledBack) && rec.ToRevision != "" {
		var own *history.Written
		if err == nil && written.Ledger.Service != "" {
			own = &written // as just written: not read again
		}
		res.Deregistered = h.cleanup(ctx, log, rec, own)
	}
	if h.d.Promoter != nil && Promotes(status, p) {
		// After the record and the lease: a promotion never fails the leader.
		var problems []string
		res.Promoted, problems = h.d.Promoter.Start(ctx, p)
		for _, pb := range problems {
			log.WarnContext(ctx, "promotion not started", "problem", pb)
		}
	}
	log.InfoContext(ctx, "finished", "status", status, "reason", reason, "from", rec.FromRevision, "to", rec.ToRevision, "deregistered", len(res.Deregistered))
	return res, nil
}

// leaseReleaser writes the lease's release as an item of a transaction
// (*coord.Store).
type leaseReleaser interface {
	ReleaseWrite(service, holder string) (ddbtypes.TransactWriteItem, error)
}

// historyWithWrite writes the record and ledger with one more item in the
// same transaction (*history.Store).
type historyWithWrite interface {
	FinishWith(ctx context.Context, r history.Record, change func(ledger.Ledger) ledger.Change, also *ddbtypes.TransactWriteItem) (history.Written, error)
}

// historyForgetIn forgets revisions from the ledger FinishWith wrote,
// without reading it again (*history.Store).
type historyForgetIn interface {
	ForgetIn(ctx context.Context, w history.Written, revisions []string) error
}

// write writes the record and the ledger change and, when release is set
// and the stores can, the lease's release in the same transaction: one call
// for the three. Written.Also says whether the lease was released with
// them; if not, the caller releases it on its own (its condition failed, or
// the stores cannot), which also says why. Written.Ledger is the ledger as
// written, when the stores say.
func (h *FinishHandler) write(ctx context.Context, rec history.Record, change func(ledger.Ledger) ledger.Change, release bool, p contract.Plan) (history.Written, error) {
	hw, okH := h.d.History.(historyWithWrite)
	lr, okL := h.d.Leases.(leaseReleaser)
	if !okH || !okL {
		c, err := h.d.History.Finish(ctx, rec, change)
		return history.Written{Change: c}, err
	}
	var also *ddbtypes.TransactWriteItem
	if release {
		if item, err := lr.ReleaseWrite(p.ServiceArn, p.LeaseOwner); err == nil {
			also = &item
		}
	}
	return hw.FinishWith(ctx, rec, change, also)
}

// input returns the execution's raw input, which names the service and who
// started the execution (the state document carries only plan's bounded
// facts of it, when plan succeeded: then it is not read). A
// throttled or transient failure is retried by the state machine; any
// other leaves the record to what the plan knows, rather than no record.
func (h *FinishHandler) input(ctx context.Context, in contract.FinishInput) (json.RawMessage, error) {
	if len(in.Input) > 0 {
		return in.Input, nil
	}
	if in.Plan != nil && in.Plan.Payload.Started != nil {
		return nil, nil // plan passed on what the record needs of it
	}
	raw, err := executionInput(ctx, h.d.SFN, in.Execution.ID)
	var throttled *contract.Throttled
	var retryable *contract.Retryable
	if errors.As(err, &throttled) || errors.As(err, &retryable) {
		return nil, err
	}
	if err != nil {
		h.d.Log.WarnContext(ctx, "execution input not read: the record names what the plan knows", "execution", in.Execution.ID, "error", err)
	}
	return raw, nil
}

// cleanup deregisters old revisions of the family that this service's
// deploys registered; a failure is logged, not fatal: the deploy's outcome
// does not depend on it and the next deploy tries again. Protected, for
// every service whose revisions are of the family: what it runs or
// deploys, its KeepRevisions+1 newest good revisions (the one it runs, the
// KeepRevisions a rollback goes back to; one more, so a rollback right
// after the deploy still finds KeepRevisions of them),
// and the revisions its lease holder announced. When the protection cannot
// be read in full, nothing is deregistered. What is deregistered leaves the
// ledger, so rollbacks go to the newest good revision that still exists.
func (h *FinishHandler) cleanup(ctx context.Context, log *slog.Logger, rec history.Record, written *history.Written) []string {
	rev, err := taskdef.ParseRevision(rec.ToRevision)
	if err != nil {
		log.WarnContext(ctx, "cleanup skipped", "error", err)
		return nil
	}
	// Only what this service's deploys registered: never a revision a
	// person, another tool or another service registered.
	var own ledger.Ledger
	if written != nil {
		own = written.Ledger
	} else if own, err = h.d.History.Ledger(ctx, rec.Service); err != nil {
		log.WarnContext(ctx, "cleanup skipped", "error", err)
		return nil
	}
	ours := own.Registered()
	// What is sure to be protected (below) is never deregistered: when that
	// is all this service registered, there is nothing to list.
	sure := append(own.GoodNewest(max(h.d.KeepRevisions, 1)+1), rec.ToRevision, rec.FromRevision)
	if !slices.ContainsFunc(ours, func(o string) bool {
		return !slices.ContainsFunc(sure, func(p string) bool { return ledger.Same(o, p) })
	}) {
		return nil
	}
	candidates, err := h.d.Cleaner.Candidates(ctx, rev.Family, h.d.KeepRevisions)
	if err != nil || len(candidates) == 0 {
		if err != nil {
			log.WarnContext(ctx, "cleanup skipped", "error", err)
		}
		return nil
	}
	candidates = slices.DeleteFunc(candidates, func(c string) bool {
		return !slices.ContainsFunc(ours, func(o string) bool { return ledger.Same(o, c) })
	})
	if len(candidates) == 0 {
		return nil
	}
	protect, err := h.protected(ctx, rev.Family, rec, own)
	if err != nil {
		log.WarnContext(ctx, "cleanup skipped", "error", err)
		return nil
	}
	done, err := h.d.Cleaner.Deregister(ctx, candidates, protect)
	if err != nil {
		log.WarnContext(ctx, "cleanup incomplete", "error", err, "deregistered", len(done))
	}
	// The ledger forgets them: it never holds as good what ECS cannot run.
	forget := func() error { return h.d.History.Forget(ctx, rec.Service, done) }
	if fi, ok := h.d.History.(historyForgetIn); ok && written != nil {
		forget = func() error { return fi.ForgetIn(ctx, *written, done) }
	}
	if err := forget(); err != nil {
		log.WarnContext(ctx, "deregistered revisions left in the ledger", "error", err, "revisions", done)
	}
	return done
}

// protected is what cleanup keeps, for every service of the family; own is
// rec's service's ledger, already read.
func (h *FinishHandler) protected(ctx context.Context, family string, rec history.Record, own ledger.Ledger) ([]string, error) {
	services, err := h.d.History.JoinFamily(ctx, family, rec.Service)
	if err != nil {
		return nil, err
	}
	protect, err := h.d.Cleaner.InUse(ctx, services)
	if err != nil {
		return nil, err
	}
	protect = append(protect, rec.ToRevision, rec.FromRevision)
	for _, svc := range services {
		l := own
		if svc != rec.Service {
			if l, err = h.d.History.Ledger(ctx, svc); err != nil {
				return nil, err
			}
		}
		st, err := h.d.Leases.Get(ctx, svc)
		if err != nil {
			return nil, err
		}
		protect = append(append(append(protect, l.GoodNewest(max(h.d.KeepRevisions, 1)+1)...), st.Pending...), st.LateUpdates...)
	}
	return protect, nil
}

// finished is what the ledger needs of the execution.
func finished(in contract.FinishInput, status contract.Terminal, rec history.Record) ledger.Finished {
	f := ledger.Finished{
		Execution: in.Execution.ID, Started: rec.StartedAt, At: rec.FinishedAt, Action: rec.Action, Outcome: string(status), Reason: rec.Reason,
		From: rec.FromRevision, Deployed: rec.DeployedRevision, To: rec.ToRevision,
		Undone:    in.Update != nil && (in.Undo != nil || in.UndoError != nil),
		Changed:   in.Update != nil,
		Cancelled: cancelled(in),
	}
	if in.Plan == nil {
		return f
	}
	p := in.Plan.Payload
	f.Action, f.Forced = string(p.Action), p.Forced
	if p.Image != nil {
		f.Digest = p.Image.Digest
	}
	if f.Deployed == "" {
		f.Deployed = p.TargetTaskDefinitionArn
	}
	return f
}

// undoPath is how the Undo states went back (history.Undo*), "" if they
// did not run.
func undoPath(in contract.FinishInput) string {
	u := payload(in.Undo)
	switch {
	case u == nil:
		return ""
	case u.NativeRollback:
		return history.UndoStopped
	case u.Unchanged && in.Update != nil:
		return history.UndoByECS
	case u.Unchanged:
		return ""
	}
	return history.UndoUpdated
}

var undoHow = map[string]string{
	history.UndoStopped: " by ECS (StopServiceDeployment ROLLBACK)",
	history.UndoByECS:   " by ECS",
	history.UndoUpdated: " (UpdateService)",
}

// Verdict decides an execution's terminal status and a reason for people
// from its state document.
func Verdict(in contract.FinishInput) (contract.Terminal, string) {
	if why, ok := superseded(in); ok {
		return contract.TerminalSuperseded, why
	}
	if in.Plan == nil {
		return contract.TerminalFailed, errorReason(in.Error, "the execution failed before planning")
	}
	p := in.Plan.Payload
	switch p.Action {
	case contract.ActionSkip:
		return contract.TerminalSkipped, p.Reason
	case contract.ActionRelease:
		return contract.TerminalSucceeded, p.Reason
	}
	if why, ok := notApproved(in); ok {
		return contract.TerminalSkipped, why
	}
	if p.Action == contract.ActionRollback {
		// A rollback execution: its own rollout is the result.
		if in.Error != nil {
			return contract.TerminalFailed, errorReason(in.Error, "rollback failed")
		}
		if o := payload(in.Outcome); o != nil && o.Status == contract.StatusCompleted {
			return contract.TerminalRolledBack, "rolled back to " + o.TaskDefinitionArn + why(p.Reason)
		}
		return contract.TerminalFailed, "rollback did not complete: " + outcomeReason(payload(in.Outcome), in.Timeout)
	}
	cause := failureCause(in)
	if in.Update == nil && in.Undo != nil && in.Undo.Payload.Unchanged && in.UndoError == nil {
		// Update failed before changing the service, and the rollback
		// found it as it was: nothing was deployed, nothing rolled back.
		return contract.TerminalFailed, cause + "; the service was left unchanged on " + in.Undo.Payload.TaskDefinitionArn
	}
	if in.Undo != nil || in.UndoError != nil {
		if o := payload(in.UndoOutcome); o != nil && o.Status == contract.StatusCompleted && in.UndoError == nil {
			return contract.TerminalRolledBack, cause + "; rolled back to " + o.TaskDefinitionArn + undoHow[undoPath(in)]
		}
		return contract.TerminalFailed, cause + "; rollback failed: " + rollbackFailure(in)
	}
	if in.Error != nil {
		// Failed before the service was updated: nothing changed.
		return contract.TerminalFailed, errorReason(in.Error, "failed")
	}
	o := payload(in.Outcome)
	if o == nil || o.Status != contract.StatusCompleted {
		return contract.TerminalFailed, cause
	}
	if p.BakeSeconds > 0 {
		if b := payload(in.Bake); b == nil || b.Status != contract.StatusCompleted {
			return contract.TerminalFailed, cause
		}
		return contract.TerminalSucceeded, fmt.Sprintf("%s; baked %ds with no alarm", o.Reason, p.BakeSeconds)
	}
	return contract.TerminalSucceeded, o.Reason
}

// notApproved says why a deploy that waited for an approval ended before
// Register without one: rejected (the cause names who and why) or timed
// out. Nothing changed on the service.
func notApproved(in contract.FinishInput) (string, bool) {
	p := in.Plan.Payload
	if p.ApprovalSeconds <= 0 || in.Approval != nil || in.Register != nil || in.Error == nil {
		return "", false
	}
	switch in.Error.Error {
	case contract.ErrorApprovalRejected:
		if in.Error.Cause == "" {
			return "approval rejected", true
		}
		return in.Error.Cause, true // "rejected by <who>: <why>"
	case "States.Timeout":
		return fmt.Sprintf("not approved: the approval timed out after %s", time.Duration(p.ApprovalSeconds)*time.Second), true
	}
	return "", false
}

func superseded(in contract.FinishInput) (string, bool) {
	for _, e := range []*contract.TaskError{in.Error, in.UndoError} {
		if e != nil && e.Error == "Superseded" {
			return errorReason(e, "superseded"), true
		}
	}
	for _, r := range []*contract.Result[contract.Outcome]{in.Outcome, in.Bake, in.UndoOutcome} {
		if o := payload(r); o != nil && o.Status == contract.StatusSuperseded {
			return o.Reason, true
		}
	}
	return "", false
}

// failureCause says why a deploy did not succeed (what triggered a rollback).
// cancelled reports whether an operator's cancel ended the deploy's wait.
func cancelled(in contract.FinishInput) bool {
	for _, r := range []*contract.Result[contract.Outcome]{in.Bake, in.Outcome} {
		if o := payload(r); o != nil && o.Cause == contract.CauseCancelled {
			return true
		}
	}
	return false
}

func failureCause(in contract.FinishInput) string {
	for _, r := range []*contract.Result[contract.Outcome]{in.Bake, in.Outcome} {
		if o := payload(r); o != nil && o.Status == contract.StatusFailed {
			if o.Cause == contract.CauseCancelled {
				return o.Reason // "cancelled by <who>"
			}
			return string(o.Cause) + ": " + o.Reason
		}
	}
	if in.Error != nil {
		return errorReason(in.Error, "failed")
	}
	return outcomeReason(payload(in.Outcome), in.Timeout)
}

func rollbackFailure(in contract.FinishInput) string {
	if in.UndoError != nil {
		return errorReason(in.UndoError, "error")
	}
	return outcomeReason(payload(in.UndoOutcome), in.Timeout)
}

func outcomeReason(o *contract.Outcome, timeout *contract.TaskError) string {
	switch {
	case o != nil && o.Reason != "":
		return string(o.Cause) + ": " + o.Reason
	case timeout != nil:
		return "timed out"
	}
	return "no outcome"
}

func payload[T any](r *contract.Result[T]) *T {
	if r == nil {
		return nil
	}
	return &r.Payload
}

func why(reason string) string {
	if reason == "" {
		return ""
	}
	return " (" + reason + ")"
}

// errorReason reads a Catch's error: Lambda errors carry a JSON cause with
// errorMessage; States.* errors a plain one.
func errorReason(e *contract.TaskError, fallback string) string {
	if e == nil {
		return fallback
	}
	var lambdaErr struct {
		ErrorMessage string `json:"errorMessage"`
	}
	msg := e.Cause
	if json.Unmarshal([]byte(e.Cause), &lambdaErr) == nil && lambdaErr.ErrorMessage != "" {
		msg = lambdaErr.ErrorMessage
	}
	if msg == "" {
		return e.Error
	}
	return e.Error + ": " + msg
}

// record builds the terminal history record from the state document and
// the execution's raw input.
func record(in contract.FinishInput, raw json.RawMessage, status contract.Terminal, reason string) history.Record {
	r := history.Record{
		ExecutionARN: in.Execution.ID,
		Outcome:      status,
		Reason:       reason,
		StartedAt:    in.Execution.StartTime.UTC(),
	}
	// The raw input, leniently: even a bad input names its service. It may
	// be anything up to 256 KiB: only what is within the input's limits is
	// kept, and a name over its limit is no service's name.
	var lenient struct {
		Action, Cluster, Service, RequestedBy, Trigger string
		Alarm                                          *struct{ AlarmName string }
		Push                                           *struct{ EventID string }
	}
	_ = json.Unmarshal(raw, &lenient)
	name := func(s string) string {
		if len(s) > contract.MaxNameBytes {
			return ""
		}
		return s
	}
	r.Trigger = contract.Clip(lenient.Trigger, 64)
	r.Cluster, r.ServiceName = name(lenient.Cluster), name(lenient.Service)
	var alarmName, pushEvent string
	if lenient.Alarm != nil {
		alarmName = lenient.Alarm.AlarmName
	}
	if lenient.Push != nil {
		pushEvent = lenient.Push.EventID
	}
	st := contract.StartedOf(lenient.Action, lenient.RequestedBy, alarmName, pushEvent, lenient.Alarm != nil, lenient.Push != nil)
	if in.Plan != nil && in.Plan.Payload.Started != nil {
		// Plan read the input: its facts, with no second read.
		st, r.Trigger = *in.Plan.Payload.Started, string(in.Plan.Payload.Trigger)
	}
	r.Action, r.StartedBy = st.Action, st.By
	if r.Trigger == "" {
		r.Trigger = string(contract.TriggerManual)
	}
	if in.Plan == nil {
		r.Service = serviceARN(in.Execution.ID, r.Cluster, r.ServiceName)
		return r
	}
	p := in.Plan.Payload
	r.Service, r.Cluster, r.ServiceName = p.ServiceArn, p.Cluster, p.Service
	if r.Service == "" {
		r.Service = serviceARN(in.Execution.ID, p.Cluster, p.Service)
	}
	if p.Action != contract.ActionSkip {
		r.Action = string(p.Action)
	}
	r.Forced = p.Forced
	if a := in.Approval; a != nil && a.Payload.ApprovedBy != "" {
		at := a.Payload.ApprovedAt.UTC()
		r.ApprovedBy, r.ApprovedAt = a.Payload.ApprovedBy, &at
	}
	r.Strategy = p.Strategy
	r.UndoPath = undoPath(in)
	r.FromRevision = p.CurrentTaskDefinitionArn
	r.ToRevision = p.CurrentTaskDefinitionArn
	r.LastGoodBefore = p.LastGoodTaskDefinitionArn
	r.Warnings = p.Warnings
	if in.Register != nil {
		r.DeployedRevision = in.Register.Payload.TaskDefinitionArn
		for _, c := range in.Register.Payload.Images {
			img := history.Image{Container: c.Container, Image: c.To}
			if p.Image != nil {
				img.Tag, img.Digest = p.Image.Tag, p.Image.Digest
			}
			r.Images = append(r.Images, img)
		}
	}
	// What runs now: the last revision judged on the service.
	for _, o := range []*contract.Result[contract.Outcome]{in.UndoOutcome, in.Bake, in.Outcome} {
		if v := payload(o); v != nil && v.TaskDefinitionArn != "" {
			r.ToRevision = v.TaskDefinitionArn
			break
		}
	}
	if status == contract.TerminalSucceeded && r.DeployedRevision == "" && in.Update != nil {
		r.DeployedRevision = in.Update.Payload.TaskDefinitionArn
	}
	return r
}

// serviceARN builds a service ARN from the execution ARN's region and
// account, for records of executions that failed before describing it.
func serviceARN(executionARN, cluster, service string) string {
	parts := strings.Split(executionARN, ":")
	region, account := "", ""
	if len(parts) > 4 {
		region, account = parts[3], parts[4]
	}
	if cluster == "" {
		cluster = "unknown"
	}
	if service == "" {
		service = "unknown"
	}
	return fmt.Sprintf("arn:aws:ecs:%s:%s:service/%s/%s", region, account, cluster, service)
}
