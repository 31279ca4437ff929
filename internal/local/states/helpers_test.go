package states

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/pushdeploy/pushdeploy/internal/app/clock"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// run executes def on input with a virtual clock that advances by itself.
func run(t *testing.T, def, input string, tasks TaskRunner) (Result, *Execution, *clock.Virtual) {
	t.Helper()
	m, err := Parse([]byte(def))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	clk := clock.NewVirtual(t0)
	stop := clk.AutoAdvance(0)
	defer stop()
	e := NewEngine(EngineOptions{Clock: clk, Tasks: tasks})
	x := e.Start(context.Background(), m, testInfo(), json.RawMessage(input))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := x.Wait(ctx)
	if err != nil {
		t.Fatalf("wait: %v (history %s)", err, mustJSON(x.History()))
	}
	return res, x, clk
}

func testInfo() ExecutionInfo {
	return ExecutionInfo{
		ID:               "arn:aws:states:us-east-1:123456789012:execution:sm:exec1",
		Name:             "exec1",
		StateMachineID:   "arn:aws:states:us-east-1:123456789012:stateMachine:sm",
		StateMachineName: "sm",
		RoleArn:          "arn:aws:iam::123456789012:role/sfn",
		StartTime:        t0,
	}
}

// canon re-encodes JSON so that equal documents compare equal as strings.
func canon(t *testing.T, s string) string {
	t.Helper()
	v, err := decodeJSON([]byte(s))
	if err != nil {
		t.Fatalf("bad JSON %q: %v", s, err)
	}
	return mustJSON(normalize(v))
}

// normalize turns numbers into a canonical text so 1.0 and 1 compare equal.
func normalize(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			t[k] = normalize(x)
		}
	case []any:
		for i, x := range t {
			t[i] = normalize(x)
		}
	case json.Number:
		r, _ := toRat(t)
		return json.Number(r.RatString())
	}
	return v
}

// fakeTasks answers Task states by resource.
type fakeTasks map[string]func(ctx context.Context, req TaskRequest) (json.RawMessage, error)

func (f fakeTasks) RunTask(ctx context.Context, req TaskRequest) (json.RawMessage, error) {
	fn, ok := f[req.Resource]
	if !ok {
		return nil, &TaskFailure{ErrorName: "NoSuchResource", Cause: req.Resource}
	}
	return fn(ctx, req)
}

// echo returns the task input as its output.
func echo(_ context.Context, req TaskRequest) (json.RawMessage, error) { return req.Input, nil }

func eventTypes(x *Execution) []string {
	var out []string
	for _, ev := range x.History() {
		out = append(out, ev.Type)
	}
	return out
}
