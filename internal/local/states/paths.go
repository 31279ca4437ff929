package states

import (
	"fmt"
	"math/big"
	"sort"
	"strconv"
	"strings"
)

// jsonPath is a compiled JSONPath as Step Functions reads it (Jayway
// semantics): "$" is the state's data, "$$" the context object. A definite
// path (no wildcard, deep scan, filter, slice or union) yields one value; an
// indefinite one yields a list of every match.
type jsonPath struct {
	src      string
	context  bool // starts with $$
	segs     []segment
	definite bool
}

type segKind int

const (
	segName     segKind = iota // .name or ['name']
	segIndex                   // [n]
	segWildcard                // .* or [*]
	segDeep                    // ..name or ..* (name "" means all)
	segUnion                   // ['a','b'] or [0,1]
	segSlice                   // [start:end:step]
	segFilter                  // [?(expr)]
)

type segment struct {
	kind    segKind
	name    string
	index   int
	names   []string
	indexes []int
	slice   [3]*int
	filter  filterExpr
}

// parsePath compiles a Path. It accepts "$" and "$$" roots only.
func parsePath(src string) (*jsonPath, error) {
	p := &jsonPath{src: src, definite: true}
	s := src
	switch {
	case strings.HasPrefix(s, "$$"):
		p.context = true
		s = s[2:]
	case strings.HasPrefix(s, "$"):
		s = s[1:]
	default:
		return nil, fmt.Errorf("path %q must start with $", src)
	}
	segs, rest, err := parseSegments(s, false)
	if err != nil {
		return nil, fmt.Errorf("path %q: %v", src, err)
	}
	if rest != "" {
		return nil, fmt.Errorf("path %q: unexpected %q", src, rest)
	}
	p.segs = segs
	for _, sg := range segs {
		if sg.kind != segName && sg.kind != segIndex {
			p.definite = false
		}
	}
	return p, nil
}

// parseRefPath compiles a Reference Path: a definite path of names and
// indexes, which can be written to (ResultPath).
func parseRefPath(src string) (*jsonPath, error) {
	p, err := parsePath(src)
	if err != nil {
		return nil, err
	}
	if !p.definite {
		return nil, fmt.Errorf("reference path %q must not use wildcards, filters, slices, unions or deep scan", src)
	}
	return p, nil
}

// parseSegments reads segments until the input ends, or (inFilter) until a
// character that cannot continue a path.
func parseSegments(s string, inFilter bool) ([]segment, string, error) {
	var segs []segment
	for s != "" {
		switch {
		case strings.HasPrefix(s, ".."):
			s = s[2:]
			if strings.HasPrefix(s, "*") {
				segs = append(segs, segment{kind: segDeep})
				s = s[1:]
				continue
			}
			if strings.HasPrefix(s, "[") {
				// $..['a'] or $..[0]: deep scan then a bracket
				segs = append(segs, segment{kind: segDeep, name: "\x00any"})
				continue
			}
			name, rest := readName(s, inFilter)
			if name == "" {
				return nil, s, fmt.Errorf("empty name after %q", "..")
			}
			segs = append(segs, segment{kind: segDeep, name: name})
			s = rest
		case s[0] == '.':
			s = s[1:]
			if strings.HasPrefix(s, "*") {
				segs = append(segs, segment{kind: segWildcard})
				s = s[1:]
				continue
			}
			name, rest := readName(s, inFilter)
			if name == "" {
				return nil, s, fmt.Errorf("empty name after %q", ".")
			}
			segs = append(segs, segment{kind: segName, name: name})
			s = rest
		case s[0] == '[':
			sg, rest, err := parseBracket(s[1:])
			if err != nil {
				return nil, s, err
			}
			segs = append(segs, sg)
			s = rest
		default:
			if inFilter {
				return segs, s, nil
			}
			return nil, s, fmt.Errorf("unexpected %q", s)
		}
	}
	return segs, s, nil
}

// readName reads a dot-notation member name: everything up to the next
// '.' or '[' (and, inside filters, up to an operator, space or paren).
func readName(s string, inFilter bool) (string, string) {
	i := 0
	for i < len(s) {
		c := s[i]
		if c == '.' || c == '[' {
			break
		}
		if inFilter && strings.ContainsRune(" )=!<>&|", rune(c)) {
			break
		}
		i++
	}
	return s[:i], s[i:]
}

