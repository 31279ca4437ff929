package states

import (
	"fmt"
	"strings"
	"time"
)

// choiceRule is a Choice Rule: a comparison on Variable, or And/Or/Not of
// nested rules. Only top-level rules have a Next.
type choiceRule struct {
	next string

	and []*choiceRule
	or  []*choiceRule
	not *choiceRule

	variable *jsonPath
	op       string    // e.g. "StringEquals", "NumericLessThanPath", "IsPresent"
	value    any       // the literal operand
	valPath  *jsonPath // the operand of a ...Path operator
	ts       time.Time // a Timestamp operator's literal
}

// choiceOperators maps each comparison operator to the type of its operand.
var choiceOperators = map[string]string{
	"StringEquals": "string", "StringLessThan": "string", "StringGreaterThan": "string",
	"StringLessThanEquals": "string", "StringGreaterThanEquals": "string", "StringMatches": "string",
	"NumericEquals": "number", "NumericLessThan": "number", "NumericGreaterThan": "number",
	"NumericLessThanEquals": "number", "NumericGreaterThanEquals": "number",
	"BooleanEquals":   "boolean",
	"TimestampEquals": "timestamp", "TimestampLessThan": "timestamp", "TimestampGreaterThan": "timestamp",
	"TimestampLessThanEquals": "timestamp", "TimestampGreaterThanEquals": "timestamp",
	"IsNull": "boolean", "IsPresent": "boolean", "IsNumeric": "boolean", "IsString": "boolean",
	"IsBoolean": "boolean", "IsTimestamp": "boolean",
}

func init() {
	for op, typ := range choiceOperators {
		if strings.HasPrefix(op, "Is") || op == "StringMatches" {
			continue
		}
		if typ != "" {
			choiceOperators[op+"Path"] = "path"
		}
	}
}

func (c *checker) choice(st *state, obj map[string]any, where string) {
	st.defaultNext = c.optString(obj, "Default", where)
	v, ok := obj["Choices"]
	if !ok {
		c.addf("%s: missing required field Choices", where)
		return
	}
	arr, ok := v.([]any)
	if !ok || len(arr) == 0 {
		c.addf("%s: Choices must be a non-empty array", where)
		return
	}
	for i, x := range arr {
		rw := fmt.Sprintf("%s Choices[%d]", where, i)
		ro, ok := x.(map[string]any)
		if !ok {
			c.addf("%s: must be an object", rw)
			continue
		}
		st.choices = append(st.choices, c.choiceRule(ro, rw, true))
	}
}

func (c *checker) choiceRule(obj map[string]any, where string, top bool) *choiceRule {
	r := &choiceRule{}
	if top {
		r.next = c.reqString(obj, "Next", where)
	} else if _, ok := obj["Next"]; ok {
		c.addf("%s: nested choice rules must not have Next", where)
	}
	var ops []string
	for _, k := range sortedKeys(obj) {
		switch k {
		case "Next", "Comment", "Variable":
		case "And", "Or", "Not":
			ops = append(ops, k)
		default:
			if _, ok := choiceOperators[k]; ok {
				ops = append(ops, k)
			} else {
				c.addf("%s: unknown field %q", where, k)
			}
		}
	}
	if len(ops) != 1 {
		c.addf("%s: must have exactly one comparison operator or And/Or/Not, found %d", where, len(ops))
		return r
	}
	op := ops[0]
	val := obj[op]
	switch op {
	case "And", "Or":
		if _, ok := obj["Variable"]; ok {
			c.addf("%s: %s must not have a Variable", where, op)
		}
		arr, ok := val.([]any)
		if !ok || len(arr) == 0 {
			c.addf("%s: %s must be a non-empty array of rules", where, op)
			return r
		}
		var subs []*choiceRule
		for i, x := range arr {
			so, ok := x.(map[string]any)
			if !ok {
				c.addf("%s.%s[%d]: must be an object", where, op, i)
				continue
			}
			subs = append(subs, c.choiceRule(so, fmt.Sprintf("%s.%s[%d]", where, op, i), false))
		}
		if op == "And" {
			r.and = subs
		} else {
			r.or = subs
		}
		return r
	case "Not":
		if _, ok := obj["Variable"]; ok {
			c.addf("%s: Not must not have a Variable", where)
		}
		so, ok := val.(map[string]any)
		if !ok {
			c.addf("%s: Not must be a rule object", where)
			return r
		}
		r.not = c.choiceRule(so, where+".Not", false)
		return r
	}
	r.op = op
	if _, ok := obj["Variable"]; !ok {
		c.addf("%s: %s needs a Variable", where, op)
	} else {
		r.variable = c.pathField(obj, "Variable", where, false)
	}
	switch choiceOperators[op] {
	case "string":
		if _, ok := val.(string); !ok {
			c.addf("%s: %s must be a string, not %s", where, op, typeName(val))
		}
	case "number":
		if !isNumber(val) {
			c.addf("%s: %s must be a number, not %s", where, op, typeName(val))
		}
	case "boolean":
		if _, ok := val.(bool); !ok {
			c.addf("%s: %s must be a boolean, not %s", where, op, typeName(val))
		}
	case "timestamp":
		s, _ := val.(string)
		t, err := parseTimestamp(s)
		if err != nil {
			c.addf("%s: %s must be an RFC 3339 timestamp, not %s", where, op, mustJSON(val))
		}
		r.ts = t
	case "path":
		r.valPath = c.pathField(obj, op, where, false)
	}
	r.value = val
	return r
}

