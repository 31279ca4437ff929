// Package pattern parses and matches EventBridge event patterns with AWS's
// semantics: exact values (strings, numbers, booleans, null), arrays as OR,
// prefix, suffix, equals-ignore-case, anything-but, exists, numeric ranges,
// wildcard, cidr and $or, over nested objects and array fields.
package pattern

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/netip"
	"sort"
	"strconv"
	"strings"
)

// Error is an invalid pattern; the service answers it as
// InvalidEventPatternException.
type Error struct{ Reason string }

func (e *Error) Error() string { return "Event pattern is not valid. Reason: " + e.Reason }

func invalid(format string, args ...any) *Error {
	return &Error{Reason: fmt.Sprintf(format, args...)}
}

// Pattern is a parsed event pattern.
type Pattern struct {
	root *object
}

// object is a pattern object: every field must match (AND), and so must one
// of each $or group's alternatives.
type object struct {
	fields []field
	ors    [][]*object
}

type field struct {
	name     string
	leaf     []matcher // OR of matchers; nil when nested is set
	nested   *object
	absentOK bool // the leaf holds {"exists": false}
}

// matcher tests one leaf value of the event. Absent fields are handled by
// the caller: only exists:false and nothing else matches them.
type matcher interface {
	match(v any) bool
}

// Parse checks an event pattern and returns it ready to match.
func Parse(src []byte) (*Pattern, error) {
	v, err := decode(src)
	if err != nil {
		return nil, invalid("the pattern is not valid JSON: %v", err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, invalid("the pattern must be a JSON object")
	}
	root, err := parseObject(m, "")
	if err != nil {
		return nil, err
	}
	return &Pattern{root: root}, nil
}

func decode(src []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(src))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	if d.More() {
		return nil, fmt.Errorf("trailing data after the JSON value")
	}
	return v, nil
}

func parseObject(m map[string]any, path string) (*object, error) {
	o := &object{}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		at := strings.TrimPrefix(path+"."+k, ".")
		if k == "$or" {
			alts, ok := m[k].([]any)
			if !ok || len(alts) < 2 {
				return nil, invalid("\"$or\" at %q must be an array of at least 2 objects", path)
			}
			var group []*object
			for _, a := range alts {
				am, ok := a.(map[string]any)
				if !ok {
					return nil, invalid("every alternative of \"$or\" at %q must be an object", path)
				}
				sub, err := parseObject(am, path)
				if err != nil {
					return nil, err
				}
				group = append(group, sub)
			}
			o.ors = append(o.ors, group)
			continue
		}
		switch v := m[k].(type) {
		case map[string]any:
			sub, err := parseObject(v, at)
			if err != nil {
				return nil, err
			}
			o.fields = append(o.fields, field{name: k, nested: sub})
		case []any:
			if len(v) == 0 {
				return nil, invalid("empty arrays are not allowed (%q)", at)
			}
			f := field{name: k}
			for _, el := range v {
				mt, absentOK, err := parseMatcher(el, at)
				if err != nil {
					return nil, err
				}
				if absentOK {
					f.absentOK = true
					continue
				}
				f.leaf = append(f.leaf, mt)
			}
			o.fields = append(o.fields, f)
		default:
			return nil, invalid("%q must be an object or an array", at)
		}
	}
	return o, nil
}

// parseMatcher parses one element of a leaf array. absentOK is true for
// {"exists": false}, which matches only a missing field.
func parseMatcher(el any, at string) (m matcher, absentOK bool, err error) {
	switch v := el.(type) {
	case string:
		return exactString(v), false, nil
	case json.Number:
		f, err := number(v, at)
		if err != nil {
			return nil, false, err
		}
		return exactNumber(f), false, nil
	case bool:
		return exactBool(v), false, nil
	case nil:
		return exactNull{}, false, nil
	case []any:
		return nil, false, invalid("arrays are not allowed inside the array of %q", at)
	case map[string]any:
		if len(v) != 1 {
			return nil, false, invalid("a match expression at %q must have exactly one operator, has %d", at, len(v))
		}
		for op, arg := range v {
			return parseOperator(op, arg, at)
		}
	}
	return nil, false, invalid("unsupported value at %q", at)
}

