package states

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// failOn fails items whose "fail" field is true with error Item.Failed.
var failOn = fakeTasks{"arn:aws:states:::test:item": func(_ context.Context, req TaskRequest) (json.RawMessage, error) {
	var in struct {
		Fail bool `json:"fail"`
		N    int  `json:"n"`
	}
	_ = json.Unmarshal(req.Input, &in)
	if in.Fail {
		return nil, &TaskFailure{ErrorName: "Item.Failed", Cause: fmt.Sprintf("item %d", in.N)}
	}
	return json.RawMessage(fmt.Sprint(in.N * 10)), nil
}}

func items(n int, failing ...int) string {
	var parts []string
	for i := range n {
		f := false
		for _, x := range failing {
			f = f || x == i
		}
		parts = append(parts, fmt.Sprintf(`{"n":%d,"fail":%v}`, i, f))
	}
	return `{"items":[` + strings.Join(parts, ",") + `]}`
}

func TestMap(t *testing.T) {
	task := `"ItemProcessor":{"StartAt":"I","States":{"I":{"Type":"Task","Resource":"arn:aws:states:::test:item","End":true}}}`
	cases := []struct {
		name  string
		extra string
		input string
		want  string // output or Error:Name
	}{
		{"results in item order", `"ItemsPath":"$.items",` + task, items(5), `[0,10,20,30,40]`},
		{"empty array", `"ItemsPath":"$.items",` + task, `{"items":[]}`, `[]`},
		{"one failure fails the map", `"ItemsPath":"$.items",` + task, items(5, 3), `Error:Item.Failed`},
		{"tolerated count", `"ItemsPath":"$.items","ToleratedFailureCount":1,` + task, items(3, 1), `[0,{"Error":"Item.Failed","Cause":"item 1"},20]`},
		{"count exceeded", `"ItemsPath":"$.items","ToleratedFailureCount":1,` + task, items(3, 0, 2), `Error:States.ExceedToleratedFailureThreshold`},
		{"tolerated percentage", `"ItemsPath":"$.items","ToleratedFailurePercentage":50,` + task, items(4, 0, 1), `[{"Error":"Item.Failed","Cause":"item 0"},{"Error":"Item.Failed","Cause":"item 1"},20,30]`},
		{"percentage exceeded", `"ItemsPath":"$.items","ToleratedFailurePercentage":50,` + task, items(4, 0, 1, 2), `Error:States.ExceedToleratedFailureThreshold`},
		{"count path", `"ItemsPath":"$.items","ToleratedFailureCountPath":"$.tol",` + task, `{"tol":1,"items":[{"n":1,"fail":true},{"n":2}]}`, `[{"Error":"Item.Failed","Cause":"item 1"},20]`},
		{"item selector and context", `"ItemsPath":"$.xs","ItemSelector":{"i.$":"$$.Map.Item.Index","v.$":"$$.Map.Item.Value","k.$":"$.k"},"ItemProcessor":{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}`,
			`{"xs":["a","b"],"k":"K"}`, `[{"i":0,"v":"a","k":"K"},{"i":1,"v":"b","k":"K"}]`},
		{"legacy iterator and parameters", `"ItemsPath":"$.xs","Parameters":{"v.$":"$$.Map.Item.Value"},"Iterator":{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}`,
			`{"xs":[1,2]}`, `[{"v":1},{"v":2}]`},
		{"result selector, path and output", `"ItemsPath":"$.items","ResultSelector":{"all.$":"$"},"ResultPath":"$.r","OutputPath":"$.r.all",` + task, items(2), `[0,10]`},
		{"items not an array", `"ItemsPath":"$.items",` + task, `{"items":{"a":1}}`, `Error:States.Runtime`},
		{"items path missing", `"ItemsPath":"$.nope",` + task, `{}`, `Error:States.Runtime`},
		{"input is the array by default", task, `[{"n":7}]`, `[70]`},
		{"catch on the map", `"ItemsPath":"$.items","Catch":[{"ErrorEquals":["Item.Failed"],"ResultPath":"$.err","Next":"H"}],` + task, items(2, 1),
			`{"items":[{"n":0,"fail":false},{"n":1,"fail":true}],"err":{"Error":"Item.Failed","Cause":"item 1"},"h":true}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			def := `{"StartAt":"M","States":{"M":{"Type":"Map",` + c.extra + `,"End":true},"H":{"Type":"Pass","Result":true,"ResultPath":"$.h","End":true},
				"Start":{"Type":"Pass","Next":"H"}}}`
			// Keep H reachable for cases without a Catch.
			def = strings.Replace(def, `"StartAt":"M"`, `"StartAt":"Start0"`, 1)
			def = strings.Replace(def, `"Start":{`, `"Start0":{"Type":"Choice","Choices":[{"Variable":"$.neverSet","IsPresent":true,"Next":"H"}],"Default":"M"},"Start":{`, 1)
			def = strings.Replace(def, `,"Start":{"Type":"Pass","Next":"H"}`, ``, 1)
			res, _, _ := run(t, def, c.input, failOn)
			if name, ok := cutPrefix(c.want, "Error:"); ok {
				if res.Status != StatusFailed || res.Error != name {
					t.Fatalf("got %s %s (%s) %s, want %s", res.Status, res.Error, res.Cause, res.Output, name)
				}
				return
			}
			if res.Status != StatusSucceeded || canon(t, string(res.Output)) != canon(t, c.want) {
				t.Fatalf("got %s %s (%s: %s), want %s", res.Status, res.Output, res.Error, res.Cause, c.want)
			}
		})
	}
}

// TestMapConcurrency checks MaxConcurrency on the virtual clock: ten
// iterations of a 10 s Wait take 10 s unbounded, 50 s two at a time.
func TestMapConcurrency(t *testing.T) {
	for _, c := range []struct {
		conc string
		want time.Duration
	}{{`"MaxConcurrency":0,`, 10 * time.Second}, {`"MaxConcurrency":2,`, 50 * time.Second}, {`"MaxConcurrency":1,`, 100 * time.Second}, {`"MaxConcurrencyPath":"$.c",`, 40 * time.Second}} {
		t.Run(c.conc, func(t *testing.T) {
			var mu sync.Mutex
			running, peak := 0, 0
			runner := TaskRunnerFunc(func(ctx context.Context, req TaskRequest) (json.RawMessage, error) {
				mu.Lock()
				defer mu.Unlock()
				if strings.Contains(string(req.Input), `"start"`) {
					running++
					peak = max(peak, running)
				} else {
					running--
				}
				return req.Input, nil
			})
			def := `{"StartAt":"M","States":{"M":{"Type":"Map",` + c.conc + `"ItemsPath":"$.xs","ItemProcessor":{"StartAt":"A","States":{
				"A":{"Type":"Task","Resource":"arn:aws:states:::test:a","Parameters":{"start":1},"ResultPath":null,"Next":"W"},
				"W":{"Type":"Wait","Seconds":10,"Next":"B"},
				"B":{"Type":"Task","Resource":"arn:aws:states:::test:b","Parameters":{"end":1},"ResultPath":null,"End":true}}},"End":true}}}`
			res, x, _ := run(t, def, `{"c":3,"xs":[0,1,2,3,4,5,6,7,8,9]}`, runner)
			if res.Status != StatusSucceeded || string(res.Output) != `[0,1,2,3,4,5,6,7,8,9]` {
				t.Fatalf("got %+v %s", res, res.Output)
			}
			if got := x.StopTime().Sub(t0); got != c.want {
				t.Errorf("took %v, want %v (peak concurrency %d)", got, c.want, peak)
			}
		})
	}
}

func TestParallel(t *testing.T) {
	branch := func(wait int, last string) string {
		return fmt.Sprintf(`{"StartAt":"W%[1]d","States":{"W%[1]d":{"Type":"Wait","Seconds":%[1]d,"Next":"L%[1]d"},"L%[1]d":%[2]s}}`, wait, last)
	}
	pass := func(v string) string { return `{"Type":"Pass","Result":` + v + `,"End":true}` }
	cases := []struct {
		name     string
		branches []string
		extra    string
		want     string
		at       time.Duration
	}{
		{"outputs in branch order", []string{branch(30, pass(`"slow"`)), branch(10, pass(`"fast"`))}, ``, `["slow","fast"]`, 30 * time.Second},
		{"branches get the same input", []string{`{"StartAt":"B1","States":{"B1":{"Type":"Pass","InputPath":"$.a","End":true}}}`, `{"StartAt":"P2","States":{"P2":{"Type":"Pass","End":true}}}`},
			`"Parameters":{"a.$":"$.x"},`, `[1,{"a":1}]`, 0},
		{"first failure stops the rest", []string{branch(100, pass(`1`)), branch(5, `{"Type":"Fail","Error":"Boom","Cause":"b"}`)}, ``, `Error:Boom`, 5 * time.Second},
		{"caught with the branch error", []string{branch(100, pass(`1`)), branch(5, `{"Type":"Fail","Error":"Boom","Cause":"b"}`)},
			`"Catch":[{"ErrorEquals":["Boom"],"Next":"H"}],`, `{"Error":"Boom","Cause":"b"}`, 5 * time.Second},
		{"retried as a whole", []string{branch(7, `{"Type":"Task","Resource":"arn:aws:states:::test:flaky","End":true}`)},
			`"Retry":[{"ErrorEquals":["Flaky"],"IntervalSeconds":3}],`, `["ok"]`, 7*time.Second + 3*time.Second + 7*time.Second},
		{"result selector and path", []string{branch(1, pass(`1`)), branch(2, pass(`2`))}, `"ResultSelector":{"first.$":"$[0]"},"ResultPath":"$.r",`, `{"x":1,"r":{"first":1}}`, 2 * time.Second},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			def := `{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{"Variable":"$.neverSet","IsPresent":true,"Next":"H"}],"Default":"P"},
				"P":{"Type":"Parallel",` + c.extra + `"Branches":[` + strings.Join(c.branches, ",") + `],"End":true},"H":{"Type":"Pass","End":true}}}`
			res, x, _ := run(t, def, `{"x":1}`, failing("Flaky"))
			if name, ok := cutPrefix(c.want, "Error:"); ok {
				if res.Status != StatusFailed || res.Error != name {
					t.Fatalf("got %+v", res)
				}
			} else if res.Status != StatusSucceeded || canon(t, string(res.Output)) != canon(t, c.want) {
				t.Fatalf("got %s %s (%s: %s), want %s", res.Status, res.Output, res.Error, res.Cause, c.want)
			}
			if got := x.StopTime().Sub(t0); got != c.at {
				t.Errorf("finished at +%v, want +%v", got, c.at)
			}
		})
	}
}

func TestParallelHistory(t *testing.T) {
	def := `{"StartAt":"P","States":{"P":{"Type":"Parallel","Branches":[{"StartAt":"A","States":{"A":{"Type":"Pass","End":true}}}],"End":true}}}`
	_, x, _ := run(t, def, `{}`, nil)
	want := "[ExecutionStarted ParallelStateEntered ParallelStateStarted PassStateEntered PassStateExited ParallelStateSucceeded ParallelStateExited ExecutionSucceeded]"
	if got := fmt.Sprint(eventTypes(x)); got != want {
		t.Errorf("events %s", got)
	}
	h := x.History()
	// The branch's first event follows ParallelStateStarted.
	if h[3].PreviousEventID != h[2].ID {
		t.Errorf("branch event %d previous %d, want %d", h[3].ID, h[3].PreviousEventID, h[2].ID)
	}
}

// TestBranchesAreDeterministic runs a Map whose iterations fail at the same
// virtual instant, and a Parallel, many times: the baton makes the history
// and the failure reported the same on every run.
func TestBranchesAreDeterministic(t *testing.T) {
	def := `{"StartAt":"P","States":{"P":{"Type":"Parallel","Branches":[
		{"StartAt":"M","States":{"M":{"Type":"Map","ItemsPath":"$.items","ItemProcessor":{"StartAt":"I","States":{
			"I":{"Type":"Task","Resource":"arn:aws:states:::test:item","Next":"W"},"W":{"Type":"Wait","Seconds":1,"End":true}}},"End":true}}},
		{"StartAt":"X","States":{"X":{"Type":"Pass","Next":"Y"},"Y":{"Type":"Wait","Seconds":1,"End":true}}}],"End":true}}}`
	var first string
	for i := range 20 {
		res, x, _ := run(t, def, items(6, 3, 1, 5), failOn)
		if res.Error != "Item.Failed" || res.Cause != "item 1" {
			t.Fatalf("run %d: got %s %q, want the lowest failing item", i, res.Error, res.Cause)
		}
		h, _ := json.Marshal(x.History())
		if i == 0 {
			first = string(h)
		} else if string(h) != first {
			t.Fatalf("run %d: history differs:\n%s\n%s", i, first, h)
		}
	}
}
