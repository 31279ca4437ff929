package dynamodb

import (
	"strings"
	"testing"
)

func TestSyntaxErrorsNameTheToken(t *testing.T) {
	tests := []struct{ what, src, want string }{
		{"UpdateExpression", "SET a = ", `token: "<EOF>"`},
		{"UpdateExpression", "SET a = :v,", `token: "<EOF>"`},
		{"UpdateExpression", "SET a[x] = :v", `token: "x"`},
		{"UpdateExpression", "PUT a = :v", `token: "PUT"`},
		{"ConditionExpression", "a = :v AND", `token: "<EOF>"`},
		{"ConditionExpression", "a = :v b", `token: "b"`},
		{"ConditionExpression", "a BETWEEN :v", `token: "<EOF>"`},
		{"ProjectionExpression", "a,,b", `token: ","`},
	}
	for _, tt := range tests {
		sub, _ := newSubst(nil, map[string]Value{":v": str("x")})
		var err error
		switch tt.what {
		case "UpdateExpression":
			_, err = parseUpdate(tt.src, sub)
		case "ConditionExpression":
			_, err = parseCondition(tt.what, tt.src, sub)
		default:
			_, err = parseProjection(tt.src, sub)
		}
		if err == nil || !strings.Contains(err.Error(), "Invalid "+tt.what) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s %q: %v, want an error naming %s", tt.what, tt.src, err, tt.want)
		}
	}
}

func TestParseTree(t *testing.T) {
	sub, _ := newSubst(map[string]string{"#s": "status"}, map[string]Value{":a": str("a"), ":b": str("b")})
	c, err := parseCondition("ConditionExpression", "#s = :a OR NOT x.y[2].z IN (:a, :b) AND size(m) > :b", sub)
	if err != nil {
		t.Fatal(err)
	}
	or, ok := c.(orCond)
	if !ok {
		t.Fatalf("top = %T, want OR", c)
	}
	and, ok := or.b.(andCond)
	if !ok {
		t.Fatalf("right of OR = %T, want AND", or.b)
	}
	not, ok := and.a.(notCond)
	if !ok {
		t.Fatalf("left of AND = %T, want NOT", and.a)
	}
	in := not.c.(inCond)
	if got := in.v.(pathOp).path.String(); got != "x.y[2].z" {
		t.Errorf("IN path = %s", got)
	}
	if err := sub.checkUnused(); err != nil {
		t.Errorf("all names and values are used: %v", err)
	}
}
