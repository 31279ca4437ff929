package statemachine

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/pushdeploy/pushdeploy/internal/app/contract"
	"github.com/pushdeploy/pushdeploy/internal/local/samlocal"
	"github.com/pushdeploy/pushdeploy/internal/local/states"
)

// substituted fills every ${Name} with a plausible function ARN.
func substituted(t *testing.T) []byte {
	t.Helper()
	subs := map[string]string{}
	for _, s := range Substitutions {
		subs[s] = "arn:aws:lambda:us-east-1:123456789012:function:pushdeploy-" + strings.TrimSuffix(s, "Arn")
	}
	def, err := samlocal.Substitute(string(Deploy), subs)
	if err != nil {
		t.Fatal(err)
	}
	return []byte(def)
}

func TestParses(t *testing.T) {
	if _, err := states.Parse(substituted(t)); err != nil {
		t.Fatalf("states.Parse: %v", err)
	}
}

// TestTemplateSubstitutions: every ${Name} in the definition is a
// DefinitionSubstitution of the template's state machine, each is the ARN
// of a function of the template, and none is unused.
func TestTemplateSubstitutions(t *testing.T) {
	tpl, err := samlocal.Load("../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var sm samlocal.Resource
	for _, id := range tpl.ResourcesOfType("AWS::Serverless::StateMachine") {
		sm = tpl.Resources[id]
	}
	if got := sm.Properties["DefinitionUri"]; got != "statemachine/deploy.asl.json" {
		t.Fatalf("DefinitionUri %v", got)
	}
	subs, _ := sm.Properties["DefinitionSubstitutions"].(map[string]any)
	used := map[string]bool{}
	for _, m := range regexp.MustCompile(`\$\{([A-Za-z0-9_]+)\}`).FindAllStringSubmatch(string(Deploy), -1) {
		used[m[1]] = true
	}
	var usedNames []string
	for name := range used {
		usedNames = append(usedNames, name)
		if _, ok := subs[name]; !ok {
			t.Errorf("${%s} is not in the template's DefinitionSubstitutions", name)
		}
	}
	sort.Strings(usedNames)
	want := append([]string(nil), Substitutions...)
	sort.Strings(want)
	if !slices.Equal(usedNames, want) {
		t.Errorf("definition uses %v, Substitutions lists %v", usedNames, want)
	}
	for name, v := range subs {
		if !used[name] {
			t.Errorf("substitution %s is not used by the definition", name)
		}
		getAtt, _ := v.(map[string]any)["Fn::GetAtt"].([]any)
		if len(getAtt) != 2 || getAtt[1] != "Arn" || name != fmt.Sprint(getAtt[0])+"Arn" {
			t.Errorf("%s = %v, want !GetAtt %sFunction.Arn", name, v, strings.TrimSuffix(name, "FunctionArn"))
			continue
		}
		fn, ok := tpl.Resources[fmt.Sprint(getAtt[0])]
		if !ok || fn.Type != "AWS::Serverless::Function" {
			t.Errorf("%s names %v, not a function of the template", name, getAtt[0])
			continue
		}
		if _, err := os.Stat(filepath.Join("..", fmt.Sprint(fn.Properties["CodeUri"]), "main.go")); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

type node = map[string]any

func definition(t *testing.T) node {
	var d node
	if err := json.Unmarshal(Deploy, &d); err != nil {
		t.Fatal(err)
	}
	return d
}

func sortedStates(d node) []string {
	st := d["States"].(node)
	names := make([]string, 0, len(st))
	for n := range st {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// knownErrors are the names Retry and Catch may match: the Go error types
// the handlers return, the States.* errors and the Lambda service's errors.
func knownErrors() []string {
	return append(contract.ErrorNames(),
		"States.ALL", "States.Timeout", "States.TaskFailed", "States.HeartbeatTimeout",
		"Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.SdkClientException",
		"Lambda.TooManyRequestsException", "Lambda.Unknown")
}

// TestErrorNames: every ErrorEquals name is a real error, and every task
// catches everything (no failure leaves the lease held or the service half
// deployed without passing through Finish).
func TestErrorNames(t *testing.T) {
	d := definition(t)
	known := knownErrors()
	for _, name := range sortedStates(d) {
		s := d["States"].(node)[name].(node)
		if s["Type"] != "Task" {
			continue
		}
		for _, key := range []string{"Retry", "Catch"} {
			list, _ := s[key].([]any)
			for _, r := range list {
				for _, e := range r.(node)["ErrorEquals"].([]any) {
					if !slices.Contains(known, e.(string)) {
						t.Errorf("%s.%s matches %q, which no handler returns", name, key, e)
					}
				}
			}
		}
		catches, _ := s["Catch"].([]any)
		last := node{}
		if len(catches) > 0 {
			last = catches[len(catches)-1].(node)
		}
		if eq, _ := last["ErrorEquals"].([]any); len(eq) != 1 || eq[0] != "States.ALL" {
			t.Errorf("%s has no final Catch of States.ALL", name)
		}
		if name != "Finish" && last["Next"] != "Finish" && last["Next"] != "Undo" {
			t.Errorf("%s's catch-all goes to %v, not Finish or Undo", name, last["Next"])
		}
	}
}

// inputs maps each function to the payload it decodes.
var inputs = map[string]any{
	"${PlanFunctionArn}":     contract.PlanInput{},
	"${RegisterFunctionArn}": contract.RegisterInput{},
	"${UpdateFunctionArn}":   contract.UpdateInput{},
	"${WatchFunctionArn}":    contract.WatchInput{},
	"${CheckFunctionArn}":    contract.CheckInput{},
}

func jsonFields(v any) []string {
	var out []string
	ty := reflect.TypeOf(v)
	for i := 0; i < ty.NumField(); i++ {
		name, _, _ := strings.Cut(ty.Field(i).Tag.Get("json"), ",")
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// requiredFields are v's JSON fields that are not omitempty: a payload may
// leave the others out.
func requiredFields(v any) []string {
	var out []string
	ty := reflect.TypeOf(v)
	for i := 0; i < ty.NumField(); i++ {
		name, opts, _ := strings.Cut(ty.Field(i).Tag.Get("json"), ",")
		if !strings.Contains(","+opts+",", ",omitempty,") && !strings.Contains(","+opts+",", ",omitzero,") {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// TestPayloadShapes: each Lambda task's Payload has the fields of its
// contract input (all but the omitempty and omitzero ones) and no others; results land where FinishInput (the whole document,
// Finish's payload) has a field for them.
func TestPayloadShapes(t *testing.T) {
	d := definition(t)
	docFields := jsonFields(contract.FinishInput{})
	for _, name := range sortedStates(d) {
		s := d["States"].(node)[name].(node)
		for _, key := range []string{"ResultPath"} {
			if rp, ok := s[key].(string); ok && name != "Finish" && name != "FinishFailed" && !slices.Contains(docFields, strings.TrimPrefix(rp, "$.")) {
				t.Errorf("%s writes %s, which FinishInput does not have", name, rp)
			}
		}
		catches, _ := s["Catch"].([]any)
		for _, c := range catches {
			if rp := c.(node)["ResultPath"].(string); name != "Finish" && !slices.Contains(docFields, strings.TrimPrefix(rp, "$.")) {
				t.Errorf("%s's catch writes %s, which FinishInput does not have", name, rp)
			}
		}
		if s["Type"] == "Pass" {
			checkPassPayload(t, name, s)
		}
		if s["Type"] != "Task" {
			continue
		}
		res := s["Resource"].(string)
		if res != "arn:aws:states:::lambda:invoke" && res != "arn:aws:states:::lambda:invoke.waitForTaskToken" {
			t.Errorf("%s: resource %s", name, res)
			continue
		}
		params := s["Parameters"].(node)
		fn := params["FunctionName"].(string)
		if fn == "${FinishFunctionArn}" {
			// contract.FinishRequest: the whole document and Step
			// Functions' clock.
			want := map[string]any{"document.$": "$", "finishedAt.$": "$$.State.EnteredTime"}
			if !reflect.DeepEqual(params["Payload"], want) {
				t.Errorf("Finish gets %v, want %v", params["Payload"], want)
			}
			continue
		}
		want, ok := inputs[fn]
		if !ok {
			t.Errorf("%s invokes %s", name, fn)
			continue
		}
		var got []string
		for k := range params["Payload"].(node) {
			got = append(got, strings.TrimSuffix(k, ".$"))
		}
		sort.Strings(got)
		for _, f := range got {
			if !slices.Contains(jsonFields(want), f) {
				t.Errorf("%s payload has %s, which %T does not have", name, f, want)
			}
		}
		for _, f := range requiredFields(want) {
			if !slices.Contains(got, f) {
				t.Errorf("%s payload lacks %s, which %T requires", name, f, want)
			}
		}
		if strings.HasSuffix(res, ".waitForTaskToken") {
			if params["Payload"].(node)["token.$"] != "$$.Task.Token" {
				t.Errorf("%s does not pass the task token", name)
			}
			if _, ok := s["TimeoutSecondsPath"]; !ok {
				t.Errorf("%s waits with no timeout (the safety net)", name)
			}
		} else if sel, _ := s["ResultSelector"].(node); sel["Payload.$"] != "$.Payload" {
			t.Errorf("%s: ResultSelector %v", name, s["ResultSelector"])
		}
	}
}

// TestChoiceValues: Choice rules compare fields against values the Go side
// produces.
func TestChoiceValues(t *testing.T) {
	d := definition(t)
	valid := map[string][]string{
		"action": {string(contract.ActionDeploy), string(contract.ActionRollback), string(contract.ActionRedeploy), string(contract.ActionRelease), string(contract.ActionSkip)},
		"status": {string(contract.StatusInProgress), string(contract.StatusCompleted), string(contract.StatusFailed), string(contract.StatusSuperseded),
			string(contract.TerminalSucceeded), string(contract.TerminalRolledBack), string(contract.TerminalFailed), string(contract.TerminalSuperseded), string(contract.TerminalSkipped)},
		"cause": {string(contract.CauseReplaced), string(contract.CauseChangedOutside)},
	}
	for _, name := range sortedStates(d) {
		s := d["States"].(node)[name].(node)
		if s["Type"] != "Choice" {
			continue
		}
		for _, c := range s["Choices"].([]any) {
			rule := c.(node)
			v, ok := rule["StringEquals"].(string)
			if !ok {
				continue
			}
			path := rule["Variable"].(string)
			field := path[strings.LastIndex(path, ".")+1:]
			if !slices.Contains(valid[field], v) {
				t.Errorf("%s compares %s with %q, which Go never produces", name, path, v)
			}
		}
	}
}

// results maps the document keys Pass states write to the type read there.
var results = map[string]any{
	"$.finish":      contract.FinishResult{},
	"$.register":    contract.RegisterResult{},
	"$.outcome":     contract.Outcome{},
	"$.bake":        contract.Outcome{},
	"$.undoOutcome": contract.Outcome{},
}

// checkPassPayload: a Pass state that writes a step's result writes fields
// of that step's type only (the document is decoded strictly by Finish).
func checkPassPayload(t *testing.T, name string, s node) {
	params, _ := s["Parameters"].(node)
	payload, ok := params["Payload"].(node)
	if !ok {
		return
	}
	rp, _ := s["ResultPath"].(string)
	want, ok := results[rp]
	if !ok {
		t.Errorf("%s writes a Payload to %s", name, rp)
		return
	}
	fields := jsonFields(want)
	for k := range payload {
		if !slices.Contains(fields, strings.TrimSuffix(k, ".$")) {
			t.Errorf("%s writes %s, which %T does not have", name, k, want)
		}
	}
}

// TestInputNotCarried: no state copies the execution input into the state
// document or a payload. StartExecution accepts 256 KiB of input, the
// limit of a whole state's payload: a copy beside anything else fails the
// execution with States.DataLimitExceeded, which no Catch handles. Plan
// and finish read the input with DescribeExecution.
func TestInputNotCarried(t *testing.T) {
	d := definition(t)
	init := d["States"].(node)[d["StartAt"].(string)].(node)
	params, _ := init["Parameters"].(node)
	if len(params) != 1 || params["execution"] == nil {
		t.Errorf("%s builds %v, want the execution identity only", d["StartAt"], params)
	}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch v := v.(type) {
		case node:
			for k, c := range v {
				walk(path+"."+k, c)
			}
		case []any:
			for i, c := range v {
				walk(fmt.Sprintf("%s[%d]", path, i), c)
			}
		case string:
			if strings.HasPrefix(v, "$$.Execution.Input") {
				t.Errorf("%s reads %s", path, v)
			}
		}
	}
	walk("States", d["States"])
}

// TestGenerated: deploy.asl.json is what Build generates (go generate
// ./statemachine rewrites it; SAM's DefinitionUri reads the file).
func TestGenerated(t *testing.T) {
	want, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	if string(want) != string(Deploy) {
		t.Error("deploy.asl.json is stale: run go generate ./statemachine")
	}
}

// TestOnePolicy: every Lambda task retries with the one Policy (finish with
// its own, longer one, which also retries Internal), and the policy covers
// every throttle and transient error class of the contract.
func TestOnePolicy(t *testing.T) {
	d := definition(t)
	asJSON := func(p []Retrier) []any {
		b, _ := json.Marshal(p)
		var v []any
		_ = json.Unmarshal(b, &v)
		return v
	}
	for _, name := range sortedStates(d) {
		s := d["States"].(node)[name].(node)
		if s["Type"] != "Task" {
			continue
		}
		got, _ := s["Retry"].([]any)
		want := asJSON(Policy)
		if name == "Finish" {
			want = asJSON(finishPolicy)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s retries with %v, not the Policy", name, s["Retry"])
		}
	}
	for _, c := range []contract.ErrorClass{contract.Throttle, contract.Transient} {
		for _, e := range contract.NamesOf(c) {
			if !slices.ContainsFunc(Policy, func(r Retrier) bool { return slices.Contains(r.ErrorEquals, e) }) {
				t.Errorf("Policy does not retry %s", e)
			}
		}
	}
	if n := len(d["States"].(node)); n > 20 {
		t.Errorf("%d states: keep the machine at 20 at most", n)
	}
}

// TestDoneRoutesEveryTerminal: Done succeeds the execution for exactly the
// terminal statuses whose ExecutionError is empty; the others reach the
// Fail state, which reads finish's error and reason.
func TestDoneRoutesEveryTerminal(t *testing.T) {
	d := definition(t)
	done := d["States"].(node)["Done"].(node)
	succeeds := map[string]bool{}
	for _, c := range done["Choices"].([]any) {
		r := c.(node)
		if r["Next"] == "Succeeded" {
			succeeds[r["StringEquals"].(string)] = true
		}
	}
	for _, st := range contract.Terminals {
		if got, want := succeeds[string(st)], st.ExecutionError() == ""; got != want {
			t.Errorf("%s succeeds the execution: %v, want %v", st, got, want)
		}
	}
	fail := d["States"].(node)[done["Default"].(string)].(node)
	if fail["Type"] != "Fail" || fail["ErrorPath"] != "$.finish.Payload.error" || fail["CausePath"] != "$.finish.Payload.reason" {
		t.Errorf("Done's default %v", fail)
	}
}

// TestThrottleBudget: the throttling retry outlasts a whole fan-out. One
// push to 500 services queues 500 RegisterTaskDefinition calls behind ECS's
// "Task definition modify actions" bucket (20, refilled at 1 per second):
// the last is served after 480 s. With FULL jitter the expected wait is
// half of each capped delay; it must cover that drain twice over, and the
// rule must spread retries (FULL jitter, a cap).
func TestThrottleBudget(t *testing.T) {
	r := throttled
	if r.JitterStrategy != "FULL" || r.MaxDelaySeconds == 0 {
		t.Fatalf("throttling retry %+v: want FULL jitter and a MaxDelaySeconds cap", r)
	}
	var expected float64
	d := float64(r.IntervalSeconds)
	for range r.MaxAttempts {
		expected += min(d, float64(r.MaxDelaySeconds)) / 2
		d *= r.BackoffRate
	}
	if drain := float64(500-20) / 1; expected < 2*drain {
		t.Fatalf("expected throttling wait %.0fs, want at least %.0fs (twice the drain of 500 registrations)", expected, 2*drain)
	}
	for _, p := range [][]Retrier{Policy, finishPolicy} {
		if p[0].MaxAttempts != r.MaxAttempts || p[0].JitterStrategy != r.JitterStrategy {
			t.Fatalf("a policy without the one throttling rule: %+v", p[0])
		}
	}
}
