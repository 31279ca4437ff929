package states

import (
	"crypto/md5"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash"
	mrand "math/rand/v2"
	"strconv"
	"strings"
	"unicode/utf8"
)

// intrinsic is a parsed intrinsic function call, e.g.
// States.Format('Hello {}', $.name).
type intrinsic struct {
	name string
	args []intrinsicArg
	src  string
}

type intrinsicArg struct {
	lit   any
	raw   string // a string literal's text between the quotes, escapes kept
	isStr bool
	path  *jsonPath
	call  *intrinsic
}

// intrinsicArity gives each function's (min, max) argument count; max -1 is
// unbounded.
var intrinsicArity = map[string][2]int{
	"States.Format":         {1, -1},
	"States.StringToJson":   {1, 1},
	"States.JsonToString":   {1, 1},
	"States.Array":          {0, -1},
	"States.ArrayPartition": {2, 2},
	"States.ArrayContains":  {2, 2},
	"States.ArrayRange":     {3, 3},
	"States.ArrayGetItem":   {2, 2},
	"States.ArrayLength":    {1, 1},
	"States.ArrayUnique":    {1, 1},
	"States.Base64Encode":   {1, 1},
	"States.Base64Decode":   {1, 1},
	"States.Hash":           {2, 2},
	"States.JsonMerge":      {3, 3},
	"States.MathRandom":     {2, 3},
	"States.MathAdd":        {2, 2},
	"States.StringSplit":    {2, 2},
	"States.UUID":           {0, 0},
}

func isIntrinsic(s string) bool { return strings.HasPrefix(strings.TrimSpace(s), "States.") }

// parseIntrinsic parses a whole intrinsic function expression.
func parseIntrinsic(src string) (*intrinsic, error) {
	p := &intrinsicParser{s: src}
	p.skipSpace()
	fn, err := p.call()
	if err != nil {
		return nil, fmt.Errorf("intrinsic function %q: %v", src, err)
	}
	p.skipSpace()
	if p.i != len(p.s) {
		return nil, fmt.Errorf("intrinsic function %q: unexpected %q after the call", src, p.s[p.i:])
	}
	fn.src = src
	return fn, nil
}

type intrinsicParser struct {
	s string
	i int
}

func (p *intrinsicParser) skipSpace() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t' || p.s[p.i] == '\n') {
		p.i++
	}
}

func (p *intrinsicParser) call() (*intrinsic, error) {
	start := p.i
	for p.i < len(p.s) && p.s[p.i] != '(' {
		p.i++
	}
	name := strings.TrimSpace(p.s[start:p.i])
	if p.i == len(p.s) {
		return nil, fmt.Errorf("expected ( after %q", name)
	}
	arity, ok := intrinsicArity[name]
	if !ok {
		return nil, fmt.Errorf("unknown function %q", name)
	}
	p.i++ // (
	fn := &intrinsic{name: name}
	p.skipSpace()
	if p.i < len(p.s) && p.s[p.i] == ')' {
		p.i++
	} else {
		for {
			p.skipSpace()
			arg, err := p.arg()
			if err != nil {
				return nil, err
			}
			fn.args = append(fn.args, arg)
			p.skipSpace()
			if p.i >= len(p.s) {
				return nil, fmt.Errorf("unclosed ( in %s", name)
			}
			if p.s[p.i] == ')' {
				p.i++
				break
			}
			if p.s[p.i] != ',' {
				return nil, fmt.Errorf("expected , or ) in %s, found %q", name, p.s[p.i:])
			}
			p.i++
		}
	}
	if len(fn.args) < arity[0] || (arity[1] >= 0 && len(fn.args) > arity[1]) {
		return nil, fmt.Errorf("%s takes %s, got %d", name, arityText(arity), len(fn.args))
	}
	return fn, nil
}

func arityText(a [2]int) string {
	switch {
	case a[1] < 0:
		return fmt.Sprintf("at least %d arguments", a[0])
	case a[0] == a[1]:
		return fmt.Sprintf("%d arguments", a[0])
	}
	return fmt.Sprintf("%d to %d arguments", a[0], a[1])
}

