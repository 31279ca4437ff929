package states

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/pushdeploy/pushdeploy/internal/app/clock"
)

// benchDefinition is shaped like pushdeploy's own machine: Pass and Task
// states with path processing, a Choice loop, and a Map over ten items.
const benchDefinition = `{
  "StartAt": "Init",
  "States": {
    "Init": {"Type": "Pass", "Parameters": {"service.$": "$.service", "round": 0, "items.$": "$.items"}, "Next": "Deploy"},
    "Deploy": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
      "Parameters": {"FunctionName": "deploy", "Payload": {"service.$": "$.service", "round.$": "$.round"}},
      "ResultSelector": {"round.$": "States.MathAdd($.Payload.round, 1)"}, "ResultPath": "$.deploy",
      "Retry": [{"ErrorEquals": ["Lambda.ServiceException"], "MaxAttempts": 2}], "Next": "Bump"},
    "Bump": {"Type": "Pass", "InputPath": "$", "Parameters": {"service.$": "$.service", "round.$": "$.deploy.round", "items.$": "$.items"}, "Next": "Check"},
    "Check": {"Type": "Choice", "Choices": [
      {"And": [{"Variable": "$.round", "NumericLessThan": 3}, {"Variable": "$.service", "IsPresent": true}], "Next": "Deploy"}],
      "Default": "Fan"},
    "Fan": {"Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 10,
      "ItemSelector": {"i.$": "$$.Map.Item.Index", "svc.$": "$.service"},
      "ItemProcessor": {"StartAt": "Probe", "States": {
        "Probe": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"Payload.$": "$"}, "OutputPath": "$.Payload", "Next": "Ok"},
        "Ok": {"Type": "Choice", "Choices": [{"Variable": "$.i", "NumericGreaterThanEquals": 0, "Next": "Done"}], "Default": "Bad"},
        "Bad": {"Type": "Fail", "Error": "Bad"},
        "Done": {"Type": "Succeed"}}},
      "ResultPath": "$.probes", "Next": "End"},
    "End": {"Type": "Succeed"}
  }
}`

// BenchmarkTransitions measures state transitions per second with a task
// runner that answers at once (the lambda:invoke Payload wrapper).
func BenchmarkTransitions(b *testing.B) {
	m, err := Parse([]byte(benchDefinition))
	if err != nil {
		b.Fatal(err)
	}
	runner := TaskRunnerFunc(func(_ context.Context, req TaskRequest) (json.RawMessage, error) {
		var in struct {
			Payload json.RawMessage
		}
		_ = json.Unmarshal(req.Input, &in)
		return json.RawMessage(`{"StatusCode":200,"Payload":` + string(in.Payload) + `}`), nil
	})
	clk := clock.NewVirtual(t0)
	e := NewEngine(EngineOptions{Clock: clk, Tasks: runner})
	input := json.RawMessage(`{"service":"web","items":[1,2,3,4,5,6,7,8,9,10]}`)
	ctx := context.Background()
	transitions := 0
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		x := e.Start(ctx, m, testInfo(), input)
		res, err := x.Wait(ctx)
		if err != nil || res.Status != StatusSucceeded {
			b.Fatalf("%v %+v", err, res)
		}
		for _, ev := range x.History() {
			if strings.HasSuffix(ev.Type, "StateEntered") {
				transitions++
			}
		}
	}
	b.ReportMetric(float64(transitions)/time.Since(start).Seconds(), "transitions/s")
	b.ReportMetric(float64(transitions)/float64(b.N), "transitions/op")
}