func parseBracket(s string) (segment, string, error) {
	s = strings.TrimLeft(s, " ")
	if s == "" {
		return segment{}, "", fmt.Errorf("unclosed [")
	}
	switch {
	case s[0] == '*':
		rest := strings.TrimLeft(s[1:], " ")
		if !strings.HasPrefix(rest, "]") {
			return segment{}, s, fmt.Errorf("expected ] after *")
		}
		return segment{kind: segWildcard}, rest[1:], nil
	case strings.HasPrefix(s, "?("):
		expr, rest, err := parseFilter(s[2:])
		if err != nil {
			return segment{}, s, err
		}
		rest = strings.TrimLeft(rest, " ")
		if !strings.HasPrefix(rest, ")") {
			return segment{}, s, fmt.Errorf("expected ) to close filter")
		}
		rest = strings.TrimLeft(rest[1:], " ")
		if !strings.HasPrefix(rest, "]") {
			return segment{}, s, fmt.Errorf("expected ] after filter")
		}
		return segment{kind: segFilter, filter: expr}, rest[1:], nil
	case s[0] == '\'' || s[0] == '"':
		var names []string
		for {
			name, rest, err := readQuoted(s)
			if err != nil {
				return segment{}, s, err
			}
			names = append(names, name)
			rest = strings.TrimLeft(rest, " ")
			if strings.HasPrefix(rest, "]") {
				s = rest[1:]
				break
			}
			if !strings.HasPrefix(rest, ",") {
				return segment{}, s, fmt.Errorf("expected , or ] after name")
			}
			s = strings.TrimLeft(rest[1:], " ")
		}
		if len(names) == 1 {
			return segment{kind: segName, name: names[0]}, s, nil
		}
		return segment{kind: segUnion, names: names}, s, nil
	}
	end := strings.IndexByte(s, ']')
	if end < 0 {
		return segment{}, s, fmt.Errorf("unclosed [")
	}
	body, rest := strings.TrimSpace(s[:end]), s[end+1:]
	if strings.Contains(body, ":") {
		parts := strings.Split(body, ":")
		if len(parts) > 3 {
			return segment{}, s, fmt.Errorf("bad slice [%s]", body)
		}
		var sg segment
		sg.kind = segSlice
		for i, part := range parts {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			n, err := strconv.Atoi(part)
			if err != nil {
				return segment{}, s, fmt.Errorf("bad slice [%s]", body)
			}
			sg.slice[i] = &n
		}
		if sg.slice[2] != nil && *sg.slice[2] == 0 {
			return segment{}, s, fmt.Errorf("slice step must not be 0")
		}
		return sg, rest, nil
	}
	parts := strings.Split(body, ",")
	var idx []int
	for _, part := range parts {
		n, err := strconv.Atoi(strings.TrimSpace(part))
		if err != nil {
			return segment{}, s, fmt.Errorf("bad index [%s]", body)
		}
		idx = append(idx, n)
	}
	if len(idx) == 1 {
		return segment{kind: segIndex, index: idx[0]}, rest, nil
	}
	return segment{kind: segUnion, indexes: idx}, rest, nil
}

func readQuoted(s string) (string, string, error) {
	q := s[0]
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		c := s[i]
		if c == '\\' && i+1 < len(s) {
			i++
			b.WriteByte(s[i])
			continue
		}
		if c == q {
			return b.String(), s[i+1:], nil
		}
		b.WriteByte(c)
	}
	return "", s, fmt.Errorf("unclosed quote")
}

// errNoResults means a definite path matched nothing.
type pathError struct{ path, msg string }

func (e *pathError) Error() string { return e.msg }

// eval applies the path to data (or to ctxObj for $$ paths).
func (p *jsonPath) eval(data, ctxObj any) (any, error) {
	root := data
	if p.context {
		root = ctxObj
	}
	if p.definite {
		v := root
		for _, sg := range p.segs {
			var ok bool
			v, ok = step(v, sg)
			if !ok {
				return nil, &pathError{path: p.src, msg: fmt.Sprintf("Invalid path '%s' : No results for path: %s", p.src, p.canonical())}
			}
		}
		return v, nil
	}
	nodes := []any{root}
	for _, sg := range p.segs {
		nodes = apply(nodes, sg, root)
	}
	if nodes == nil {
		nodes = []any{}
	}
	return nodes, nil
}

// canonical renders the path the way Jayway reports it: $['a'][0].
func (p *jsonPath) canonical() string {
	var b strings.Builder
	if p.context {
		b.WriteString("$$")
	} else {
		b.WriteString("$")
	}
	for _, sg := range p.segs {
		switch sg.kind {
		case segName:
			b.WriteString("['" + sg.name + "']")
		case segIndex:
			b.WriteString("[" + strconv.Itoa(sg.index) + "]")
		default:
			return p.src
		}
	}
	return b.String()
}

