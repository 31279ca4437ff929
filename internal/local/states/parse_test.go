package states

import (
	"errors"
	"strings"
	"testing"
)

func TestParseRejects(t *testing.T) {
	pass := `{"Type":"Pass","End":true}`
	cases := []struct {
		name, def, want string
	}{
		{"not json", `{`, "not valid JSON"},
		{"not an object", `[]`, "must be a JSON object"},
		{"missing StartAt", `{"States":{"A":` + pass + `}}`, "missing required field StartAt"},
		{"missing States", `{"StartAt":"A"}`, "missing required field States"},
		{"StartAt unknown", `{"StartAt":"B","States":{"A":` + pass + `}}`, `StartAt "B" is not a state`},
		{"unknown top field", `{"StartAt":"A","Foo":1,"States":{"A":` + pass + `}}`, `unknown field "Foo"`},
		{"JSONata", `{"QueryLanguage":"JSONata","StartAt":"A","States":{"A":` + pass + `}}`, "QueryLanguage"},
		{"bad type", `{"StartAt":"A","States":{"A":{"Type":"Nope","End":true}}}`, "Type must be one of"},
		{"unknown state field", `{"StartAt":"A","States":{"A":{"Type":"Pass","End":true,"Resource":"x"}}}`, `unknown field "Resource"`},
		{"next and end", `{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"A","End":true}}}`, "both Next and End"},
		{"neither next nor end", `{"StartAt":"A","States":{"A":{"Type":"Pass"},"B":` + pass + `}}`, "must have Next"},
		{"end false", `{"StartAt":"A","States":{"A":{"Type":"Pass","End":false}}}`, "End must be true"},
		{"unknown next", `{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"Z"}}}`, `transition to "Z"`},
		{"unreachable", `{"StartAt":"A","States":{"A":` + pass + `,"B":` + pass + `}}`, `"B": unreachable`},
		{"no terminal", `{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"B"},"B":{"Type":"Pass","Next":"A"}}}`, "no terminal state"},
		{"duplicate key", `{"StartAt":"A","States":{"A":{"Type":"Pass","End":true,"End":true}}}`, `duplicate field "End"`},
		{"long name", `{"StartAt":"` + strings.Repeat("x", 81) + `","States":{"` + strings.Repeat("x", 81) + `":` + pass + `}}`, "at most 80"},
		{"bad input path", `{"StartAt":"A","States":{"A":{"Type":"Pass","InputPath":"a.b","End":true}}}`, "must start with $"},
		{"indefinite result path", `{"StartAt":"A","States":{"A":{"Type":"Pass","ResultPath":"$.a[*]","End":true}}}`, "reference path"},
		{"context result path", `{"StartAt":"A","States":{"A":{"Type":"Pass","ResultPath":"$$.a","End":true}}}`, "context object"},
		{"bad parameter path", `{"StartAt":"A","States":{"A":{"Type":"Pass","Parameters":{"a.$":"nope"},"End":true}}}`, `field "a.$"`},
		{"parameter not string", `{"StartAt":"A","States":{"A":{"Type":"Pass","Parameters":{"a.$":1},"End":true}}}`, "ends in .$"},
		{"bad intrinsic", `{"StartAt":"A","States":{"A":{"Type":"Pass","Parameters":{"a.$":"States.Nope()"},"End":true}}}`, "unknown function"},
		{"intrinsic arity", `{"StartAt":"A","States":{"A":{"Type":"Pass","Parameters":{"a.$":"States.ArrayLength()"},"End":true}}}`, "takes 1 arguments"},
		{"duplicate payload field", `{"StartAt":"A","States":{"A":{"Type":"Pass","Parameters":{"a.$":"$.x","a":1},"End":true}}}`, "both produce"},
		{"task without resource", `{"StartAt":"A","States":{"A":{"Type":"Task","End":true}}}`, "missing required field Resource"},
		{"task resource not arn", `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"nope","End":true}}}`, "must be an ARN"},
		{"timeout zero", `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:states:::x:y","TimeoutSeconds":0,"End":true}}}`, "at least 1"},
		{"heartbeat >= timeout", `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:states:::x:y","TimeoutSeconds":10,"HeartbeatSeconds":10,"End":true}}}`, "smaller than TimeoutSeconds"},
		{"timeout and path", `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:states:::x:y","TimeoutSeconds":10,"TimeoutSecondsPath":"$.t","End":true}}}`, "both TimeoutSeconds"},
		{"retry bad backoff", `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:states:::x:y","Retry":[{"ErrorEquals":["E"],"BackoffRate":0.5}],"End":true}}}`, "BackoffRate must be at least 1.0"},
		{"retry bad jitter", `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:states:::x:y","Retry":[{"ErrorEquals":["E"],"JitterStrategy":"HALF"}],"End":true}}}`, "JitterStrategy"},
		{"retry negative attempts", `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:states:::x:y","Retry":[{"ErrorEquals":["E"],"MaxAttempts":-1}],"End":true}}}`, "MaxAttempts must be at least 0"},
		{"retry fractional interval", `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:states:::x:y","Retry":[{"ErrorEquals":["E"],"IntervalSeconds":1.5}],"End":true}}}`, "must be an integer"},
		{"States.ALL not alone", `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:states:::x:y","Retry":[{"ErrorEquals":["States.ALL","E"]}],"End":true}}}`, "alone"},
		{"States.ALL not last", `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:states:::x:y","Catch":[{"ErrorEquals":["States.ALL"],"Next":"A"},{"ErrorEquals":["E"],"Next":"A"}],"End":true}}}`, "must be the last"},
		{"empty ErrorEquals", `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:states:::x:y","Retry":[{"ErrorEquals":[]}],"End":true}}}`, "non-empty"},
		{"catch without next", `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:states:::x:y","Catch":[{"ErrorEquals":["E"]}],"End":true}}}`, "missing required field Next"},
		{"choice without choices", `{"StartAt":"A","States":{"A":{"Type":"Choice","Default":"B"},"B":` + pass + `}}`, "missing required field Choices"},
		{"choice rule without next", `{"StartAt":"A","States":{"A":{"Type":"Choice","Choices":[{"Variable":"$.a","IsNull":true}],"Default":"B"},"B":` + pass + `}}`, "missing required field Next"},
		{"nested rule with next", `{"StartAt":"A","States":{"A":{"Type":"Choice","Choices":[{"Not":{"Variable":"$.a","IsNull":true,"Next":"B"},"Next":"B"}]},"B":` + pass + `}}`, "must not have Next"},
		{"two operators", `{"StartAt":"A","States":{"A":{"Type":"Choice","Choices":[{"Variable":"$.a","IsNull":true,"IsString":true,"Next":"B"}]},"B":` + pass + `}}`, "exactly one comparison"},
		{"operand type", `{"StartAt":"A","States":{"A":{"Type":"Choice","Choices":[{"Variable":"$.a","NumericEquals":"1","Next":"B"}]},"B":` + pass + `}}`, "must be a number"},
		{"bad timestamp operand", `{"StartAt":"A","States":{"A":{"Type":"Choice","Choices":[{"Variable":"$.a","TimestampEquals":"yesterday","Next":"B"}]},"B":` + pass + `}}`, "RFC 3339"},
		{"unknown operator", `{"StartAt":"A","States":{"A":{"Type":"Choice","Choices":[{"Variable":"$.a","StringContains":"x","Next":"B"}]},"B":` + pass + `}}`, `unknown field "StringContains"`},
		{"choice with end", `{"StartAt":"A","States":{"A":{"Type":"Choice","End":true,"Choices":[{"Variable":"$.a","IsNull":true,"Next":"B"}]},"B":` + pass + `}}`, `unknown field "End"`},
		{"wait two fields", `{"StartAt":"A","States":{"A":{"Type":"Wait","Seconds":1,"SecondsPath":"$.s","End":true}}}`, "exactly one of Seconds"},
		{"wait negative", `{"StartAt":"A","States":{"A":{"Type":"Wait","Seconds":-1,"End":true}}}`, "at least 0"},
		{"wait bad timestamp", `{"StartAt":"A","States":{"A":{"Type":"Wait","Timestamp":"soon","End":true}}}`, "RFC 3339"},
		{"fail error and path", `{"StartAt":"A","States":{"A":{"Type":"Fail","Error":"E","ErrorPath":"$.e"}}}`, "both Error and ErrorPath"},
		{"fail with next", `{"StartAt":"A","States":{"A":{"Type":"Fail","Next":"A"}}}`, `unknown field "Next"`},
		{"succeed with end", `{"StartAt":"A","States":{"A":{"Type":"Succeed","End":true}}}`, `unknown field "End"`},
		{"parallel no branches", `{"StartAt":"A","States":{"A":{"Type":"Parallel","Branches":[],"End":true}}}`, "non-empty array"},
		{"parallel escapes branch", `{"StartAt":"A","States":{"A":{"Type":"Parallel","Branches":[{"StartAt":"B","States":{"B":{"Type":"Pass","Next":"A"}}}],"End":true}}}`, `transition to "A"`},
		{"duplicate name across branches", `{"StartAt":"A","States":{"A":{"Type":"Parallel","Branches":[{"StartAt":"B","States":{"B":` + pass + `}},{"StartAt":"B","States":{"B":` + pass + `}}],"End":true}}}`, "already used"},
		{"map without processor", `{"StartAt":"A","States":{"A":{"Type":"Map","End":true}}}`, "ItemProcessor"},
		{"map both selectors", `{"StartAt":"A","States":{"A":{"Type":"Map","ItemSelector":{},"Parameters":{},"ItemProcessor":{"StartAt":"B","States":{"B":` + pass + `}},"End":true}}}`, "both ItemSelector and Parameters"},
		{"map distributed", `{"StartAt":"A","States":{"A":{"Type":"Map","ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED"},"StartAt":"B","States":{"B":` + pass + `}},"End":true}}}`, "only INLINE"},
		{"map tolerance range", `{"StartAt":"A","States":{"A":{"Type":"Map","ToleratedFailurePercentage":120,"ItemProcessor":{"StartAt":"B","States":{"B":` + pass + `}},"End":true}}}`, "between 0 and 100"},
		{"map item reader", `{"StartAt":"A","States":{"A":{"Type":"Map","ItemReader":{},"ItemProcessor":{"StartAt":"B","States":{"B":` + pass + `}},"End":true}}}`, `field "ItemReader" is not supported`},
		{"map escapes processor", `{"StartAt":"A","States":{"A":{"Type":"Map","ItemProcessor":{"StartAt":"B","States":{"B":{"Type":"Pass","Next":"A"}}},"End":true}}}`, `transition to "A"`},
		{"timeout not integer", `{"TimeoutSeconds":"10","StartAt":"A","States":{"A":` + pass + `}}`, "must be an integer"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse([]byte(c.def))
			var de *DefinitionError
			if !errors.As(err, &de) {
				t.Fatalf("Parse accepted it (err %v)", err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("problems %q do not mention %q", de.Problems, c.want)
			}
		})
	}
}

