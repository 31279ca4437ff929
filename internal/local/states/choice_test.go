package states

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/pushdeploy/pushdeploy/internal/app/clock"
)

func TestChoiceOperators(t *testing.T) {
	input := `{"s":"banana","n":10,"f":1.5,"b":true,"ts":"2026-01-01T10:00:00Z","z":null,"other":"apple","n2":10.0,"ts2":"2026-01-01T12:00:00+02:00","arr":[1]}`
	cases := []struct {
		rule  string
		match bool // or "ERR" via err
		err   string
	}{
		{`"Variable":"$.s","StringEquals":"banana"`, true, ""},
		{`"Variable":"$.s","StringEquals":"Banana"`, false, ""},
		{`"Variable":"$.n","StringEquals":"10"`, false, ""},
		{`"Variable":"$.s","StringLessThan":"cherry"`, true, ""},
		{`"Variable":"$.s","StringGreaterThan":"apple"`, true, ""},
		{`"Variable":"$.s","StringLessThanEquals":"banana"`, true, ""},
		{`"Variable":"$.s","StringGreaterThanEquals":"banana2"`, false, ""},
		{`"Variable":"$.s","StringEqualsPath":"$.other"`, false, ""},
		{`"Variable":"$.s","StringGreaterThanPath":"$.other"`, true, ""},
		{`"Variable":"$.s","StringMatches":"ba*a"`, true, ""},
		{`"Variable":"$.s","StringMatches":"*nan*"`, true, ""},
		{`"Variable":"$.s","StringMatches":"b*x"`, false, ""},
		{`"Variable":"$.n","NumericEquals":10`, true, ""},
		{`"Variable":"$.n2","NumericEquals":10`, true, ""},
		{`"Variable":"$.f","NumericLessThan":2`, true, ""},
		{`"Variable":"$.f","NumericGreaterThan":1.49`, true, ""},
		{`"Variable":"$.n","NumericLessThanEquals":10`, true, ""},
		{`"Variable":"$.n","NumericGreaterThanEquals":10.5`, false, ""},
		{`"Variable":"$.s","NumericEquals":10`, false, ""},
		{`"Variable":"$.n","NumericEqualsPath":"$.n2"`, true, ""},
		{`"Variable":"$.f","NumericLessThanPath":"$.n"`, true, ""},
		{`"Variable":"$.b","BooleanEquals":true`, true, ""},
		{`"Variable":"$.s","BooleanEquals":true`, false, ""},
		{`"Variable":"$.b","BooleanEqualsPath":"$.b"`, true, ""},
		{`"Variable":"$.ts","TimestampEquals":"2026-01-01T10:00:00Z"`, true, ""},
		{`"Variable":"$.ts","TimestampEqualsPath":"$.ts2"`, true, ""},
		{`"Variable":"$.ts","TimestampLessThan":"2026-01-01T10:00:01Z"`, true, ""},
		{`"Variable":"$.ts","TimestampGreaterThan":"2026-01-01T10:00:01Z"`, false, ""},
		{`"Variable":"$.ts","TimestampLessThanEquals":"2026-01-01T10:00:00Z"`, true, ""},
		{`"Variable":"$.ts","TimestampGreaterThanEquals":"2025-12-31T23:59:59Z"`, true, ""},
		{`"Variable":"$.s","TimestampEquals":"2026-01-01T10:00:00Z"`, false, ""},
		{`"Variable":"$.z","IsNull":true`, true, ""},
		{`"Variable":"$.s","IsNull":true`, false, ""},
		{`"Variable":"$.nope","IsPresent":false`, true, ""},
		{`"Variable":"$.z","IsPresent":true`, true, ""},
		{`"Variable":"$.n","IsNumeric":true`, true, ""},
		{`"Variable":"$.s","IsNumeric":false`, true, ""},
		{`"Variable":"$.s","IsString":true`, true, ""},
		{`"Variable":"$.b","IsBoolean":true`, true, ""},
		{`"Variable":"$.ts","IsTimestamp":true`, true, ""},
		{`"Variable":"$.s","IsTimestamp":true`, false, ""},
		{`"And":[{"Variable":"$.n","NumericEquals":10},{"Variable":"$.b","BooleanEquals":true}]`, true, ""},
		{`"And":[{"Variable":"$.n","NumericEquals":10},{"Variable":"$.b","BooleanEquals":false}]`, false, ""},
		{`"Or":[{"Variable":"$.n","NumericEquals":1},{"Variable":"$.b","BooleanEquals":true}]`, true, ""},
		{`"Not":{"Variable":"$.n","NumericEquals":1}`, true, ""},
		{`"And":[{"Variable":"$.nope","IsPresent":true},{"Variable":"$.nope","NumericEquals":1}]`, false, ""},
		{`"Variable":"$.nope","NumericEquals":1`, false, "States.Runtime"},
		{`"Variable":"$.n","NumericEqualsPath":"$.nope"`, false, "States.Runtime"},
	}
	for _, c := range cases {
		t.Run(c.rule, func(t *testing.T) {
			def := `{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{` + c.rule + `,"Next":"Yes"}],"Default":"No"},
				"Yes":{"Type":"Pass","Result":"yes","End":true},"No":{"Type":"Pass","Result":"no","End":true}}}`
			res, _, _ := run(t, def, input, nil)
			if c.err != "" {
				if res.Error != c.err {
					t.Fatalf("got %s %s, want error %s", res.Status, res.Error, c.err)
				}
				return
			}
			want := `"no"`
			if c.match {
				want = `"yes"`
			}
			if string(res.Output) != want {
				t.Errorf("got %s %s (%s %s), want %s", res.Status, res.Output, res.Error, res.Cause, want)
			}
		})
	}
}