func step(v any, sg segment) (any, bool) {
	switch sg.kind {
	case segName:
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		x, ok := m[sg.name]
		return x, ok
	case segIndex:
		a, ok := v.([]any)
		if !ok {
			return nil, false
		}
		i, ok := arrayIndex(a, sg.index)
		if !ok {
			return nil, false
		}
		return a[i], true
	}
	return nil, false
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func children(v any) []any {
	switch t := v.(type) {
	case map[string]any:
		out := make([]any, 0, len(t))
		for _, k := range sortedKeys(t) {
			out = append(out, t[k])
		}
		return out
	case []any:
		return t
	}
	return nil
}

// descendants returns v and everything under it, depth first.
func descendants(v any, out []any) []any {
	out = append(out, v)
	for _, c := range children(v) {
		out = descendants(c, out)
	}
	return out
}

func apply(nodes []any, sg segment, root any) []any {
	var out []any
	for _, n := range nodes {
		switch sg.kind {
		case segName, segIndex:
			if x, ok := step(n, sg); ok {
				out = append(out, x)
			}
		case segWildcard:
			out = append(out, children(n)...)
		case segDeep:
			for _, d := range descendants(n, nil) {
				switch sg.name {
				case "":
					if d != n {
						out = append(out, d)
					}
				case "\x00any":
					out = append(out, d)
				default:
					if m, ok := d.(map[string]any); ok {
						if x, ok := m[sg.name]; ok {
							out = append(out, x)
						}
					}
				}
			}
		case segUnion:
			for _, name := range sg.names {
				if x, ok := step(n, segment{kind: segName, name: name}); ok {
					out = append(out, x)
				}
			}
			for _, i := range sg.indexes {
				if x, ok := step(n, segment{kind: segIndex, index: i}); ok {
					out = append(out, x)
				}
			}
		case segSlice:
			a, ok := n.([]any)
			if !ok {
				continue
			}
			out = append(out, sliceOf(a, sg.slice)...)
		case segFilter:
			for _, c := range filterCandidates(n) {
				if sg.filter.test(c, root) {
					out = append(out, c)
				}
			}
		}
	}
	return out
}

// filterCandidates are the elements a filter tests: an array's items, or an
// object's member values (Jayway tests a lone object itself).
func filterCandidates(n any) []any {
	switch t := n.(type) {
	case []any:
		return t
	case map[string]any:
		return []any{t}
	}
	return nil
}

func sliceOf(a []any, sl [3]*int) []any {
	n := len(a)
	stepN := 1
	if sl[2] != nil {
		stepN = *sl[2]
	}
	norm := func(p *int, def int) int {
		if p == nil {
			return def
		}
		i := *p
		if i < 0 {
			i += n
		}
		return i
	}
	var out []any
	if stepN > 0 {
		start, end := norm(sl[0], 0), norm(sl[1], n)
		start = max(start, 0)
		end = min(end, n)
		for i := start; i < end; i += stepN {
			out = append(out, a[i])
		}
		return out
	}
	start, end := norm(sl[0], n-1), norm(sl[1], -1-n)
	start = min(start, n-1)
	end = max(end, -1)
	for i := start; i > end; i += stepN {
		out = append(out, a[i])
	}
	return out
}

// Filter expressions: [?(@.price < 10 && @.tag == 'x')], [?(@.isbn)].

type filterExpr interface {
	test(v, root any) bool
}

type filterOr struct{ l, r filterExpr }
type filterAnd struct{ l, r filterExpr }
type filterNot struct{ e filterExpr }
type filterExists struct{ o operand }
type filterCmp struct {
	op   string
	l, r operand
}

func (f filterOr) test(v, root any) bool  { return f.l.test(v, root) || f.r.test(v, root) }
func (f filterAnd) test(v, root any) bool { return f.l.test(v, root) && f.r.test(v, root) }
func (f filterNot) test(v, root any) bool { return !f.e.test(v, root) }
func (f filterExists) test(v, root any) bool {
	_, ok := f.o.value(v, root)
	return ok
}

func (f filterCmp) test(v, root any) bool {
	a, okA := f.l.value(v, root)
	b, okB := f.r.value(v, root)
	if !okA || !okB {
		return f.op == "!=" && okA != okB
	}
	switch f.op {
	case "==":
		return jsonEqual(a, b)
	case "!=":
		return !jsonEqual(a, b)
	}
	if x, ok := toRat(a); ok {
		y, ok := toRat(b)
		if !ok {
			return false
		}
		return cmpOp(f.op, x.Cmp(y))
	}
	if x, ok := a.(string); ok {
		y, ok := b.(string)
		if !ok {
			return false
		}
		return cmpOp(f.op, strings.Compare(x, y))
	}
	return false
}

func cmpOp(op string, c int) bool {
	switch op {
	case "<":
		return c < 0
	case "<=":
		return c <= 0
	case ">":
		return c > 0
	case ">=":
		return c >= 0
	}
	return false
}

// operand is a literal, or a path relative to the current node (@) or root ($).
type operand struct {
	lit      any
	isLit    bool
	segs     []segment
	fromRoot bool
}

func (o operand) value(v, root any) (any, bool) {
	if o.isLit {
		return o.lit, true
	}
	cur := v
	if o.fromRoot {
		cur = root
	}
	for _, sg := range o.segs {
		if sg.kind == segName && sg.name == "length" {
			if a, ok := cur.([]any); ok {
				cur = numberOf(int64(len(a)))
				continue
			}
		}
		var ok bool
		cur, ok = step(cur, sg)
		if !ok {
			return nil, false
		}
	}
	return cur, true
}

func parseFilter(s string) (filterExpr, string, error) {
	return parseOr(strings.TrimLeft(s, " "))
}

func parseOr(s string) (filterExpr, string, error) {
	l, rest, err := parseAnd(s)
	if err != nil {
		return nil, s, err
	}
	for {
		rest = strings.TrimLeft(rest, " ")
		if !strings.HasPrefix(rest, "||") {
			return l, rest, nil
		}
		r, rest2, err := parseAnd(strings.TrimLeft(rest[2:], " "))
		if err != nil {
			return nil, s, err
		}
		l, rest = filterOr{l, r}, rest2
	}
}

func parseAnd(s string) (filterExpr, string, error) {
	l, rest, err := parseUnary(s)
	if err != nil {
		return nil, s, err
	}
	for {
		rest = strings.TrimLeft(rest, " ")
		if !strings.HasPrefix(rest, "&&") {
			return l, rest, nil
		}
		r, rest2, err := parseUnary(strings.TrimLeft(rest[2:], " "))
		if err != nil {
			return nil, s, err
		}
		l, rest = filterAnd{l, r}, rest2
	}
}

func parseUnary(s string) (filterExpr, string, error) {
	s = strings.TrimLeft(s, " ")
	if strings.HasPrefix(s, "!") && !strings.HasPrefix(s, "!=") {
		e, rest, err := parseUnary(s[1:])
		if err != nil {
			return nil, s, err
		}
		return filterNot{e}, rest, nil
	}
	if strings.HasPrefix(s, "(") {
		e, rest, err := parseOr(strings.TrimLeft(s[1:], " "))
		if err != nil {
			return nil, s, err
		}
		rest = strings.TrimLeft(rest, " ")
		if !strings.HasPrefix(rest, ")") {
			return nil, s, fmt.Errorf("expected ) in filter")
		}
		return e, rest[1:], nil
	}
	l, rest, err := parseOperand(s)
	if err != nil {
		return nil, s, err
	}
	rest = strings.TrimLeft(rest, " ")
	for _, op := range []string{"==", "!=", "<=", ">=", "<", ">"} {
		if strings.HasPrefix(rest, op) {
			r, rest2, err := parseOperand(strings.TrimLeft(rest[len(op):], " "))
			if err != nil {
				return nil, s, err
			}
			return filterCmp{op: op, l: l, r: r}, rest2, nil
		}
	}
	if l.isLit {
		return nil, s, fmt.Errorf("filter needs a comparison")
	}
	return filterExists{l}, rest, nil
}

func parseOperand(s string) (operand, string, error) {
	if s == "" {
		return operand{}, s, fmt.Errorf("missing operand in filter")
	}
	switch {
	case s[0] == '@' || s[0] == '$':
		segs, rest, err := parseSegments(s[1:], true)
		if err != nil {
			return operand{}, s, err
		}
		for _, sg := range segs {
			if sg.kind != segName && sg.kind != segIndex {
				return operand{}, s, fmt.Errorf("filter paths must be definite")
			}
		}
		return operand{segs: segs, fromRoot: s[0] == '$'}, rest, nil
	case s[0] == '\'' || s[0] == '"':
		str, rest, err := readQuoted(s)
		return operand{lit: str, isLit: true}, rest, err
	case strings.HasPrefix(s, "true"):
		return operand{lit: true, isLit: true}, s[4:], nil
	case strings.HasPrefix(s, "false"):
		return operand{lit: false, isLit: true}, s[5:], nil
	case strings.HasPrefix(s, "null"):
		return operand{lit: nil, isLit: true}, s[4:], nil
	}
	i := 0
	for i < len(s) && strings.ContainsRune("+-0123456789.eE", rune(s[i])) {
		i++
	}
	if i == 0 {
		return operand{}, s, fmt.Errorf("bad filter operand %q", s)
	}
	if _, ok := new(big.Rat).SetString(s[:i]); !ok {
		return operand{}, s, fmt.Errorf("bad number %q in filter", s[:i])
	}
	return operand{lit: jsonNumber(s[:i]), isLit: true}, s[i:], nil
}

// arrayIndex resolves a JSONPath index, negative ones counting from the end,
// reporting whether it falls inside a.
func arrayIndex(a []any, i int) (int, bool) {
	if i < 0 {
		i += len(a)
	}
	return i, i >= 0 && i < len(a)
}