func number(n json.Number, at string) (float64, error) {
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil || math.IsInf(f, 0) {
		return 0, invalid("%q: %s is not a usable number", at, n)
	}
	return f, nil
}

func parseOperator(op string, arg any, at string) (matcher, bool, error) {
	switch op {
	case "prefix", "suffix":
		var s string
		fold := false
		switch a := arg.(type) {
		case string:
			s = a
		case map[string]any:
			v, ok := a["equals-ignore-case"].(string)
			if len(a) != 1 || !ok {
				return nil, false, invalid("%q: %s takes a string or {\"equals-ignore-case\": string}", at, op)
			}
			s, fold = v, true
		default:
			return nil, false, invalid("%q: %s match pattern must be a string", at, op)
		}
		return affix{suffix: op == "suffix", s: s, fold: fold}, false, nil
	case "equals-ignore-case":
		s, ok := arg.(string)
		if !ok {
			return nil, false, invalid("%q: equals-ignore-case match pattern must be a string", at)
		}
		return ignoreCase(s), false, nil
	case "exists":
		b, ok := arg.(bool)
		if !ok {
			return nil, false, invalid("%q: exists match pattern must be either true or false", at)
		}
		if !b {
			return nil, true, nil
		}
		return exists{}, false, nil
	case "numeric":
		return parseNumeric(arg, at)
	case "wildcard":
		s, ok := arg.(string)
		if !ok {
			return nil, false, invalid("%q: wildcard match pattern must be a string", at)
		}
		w, err := parseWildcard(s, at)
		return w, false, err
	case "cidr":
		s, ok := arg.(string)
		if !ok {
			return nil, false, invalid("%q: cidr match pattern must be a string", at)
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, false, invalid("%q: malformed CIDR %q", at, s)
		}
		return cidr{p.Masked()}, false, nil
	case "anything-but":
		return parseAnythingBut(arg, at)
	}
	return nil, false, invalid("unrecognized match type %q at %q", op, at)
}

func parseAnythingBut(arg any, at string) (matcher, bool, error) {
	switch a := arg.(type) {
	case string:
		return anythingBut{inner: []matcher{exactString(a)}}, false, nil
	case json.Number:
		f, err := number(a, at)
		if err != nil {
			return nil, false, err
		}
		return anythingBut{inner: []matcher{exactNumber(f)}}, false, nil
	case []any:
		if len(a) == 0 {
			return nil, false, invalid("%q: anything-but list must not be empty", at)
		}
		var inner []matcher
		kind := ""
		for _, el := range a {
			var k string
			switch v := el.(type) {
			case string:
				k = "string"
				inner = append(inner, exactString(v))
			case json.Number:
				k = "number"
				f, err := number(v, at)
				if err != nil {
					return nil, false, err
				}
				inner = append(inner, exactNumber(f))
			default:
				return nil, false, invalid("%q: inside anything-but list, only strings or only numbers are allowed", at)
			}
			if kind != "" && kind != k {
				return nil, false, invalid("%q: inside anything-but list, only strings or only numbers are allowed", at)
			}
			kind = k
		}
		return anythingBut{inner: inner}, false, nil
	case map[string]any:
		if len(a) != 1 {
			return nil, false, invalid("%q: anything-but object must have exactly one operator", at)
		}
		for op, v := range a {
			switch op {
			case "prefix", "suffix":
				s, ok := v.(string)
				if !ok || s == "" {
					return nil, false, invalid("%q: anything-but %s must be a non-empty string", at, op)
				}
				return anythingBut{inner: []matcher{affix{suffix: op == "suffix", s: s}}}, false, nil
			case "equals-ignore-case", "wildcard":
				var vals []string
				switch x := v.(type) {
				case string:
					vals = []string{x}
				case []any:
					for _, el := range x {
						s, ok := el.(string)
						if !ok {
							return nil, false, invalid("%q: anything-but %s takes strings", at, op)
						}
						vals = append(vals, s)
					}
				}
				if len(vals) == 0 {
					return nil, false, invalid("%q: anything-but %s takes a string or a non-empty list of strings", at, op)
				}
				var inner []matcher
				for _, s := range vals {
					if op == "wildcard" {
						w, err := parseWildcard(s, at)
						if err != nil {
							return nil, false, err
						}
						inner = append(inner, w)
					} else {
						inner = append(inner, ignoreCase(s))
					}
				}
				return anythingBut{inner: inner}, false, nil
			default:
				return nil, false, invalid("%q: unsupported anything-but operator %q", at, op)
			}
		}
	}
	return nil, false, invalid("%q: value of anything-but must be an array, a string, a number or an object", at)
}