func (p *intrinsicParser) arg() (intrinsicArg, error) {
	if p.i >= len(p.s) {
		return intrinsicArg{}, fmt.Errorf("missing argument")
	}
	rest := p.s[p.i:]
	switch {
	case rest[0] == '\'':
		return p.stringLit()
	case rest[0] == '$':
		return p.pathArg()
	case strings.HasPrefix(rest, "States."):
		fn, err := p.call()
		if err != nil {
			return intrinsicArg{}, err
		}
		return intrinsicArg{call: fn}, nil
	}
	end := p.i
	for end < len(p.s) && p.s[end] != ',' && p.s[end] != ')' {
		end++
	}
	tok := strings.TrimSpace(p.s[p.i:end])
	p.i = end
	switch tok {
	case "true":
		return intrinsicArg{lit: true}, nil
	case "false":
		return intrinsicArg{lit: false}, nil
	case "null":
		return intrinsicArg{lit: nil}, nil
	}
	if _, err := strconv.ParseFloat(tok, 64); err == nil && tok != "" {
		return intrinsicArg{lit: jsonNumber(tok)}, nil
	}
	return intrinsicArg{}, fmt.Errorf("bad argument %q", tok)
}

func (p *intrinsicParser) stringLit() (intrinsicArg, error) {
	p.i++ // opening quote
	start := p.i
	var b strings.Builder
	for p.i < len(p.s) {
		c := p.s[p.i]
		if c == '\\' && p.i+1 < len(p.s) {
			b.WriteByte(p.s[p.i+1])
			p.i += 2
			continue
		}
		if c == '\'' {
			raw := p.s[start:p.i]
			p.i++
			return intrinsicArg{lit: b.String(), raw: raw, isStr: true}, nil
		}
		b.WriteByte(c)
		p.i++
	}
	return intrinsicArg{}, fmt.Errorf("unclosed string literal")
}

// pathArg reads a path up to the ',' or ')' that ends the argument, minding
// brackets, parentheses and quotes inside the path.
func (p *intrinsicParser) pathArg() (intrinsicArg, error) {
	start := p.i
	depth := 0
	var quote byte
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case quote != 0:
			if c == '\\' {
				p.i++
			} else if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '[' || c == '(':
			depth++
		case c == ']':
			depth--
		case c == ')':
			if depth == 0 {
				goto done
			}
			depth--
		case c == ',':
			if depth == 0 {
				goto done
			}
		}
		p.i++
	}
done:
	src := strings.TrimSpace(p.s[start:p.i])
	path, err := parsePath(src)
	if err != nil {
		return intrinsicArg{}, err
	}
	return intrinsicArg{path: path}, nil
}

func intrinsicFail(fn *intrinsic, format string, args ...any) *failure {
	return failf(ErrIntrinsicFailure, "Invalid arguments in %s: %s", fn.name, fmt.Sprintf(format, args...))
}

