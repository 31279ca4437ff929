package states_test

// The conformance corpus (testdata/conformance/*.json) is a differential
// test: each case's expected answer comes from aws-local-stepfunctions, an
// independent implementation (tools/asl/expected.mjs), except for cases marked
// "deviation", where that implementation is known to stray from the
// specification and the answer was written by hand with the reason in "why".
// tools/asl/README.md describes the case format and the task scripts.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/pushdeploy/pushdeploy/internal/app/clock"
	"github.com/pushdeploy/pushdeploy/internal/local/states"
)

const (
	corpusDir = "testdata/conformance"
	toolsDir  = "../../../tools/asl"
	repoRoot  = "../../.."
)

// conformanceStart is where every case's virtual clock starts; the Wait
// Timestamp cases are written against it.
var conformanceStart = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)

// conformanceInfo matches executionContext in tools/asl/cases.mjs.
var conformanceInfo = states.ExecutionInfo{
	ID:               "arn:aws:states:us-east-1:123456789012:execution:Conformance:exec-1",
	Name:             "exec-1",
	StateMachineID:   "arn:aws:states:us-east-1:123456789012:stateMachine:Conformance",
	StateMachineName: "Conformance",
	RoleArn:          "arn:aws:iam::123456789012:role/conformance",
	StartTime:        conformanceStart,
}

type conformanceCase struct {
	Name                   string                     `json:"name"`
	Deviation              bool                       `json:"deviation"`
	Why                    string                     `json:"why"`
	Definition             json.RawMessage            `json:"definition"`
	Input                  json.RawMessage            `json:"input"`
	Tasks                  map[string]json.RawMessage `json:"tasks"`
	Expected               map[string]json.RawMessage `json:"expected"`
	ExpectedElapsedSeconds *float64                   `json:"expectedElapsedSeconds"`
	file                   string
}

func loadConformanceCases(t *testing.T) []conformanceCase {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(corpusDir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 150 {
		t.Fatalf("conformance corpus has %d cases, want at least 150", len(files))
	}
	sort.Strings(files)
	var cases []conformanceCase
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var c conformanceCase
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&c); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if want := strings.TrimSuffix(filepath.Base(f), ".json"); c.Name != want {
			t.Fatalf("%s: name %q, want the file name %q", f, c.Name, want)
		}
		if c.Deviation && c.Why == "" {
			t.Fatalf("%s: a deviation needs a why", f)
		}
		c.file = f
		cases = append(cases, c)
	}
	return cases
}

func (c conformanceCase) invalid() bool {
	return string(c.Expected["invalid"]) == "true"
}

func TestConformance(t *testing.T) {
	for _, c := range loadConformanceCases(t) {
		t.Run(c.Name, func(t *testing.T) {
			t.Parallel()
			runConformanceCase(t, c)
		})
	}
}

func runConformanceCase(t *testing.T, c conformanceCase) {
	m, err := states.Parse(c.Definition)
	if c.invalid() {
		var de *states.DefinitionError
		if !errors.As(err, &de) {
			t.Fatalf("Parse = %v, want a *DefinitionError (%s)", err, c.Why)
		}
		return
	}
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	var wantStatus states.Status
	if err := json.Unmarshal(c.Expected["status"], &wantStatus); err != nil || wantStatus == "" {
		t.Fatalf("case has no expected status (run tools/asl/expected.mjs): %s", c.Expected["status"])
	}

	clk := clock.NewVirtual(conformanceStart)
	stop := clk.AutoAdvance(0)
	defer stop()
	runner := &scriptedTasks{t: t, clk: clk, scripts: c.Tasks, calls: map[string]int{}}
	eng := states.NewEngine(states.EngineOptions{Clock: clk, Tasks: runner})
	runner.engine = eng
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	x := eng.Start(ctx, m, conformanceInfo, c.Input)
	res, err := x.Wait(ctx)
	if err != nil {
		t.Fatalf("Wait: %v (status %s)", err, x.Status())
	}

	if res.Status != wantStatus {
		t.Errorf("status = %s, want %s (error %q, cause %q, output %s)", res.Status, wantStatus, res.Error, res.Cause, res.Output)
	}
	if raw, ok := c.Expected["output"]; ok {
		if diff := cmp.Diff(decodeJSON(t, raw), decodeJSON(t, res.Output)); diff != "" {
			t.Errorf("output mismatch (-want +got):\n%s", diff)
		}
	}
	for _, f := range []struct {
		key string
		got string
	}{{"error", res.Error}, {"cause", res.Cause}} {
		raw, ok := c.Expected[f.key]
		if !ok {
			continue
		}
		var want string
		if err := json.Unmarshal(raw, &want); err != nil {
			t.Fatalf("expected.%s: %v", f.key, err)
		}
		if f.got != want {
			t.Errorf("%s = %q, want %q", f.key, f.got, want)
		}
	}
	if c.ExpectedElapsedSeconds != nil {
		h := x.History()
		if len(h) < 2 {
			t.Fatalf("history has %d events", len(h))
		}
		got := h[len(h)-1].Timestamp.Sub(h[0].Timestamp)
		want := time.Duration(*c.ExpectedElapsedSeconds * float64(time.Second))
		if got != want {
			t.Errorf("elapsed on the virtual clock = %v, want %v", got, want)
		}
	}
}