func parseNumeric(arg any, at string) (matcher, bool, error) {
	a, ok := arg.([]any)
	if !ok || (len(a) != 2 && len(a) != 4) {
		return nil, false, invalid("%q: numeric match takes one or two operator/number pairs", at)
	}
	r := numeric{lo: math.Inf(-1), hi: math.Inf(1)}
	seenLo, seenHi := false, false
	for i := 0; i < len(a); i += 2 {
		op, ok := a[i].(string)
		if !ok {
			return nil, false, invalid("%q: numeric operator must be a string", at)
		}
		n, ok := a[i+1].(json.Number)
		if !ok {
			return nil, false, invalid("%q: value of numeric %s must be a number", at, op)
		}
		f, err := number(n, at)
		if err != nil {
			return nil, false, err
		}
		switch op {
		case "=":
			if len(a) != 2 {
				return nil, false, invalid("%q: numeric \"=\" cannot be combined with another operator", at)
			}
			r.lo, r.hi, r.loIncl, r.hiIncl = f, f, true, true
			continue
		case ">", ">=":
			if seenLo {
				return nil, false, invalid("%q: bad numeric range: two lower bounds", at)
			}
			seenLo, r.lo, r.loIncl = true, f, op == ">="
		case "<", "<=":
			if seenHi {
				return nil, false, invalid("%q: bad numeric range: two upper bounds", at)
			}
			seenHi, r.hi, r.hiIncl = true, f, op == "<="
		default:
			return nil, false, invalid("%q: unrecognized numeric range operator %q", at, op)
		}
	}
	if r.lo > r.hi {
		return nil, false, invalid("%q: bad numeric range: bottom must be less than top", at)
	}
	return r, false, nil
}

func parseWildcard(s, at string) (matcher, error) {
	if strings.Contains(s, "**") {
		return nil, invalid("%q: consecutive wildcard characters are not allowed in %q", at, s)
	}
	// Split into literal runs; \* is a literal star, \\ a backslash.
	var parts []string
	var cur strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			if i+1 >= len(s) || (s[i+1] != '*' && s[i+1] != '\\') {
				return nil, invalid("%q: invalid escape in wildcard %q", at, s)
			}
			cur.WriteByte(s[i+1])
			i++
		case '*':
			parts = append(parts, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(c)
		}
	}
	parts = append(parts, cur.String())
	return wildcard(parts), nil
}

