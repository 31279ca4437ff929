package dynamodb

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/pushdeploy/pushdeploy/internal/local/localcloud/awsproto"
)

// This file parses DynamoDB's expression grammar (condition, key condition,
// filter, update and projection expressions) into a tree whose names and
// values are already resolved from ExpressionAttributeNames/Values.

type tokKind int

const (
	tEOF tokKind = iota
	tName
	tNameRef  // #name
	tValueRef // :value
	tNumber   // list index
	tPunct
)

type token struct {
	kind tokKind
	text string
	pos  int
}

func lex(src string) ([]token, error) {
	var toks []token
	i := 0
	for i < len(src) {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '#' || c == ':':
			j := i + 1
			for j < len(src) && isNameChar(src[j]) {
				j++
			}
			if j == i+1 {
				//lint:ignore ST1005 DynamoDB's wording, which clients may match
				return nil, fmt.Errorf("Syntax error; token: %q, near: %q", string(c), near(src, i))
			}
			k := tNameRef
			if c == ':' {
				k = tValueRef
			}
			toks = append(toks, token{k, src[i:j], i})
			i = j
		case isLetter(c) || c == '_':
			j := i + 1
			for j < len(src) && isNameChar(src[j]) {
				j++
			}
			toks = append(toks, token{tName, src[i:j], i})
			i = j
		case c >= '0' && c <= '9':
			j := i + 1
			for j < len(src) && src[j] >= '0' && src[j] <= '9' {
				j++
			}
			toks = append(toks, token{tNumber, src[i:j], i})
			i = j
		case c == '<' || c == '>':
			if i+1 < len(src) && (src[i+1] == '=' || (c == '<' && src[i+1] == '>')) {
				toks = append(toks, token{tPunct, src[i : i+2], i})
				i += 2
			} else {
				toks = append(toks, token{tPunct, string(c), i})
				i++
			}
		case strings.IndexByte("()[],.=+-", c) >= 0:
			toks = append(toks, token{tPunct, string(c), i})
			i++
		default:
			//lint:ignore ST1005 DynamoDB's wording, which clients may match
			return nil, fmt.Errorf("Invalid character encountered; character: %q, near: %q", string(c), near(src, i))
		}
	}
	return append(toks, token{kind: tEOF, pos: len(src)}), nil
}

