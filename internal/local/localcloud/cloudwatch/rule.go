package cloudwatch

import (
	"fmt"
	"strings"
)

// A composite alarm's AlarmRule, as AWS documents it: the functions
// ALARM(x), OK(x) and INSUFFICIENT_DATA(x), the constants TRUE and FALSE,
// NOT, AND, OR and parentheses. x is an alarm name or ARN, in double quotes
// or not; a quoted name may contain anything, with \" and \\ escaped.
// NOT binds tightest, then AND, then OR.

// ruleNode is a parsed AlarmRule.
type ruleNode interface {
	// eval judges the rule with state giving each child's state ("" for
	// an alarm that does not exist).
	eval(state func(ref string) string) bool
}

type (
	ruleConst bool
	ruleState struct{ want, ref string } // want is OK, ALARM or INSUFFICIENT_DATA
	ruleNot   struct{ x ruleNode }
	ruleAnd   struct{ l, r ruleNode }
	ruleOr    struct{ l, r ruleNode }
)

func (c ruleConst) eval(func(string) string) bool    { return bool(c) }
func (s ruleState) eval(st func(string) string) bool { return st(s.ref) == s.want }
func (n ruleNot) eval(st func(string) string) bool   { return !n.x.eval(st) }
func (a ruleAnd) eval(st func(string) string) bool   { return a.l.eval(st) && a.r.eval(st) }
func (o ruleOr) eval(st func(string) string) bool    { return o.l.eval(st) || o.r.eval(st) }

// RuleError says why an AlarmRule does not parse, and where.
type RuleError struct {
	Pos    int // byte offset into the rule
	Reason string
}

func (e *RuleError) Error() string { return fmt.Sprintf("at position %d: %s", e.Pos, e.Reason) }

// maxRuleLength is AlarmRule's documented length limit.
const maxRuleLength = 10240

// parseRule parses an AlarmRule and returns it with the alarms it names, in
// order of first mention.
func parseRule(s string) (ruleNode, []string, error) {
	p := &ruleParser{src: s}
	n, err := p.or()
	if err != nil {
		return nil, nil, err
	}
	if t := p.next(); t.kind != tokEOF {
		return nil, nil, &RuleError{t.pos, fmt.Sprintf("unexpected %s", t)}
	}
	return n, p.refs, nil
}

type tokKind int

const (
	tokEOF tokKind = iota
	tokWord
	tokQuoted
	tokLParen
	tokRParen
)

type token struct {
	kind tokKind
	text string
	pos  int
}

func (t token) String() string {
	switch t.kind {
	case tokEOF:
		return "end of rule"
	case tokLParen:
		return `"("`
	case tokRParen:
		return `")"`
	}
	return fmt.Sprintf("%q", t.text)
}

type ruleParser struct {
	src    string
	pos    int
	peeked *token
	refs   []string
}

func (p *ruleParser) peek() (token, error) {
	if p.peeked == nil {
		t, err := p.scan()
		if err != nil {
			return token{}, err
		}
		p.peeked = &t
	}
	return *p.peeked, nil
}

// next returns the peeked token; call peek first.
func (p *ruleParser) next() token {
	if p.peeked == nil {
		t, err := p.scan()
		if err != nil {
			return token{kind: tokEOF, pos: p.pos}
		}
		return t
	}
	t := *p.peeked
	p.peeked = nil
	return t
}

func (p *ruleParser) scan() (token, error) {
	for p.pos < len(p.src) && strings.ContainsRune(" \t\r\n", rune(p.src[p.pos])) {
		p.pos++
	}
	start := p.pos
	if p.pos == len(p.src) {
		return token{kind: tokEOF, pos: start}, nil
	}
	switch c := p.src[p.pos]; c {
	case '(':
		p.pos++
		return token{kind: tokLParen, pos: start}, nil
	case ')':
		p.pos++
		return token{kind: tokRParen, pos: start}, nil
	case '"':
		var b strings.Builder
		for p.pos++; p.pos < len(p.src); p.pos++ {
			switch c := p.src[p.pos]; c {
			case '\\':
				if p.pos+1 < len(p.src) {
					p.pos++
					b.WriteByte(p.src[p.pos])
				}
			case '"':
				p.pos++
				return token{kind: tokQuoted, text: b.String(), pos: start}, nil
			default:
				b.WriteByte(c)
			}
		}
		return token{}, &RuleError{start, "unterminated quoted alarm name"}
	}
	for p.pos < len(p.src) && !strings.ContainsRune(" \t\r\n()\"", rune(p.src[p.pos])) {
		p.pos++
	}
	return token{kind: tokWord, text: p.src[start:p.pos], pos: start}, nil
}

func (p *ruleParser) or() (ruleNode, error) {
	return p.binary("OR", p.and, func(l, r ruleNode) ruleNode { return ruleOr{l, r} })
}

func (p *ruleParser) and() (ruleNode, error) {
	return p.binary("AND", p.unary, func(l, r ruleNode) ruleNode { return ruleAnd{l, r} })
}

// binary parses operand (op operand)*, left-associative: one precedence
// level of the rule grammar.
func (p *ruleParser) binary(op string, operand func() (ruleNode, error), join func(l, r ruleNode) ruleNode) (ruleNode, error) {
	l, err := operand()
	if err != nil {
		return nil, err
	}
	for {
		t, err := p.peek()
		if err != nil {
			return nil, err
		}
		if t.kind != tokWord || t.text != op {
			return l, nil
		}
		p.next()
		r, err := operand()
		if err != nil {
			return nil, err
		}
		l = join(l, r)
	}
}

func (p *ruleParser) unary() (ruleNode, error) {
	t, err := p.peek()
	if err != nil {
		return nil, err
	}
	p.next()
	switch {
	case t.kind == tokLParen:
		n, err := p.or()
		if err != nil {
			return nil, err
		}
		if err := p.expect(tokRParen, "closing parenthesis"); err != nil {
			return nil, err
		}
		return n, nil
	case t.kind != tokWord:
		return nil, &RuleError{t.pos, fmt.Sprintf("unexpected %s: want a function, TRUE, FALSE, NOT or a parenthesis", t)}
	}
	switch t.text {
	case "NOT":
		x, err := p.unary()
		if err != nil {
			return nil, err
		}
		return ruleNot{x}, nil
	case "TRUE":
		return ruleConst(true), nil
	case "FALSE":
		return ruleConst(false), nil
	case StateAlarm, StateOK, StateInsufficientData:
		if err := p.expect(tokLParen, "( after "+t.text); err != nil {
			return nil, err
		}
		ref, err := p.peek()
		if err != nil {
			return nil, err
		}
		p.next()
		if (ref.kind != tokWord && ref.kind != tokQuoted) || ref.text == "" {
			return nil, &RuleError{ref.pos, fmt.Sprintf("unexpected %s: want an alarm name or ARN", ref)}
		}
		if err := p.expect(tokRParen, "closing parenthesis of "+t.text); err != nil {
			return nil, err
		}
		p.refs = append(p.refs, ref.text)
		return ruleState{want: t.text, ref: ref.text}, nil
	}
	return nil, &RuleError{t.pos, fmt.Sprintf("unknown function or keyword %q", t.text)}
}

func (p *ruleParser) expect(k tokKind, what string) error {
	t, err := p.peek()
	if err != nil {
		return err
	}
	p.next()
	if t.kind != k {
		return &RuleError{t.pos, fmt.Sprintf("unexpected %s: want %s", t, what)}
	}
	return nil
}
