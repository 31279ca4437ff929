package coord

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/pushdeploy/pushdeploy/internal/app/contract"
)

// An approval wait (contract.PhaseApproval) is parked like any other, but
// nothing judges it: no ECS event or alarm decides whether a person wants
// the deploy. It ends four ways: approve (SendTaskSuccess with who and
// when, the deploy goes on to Register), reject (SendTaskFailure
// ApprovalRejected: finish records SKIPPED), supersede (SendTaskFailure
// Superseded, by the plan that took the lease: a newer push, or an alarm
// rollback, which may take the lease from an approval wait because nothing
// has changed on the service yet), or its own timeout (SKIPPED).

// approvingPrefix is how a parked approval wait's JSON begins: Acquire's
// condition (IfFree) matches it with begins_with, so an alarm rollback can
// take the lease from a deploy that only waits for a person. Phase is
// Wait's first JSON field (TestApprovingPrefix keeps it so).
const approvingPrefix = `{"phase":"` + string(contract.PhaseApproval) + `"`

// Approving reports whether st's holder is parked on an approval wait.
func (s State) Approving() bool {
	return s.Token != "" && s.Wait != nil && s.Wait.Phase == contract.PhaseApproval
}

// NotApprovableError: the execution has no approval wait to answer (now
// or ever).
type NotApprovableError struct {
	Execution string
	Reason    string
	// Retry: the execution may reach its approval wait soon (it is being
	// planned).
	Retry bool
}

func (e *NotApprovableError) Error() string {
	return fmt.Sprintf("execution %s has no approval to answer: %s", e.Execution, e.Reason)
}

// ApprovalOf returns the token of execution's parked approval wait, from
// the lease, or *NotApprovableError.
func ApprovalOf(st State, execution string) (string, error) {
	no := func(reason string, retry bool) (string, error) {
		return "", &NotApprovableError{Execution: execution, Reason: reason, Retry: retry}
	}
	switch {
	case st.Holder != execution:
		return no("it does not hold the service's lease (not planned yet, finished or superseded)", true)
	case st.Token == "" || st.Wait == nil:
		return no("it is not waiting (between steps, or already approved)", true)
	case st.Wait.Phase != contract.PhaseApproval:
		return no("it is past its approval, in phase "+string(st.Wait.Phase), false)
	}
	return st.Token, nil
}

// Approve answers execution's approval wait: the deploy goes on. by is the
// approver's identity, recorded with the deploy.
func (c *Coordinator) Approve(ctx context.Context, service, execution, by string) error {
	token, err := c.approvalToken(ctx, service, execution)
	if err != nil {
		return err
	}
	body, err := jsonString(contract.Result[contract.Approval]{Payload: contract.Approval{ApprovedBy: by, ApprovedAt: c.clk.Now().UTC()}})
	if err != nil {
		return err
	}
	_, err = c.sfn.SendTaskSuccess(ctx, &sfn.SendTaskSuccessInput{TaskToken: aws.String(token), Output: aws.String(body)})
	switch {
	case IsStaleToken(err):
		return timedOut(execution)
	case err != nil:
		return fmt.Errorf("send the approval: %w", err)
	}
	return nil
}

// timedOut: the wait ended on its own before the answer reached it.
func timedOut(execution string) error {
	return &NotApprovableError{Execution: execution, Reason: "its approval wait ended (timed out) before the answer reached it"}
}

// Reject fails execution's approval wait with ApprovalRejected: nothing
// changes on the service and finish records SKIPPED with the cause.
func (c *Coordinator) Reject(ctx context.Context, service, execution, by, reason string) error {
	token, err := c.approvalToken(ctx, service, execution)
	if err != nil {
		return err
	}
	w, err := c.FailClaimed(ctx, token, contract.ErrorApprovalRejected, RejectCause(by, reason))
	if err == nil && w == WakeStale {
		return timedOut(execution)
	}
	return err
}

// RejectCause is the cause a reject fails the wait with, and the reason
// of the SKIPPED record.
func RejectCause(by, reason string) string {
	cause := "rejected by " + by
	if reason != "" {
		cause += ": " + reason
	}
	return cause
}

// approvalToken claims execution's approval token (ClearToken), so that
// one answer is sent once and a later alarm rollback can no longer take
// the lease from the wait.
func (c *Coordinator) approvalToken(ctx context.Context, service, execution string) (string, error) {
	if c.sfn == nil {
		return "", fmt.Errorf("coord: no Step Functions client to answer an approval")
	}
	st, err := c.Get(ctx, service)
	if err != nil {
		return "", fmt.Errorf("read lease: %w", err)
	}
	token, err := ApprovalOf(st, execution)
	if err != nil {
		return "", err
	}
	claimed, err := c.ClearToken(ctx, service, token)
	if err != nil {
		return "", fmt.Errorf("claim task token: %w", err)
	}
	if !claimed {
		return "", &NotApprovableError{Execution: execution, Reason: "its approval was answered or superseded meanwhile"}
	}
	return token, nil
}

// FailClaimed fails a wait whose token the caller already owns with the
// error name and cause (a rejected or superseded approval).
func (c *Coordinator) FailClaimed(ctx context.Context, token, name, cause string) (Wake, error) {
	if c.sfn == nil {
		return WakeNone, fmt.Errorf("coord: no Step Functions client to end a wait")
	}
	_, err := c.sfn.SendTaskFailure(ctx, &sfn.SendTaskFailureInput{TaskToken: aws.String(token), Error: aws.String(name), Cause: aws.String(limitCause(cause))})
	switch {
	case err == nil:
		return WakeSent, nil
	case IsStaleToken(err):
		return WakeStale, nil
	}
	return WakeNone, fmt.Errorf("send task failure: %w", err)
}

// limitCause keeps a cause within SendTaskFailure's 32768 characters.
func limitCause(s string) string {
	const most = 32768
	if len(s) <= most {
		return s
	}
	return s[:most]
}

// ApprovalDeadline is when an approval wait parked at since times out.
func ApprovalDeadline(p contract.Plan, since time.Time) time.Time {
	return since.Add(time.Duration(p.ApprovalSeconds) * time.Second)
}
