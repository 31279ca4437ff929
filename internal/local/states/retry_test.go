package states

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"
)

// scheduledAt returns the virtual offsets from t0 of each task attempt.
func scheduledAt(x *Execution) []time.Duration {
	var out []time.Duration
	for _, ev := range x.History() {
		if ev.Type == "TaskScheduled" || ev.Type == "LambdaFunctionScheduled" {
			out = append(out, ev.Timestamp.Sub(t0))
		}
	}
	return out
}

// failing fails with the errors in order, then succeeds.
func failing(errs ...string) TaskRunner {
	var mu sync.Mutex
	n := 0
	return TaskRunnerFunc(func(ctx context.Context, req TaskRequest) (json.RawMessage, error) {
		mu.Lock()
		defer mu.Unlock()
		i := n
		n++
		if i < len(errs) {
			return nil, &TaskFailure{ErrorName: errs[i], Cause: fmt.Sprintf("attempt %d", i)}
		}
		return json.RawMessage(`"ok"`), nil
	})
}

func repeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

func TestRetryTiming(t *testing.T) {
	s := time.Second
	cases := []struct {
		name    string
		retry   string
		errs    []string
		status  Status
		error   string
		attempt []time.Duration
	}{
		{"defaults 1s x2, 3 retries", `[{"ErrorEquals":["E"]}]`, repeat("E", 9), StatusFailed, "E", []time.Duration{0, 1 * s, 3 * s, 7 * s}},
		{"backoff 3", `[{"ErrorEquals":["E"],"IntervalSeconds":2,"MaxAttempts":3,"BackoffRate":3,"JitterStrategy":"NONE"}]`, repeat("E", 9), StatusFailed, "E", []time.Duration{0, 2 * s, 8 * s, 26 * s}},
		{"max delay caps", `[{"ErrorEquals":["E"],"IntervalSeconds":10,"MaxAttempts":3,"BackoffRate":10,"MaxDelaySeconds":50}]`, repeat("E", 9), StatusFailed, "E", []time.Duration{0, 10 * s, 60 * s, 110 * s}},
		{"backoff 1 is constant", `[{"ErrorEquals":["E"],"IntervalSeconds":5,"MaxAttempts":2,"BackoffRate":1}]`, repeat("E", 9), StatusFailed, "E", []time.Duration{0, 5 * s, 10 * s}},
		{"max attempts 0 never retries", `[{"ErrorEquals":["E"],"MaxAttempts":0}]`, repeat("E", 9), StatusFailed, "E", []time.Duration{0}},
		{"succeeds on third try", `[{"ErrorEquals":["E"],"IntervalSeconds":1}]`, repeat("E", 2), StatusSucceeded, "", []time.Duration{0, 1 * s, 3 * s}},
		{"unmatched error is not retried", `[{"ErrorEquals":["Other"]}]`, repeat("E", 9), StatusFailed, "E", []time.Duration{0}},
		{"States.ALL retries any", `[{"ErrorEquals":["States.ALL"],"MaxAttempts":1}]`, repeat("E", 9), StatusFailed, "E", []time.Duration{0, 1 * s}},
		{"first matching retrier wins even when spent", `[{"ErrorEquals":["E"],"MaxAttempts":1},{"ErrorEquals":["States.ALL"],"MaxAttempts":5}]`, repeat("E", 9), StatusFailed, "E", []time.Duration{0, 1 * s}},
		{"counters are per retrier", `[{"ErrorEquals":["A"],"MaxAttempts":1,"IntervalSeconds":1},{"ErrorEquals":["B"],"MaxAttempts":1,"IntervalSeconds":10}]`, []string{"A", "B", "A"}, StatusFailed, "A", []time.Duration{0, 1 * s, 11 * s}},
		{"task failed name", `[{"ErrorEquals":["States.TaskFailed"],"MaxAttempts":1}]`, repeat("States.TaskFailed", 9), StatusFailed, "States.TaskFailed", []time.Duration{0, 1 * s}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			def := `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::test:r","Retry":` + c.retry + `,"End":true}}}`
			res, x, _ := run(t, def, `{}`, failing(c.errs...))
			if res.Status != c.status || res.Error != c.error {
				t.Fatalf("got %s %s, want %s %s", res.Status, res.Error, c.status, c.error)
			}
			if got := scheduledAt(x); fmt.Sprint(got) != fmt.Sprint(c.attempt) {
				t.Errorf("attempts at %v, want %v", got, c.attempt)
			}
		})
	}
}