func TestChoiceNoMatch(t *testing.T) {
	def := `{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{"Variable":"$.n","NumericEquals":1,"Next":"Y"}]},"Y":{"Type":"Succeed"}}}`
	res, _, _ := run(t, def, `{"n":2}`, nil)
	if res.Status != StatusFailed || res.Error != ErrNoChoiceMatched {
		t.Fatalf("got %+v", res)
	}
	if !strings.Contains(res.Cause, "C") {
		t.Errorf("cause %q does not name the state", res.Cause)
	}
}

func TestChoiceInputOutputPath(t *testing.T) {
	def := `{"StartAt":"C","States":{"C":{"Type":"Choice","InputPath":"$.in","OutputPath":"$.v","Choices":[{"Variable":"$.v","NumericEquals":1,"Next":"Y"}]},"Y":{"Type":"Succeed"}}}`
	res, _, _ := run(t, def, `{"in":{"v":1}}`, nil)
	if string(res.Output) != `1` {
		t.Fatalf("got %+v", res)
	}
}

func TestStringMatches(t *testing.T) {
	cases := []struct {
		s, p string
		want bool
	}{
		{"log.txt", "*.txt", true},
		{"log.txt", "*.log", false},
		{"a*b", `a\*b`, true},
		{"axb", `a\*b`, false},
		{`a\b`, `a\\b`, true},
		{"", "*", true},
		{"abc", "a*b*c", true},
		{"abc", "a*b*c*d", false},
		{"aaa", "a*a", true},
	}
	for _, c := range cases {
		if got := stringMatches(c.s, c.p); got != c.want {
			t.Errorf("stringMatches(%q, %q) = %v", c.s, c.p, got)
		}
	}
}

func TestAWSErrorNames(t *testing.T) {
	def := `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::test:echo","Parameters":{"x.$":"$.nope"},
		"Catch":[{"ErrorEquals":["States.ALL"],"Next":"H"}],"End":true},"H":{"Type":"Pass","End":true}}}`
	for _, aws := range []bool{false, true} {
		m, err := Parse([]byte(def))
		if err != nil {
			t.Fatal(err)
		}
		clk := clock.NewVirtual(t0)
		x := NewEngine(EngineOptions{Clock: clk, Tasks: fakeTasks{"arn:aws:states:::test:echo": echo}, AWSErrorNames: aws}).Start(context.Background(), m, testInfo(), json.RawMessage(`{}`))
		res, _ := x.Wait(context.Background())
		// The specification's States.ParameterPathFailure is caught by
		// States.ALL; AWS's States.Runtime is not.
		if aws && (res.Status != StatusFailed || res.Error != ErrRuntime) {
			t.Errorf("AWS names: got %+v", res)
		}
		if !aws && res.Status != StatusSucceeded {
			t.Errorf("spec names: got %+v", res)
		}
	}
}
