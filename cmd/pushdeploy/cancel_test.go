package main

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssfn "github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/pushdeploy/pushdeploy/internal/app/history"
)

// TestCLICancel: cancel of a push's deploy in its rollout sends the cancel
// (exit 0), the execution rolls back to the revision before with one
// ROLLED_BACK record "cancelled by alice"; cancelling it again, or an
// execution that does not exist, is exit 2 on one line.
func TestCLICancel(t *testing.T) {
	e := newE2E(t)
	e.Cloud.ECS().Faults().SetRolloutDuration("", 10*time.Minute)
	hold := e.clk.Busy()
	e.push("latest", "web v1")
	var arn string
	deadline := time.Now().Add(30 * time.Second)
	for arn == "" && time.Now().Before(deadline) {
		out, err := awssfn.NewFromConfig(e.Config).ListExecutions(e.ctx, &awssfn.ListExecutionsInput{
			StateMachineArn: aws.String(e.StateMachineARN), StatusFilter: sfntypes.ExecutionStatusRunning})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Executions) == 1 {
			arn = aws.ToString(out.Executions[0].ExecutionArn)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if arn == "" {
		hold()
		t.Fatal("the push started no execution")
	}
	code, out, errs := e.cli(runCancel, arn, "--no-wait")
	hold()
	if code != exitOK || out != "cancelled "+arn+" (by alice); it rolls back\n" {
		t.Fatalf("cancel: exit %d %q %q", code, out, errs)
	}
	if _, err := e.WaitIdle(e.ctx, 1); err != nil {
		t.Fatal(err)
	}
	recs := e.history()
	if len(recs) != 1 || recs[0].Outcome != history.RolledBack || !strings.HasPrefix(recs[0].Reason, "cancelled by alice; rolled back to ") {
		t.Fatalf("records after cancel: %+v", recs)
	}
	if td, _ := e.running(); td != e.first {
		t.Fatalf("service runs %s after the cancel, want %s", td, e.first)
	}
	code, out, errs = e.cli(runCancel, arn)
	if code != exitBadInput || out != "" || !strings.Contains(errs, "is SUCCEEDED, not running") && !strings.Contains(errs, "not running") || strings.Count(errs, "\n") != 1 {
		t.Fatalf("cancel of a finished execution: exit %d %q %q", code, out, errs)
	}
	code, _, errs = e.cli(runCancel, strings.Replace(arn, "push-", "nope-", 1))
	if code != exitBadInput {
		t.Fatalf("cancel of no execution: exit %d %q", code, errs)
	}
	code, _, errs = e.cli(runCancel)
	if code != exitBadInput || !strings.Contains(errs, "want one EXECUTION_ARN") {
		t.Fatalf("cancel with no ARN: exit %d %q", code, errs)
	}
}
