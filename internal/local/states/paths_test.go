package states

import (
	"strings"
	"testing"
)

func TestJSONPathEval(t *testing.T) {
	data := `{"a":{"b":[1,2,3],"c":"x","d.e":5},"items":[{"n":1,"t":"a"},{"n":5,"t":"b"},{"n":10,"t":"a"}],"deep":{"n":7,"x":{"n":8}}}`
	cases := []struct {
		path string
		want string // JSON, or "ERR"
	}{
		{"$", data},
		{"$.a.c", `"x"`},
		{"$.a.b[1]", `2`},
		{"$.a.b[-1]", `3`},
		{"$['a']['c']", `"x"`},
		{`$["a"]["d.e"]`, `5`},
		{"$.a.missing", "ERR"},
		{"$.a.b[9]", "ERR"},
		{"$.a.c.x", "ERR"},
		{"$.a.b[*]", `[1,2,3]`},
		{"$.a.b[0:2]", `[1,2]`},
		{"$.a.b[1:]", `[2,3]`},
		{"$.a.b[:-1]", `[1,2]`},
		{"$.a.b[::2]", `[1,3]`},
		{"$.a.b[0,2]", `[1,3]`},
		{"$.items[*].n", `[1,5,10]`},
		{"$.items[?(@.n > 2)].n", `[5,10]`},
		{"$.items[?(@.t == 'a')].n", `[1,10]`},
		{"$.items[?(@.n >= 5 && @.t == 'a')].n", `[10]`},
		{"$.items[?(@.n < 2 || @.n > 6)].n", `[1,10]`},
		{"$.items[?(@.t)].n", `[1,5,10]`},
		{"$.items[?(@.zzz)].n", `[]`},
		{"$.deep..n", `[7,8]`},
		{"$.missing[*]", `[]`},
		{"$.a['b','c']", `[[1,2,3],"x"]`},
		{"$.items[?(!@.zzz)].n", `[1,5,10]`},
		{"$.items[?(@.t != 'a')].n", `[5]`},
		{"$.items[?(@.n <= 5 && (@.t == 'b' || @.n == 1))].n", `[1,5]`},
		{"$.items[?(@.n == $.deep.n)].n", `[]`},
		{"$.a.b[::-1]", `[3,2,1]`},
		{"$.a.b[-2:]", `[2,3]`},
		{"$.deep.x.*", `[8]`},
		{"$..[0]", `[1,{"n":1,"t":"a"}]`},
	}
	v, _ := decodeJSON([]byte(data))
	for _, c := range cases {
		t.Run(c.path, func(t *testing.T) {
			p, err := parsePath(c.path)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			got, err := p.eval(v, nil)
			if c.want == "ERR" {
				if err == nil {
					t.Fatalf("want an error, got %s", mustJSON(got))
				}
				return
			}
			if err != nil {
				t.Fatalf("eval: %v", err)
			}
			if g, w := canon(t, mustJSON(got)), canon(t, c.want); g != w {
				t.Errorf("got %s, want %s", g, w)
			}
		})
	}
}

func TestPathSyntax(t *testing.T) {
	bad := []string{"a.b", "$.", "$[", "$['a", "$.a[x]", "$.a[1:2:0]", "$.a[?(@.b ==)]"}
	for _, s := range bad {
		if _, err := parsePath(s); err == nil {
			t.Errorf("parsePath(%q) accepted a bad path", s)
		}
	}
	for _, s := range []string{"$.a[*]", "$..a", "$.a[0:1]", "$.a[?(@.x)]", "$.a[1,2]"} {
		if _, err := parseRefPath(s); err == nil {
			t.Errorf("parseRefPath(%q) accepted an indefinite path", s)
		}
	}
}