// Match reports whether the event (a JSON object) matches.
func (p *Pattern) Match(event []byte) (bool, error) {
	v, err := decode(event)
	if err != nil {
		return false, fmt.Errorf("event is not valid JSON: %w", err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return false, fmt.Errorf("event must be a JSON object")
	}
	return p.MatchValue(m), nil
}

// MatchValue matches an event already decoded with json.Decoder.UseNumber
// (numbers as json.Number; float64 is accepted too).
func (p *Pattern) MatchValue(event map[string]any) bool {
	return p.root.match(event)
}

func (o *object) match(ev map[string]any) bool {
	for _, f := range o.fields {
		if !f.match(ev) {
			return false
		}
	}
	for _, group := range o.ors {
		ok := false
		for _, alt := range group {
			if alt.match(ev) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

func (f field) match(ev map[string]any) bool {
	v, present := ev[f.name]
	if f.nested != nil {
		// Arrays of objects match if any element matches; a missing or
		// non-object value matches only a sub-pattern that absence satisfies.
		objs := objects(v)
		if !present || len(objs) == 0 {
			return f.nested.match(map[string]any{})
		}
		for _, o := range objs {
			if f.nested.match(o) {
				return true
			}
		}
		return false
	}
	leaves := flatten(v, nil)
	if !present || len(leaves) == 0 {
		return f.absentOK
	}
	for _, l := range leaves {
		for _, m := range f.leaf {
			if m.match(l) {
				return true
			}
		}
	}
	return false
}

func objects(v any) []map[string]any {
	switch x := v.(type) {
	case map[string]any:
		return []map[string]any{x}
	case []any:
		var out []map[string]any
		for _, el := range x {
			out = append(out, objects(el)...)
		}
		return out
	}
	return nil
}

// flatten lists the leaf values of an event field: the value itself, or the
// elements of an array (recursively). Objects are not leaves.
func flatten(v any, out []any) []any {
	switch x := v.(type) {
	case []any:
		for _, el := range x {
			out = flatten(el, out)
		}
		return out
	case map[string]any:
		return out
	}
	return append(out, v)
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case json.Number:
		f, err := strconv.ParseFloat(string(x), 64)
		return f, err == nil
	case float64:
		return x, true
	case int:
		return float64(x), true
	}
	return 0, false
}

type exactString string

func (e exactString) match(v any) bool { s, ok := v.(string); return ok && s == string(e) }

type exactNumber float64

func (e exactNumber) match(v any) bool { f, ok := toFloat(v); return ok && f == float64(e) }

type exactBool bool

func (e exactBool) match(v any) bool { b, ok := v.(bool); return ok && b == bool(e) }

type exactNull struct{}

func (exactNull) match(v any) bool { return v == nil }

type exists struct{}

func (exists) match(any) bool { return true }

type ignoreCase string

func (e ignoreCase) match(v any) bool {
	s, ok := v.(string)
	return ok && strings.EqualFold(s, string(e))
}

type affix struct {
	suffix bool
	s      string
	fold   bool
}

func (a affix) match(v any) bool {
	s, ok := v.(string)
	if !ok || len(s) < len(a.s) {
		return false
	}
	part := s[:len(a.s)]
	if a.suffix {
		part = s[len(s)-len(a.s):]
	}
	if a.fold {
		return strings.EqualFold(part, a.s)
	}
	return part == a.s
}

type anythingBut struct{ inner []matcher }

func (a anythingBut) match(v any) bool {
	for _, m := range a.inner {
		if m.match(v) {
			return false
		}
	}
	return true
}

type numeric struct {
	lo, hi         float64
	loIncl, hiIncl bool
}

func (n numeric) match(v any) bool {
	f, ok := toFloat(v)
	if !ok {
		return false
	}
	if f < n.lo || (f == n.lo && !n.loIncl) {
		return false
	}
	if f > n.hi || (f == n.hi && !n.hiIncl) {
		return false
	}
	return true
}

type cidr struct{ p netip.Prefix }

func (c cidr) match(v any) bool {
	s, ok := v.(string)
	if !ok {
		return false
	}
	a, err := netip.ParseAddr(s)
	return err == nil && c.p.Contains(a)
}

// wildcard holds the literal runs between stars.
type wildcard []string

func (w wildcard) match(v any) bool {
	s, ok := v.(string)
	if !ok {
		return false
	}
	if len(w) == 1 {
		return s == w[0]
	}
	if !strings.HasPrefix(s, w[0]) {
		return false
	}
	s = s[len(w[0]):]
	last := w[len(w)-1]
	for _, mid := range w[1 : len(w)-1] {
		i := strings.Index(s, mid)
		if i < 0 {
			return false
		}
		s = s[i+len(mid):]
	}
	return len(s) >= len(last) && strings.HasSuffix(s, last)
}