// choose returns the Next of the first matching rule, or the Default.
func (st *state) choose(input any, ctx *contextObj) (string, *failure) {
	for _, r := range st.choices {
		ok, ferr := r.eval(input, ctx)
		if ferr != nil {
			return "", ferr
		}
		if ok {
			return r.next, nil
		}
	}
	if st.defaultNext != "" {
		return st.defaultNext, nil
	}
	return "", failf(ErrNoChoiceMatched, "No Choice Rule matched and no Default is specified in state '%s'", st.name)
}

func (r *choiceRule) eval(input any, ctx *contextObj) (bool, *failure) {
	switch {
	case r.and != nil:
		for _, s := range r.and {
			ok, ferr := s.eval(input, ctx)
			if ferr != nil || !ok {
				return false, ferr
			}
		}
		return true, nil
	case r.or != nil:
		for _, s := range r.or {
			ok, ferr := s.eval(input, ctx)
			if ferr != nil || ok {
				return ok, ferr
			}
		}
		return false, nil
	case r.not != nil:
		ok, ferr := r.not.eval(input, ctx)
		return !ok, ferr
	}
	v, err := r.variable.eval(input, ctx.value())
	present := err == nil
	if r.variable != nil && !r.variable.definite {
		// An indefinite Variable yields a list; an empty one is "absent".
		if l, ok := v.([]any); ok && len(l) == 0 {
			present = false
		}
	}
	switch r.op {
	case "IsPresent":
		return present == r.value.(bool), nil
	}
	if !present {
		return false, failf(ErrRuntime, "Invalid path '%s': The choice state's condition path references an invalid value.", r.variable.src)
	}
	switch r.op {
	case "IsNull":
		return (v == nil) == r.value.(bool), nil
	case "IsNumeric":
		return isNumber(v) == r.value.(bool), nil
	case "IsString":
		_, ok := v.(string)
		return ok == r.value.(bool), nil
	case "IsBoolean":
		_, ok := v.(bool)
		return ok == r.value.(bool), nil
	case "IsTimestamp":
		s, ok := v.(string)
		if ok {
			_, err := parseTimestamp(s)
			ok = err == nil
		}
		return ok == r.value.(bool), nil
	case "StringMatches":
		s, ok := v.(string)
		return ok && stringMatches(s, r.value.(string)), nil
	}
	op := r.op
	operand := r.value
	if r.valPath != nil {
		op = strings.TrimSuffix(op, "Path")
		o, err := r.valPath.eval(input, ctx.value())
		if err != nil {
			return false, failf(ErrRuntime, "Invalid path '%s': The choice state's condition path references an invalid value.", r.valPath.src)
		}
		operand = o
	}
	return compare(op, v, operand), nil
}

// compare applies a comparison operator; a value of the wrong type never
// matches.
func compare(op string, v, operand any) bool {
	switch {
	case strings.HasPrefix(op, "String"):
		a, ok1 := v.(string)
		b, ok2 := operand.(string)
		if !ok1 || !ok2 {
			return false
		}
		return cmpResult(op[len("String"):], strings.Compare(a, b))
	case strings.HasPrefix(op, "Numeric"):
		a, ok1 := toRat(v)
		b, ok2 := toRat(operand)
		if !ok1 || !ok2 {
			return false
		}
		return cmpResult(op[len("Numeric"):], a.Cmp(b))
	case op == "BooleanEquals":
		a, ok1 := v.(bool)
		b, ok2 := operand.(bool)
		return ok1 && ok2 && a == b
	case strings.HasPrefix(op, "Timestamp"):
		as, ok1 := v.(string)
		bs, ok2 := operand.(string)
		if !ok1 || !ok2 {
			return false
		}
		a, err1 := parseTimestamp(as)
		b, err2 := parseTimestamp(bs)
		if err1 != nil || err2 != nil {
			return false
		}
		return cmpResult(op[len("Timestamp"):], a.Compare(b))
	}
	return false
}

func cmpResult(suffix string, c int) bool {
	switch suffix {
	case "Equals":
		return c == 0
	case "LessThan":
		return c < 0
	case "GreaterThan":
		return c > 0
	case "LessThanEquals":
		return c <= 0
	case "GreaterThanEquals":
		return c >= 0
	}
	return false
}

// stringMatches implements StringMatches: '*' matches any run of characters,
// '\*' a literal star and '\\' a literal backslash.
func stringMatches(s, pattern string) bool {
	type tok struct {
		star bool
		ch   rune
	}
	var toks []tok
	rs := []rune(pattern)
	for i := 0; i < len(rs); i++ {
		if rs[i] == '\\' && i+1 < len(rs) {
			toks = append(toks, tok{ch: rs[i+1]})
			i++
			continue
		}
		toks = append(toks, tok{star: rs[i] == '*', ch: rs[i]})
	}
	str := []rune(s)
	// Classic wildcard matching with backtracking to the last star.
	si, ti, starTi, starSi := 0, 0, -1, 0
	for si < len(str) {
		switch {
		case ti < len(toks) && !toks[ti].star && toks[ti].ch == str[si]:
			si++
			ti++
		case ti < len(toks) && toks[ti].star:
			starTi, starSi = ti, si
			ti++
		case starTi >= 0:
			starSi++
			si = starSi
			ti = starTi + 1
		default:
			return false
		}
	}
	for ti < len(toks) && toks[ti].star {
		ti++
	}
	return ti == len(toks)
}