func TestRetryFullJitter(t *testing.T) {
	def := `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::test:r","Retry":[{"ErrorEquals":["E"],"IntervalSeconds":10,"MaxAttempts":4,"BackoffRate":2,"JitterStrategy":"FULL"}],"End":true}}}`
	_, x, _ := run(t, def, `{}`, failing(repeat("E", 9)...))
	at := scheduledAt(x)
	if len(at) != 5 {
		t.Fatalf("attempts %v", at)
	}
	for i := 1; i < len(at); i++ {
		nominal := 10 * time.Second << (i - 1)
		if gap := at[i] - at[i-1]; gap < 0 || gap > nominal {
			t.Errorf("retry %d waited %v, want within [0, %v]", i, gap, nominal)
		}
	}
}

// TestRetryFullJitterCapped: with MaxDelaySeconds, FULL jitter draws from
// [0, the capped delay] (the policy pushdeploy's throttling retry uses:
// doubling from 2 s, capped at 60 s, then drawn), and the draws differ.
func TestRetryFullJitterCapped(t *testing.T) {
	def := `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::test:r","Retry":[{"ErrorEquals":["E"],"IntervalSeconds":2,"MaxAttempts":12,"BackoffRate":2,"MaxDelaySeconds":60,"JitterStrategy":"FULL"}],"End":true}}}`
	_, x, _ := run(t, def, `{}`, failing(repeat("E", 20)...))
	at := scheduledAt(x)
	if len(at) != 13 {
		t.Fatalf("attempts %v", at)
	}
	distinct := map[time.Duration]bool{}
	for i := 1; i < len(at); i++ {
		nominal := min(2*time.Second<<(i-1), 60*time.Second)
		gap := at[i] - at[i-1]
		if gap < 0 || gap > nominal {
			t.Errorf("retry %d waited %v, want within [0, %v]", i, gap, nominal)
		}
		distinct[gap] = true
	}
	if len(distinct) < 6 {
		t.Errorf("waits %v: want them drawn, not fixed", at)
	}
}

func TestRetryCountInContext(t *testing.T) {
	var seen []string
	var mu sync.Mutex
	runner := TaskRunnerFunc(func(ctx context.Context, req TaskRequest) (json.RawMessage, error) {
		mu.Lock()
		seen = append(seen, string(req.Input))
		mu.Unlock()
		if len(seen) < 3 {
			return nil, &TaskFailure{ErrorName: "E"}
		}
		return req.Input, nil
	})
	def := `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::test:r","Parameters":{"rc.$":"$$.State.RetryCount"},"Retry":[{"ErrorEquals":["E"]}],"End":true}}}`
	res, _, _ := run(t, def, `{}`, runner)
	if string(res.Output) != `{"rc":2}` || fmt.Sprint(seen) != `[{"rc":0} {"rc":1} {"rc":2}]` {
		t.Fatalf("output %s, inputs %v", res.Output, seen)
	}
}

