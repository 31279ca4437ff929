package cloudwatch

import (
	"errors"
	"slices"
	"testing"
)

func TestParseRule(t *testing.T) {
	states := map[string]string{
		"a": StateAlarm, "b": StateOK, "c": StateInsufficientData,
		"web (5xx)": StateAlarm, `say "hi"`: StateOK,
		"arn:aws:cloudwatch:us-east-1:123456789012:alarm:a": StateAlarm,
	}
	state := func(ref string) string { return states[ref] }
	tests := []struct {
		rule string
		want bool
		refs []string
	}{
		{"TRUE", true, nil},
		{"FALSE", false, nil},
		{"ALARM(a)", true, []string{"a"}},
		{`ALARM("a")`, true, []string{"a"}},
		{"OK(a)", false, []string{"a"}},
		{"OK(b)", true, []string{"b"}},
		{"INSUFFICIENT_DATA(c)", true, []string{"c"}},
		{"ALARM(missing)", false, []string{"missing"}},
		{"NOT ALARM(a)", false, []string{"a"}},
		{"NOT NOT ALARM(a)", true, []string{"a"}},
		{"ALARM(a) AND OK(b)", true, []string{"a", "b"}},
		{"ALARM(a) AND ALARM(b)", false, []string{"a", "b"}},
		{"ALARM(b) OR ALARM(a)", true, []string{"b", "a"}},
		// AND binds tighter than OR; NOT tighter than AND.
		{"TRUE OR FALSE AND FALSE", true, nil},
		{"(TRUE OR FALSE) AND FALSE", false, nil},
		{"NOT FALSE AND FALSE", false, nil},
		{"NOT (FALSE AND FALSE)", true, nil},
		{`ALARM("web (5xx)") AND OK("say \"hi\"")`, true, []string{"web (5xx)", `say "hi"`}},
		{`ALARM("arn:aws:cloudwatch:us-east-1:123456789012:alarm:a")`, true, []string{"arn:aws:cloudwatch:us-east-1:123456789012:alarm:a"}},
		{"ALARM(arn:aws:cloudwatch:us-east-1:123456789012:alarm:a)", true, []string{"arn:aws:cloudwatch:us-east-1:123456789012:alarm:a"}},
		{"  ( ALARM( a )\n\tOR FALSE )  ", true, []string{"a"}},
		{"ALARM(a) OR ALARM(a)", true, []string{"a", "a"}},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			n, refs, err := parseRule(tt.rule)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			if got := n.eval(state); got != tt.want {
				t.Errorf("eval = %v, want %v", got, tt.want)
			}
			if !slices.Equal(refs, tt.refs) {
				t.Errorf("refs = %q, want %q", refs, tt.refs)
			}
		})
	}
}

func TestParseRuleErrors(t *testing.T) {
	tests := []struct {
		rule string
		pos  int
	}{
		{"", 0},
		{"ALARM", 5},
		{"ALARM(", 6},
		{"ALARM()", 6},
		{"ALARM(a", 7},
		{`ALARM("a)`, 6},
		{"ALARM(a) AND", 12},
		{"ALARM(a) ALARM(b)", 9},
		{"alarm(a)", 0},
		{"ALARM(a) XOR ALARM(b)", 9},
		{"(TRUE", 5},
		{"TRUE)", 4},
		{"NOT", 3},
		{`ALARM("")`, 6},
		{"AT_LEAST(1, ALARM, (a, b))", 0},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			_, _, err := parseRule(tt.rule)
			var re *RuleError
			if !errors.As(err, &re) {
				t.Fatalf("err = %v, want a RuleError", err)
			}
			if re.Pos != tt.pos {
				t.Errorf("position %d (%v), want %d", re.Pos, err, tt.pos)
			}
		})
	}
}