// eval runs the function against the state's data and context object.
func (fn *intrinsic) eval(data any, ctx *contextObj) (any, *failure) {
	args := make([]any, len(fn.args))
	for i, a := range fn.args {
		switch {
		case a.path != nil:
			v, err := a.path.eval(data, ctx.value())
			if err != nil {
				return nil, failf(ErrIntrinsicFailure, "Invalid path '%s' in %s: the path matched nothing", a.path.src, fn.name)
			}
			args[i] = v
		case a.call != nil:
			v, ferr := a.call.eval(data, ctx)
			if ferr != nil {
				return nil, ferr
			}
			args[i] = v
		default:
			args[i] = a.lit
		}
	}
	switch fn.name {
	case "States.Format":
		return fn.format(args)
	case "States.StringToJson":
		s, ok := args[0].(string)
		if !ok {
			return nil, intrinsicFail(fn, "the argument must be a string, not %s", typeName(args[0]))
		}
		v, err := decodeJSON([]byte(s))
		if err != nil {
			return nil, intrinsicFail(fn, "the string is not JSON: %v", err)
		}
		return v, nil
	case "States.JsonToString":
		return mustJSON(args[0]), nil
	case "States.Array":
		return append([]any{}, args...), nil
	case "States.ArrayPartition":
		a, ok := args[0].([]any)
		if !ok {
			return nil, intrinsicFail(fn, "the first argument must be an array")
		}
		n, ok := toInt(args[1])
		if !ok || n <= 0 {
			return nil, intrinsicFail(fn, "the chunk size must be a positive integer")
		}
		out := []any{}
		for i := 0; i < len(a); i += int(n) {
			end := min(i+int(n), len(a))
			out = append(out, append([]any{}, a[i:end]...))
		}
		return out, nil
	case "States.ArrayContains":
		a, ok := args[0].([]any)
		if !ok {
			return nil, intrinsicFail(fn, "the first argument must be an array")
		}
		for _, x := range a {
			if jsonEqual(x, args[1]) {
				return true, nil
			}
		}
		return false, nil
	case "States.ArrayRange":
		var n [3]int64
		for i := range n {
			v, ok := toInt(args[i])
			if !ok {
				return nil, intrinsicFail(fn, "the arguments must be integers")
			}
			n[i] = v
		}
		if n[2] == 0 {
			return nil, intrinsicFail(fn, "the step must not be 0")
		}
		out := []any{}
		for v := n[0]; (n[2] > 0 && v <= n[1]) || (n[2] < 0 && v >= n[1]); v += n[2] {
			if len(out) == 1000 {
				return nil, intrinsicFail(fn, "the range has more than 1000 items")
			}
			out = append(out, numberOf(v))
		}
		return out, nil
	case "States.ArrayGetItem":
		a, ok := args[0].([]any)
		if !ok {
			return nil, intrinsicFail(fn, "the first argument must be an array")
		}
		i, ok := toInt(args[1])
		if !ok || i < 0 {
			return nil, intrinsicFail(fn, "the index must be a non-negative integer")
		}
		if i >= int64(len(a)) {
			return nil, intrinsicFail(fn, "index %d is out of bounds for an array of %d items", i, len(a))
		}
		return a[i], nil
	case "States.ArrayLength":
		a, ok := args[0].([]any)
		if !ok {
			return nil, intrinsicFail(fn, "the argument must be an array")
		}
		return numberOf(int64(len(a))), nil
	case "States.ArrayUnique":
		a, ok := args[0].([]any)
		if !ok {
			return nil, intrinsicFail(fn, "the argument must be an array")
		}
		out := []any{}
	next:
		for _, x := range a {
			for _, y := range out {
				if jsonEqual(x, y) {
					continue next
				}
			}
			out = append(out, x)
		}
		return out, nil
	case "States.Base64Encode":
		s, ok := args[0].(string)
		if !ok {
			return nil, intrinsicFail(fn, "the argument must be a string")
		}
		if len(s) > 10000 {
			return nil, intrinsicFail(fn, "the input is longer than 10000 characters")
		}
		return base64.StdEncoding.EncodeToString([]byte(s)), nil
	case "States.Base64Decode":
		s, ok := args[0].(string)
		if !ok {
			return nil, intrinsicFail(fn, "the argument must be a string")
		}
		if len(s) > 10000 {
			return nil, intrinsicFail(fn, "the input is longer than 10000 characters")
		}
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, intrinsicFail(fn, "the input is not base64: %v", err)
		}
		if !utf8.Valid(b) {
			return nil, intrinsicFail(fn, "the decoded data is not UTF-8 text")
		}
		return string(b), nil
	case "States.Hash":
		s, ok := args[0].(string)
		if !ok {
			return nil, intrinsicFail(fn, "the data must be a string")
		}
		if len(s) > 10000 {
			return nil, intrinsicFail(fn, "the data is longer than 10000 characters")
		}
		alg, _ := args[1].(string)
		var h hash.Hash
		switch alg {
		case "MD5":
			h = md5.New()
		case "SHA-1":
			h = sha1.New()
		case "SHA-256":
			h = sha256.New()
		case "SHA-384":
			h = sha512.New384()
		case "SHA-512":
			h = sha512.New()
		default:
			return nil, intrinsicFail(fn, "the algorithm must be one of MD5, SHA-1, SHA-256, SHA-384, SHA-512, not %s", mustJSON(args[1]))
		}
		h.Write([]byte(s))
		return hex.EncodeToString(h.Sum(nil)), nil
	case "States.JsonMerge":
		a, ok1 := args[0].(map[string]any)
		b, ok2 := args[1].(map[string]any)
		if !ok1 || !ok2 {
			return nil, intrinsicFail(fn, "the first two arguments must be objects")
		}
		deep, ok := args[2].(bool)
		if !ok {
			return nil, intrinsicFail(fn, "the third argument must be a boolean")
		}
		if deep {
			return nil, intrinsicFail(fn, "only a shallow merge (false) is supported")
		}
		out := make(map[string]any, len(a)+len(b))
		for k, v := range a {
			out[k] = deepCopy(v)
		}
		for k, v := range b {
			out[k] = deepCopy(v)
		}
		return out, nil
	case "States.MathRandom":
		lo, ok1 := toInt(args[0])
		hi, ok2 := toInt(args[1])
		if !ok1 || !ok2 {
			return nil, intrinsicFail(fn, "start and end must be integers")
		}
		if hi <= lo {
			return nil, intrinsicFail(fn, "end must be greater than start")
		}
		var r *mrand.Rand
		if len(args) == 3 {
			seed, ok := toInt(args[2])
			if !ok {
				return nil, intrinsicFail(fn, "the seed must be an integer")
			}
			r = mrand.New(mrand.NewPCG(uint64(seed), 0))
		} else {
			r = mrand.New(mrand.NewPCG(mrand.Uint64(), mrand.Uint64()))
		}
		return numberOf(lo + r.Int64N(hi-lo)), nil
	case "States.MathAdd":
		a, ok1 := toInt(args[0])
		b, ok2 := toInt(args[1])
		if !ok1 || !ok2 {
			return nil, intrinsicFail(fn, "the arguments must be integers")
		}
		return numberOf(a + b), nil
	case "States.StringSplit":
		s, ok1 := args[0].(string)
		d, ok2 := args[1].(string)
		if !ok1 || !ok2 {
			return nil, intrinsicFail(fn, "the arguments must be strings")
		}
		out := []any{}
		for _, part := range strings.FieldsFunc(s, func(r rune) bool { return strings.ContainsRune(d, r) }) {
			out = append(out, part)
		}
		return out, nil
	case "States.UUID":
		var b [16]byte
		rand.Read(b[:])
		b[6] = b[6]&0x0f | 0x40
		b[8] = b[8]&0x3f | 0x80
		h := hex.EncodeToString(b[:])
		return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32], nil
	}
	return nil, failf(ErrIntrinsicFailure, "unknown function %s", fn.name)
}

