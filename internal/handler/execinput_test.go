package handler

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/pushdeploy/pushdeploy/internal/contract"
	"github.com/pushdeploy/pushdeploy/internal/history"
)

// TestPlanReadsTheExecutionInput: the state machine's payload names the
// execution only; plan reads the input from Step Functions.
func TestPlanReadsTheExecutionInput(t *testing.T) {
	w := newWorld(t)
	w.sfn.inputs = map[string]string{execArn: `{"action":"redeploy","cluster":"prod","service":"web"}`}
	plan, err := withExecutionInput(w.sfn, w.plan(t).Handle)
	if err != nil {
		t.Fatal(err)
	}
	p, err := plan(context.Background(), contract.PlanInput{Execution: contract.Execution{ID: execArn, Name: "run-1", StartTime: t0}})
	if err != nil || p.Action != contract.ActionRedeploy || p.ServiceArn != webArn {
		t.Fatalf("plan = %+v, %v; want a redeploy of web", p, err)
	}
	if w.sfn.described != 1 {
		t.Errorf("%d DescribeExecution calls, want 1", w.sfn.described)
	}
	// A payload that carries the input is planned from it.
	if _, err := plan(context.Background(), planInput(`{"action":"redeploy","cluster":"prod","service":"web"}`)); err != nil || w.sfn.described != 1 {
		t.Fatalf("err %v, %d DescribeExecution calls: want the payload's input used", err, w.sfn.described)
	}
}

func TestPlanExecutionInputErrors(t *testing.T) {
	tests := []struct {
		name        string
		describeErr error
		want        string
	}{
		{"throttled", &apiErr{code: "ThrottlingException"}, "Throttled"},
		{"unknown execution", nil, "Internal"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			w.sfn.describeErr = tt.describeErr
			plan, _ := withExecutionInput(w.sfn, w.plan(t).Handle)
			_, err := plan(context.Background(), contract.PlanInput{Execution: contract.Execution{ID: execArn, StartTime: t0}})
			if errName(err) != tt.want {
				t.Fatalf("err %v (%s), want %s", err, errName(err), tt.want)
			}
			if w.leases.acquires != 0 {
				t.Error("took the lease")
			}
		})
	}
}

// TestFinishRecordsFromTheExecutionInput: a plan that failed leaves finish
// only the execution's input to name the service; whatever it holds, the
// record keeps only what is within the input's limits.
func TestFinishRecordsFromTheExecutionInput(t *testing.T) {
	unknown := "arn:aws:ecs:us-east-1:123456789012:service/"
	tests := []struct {
		name, input        string
		service, startedBy string
	}{
		{"names its service", `{"action":"redeploy","cluster":"prod","service":"web","requestedBy":"alice","reason":"` + strings.Repeat("r", 200*1024) + `"}`, webArn, "alice"},
		{"service name over its limit", `{"action":"redeploy","cluster":"prod","service":"` + strings.Repeat("s", 300) + `"}`, unknown + "prod/unknown", ""},
		{"not an object", `"` + strings.Repeat("x", 262142) + `"`, unknown + "unknown/unknown", ""},
		{"requestedBy over its limit", `{"action":"redeploy","cluster":"prod","service":"web","requestedBy":"` + strings.Repeat("b", 100000) + `"}`, webArn, strings.Repeat("b", contract.MaxRequestedByBytes) + "… (100000 bytes)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			w.sfn.inputs = map[string]string{execArn: tt.input}
			res, err := w.finish(t).Handle(context.Background(), contract.FinishInput{
				Execution: contract.Execution{ID: execArn, StartTime: t0},
				Error:     lambdaError("BadInput", "bad input: reason: 204800 bytes; the limit is 1024"),
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(w.history.records) != 1 {
				t.Fatalf("%d records, want 1", len(w.history.records))
			}
			r := w.history.records[0]
			if res.Status != contract.TerminalFailed || r.Outcome != history.Failed || r.Service != tt.service || r.StartedBy != tt.startedBy {
				t.Fatalf("record %s for %s started by %.80q, want FAILED for %s by %.80q", r.Outcome, r.Service, r.StartedBy, tt.service, tt.startedBy)
			}
			if b, _ := json.Marshal(r); len(b) > 8*1024 {
				t.Errorf("record is %d bytes", len(b))
			}
		})
	}
}

// TestFinishWithoutTheExecutionInput: a throttled DescribeExecution is
// retried (by the state machine); any other failure still writes the
// record, with what the plan knows.
func TestFinishWithoutTheExecutionInput(t *testing.T) {
	w := newWorld(t)
	in := doc(w, nil)
	in.Input = nil
	w.sfn.describeErr = &apiErr{code: "ThrottlingException"}
	if _, err := w.finish(t).Handle(context.Background(), in); errName(err) != "Throttled" {
		t.Fatalf("err %v, want Throttled", err)
	}
	w.sfn.describeErr = &apiErr{code: "AccessDeniedException"}
	res, err := w.finish(t).Handle(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if len(w.history.records) != 1 || w.history.records[0].Service != webArn || !res.Notified {
		t.Fatalf("records %+v, result %+v: want one record of web", w.history.records, res)
	}
}