func isLetter(c byte) bool   { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isNameChar(c byte) bool { return isLetter(c) || c >= '0' && c <= '9' || c == '_' }

func near(src string, i int) string {
	end := min(i+16, len(src))
	start := max(i-8, 0)
	return src[start:end]
}

// --- tree ---

type pathElem struct {
	name  string
	index int
	isIdx bool
}

type docPath []pathElem

func (p docPath) String() string {
	var b strings.Builder
	for i, e := range p {
		if e.isIdx {
			fmt.Fprintf(&b, "[%d]", e.index)
			continue
		}
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(e.name)
	}
	return b.String()
}

// operand is a value in an expression: a document path, a literal value,
// size(path), or (update only) if_not_exists, list_append, + and -.
type operand interface{ isOperand() }

type pathOp struct{ path docPath }
type valueOp struct {
	ref string
	v   Value
}
type sizeOp struct{ path docPath }
type ifNotExistsOp struct {
	path docPath
	def  operand
}
type listAppendOp struct{ a, b operand }
type arithOp struct {
	op   string // + or -
	a, b operand
}

func (pathOp) isOperand()        {}
func (valueOp) isOperand()       {}
func (sizeOp) isOperand()        {}
func (ifNotExistsOp) isOperand() {}
func (listAppendOp) isOperand()  {}
func (arithOp) isOperand()       {}

// cond is a condition.
type cond interface{ isCond() }

type cmpCond struct {
	op   string
	a, b operand
}
type betweenCond struct{ v, lo, hi operand }
type inCond struct {
	v    operand
	list []operand
}
type funcCond struct {
	name string
	path docPath
	arg  operand // nil for attribute_exists / attribute_not_exists
}
type andCond struct{ a, b cond }
type orCond struct{ a, b cond }
type notCond struct{ c cond }

func (cmpCond) isCond()     {}
func (betweenCond) isCond() {}
func (inCond) isCond()      {}
func (funcCond) isCond()    {}
func (andCond) isCond()     {}
func (orCond) isCond()      {}
func (notCond) isCond()     {}

// --- substitutions ---

// subst resolves #names and :values and remembers which were used, so that
// unused ones can be rejected as DynamoDB does.
type subst struct {
	names     map[string]string
	values    map[string]Value
	usedNames map[string]bool
	usedVals  map[string]bool
}

func newSubst(names map[string]string, values map[string]Value) (*subst, error) {
	if names != nil && len(names) == 0 {
		return nil, awsproto.Validation("ExpressionAttributeNames must not be empty")
	}
	if values != nil && len(values) == 0 {
		return nil, awsproto.Validation("ExpressionAttributeValues must not be empty")
	}
	for k := range names {
		if !strings.HasPrefix(k, "#") || len(k) < 2 {
			return nil, awsproto.Validation("ExpressionAttributeNames contains invalid key: Syntax error; key: %q", k)
		}
	}
	for k := range values {
		if !strings.HasPrefix(k, ":") || len(k) < 2 {
			return nil, awsproto.Validation("ExpressionAttributeValues contains invalid key: Syntax error; key: %q", k)
		}
	}
	return &subst{names: names, values: values, usedNames: map[string]bool{}, usedVals: map[string]bool{}}, nil
}

// checkUnused fails on names or values no expression used.
func (s *subst) checkUnused() error {
	var names, vals []string
	for k := range s.names {
		if !s.usedNames[k] {
			names = append(names, k)
		}
	}
	for k := range s.values {
		if !s.usedVals[k] {
			vals = append(vals, k)
		}
	}
	sort.Strings(names)
	sort.Strings(vals)
	if len(names) > 0 {
		return awsproto.Validation("Value provided in ExpressionAttributeNames unused in expressions: keys: {%s}", strings.Join(names, ", "))
	}
	if len(vals) > 0 {
		return awsproto.Validation("Value provided in ExpressionAttributeValues unused in expressions: keys: {%s}", strings.Join(vals, ", "))
	}
	return nil
}

// --- parser ---

type parser struct {
	what string // "ConditionExpression", ...: names the expression in errors
	src  string
	toks []token
	i    int
	sub  *subst
}

// exprError is a ValidationException naming the expression.
func (p *parser) errorf(format string, args ...any) error {
	return awsproto.Validation("Invalid %s: %s", p.what, fmt.Sprintf(format, args...))
}

func (p *parser) syntax() error {
	t := p.peek()
	text := t.text
	if t.kind == tEOF {
		text = "<EOF>"
	}
	return p.errorf("Syntax error; token: %q, near: %q", text, near(p.src, t.pos))
}

func newParser(what, src string, sub *subst) (*parser, error) {
	if strings.TrimSpace(src) == "" {
		return nil, awsproto.Validation("Invalid %s: The expression can not be empty;", what)
	}
	toks, err := lex(src)
	if err != nil {
		return nil, awsproto.Validation("Invalid %s: %v", what, err)
	}
	return &parser{what: what, src: src, toks: toks, sub: sub}, nil
}

func (p *parser) peek() token { return p.toks[p.i] }
func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

// back undoes next(t), so that errors name the offending token.
func (p *parser) back(t token) {
	if t.kind != tEOF {
		p.i--
	}
}

func (p *parser) isPunct(s string) bool { t := p.peek(); return t.kind == tPunct && t.text == s }
func (p *parser) isKeyword(s string) bool {
	t := p.peek()
	return t.kind == tName && strings.EqualFold(t.text, s)
}

func (p *parser) expect(s string) error {
	if !p.isPunct(s) {
		return p.syntax()
	}
	p.next()
	return nil
}

func (p *parser) end() error {
	if p.peek().kind != tEOF {
		return p.syntax()
	}
	return nil
}

// path parses a document path: name or #ref, then .name / [n] steps.
func (p *parser) path() (docPath, error) {
	var out docPath
	for {
		t := p.next()
		var name string
		switch t.kind {
		case tName:
			if reserved[strings.ToUpper(t.text)] {
				return nil, p.errorf("Attribute name is a reserved keyword; reserved keyword: %s", t.text)
			}
			name = t.text
		case tNameRef:
			n, ok := p.sub.names[t.text]
			if !ok {
				return nil, p.errorf("An expression attribute name used in the document path is not defined; attribute name: %s", t.text)
			}
			p.sub.usedNames[t.text] = true
			name = n
		default:
			p.back(t)
			return nil, p.syntax()
		}
		out = append(out, pathElem{name: name})
		for p.isPunct("[") {
			p.next()
			t := p.next()
			if t.kind != tNumber {
				p.back(t)
				return nil, p.syntax()
			}
			n, err := strconv.Atoi(t.text)
			if err != nil {
				return nil, p.errorf("List index is too large; index: %s", t.text)
			}
			if err := p.expect("]"); err != nil {
				return nil, err
			}
			out = append(out, pathElem{index: n, isIdx: true})
		}
		if !p.isPunct(".") {
			return out, nil
		}
		p.next()
	}
}

func (p *parser) value() (operand, error) {
	t := p.next()
	v, ok := p.sub.values[t.text]
	if !ok {
		return nil, p.errorf("An expression attribute value used in expression is not defined; attribute value: %s", t.text)
	}
	p.sub.usedVals[t.text] = true
	return valueOp{ref: t.text, v: v}, nil
}

// isFunc reports whether the next tokens are name '('.
func (p *parser) isFunc() bool {
	t := p.peek()
	n := p.toks[min(p.i+1, len(p.toks)-1)]
	return t.kind == tName && n.kind == tPunct && n.text == "("
}

// operand parses a condition operand: path, :value or size(path).
func (p *parser) operand() (operand, error) {
	t := p.peek()
	switch {
	case t.kind == tValueRef:
		return p.value()
	case p.isFunc():
		name := p.next().text
		if name != "size" {
			if conditionFuncs[name] {
				return nil, p.errorf("The function is not allowed to be used this way in an expression; function: %s", name)
			}
			return nil, p.errorf("Invalid function name; function: %s", name)
		}
		p.next()
		path, err := p.path()
		if err != nil {
			return nil, err
		}
		if err := p.expect(")"); err != nil {
			return nil, err
		}
		return sizeOp{path: path}, nil
	case t.kind == tName || t.kind == tNameRef:
		path, err := p.path()
		if err != nil {
			return nil, err
		}
		return pathOp{path: path}, nil
	}
	return nil, p.syntax()
}

var conditionFuncs = map[string]bool{"attribute_exists": true, "attribute_not_exists": true, "attribute_type": true,
	"begins_with": true, "contains": true}

// condition := or
func (p *parser) condition() (cond, error) {
	a, err := p.and()
	if err != nil {
		return nil, err
	}
	for p.isKeyword("OR") {
		p.next()
		b, err := p.and()
		if err != nil {
			return nil, err
		}
		a = orCond{a, b}
	}
	return a, nil
}

func (p *parser) and() (cond, error) {
	a, err := p.not()
	if err != nil {
		return nil, err
	}
	for p.isKeyword("AND") {
		p.next()
		b, err := p.not()
		if err != nil {
			return nil, err
		}
		a = andCond{a, b}
	}
	return a, nil
}

func (p *parser) not() (cond, error) {
	if p.isKeyword("NOT") {
		p.next()
		c, err := p.not()
		if err != nil {
			return nil, err
		}
		return notCond{c}, nil
	}
	return p.primary()
}

var comparators = map[string]bool{"=": true, "<>": true, "<": true, "<=": true, ">": true, ">=": true}

func (p *parser) primary() (cond, error) {
	if p.isPunct("(") {
		p.next()
		c, err := p.condition()
		if err != nil {
			return nil, err
		}
		if err := p.expect(")"); err != nil {
			return nil, err
		}
		return c, nil
	}
	if p.isFunc() && p.peek().text != "size" {
		return p.function()
	}
	a, err := p.operand()
	if err != nil {
		return nil, err
	}
	t := p.peek()
	switch {
	case t.kind == tPunct && comparators[t.text]:
		p.next()
		b, err := p.operand()
		if err != nil {
			return nil, err
		}
		if err := p.checkOrderable(t.text, a, b); err != nil {
			return nil, err
		}
		return cmpCond{op: t.text, a: a, b: b}, nil
	case p.isKeyword("BETWEEN"):
		p.next()
		lo, err := p.operand()
		if err != nil {
			return nil, err
		}
		if !p.isKeyword("AND") {
			return nil, p.syntax()
		}
		p.next()
		hi, err := p.operand()
		if err != nil {
			return nil, err
		}
		if err := p.checkOrderable("BETWEEN", a, lo, hi); err != nil {
			return nil, err
		}
		l, lok := lo.(valueOp)
		h, hok := hi.(valueOp)
		if lok && hok {
			if c, ok := compare(l.v, h.v); !ok {
				return nil, p.errorf("The BETWEEN operator requires same data type for lower and upper bounds; lower bound operand: AttributeValue: {%s}, upper bound operand: AttributeValue: {%s}", l.v.Kind, h.v.Kind)
			} else if c > 0 {
				return nil, p.errorf("The BETWEEN operator requires upper bound to be greater than or equal to lower bound; lower bound operand: AttributeValue: {%s:%s}, upper bound operand: AttributeValue: {%s:%s}", l.v.Kind, l.v.S, h.v.Kind, h.v.S)
			}
		}
		return betweenCond{v: a, lo: lo, hi: hi}, nil
	case p.isKeyword("IN"):
		p.next()
		if err := p.expect("("); err != nil {
			return nil, err
		}
		var list []operand
		for {
			o, err := p.operand()
			if err != nil {
				return nil, err
			}
			list = append(list, o)
			if p.isPunct(",") {
				p.next()
				continue
			}
			break
		}
		if err := p.expect(")"); err != nil {
			return nil, err
		}
		if len(list) > 100 {
			return nil, p.errorf("The IN operator is provided with too many operands; number of operands: %d", len(list))
		}
		return inCond{v: a, list: list}, nil
	}
	return nil, p.syntax()
}

// checkOrderable rejects literal operands of a type that cannot be ordered.
func (p *parser) checkOrderable(op string, ops ...operand) error {
	if op == "=" || op == "<>" {
		return nil
	}
	for _, o := range ops {
		if v, ok := o.(valueOp); ok && v.v.Kind != KindS && v.v.Kind != KindN && v.v.Kind != KindB {
			return p.errorf("Incorrect operand type for operator or function; operator or function: %s, operand type: %s", op, v.v.Kind)
		}
	}
	return nil
}

func (p *parser) function() (cond, error) {
	name := p.next().text
	if !conditionFuncs[name] {
		if name == "if_not_exists" || name == "list_append" {
			return nil, p.errorf("The function is not allowed to be used this way in an expression; function: %s", name)
		}
		return nil, p.errorf("Invalid function name; function: %s", name)
	}
	p.next() // (
	path, err := p.path()
	if err != nil {
		return nil, err
	}
	f := funcCond{name: name, path: path}
	switch name {
	case "attribute_type", "begins_with", "contains":
		if !p.isPunct(",") {
			return nil, p.errorf("Incorrect number of operands for operator or function; operator or function: %s, number of operands: 1", name)
		}
		p.next()
		arg, err := p.operand()
		if err != nil {
			return nil, err
		}
		f.arg = arg
		if v, ok := arg.(valueOp); ok {
			switch name {
			case "attribute_type":
				if v.v.Kind != KindS || kindByName(v.v.S) == 0 {
					return nil, p.errorf("Invalid attribute type name found; type: %s, valid types: { B, NULL, SS, BOOL, L, BS, N, NS, S, M }", v.v.S)
				}
			case "begins_with":
				if v.v.Kind != KindS && v.v.Kind != KindB {
					return nil, p.errorf("Incorrect operand type for operator or function; operator or function: begins_with, operand type: %s", v.v.Kind)
				}
			}
		}
	}
	if !p.isPunct(")") {
		return nil, p.errorf("Incorrect number of operands for operator or function; operator or function: %s", name)
	}
	p.next()
	return f, nil
}

func kindByName(s string) Kind {
	for k, n := range kindNames {
		if n == s {
			return k
		}
	}
	return 0
}

// parseCondition parses a ConditionExpression or FilterExpression.
func parseCondition(what, src string, sub *subst) (cond, error) {
	p, err := newParser(what, src, sub)
	if err != nil {
		return nil, err
	}
	c, err := p.condition()
	if err != nil {
		return nil, err
	}
	return c, p.end()
}

// parseProjection parses a ProjectionExpression.
func parseProjection(src string, sub *subst) ([]docPath, error) {
	p, err := newParser("ProjectionExpression", src, sub)
	if err != nil {
		return nil, err
	}
	var out []docPath
	for {
		path, err := p.path()
		if err != nil {
			return nil, err
		}
		out = append(out, path)
		if !p.isPunct(",") {
			break
		}
		p.next()
	}
	if err := p.end(); err != nil {
		return nil, err
	}
	if err := checkOverlaps(p, out); err != nil {
		return nil, err
	}
	return out, nil
}

// --- update expressions ---

type setAction struct {
	path docPath
	val  operand
}

type addAction struct {
	path docPath
	val  valueOp
}

type update struct {
	set    []setAction
	remove []docPath
	add    []addAction
	del    []addAction
}

// paths lists every path the update writes.
func (u *update) paths() []docPath {
	var out []docPath
	for _, s := range u.set {
		out = append(out, s.path)
	}
	out = append(out, u.remove...)
	for _, a := range u.add {
		out = append(out, a.path)
	}
	for _, a := range u.del {
		out = append(out, a.path)
	}
	return out
}

func parseUpdate(src string, sub *subst) (*update, error) {
	p, err := newParser("UpdateExpression", src, sub)
	if err != nil {
		return nil, err
	}
	u := &update{}
	seen := map[string]bool{}
	for p.peek().kind != tEOF {
		t := p.next()
		kw := strings.ToUpper(t.text)
		if t.kind != tName || (kw != "SET" && kw != "REMOVE" && kw != "ADD" && kw != "DELETE") {
			p.back(t)
			return nil, p.syntax()
		}
		if seen[kw] {
			return nil, p.errorf("The %q section can only be used once in an update expression;", kw)
		}
		seen[kw] = true
		for {
			switch kw {
			case "SET":
				path, err := p.path()
				if err != nil {
					return nil, err
				}
				if err := p.expect("="); err != nil {
					return nil, err
				}
				v, err := p.setValue()
				if err != nil {
					return nil, err
				}
				u.set = append(u.set, setAction{path: path, val: v})
			case "REMOVE":
				path, err := p.path()
				if err != nil {
					return nil, err
				}
				u.remove = append(u.remove, path)
			case "ADD", "DELETE":
				path, err := p.path()
				if err != nil {
					return nil, err
				}
				if p.peek().kind != tValueRef {
					return nil, p.syntax()
				}
				v, err := p.value()
				if err != nil {
					return nil, err
				}
				vo := v.(valueOp)
				if kw == "ADD" {
					if vo.v.Kind != KindN && vo.v.Kind != KindSS && vo.v.Kind != KindNS && vo.v.Kind != KindBS {
						return nil, p.errorf("Incorrect operand type for operator or function; operator: ADD, operand type: %s", vo.v.Kind)
					}
					u.add = append(u.add, addAction{path: path, val: vo})
				} else {
					if vo.v.Kind != KindSS && vo.v.Kind != KindNS && vo.v.Kind != KindBS {
						return nil, p.errorf("Incorrect operand type for operator or function; operator: DELETE, operand type: %s", vo.v.Kind)
					}
					u.del = append(u.del, addAction{path: path, val: vo})
				}
			}
			if !p.isPunct(",") {
				break
			}
			p.next()
		}
	}
	if err := checkOverlaps(p, u.paths()); err != nil {
		return nil, err
	}
	return u, nil
}

// setValue := setOperand [(+|-) setOperand]
func (p *parser) setValue() (operand, error) {
	a, err := p.setOperand()
	if err != nil {
		return nil, err
	}
	if p.isPunct("+") || p.isPunct("-") {
		op := p.next().text
		b, err := p.setOperand()
		if err != nil {
			return nil, err
		}
		return arithOp{op: op, a: a, b: b}, nil
	}
	return a, nil
}

func (p *parser) setOperand() (operand, error) {
	if !p.isFunc() {
		t := p.peek()
		if t.kind == tValueRef {
			return p.value()
		}
		path, err := p.path()
		if err != nil {
			return nil, err
		}
		return pathOp{path: path}, nil
	}
	name := p.next().text
	p.next() // (
	switch name {
	case "if_not_exists":
		path, err := p.path()
		if err != nil {
			return nil, err
		}
		if err := p.expect(","); err != nil {
			return nil, err
		}
		def, err := p.setOperand()
		if err != nil {
			return nil, err
		}
		if err := p.expect(")"); err != nil {
			return nil, err
		}
		return ifNotExistsOp{path: path, def: def}, nil
	case "list_append":
		a, err := p.setOperand()
		if err != nil {
			return nil, err
		}
		if err := p.expect(","); err != nil {
			return nil, err
		}
		b, err := p.setOperand()
		if err != nil {
			return nil, err
		}
		if err := p.expect(")"); err != nil {
			return nil, err
		}
		for _, o := range []operand{a, b} {
			if v, ok := o.(valueOp); ok && v.v.Kind != KindL {
				return nil, p.errorf("Incorrect operand type for operator or function; operator or function: list_append, operand type: %s", v.v.Kind)
			}
		}
		return listAppendOp{a: a, b: b}, nil
	}
	if conditionFuncs[name] || name == "size" {
		return nil, p.errorf("The function is not allowed in an update expression; function: %s", name)
	}
	return nil, p.errorf("Invalid function name; function: %s", name)
}

// checkOverlaps rejects two paths where one is the other or contains it.
func checkOverlaps(p *parser, paths []docPath) error {
	for i := range paths {
		for j := i + 1; j < len(paths); j++ {
			a, b := paths[i], paths[j]
			n := min(len(a), len(b))
			same := true
			for k := 0; k < n; k++ {
				if a[k] != b[k] {
					same = false
					break
				}
			}
			if same {
				return p.errorf("Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [%s], path two: [%s]", a, b)
			}
		}
	}
	return nil
}