// format fills {} placeholders of the template; \{ \} \' \\ are literals.
func (fn *intrinsic) format(args []any) (any, *failure) {
	tmpl, ok := args[0].(string)
	if !ok {
		return nil, intrinsicFail(fn, "the template must be a string")
	}
	raw := tmpl
	if fn.args[0].isStr {
		raw = fn.args[0].raw
	}
	var b strings.Builder
	next := 1
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c == '\\' && i+1 < len(raw) && fn.args[0].isStr {
			b.WriteByte(raw[i+1])
			i++
			continue
		}
		if c == '{' && i+1 < len(raw) && raw[i+1] == '}' {
			if next >= len(args) {
				return nil, intrinsicFail(fn, "the template has more {} than there are arguments")
			}
			switch v := args[next].(type) {
			case string:
				b.WriteString(v)
			case nil:
				b.WriteString("null")
			case map[string]any, []any:
				return nil, intrinsicFail(fn, "argument %d is an %s; only strings, numbers, booleans and null can be formatted", next, typeName(v))
			default:
				b.WriteString(mustJSON(v))
			}
			next++
			i++
			continue
		}
		b.WriteByte(c)
	}
	if next != len(args) {
		return nil, intrinsicFail(fn, "the template has %d {} but %d arguments were given", next-1, len(args)-1)
	}
	return b.String(), nil
}