func TestCatch(t *testing.T) {
	handlers := `"H1":{"Type":"Pass","Result":"h1","ResultPath":"$.handled","End":true},"H2":{"Type":"Pass","ResultPath":"$.handled","Result":"h2","End":true}`
	cases := []struct {
		name  string
		task  string
		tasks TaskRunner
		input string
		want  string // output, or "Error:Name"
	}{
		{"routes by name", `"Resource":"arn:aws:states:::test:r","Catch":[{"ErrorEquals":["Other"],"Next":"H2"},{"ErrorEquals":["E"],"Next":"H1"}]`, failing("E"), `{"a":1}`, `{"Error":"E","Cause":"attempt 0","handled":"h1"}`},
		{"result path keeps input", `"Resource":"arn:aws:states:::test:r","Catch":[{"ErrorEquals":["E"],"ResultPath":"$.err","Next":"H1"}]`, failing("E"), `{"a":1}`, `{"a":1,"err":{"Error":"E","Cause":"attempt 0"},"handled":"h1"}`},
		{"result path null", `"Resource":"arn:aws:states:::test:r","Catch":[{"ErrorEquals":["E"],"ResultPath":null,"Next":"H1"}]`, failing("E"), `{"a":1}`, `{"a":1,"handled":"h1"}`},
		{"States.ALL last", `"Resource":"arn:aws:states:::test:r","Catch":[{"ErrorEquals":["X"],"Next":"H1"},{"ErrorEquals":["States.ALL"],"Next":"H2"}]`, failing("E"), `{}`, `{"Error":"E","Cause":"attempt 0","handled":"h2"}`},
		{"uncaught fails", `"Resource":"arn:aws:states:::test:r","Catch":[{"ErrorEquals":["X"],"Next":"H1"}]`, failing("E"), `{}`, `Error:E`},
		{"retry then catch", `"Resource":"arn:aws:states:::test:r","Retry":[{"ErrorEquals":["E"],"MaxAttempts":2}],"Catch":[{"ErrorEquals":["E"],"ResultPath":"$.c","Next":"H1"}]`, failing("E", "E", "E"), `{}`, `{"c":{"Error":"E","Cause":"attempt 2"},"handled":"h1"}`},
		{"retry succeeds before catch", `"Resource":"arn:aws:states:::test:r","Retry":[{"ErrorEquals":["E"],"MaxAttempts":2}],"Catch":[{"ErrorEquals":["E"],"Next":"H1"}]`, failing("E", "E"), `{}`, `"ok"`},
		{"States.ALL does not catch States.Runtime", `"Resource":"arn:aws:states:::test:r","InputPath":"$.missing","Catch":[{"ErrorEquals":["States.ALL"],"Next":"H1"}]`, failing(), `{}`, `Error:States.Runtime`},
		{"plain errors are States.TaskFailed", `"Resource":"arn:aws:states:::test:r","Catch":[{"ErrorEquals":["States.TaskFailed"],"ResultPath":"$.c","Next":"H1"}]`,
			TaskRunnerFunc(func(context.Context, TaskRequest) (json.RawMessage, error) { return nil, fmt.Errorf("disk on fire") }), `{}`, `{"c":{"Error":"States.TaskFailed","Cause":"disk on fire"},"handled":"h1"}`},
		{"parameter failure is catchable", `"Resource":"arn:aws:states:::test:r","Parameters":{"x.$":"$.nope"},"Catch":[{"ErrorEquals":["States.ParameterPathFailure"],"ResultPath":null,"Next":"H1"}]`, failing(), `{}`, `{"handled":"h1"}`},
		{"catch result path failure is fatal", `"Resource":"arn:aws:states:::test:r","Catch":[{"ErrorEquals":["E"],"ResultPath":"$.x.y","Next":"H1"}]`, failing("E"), `{"x":"str"}`, `Error:States.ResultPathMatchFailure`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// The Choice keeps H1 and H2 reachable whatever the case's Catch.
			def := `{"StartAt":"Start","States":{"Start":{"Type":"Choice","Choices":[
				{"Variable":"$.neverSet","IsPresent":true,"Next":"H1"},{"Variable":"$.neverSet","IsPresent":true,"Next":"H2"}],"Default":"T"},
				"T":{"Type":"Task",` + c.task + `,"End":true},` + handlers + `}}`
			res, _, _ := run(t, def, c.input, c.tasks)
			if name, ok := cutPrefix(c.want, "Error:"); ok {
				if res.Status != StatusFailed || res.Error != name {
					t.Fatalf("got %s %s %s, want failure %s", res.Status, res.Error, res.Output, name)
				}
				return
			}
			if res.Status != StatusSucceeded || canon(t, string(res.Output)) != canon(t, c.want) {
				t.Fatalf("got %s %s (%s: %s), want %s", res.Status, res.Output, res.Error, res.Cause, c.want)
			}
		})
	}
}

func cutPrefix(s, p string) (string, bool) {
	if len(s) >= len(p) && s[:len(p)] == p {
		return s[len(p):], true
	}
	return "", false
}

func TestFailState(t *testing.T) {
	cases := []struct {
		fail, input, err, cause string
	}{
		{`"Error":"E","Cause":"C"`, `{}`, "E", "C"},
		{`"ErrorPath":"$.e","CausePath":"$.c"`, `{"e":"Dyn","c":"why"}`, "Dyn", "why"},
		{`"ErrorPath":"States.Format('E{}', $.n)","CausePath":"States.JsonToString($.o)"`, `{"n":7,"o":{"a":1}}`, "E7", `{"a":1}`},
		{`"ErrorPath":"$.e"`, `{"e":5}`, "States.Runtime", ""},
	}
	for _, c := range cases {
		def := `{"StartAt":"F","States":{"F":{"Type":"Fail",` + c.fail + `}}}`
		res, x, _ := run(t, def, c.input, nil)
		if res.Status != StatusFailed || res.Error != c.err || (c.cause != "" && res.Cause != c.cause) {
			t.Errorf("%s: got %s %q %q", c.fail, res.Status, res.Error, res.Cause)
		}
		if types := eventTypes(x); fmt.Sprint(types) != "[ExecutionStarted FailStateEntered ExecutionFailed]" {
			t.Errorf("events %v", types)
		}
	}
}

func TestDataLimitExceeded(t *testing.T) {
	big := TaskRunnerFunc(func(context.Context, TaskRequest) (json.RawMessage, error) {
		return json.RawMessage(`"` + string(make([]byte, 0)) + fmt.Sprintf("%0300000d", 0) + `"`), nil
	})
	def := `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::test:r","Catch":[{"ErrorEquals":["States.ALL"],"Next":"H"}],"End":true},"H":{"Type":"Pass","End":true}}}`
	res, _, _ := run(t, def, `{}`, big)
	if res.Status != StatusFailed || res.Error != ErrDataLimitExceeded {
		t.Fatalf("got %s %s", res.Status, res.Error)
	}
}