// TestInputOutputProcessing runs single-state machines to check the order
// and the null/absent semantics of InputPath, Parameters, ResultSelector,
// ResultPath and OutputPath.
func TestInputOutputProcessing(t *testing.T) {
	cases := []struct {
		name  string
		state string // the state's JSON fields besides Type/End
		typ   string
		input string
		want  string // output, or "Error:Name"
	}{
		{"pass through", `{}`, "Pass", `{"a":1}`, `{"a":1}`},
		{"result replaces", `{"Result":{"r":2}}`, "Pass", `{"a":1}`, `{"r":2}`},
		{"result path into input", `{"Result":{"r":2},"ResultPath":"$.res"}`, "Pass", `{"a":1}`, `{"a":1,"res":{"r":2}}`},
		{"result path creates parents", `{"Result":3,"ResultPath":"$.x.y.z"}`, "Pass", `{"a":1}`, `{"a":1,"x":{"y":{"z":3}}}`},
		{"result path replaces existing", `{"Result":3,"ResultPath":"$.a"}`, "Pass", `{"a":{"old":true}}`, `{"a":3}`},
		{"result path into array element", `{"Result":"z","ResultPath":"$.a[1]"}`, "Pass", `{"a":[1,2]}`, `{"a":[1,"z"]}`},
		{"result path null keeps input", `{"Result":3,"ResultPath":null}`, "Pass", `{"a":1}`, `{"a":1}`},
		{"result path on non-object", `{"Result":3,"ResultPath":"$.a"}`, "Pass", `"str"`, `Error:States.ResultPathMatchFailure`},
		{"result path through scalar", `{"Result":3,"ResultPath":"$.a.b"}`, "Pass", `{"a":"s"}`, `Error:States.ResultPathMatchFailure`},
		{"input path selects", `{"InputPath":"$.a"}`, "Pass", `{"a":{"b":1}}`, `{"b":1}`},
		{"input path null", `{"InputPath":null}`, "Pass", `{"a":1}`, `{}`},
		{"input path missing", `{"InputPath":"$.nope"}`, "Pass", `{"a":1}`, `Error:States.Runtime`},
		{"output path null", `{"OutputPath":null}`, "Pass", `{"a":1}`, `{}`},
		{"output path selects", `{"OutputPath":"$.a"}`, "Pass", `{"a":[1]}`, `[1]`},
		{"output path missing", `{"OutputPath":"$.b"}`, "Pass", `{"a":1}`, `Error:States.Runtime`},
		{"parameters", `{"Parameters":{"x.$":"$.a","lit":"$.a","n":{"y.$":"$.b[0]"},"arr":[{"z.$":"$.a"}]}}`, "Pass", `{"a":1,"b":[9]}`, `{"x":1,"lit":"$.a","n":{"y":9},"arr":[{"z":1}]}`},
		{"parameters see effective input", `{"InputPath":"$.in","Parameters":{"v.$":"$.x"}}`, "Pass", `{"in":{"x":2}}`, `{"v":2}`},
		{"parameters context", `{"Parameters":{"name.$":"$$.State.Name","exec.$":"$$.Execution.Name","in.$":"$$.Execution.Input.a","sm.$":"$$.StateMachine.Name","rc.$":"$$.State.RetryCount"}}`, "Pass", `{"a":5}`, `{"name":"S","exec":"exec1","in":5,"sm":"sm","rc":0}`},
		{"parameters missing path", `{"Parameters":{"x.$":"$.nope"}}`, "Pass", `{}`, `Error:States.ParameterPathFailure`},
		{"parameters intrinsic", `{"Parameters":{"s.$":"States.Format('{}-{}', $.a, $.b)"}}`, "Pass", `{"a":"x","b":2}`, `{"s":"x-2"}`},
		{"result path with result and raw input", `{"InputPath":"$.a","ResultPath":"$.out"}`, "Pass", `{"a":{"v":1}}`, `{"a":{"v":1},"out":{"v":1}}`},
		{"succeed paths", `{"InputPath":"$.a","OutputPath":"$.b"}`, "Succeed", `{"a":{"b":3}}`, `3`},
		{"task full order", `{"Resource":"arn:aws:states:::test:echo","InputPath":"$.in","Parameters":{"p.$":"$.v"},"ResultSelector":{"got.$":"$.p"},"ResultPath":"$.res","OutputPath":"$.res"}`, "Task", `{"in":{"v":42},"other":1}`, `{"got":42}`},
		{"task result selector missing", `{"Resource":"arn:aws:states:::test:echo","ResultSelector":{"got.$":"$.nope"}}`, "Task", `{}`, `Error:States.ParameterPathFailure`},
		{"task result path null", `{"Resource":"arn:aws:states:::test:echo","Parameters":{"x":1},"ResultPath":null}`, "Task", `{"keep":true}`, `{"keep":true}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fields := strings.TrimSuffix(strings.TrimSpace(c.state), "}")
			if fields != "{" {
				fields += ","
			}
			end := `"End":true`
			if c.typ == "Succeed" {
				end = `"Comment":"end"`
			}
			def := `{"StartAt":"S","States":{"S":` + fields + `"Type":"` + c.typ + `",` + end + `}}}`
			res, _, _ := run(t, def, c.input, fakeTasks{"arn:aws:states:::test:echo": echo})
			if name, ok := strings.CutPrefix(c.want, "Error:"); ok {
				if res.Status != StatusFailed || res.Error != name {
					t.Fatalf("got %s %s (%s) output %s, want failure %s", res.Status, res.Error, res.Cause, res.Output, name)
				}
				return
			}
			if res.Status != StatusSucceeded {
				t.Fatalf("got %s %s: %s", res.Status, res.Error, res.Cause)
			}
			if g, w := canon(t, string(res.Output)), canon(t, c.want); g != w {
				t.Errorf("output %s, want %s", g, w)
			}
		})
	}
}