func decodeJSON(t *testing.T, raw []byte) any {
	t.Helper()
	var v any
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("bad JSON %q: %v", raw, err)
	}
	return v
}

// scriptedTasks runs the case's task scripts; see tools/asl/cases.mjs, which
// implements the same scripts for the reference run. A ".waitForTaskToken"
// task gets its script's outcome through SendTaskSuccess/SendTaskFailure on
// the token instead of the return value.
type scriptedTasks struct {
	t       *testing.T
	clk     clock.Clock
	engine  *states.Engine
	scripts map[string]json.RawMessage

	mu    sync.Mutex
	calls map[string]int
}

func (s *scriptedTasks) RunTask(ctx context.Context, req states.TaskRequest) (json.RawMessage, error) {
	script, ok := s.scripts[req.StateName]
	if !ok {
		s.t.Errorf("task state %q has no script in the case", req.StateName)
		return nil, &states.TaskFailure{ErrorName: "Conformance.NoScript", Cause: req.StateName}
	}
	s.mu.Lock()
	s.calls[req.StateName]++
	k := s.calls[req.StateName]
	s.mu.Unlock()
	out, hang, err := runTaskScript(script, req.Input, k)
	if req.TaskToken != "" {
		if hang {
			return nil, nil // never answer on the token
		}
		s.answer(req.TaskToken, out, err)
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if hang {
		// Never answer: wait for the engine to give up (TimeoutSeconds),
		// without holding the virtual clock.
		resume := states.Idle(ctx)
		<-ctx.Done()
		resume()
		return nil, ctx.Err()
	}
	return out, nil
}

// answer completes a task token after RunTask has returned, as an outside
// caller of SendTaskSuccess/SendTaskFailure would.
func (s *scriptedTasks) answer(token string, out json.RawMessage, scriptErr error) {
	s.clk.AfterFunc(0, func() {
		var err error
		var tf *states.TaskFailure
		switch {
		case errors.As(scriptErr, &tf):
			err = s.engine.SendTaskFailure(token, tf.ErrorName, tf.Cause)
		case scriptErr != nil:
			s.t.Errorf("task script: %v", scriptErr)
			err = s.engine.SendTaskFailure(token, "Conformance.BadScript", scriptErr.Error())
		default:
			err = s.engine.SendTaskSuccess(token, out)
		}
		if err != nil {
			s.t.Errorf("answering task token: %v", err)
		}
	})
}

// runTaskScript returns the task's result, or hang, or a *TaskFailure; a
// script it cannot read is an error of the case.
func runTaskScript(raw, input json.RawMessage, k int) (out json.RawMessage, hang bool, err error) {
	var s map[string]json.RawMessage
	if err := json.Unmarshal(raw, &s); err != nil || s == nil {
		return nil, false, fmt.Errorf("bad task script %s", raw)
	}
	str := func(key string) string {
		var v string
		_ = json.Unmarshal(s[key], &v)
		return v
	}
	isTrue := func(key string) bool { return string(s[key]) == "true" }
	switch {
	case s["return"] != nil:
		return s["return"], false, nil
	case isTrue("echo"):
		return input, false, nil
	case isTrue("count"):
		return json.RawMessage(fmt.Sprint(k)), false, nil
	case s["fail"] != nil:
		var f struct{ Error, Cause string }
		if err := json.Unmarshal(s["fail"], &f); err != nil {
			return nil, false, fmt.Errorf("bad fail script %s", raw)
		}
		return nil, false, &states.TaskFailure{ErrorName: f.Error, Cause: f.Cause}
	case s["failTimes"] != nil:
		var n int
		if err := json.Unmarshal(s["failTimes"], &n); err != nil {
			return nil, false, fmt.Errorf("bad failTimes script %s", raw)
		}
		if k <= n {
			return nil, false, &states.TaskFailure{ErrorName: str("error"), Cause: str("cause")}
		}
		return runTaskScript(s["then"], input, k)
	case s["failIf"] != nil:
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(input, &obj); err == nil && obj != nil && string(obj[str("failIf")]) == "true" {
			return nil, false, &states.TaskFailure{ErrorName: str("error"), Cause: str("cause")}
		}
		return runTaskScript(s["else"], input, k)
	case s["sequence"] != nil:
		var seq []json.RawMessage
		if err := json.Unmarshal(s["sequence"], &seq); err != nil || len(seq) == 0 {
			return nil, false, fmt.Errorf("bad sequence script %s", raw)
		}
		return runTaskScript(seq[min(k, len(seq))-1], input, k)
	case isTrue("hang"):
		return nil, true, nil
	}
	return nil, false, fmt.Errorf("unknown task script %s", raw)
}

// nodeTools returns the pinned Node 22 binary of tools/asl, or skips the
// test when the node dependencies are not installed.
func nodeTools(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat(filepath.Join(toolsDir, "node_modules")); err != nil {
		t.Skip("tools/asl/node_modules is missing: run `make tools` (or `make tools-asl`) to install the pinned asl-validator and aws-local-stepfunctions")
	}
	node, err := filepath.Abs(filepath.Join(toolsDir, "node_modules", "node", "bin", "node"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(node); err != nil {
		t.Fatalf("tools/asl/node_modules has no pinned node binary (%v): run `make tools-asl` again", err)
	}
	return node
}

// TestDefinitionsPassASLValidator holds statemachine/ and every corpus case to
// asl-validator: valid definitions must pass, invalid cases must be rejected.
func TestDefinitionsPassASLValidator(t *testing.T) {
	node := nodeTools(t)
	files, err := filepath.Glob(filepath.Join(repoRoot, "statemachine", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	cases, err := filepath.Glob(filepath.Join(corpusDir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, cases...)
	var abs []string
	for _, f := range files {
		a, err := filepath.Abs(f)
		if err != nil {
			t.Fatal(err)
		}
		abs = append(abs, a)
	}
	cmd := exec.Command(node, append([]string{"validate.mjs"}, abs...)...)
	cmd.Dir = toolsDir
	out, err := cmd.CombinedOutput()
	if err != nil {
		var lines []string
		for _, l := range strings.Split(string(out), "\n") {
			if !strings.HasPrefix(l, "OK ") && !strings.HasPrefix(l, "SKIP ") {
				lines = append(lines, l)
			}
		}
		t.Fatalf("validate.mjs: %v\n%s", err, strings.Join(lines, "\n"))
	}
}

// TestConformanceExpectedMatchesReference re-runs aws-local-stepfunctions over
// the corpus and fails when a committed (non-deviation) answer no longer
// matches it, so the answers cannot drift from the reference.
func TestConformanceExpectedMatchesReference(t *testing.T) {
	node := nodeTools(t)
	if testing.Short() {
		t.Skip("runs the whole corpus through aws-local-stepfunctions (about 30 s)")
	}
	cmd := exec.Command(node, "expected.mjs", "--check")
	cmd.Dir = toolsDir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("expected.mjs --check: %v\n%s", err, out)
	}
}