func TestParseAccepts(t *testing.T) {
	defs := []string{
		`{"Comment":"c","Version":"1.0","TimeoutSeconds":60,"QueryLanguage":"JSONPath","StartAt":"A","States":{"A":{"Type":"Pass","Comment":"x","End":true}}}`,
		`{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"${DeployFunctionArn}","Credentials":{"RoleArn":"r"},"HeartbeatSecondsPath":"$.h","End":true}}}`,
		`{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:states:::aws-sdk:ecs:describeServices","Parameters":{"Cluster.$":"$.c"},"Next":"B"},"B":{"Type":"Succeed"}}}`,
		`{"StartAt":"A","States":{"A":{"Type":"Map","Label":"L","MaxConcurrency":3,"ItemProcessor":{"ProcessorConfig":{"Mode":"INLINE"},"StartAt":"B","States":{"B":{"Type":"Pass","End":true}}},"End":true}}}`,
		`{"StartAt":"A","States":{"A":{"Type":"Choice","Choices":[{"And":[{"Variable":"$.a","IsPresent":true},{"Not":{"Variable":"$.a","StringEqualsPath":"$.b"}}],"Next":"B"}],"Default":"C"},"B":{"Type":"Succeed"},"C":{"Type":"Fail","ErrorPath":"$.e","CausePath":"States.Format('x {}', $.c)"}}}`,
	}
	for i, d := range defs {
		if _, err := Parse([]byte(d)); err != nil {
			t.Errorf("definition %d: %v", i, err)
		}
	}
}

func TestParseListsEveryProblem(t *testing.T) {
	_, err := Parse([]byte(`{"StartAt":"A","States":{"A":{"Type":"Pass","InputPath":"x","Next":"Z"},"B":{"Type":"Wait","End":true}}}`))
	var de *DefinitionError
	if !errors.As(err, &de) || len(de.Problems) < 4 {
		t.Fatalf("want at least 4 problems, got %v", err)
	}
}
