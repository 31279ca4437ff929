package dynamodb

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"sort"
	"strings"

	"github.com/pushdeploy/pushdeploy/internal/local/localcloud/awsproto"
)

// Kind is an AttributeValue's type.
type Kind uint8

const (
	KindS Kind = iota + 1
	KindN
	KindB
	KindBOOL
	KindNULL
	KindM
	KindL
	KindSS
	KindNS
	KindBS
)

var kindNames = map[Kind]string{KindS: "S", KindN: "N", KindB: "B", KindBOOL: "BOOL", KindNULL: "NULL",
	KindM: "M", KindL: "L", KindSS: "SS", KindNS: "NS", KindBS: "BS"}

func (k Kind) String() string { return kindNames[k] }

// Value is a DynamoDB AttributeValue. Numbers are kept as normalized
// decimal strings and compared numerically.
type Value struct {
	Kind Kind
	S    string // S, and N (normalized)
	B    []byte
	Bool bool
	M    map[string]Value
	L    []Value
	Set  []string // SS, NS (normalized), BS (base64), sorted and unique
}

// Item is a DynamoDB item.
type Item map[string]Value

func str(s string) Value { return Value{Kind: KindS, S: s} }

// MarshalJSON writes the AttributeValue wire shape.
func (v Value) MarshalJSON() ([]byte, error) {
	var inner any
	switch v.Kind {
	case KindS, KindN:
		inner = v.S
	case KindB:
		inner = v.B
		if v.B == nil {
			inner = []byte{}
		}
	case KindBOOL:
		inner = v.Bool
	case KindNULL:
		inner = true
	case KindM:
		m := v.M
		if m == nil {
			m = map[string]Value{}
		}
		inner = m
	case KindL:
		l := v.L
		if l == nil {
			l = []Value{}
		}
		inner = l
	case KindSS, KindNS, KindBS:
		inner = v.Set
	default:
		return nil, fmt.Errorf("attribute value has no type")
	}
	return json.Marshal(map[string]any{v.Kind.String(): inner})
}

// UnmarshalJSON reads the AttributeValue wire shape and checks it as
// DynamoDB does; problems are ValidationExceptions.
func (v *Value) UnmarshalJSON(b []byte) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return awsproto.Validation("an AttributeValue must be an object: %v", err)
	}
	if len(m) != 1 {
		return awsproto.Validation("Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes")
	}
	for k, raw := range m {
		bad := func(err error) error {
			return awsproto.Validation("One or more parameter values were invalid: bad %s AttributeValue: %v", k, err)
		}
		switch k {
		case "S":
			v.Kind = KindS
			if err := json.Unmarshal(raw, &v.S); err != nil {
				return bad(err)
			}
		case "N":
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				return bad(err)
			}
			n, err := normalizeNumber(s)
			if err != nil {
				return err
			}
			v.Kind, v.S = KindN, n
		case "B":
			v.Kind = KindB
			if err := json.Unmarshal(raw, &v.B); err != nil {
				return bad(err)
			}
			if v.B == nil {
				v.B = []byte{}
			}
		case "BOOL":
			v.Kind = KindBOOL
			if err := json.Unmarshal(raw, &v.Bool); err != nil {
				return bad(err)
			}
		case "NULL":
			var t bool
			if err := json.Unmarshal(raw, &t); err != nil {
				return bad(err)
			}
			if !t {
				return awsproto.Validation("One or more parameter values were invalid: Null attribute value types must have the value of true")
			}
			v.Kind = KindNULL
		case "M":
			v.Kind = KindM
			if err := json.Unmarshal(raw, &v.M); err != nil {
				return err
			}
			if v.M == nil {
				v.M = map[string]Value{}
			}
		case "L":
			v.Kind = KindL
			if err := json.Unmarshal(raw, &v.L); err != nil {
				return err
			}
			if v.L == nil {
				v.L = []Value{}
			}
		case "SS", "NS", "BS":
			var set []string
			if k == "BS" {
				var bs [][]byte
				if err := json.Unmarshal(raw, &bs); err != nil {
					return bad(err)
				}
				for _, x := range bs {
					set = append(set, base64.StdEncoding.EncodeToString(x))
				}
			} else if err := json.Unmarshal(raw, &set); err != nil {
				return bad(err)
			}
			if len(set) == 0 {
				return awsproto.Validation("One or more parameter values were invalid: An %s may not be empty", k)
			}
			if k == "NS" {
				for i, s := range set {
					n, err := normalizeNumber(s)
					if err != nil {
						return err
					}
					set[i] = n
				}
			}
			sorted := append([]string(nil), set...)
			sort.Strings(sorted)
			for i := 1; i < len(sorted); i++ {
				if sorted[i] == sorted[i-1] {
					return awsproto.Validation("One or more parameter values were invalid: Input collection [%s] contains duplicates.", strings.Join(set, ", "))
				}
			}
			v.Kind = map[string]Kind{"SS": KindSS, "NS": KindNS, "BS": KindBS}[k]
			v.Set = sorted
		default:
			return awsproto.Validation("Supplied AttributeValue has an unknown datatype %q", k)
		}
	}
	return nil
}

// --- numbers ---

// normalizeNumber checks a DynamoDB number and returns its canonical text.
func normalizeNumber(s string) (string, error) {
	r, err := parseNumber(s)
	if err != nil {
		return "", err
	}
	return formatNumber(r)
}

func parseNumber(s string) (*big.Rat, error) {
	t := strings.TrimSpace(s)
	if !numberSyntax(t) {
		return nil, awsproto.Validation("A value provided cannot be converted into a number")
	}
	r, ok := new(big.Rat).SetString(t)
	if !ok {
		return nil, awsproto.Validation("A value provided cannot be converted into a number")
	}
	return r, nil
}

// numberSyntax accepts [+-]digits[.digits][e[+-]digits] (and .5, 5.).
func numberSyntax(s string) bool {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digits := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i, digits = i+1, digits+1
	}
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i, digits = i+1, digits+1
		}
	}
	if digits == 0 {
		return false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		exp := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i, exp = i+1, exp+1
		}
		if exp == 0 {
			return false
		}
	}
	return i == len(s)
}

var (
	ten        = big.NewInt(10)
	maxNumber  = new(big.Rat).SetFrac(new(big.Int).Exp(ten, big.NewInt(126), nil), big.NewInt(1))
	minNumber  = new(big.Rat).SetFrac(big.NewInt(1), new(big.Int).Exp(ten, big.NewInt(130), nil))
	maxDigits  = 38
	scaleLimit = 200
)

// formatNumber renders r as the shortest exact decimal, enforcing
// DynamoDB's range and 38 significant digits.
func formatNumber(r *big.Rat) (string, error) {
	abs := new(big.Rat).Abs(r)
	if abs.Sign() != 0 {
		if abs.Cmp(maxNumber) >= 0 {
			return "", awsproto.Validation("Number overflow. Attempting to store a number with magnitude larger than supported range")
		}
		if abs.Cmp(minNumber) < 0 {
			return "", awsproto.Validation("Number underflow. Attempting to store a number with magnitude smaller than supported range")
		}
	}
	scale := 0
	x := new(big.Rat).Set(r)
	for !x.IsInt() {
		x.Mul(x, new(big.Rat).SetInt(ten))
		scale++
		if scale > scaleLimit {
			return "", awsproto.Validation("Attempting to store more than 38 significant digits in a Number")
		}
	}
	text := r.FloatString(scale)
	sig := strings.TrimLeft(strings.NewReplacer("-", "", ".", "").Replace(text), "0")
	sig = strings.TrimRight(sig, "0")
	if len(sig) > maxDigits {
		return "", awsproto.Validation("Attempting to store more than 38 significant digits in a Number")
	}
	return text, nil
}

func compareNumbers(a, b string) int {
	x, _ := new(big.Rat).SetString(a)
	y, _ := new(big.Rat).SetString(b)
	if x == nil || y == nil {
		return strings.Compare(a, b)
	}
	return x.Cmp(y)
}

func addNumbers(a, b string, sign int) (string, error) {
	x, err := parseNumber(a)
	if err != nil {
		return "", err
	}
	y, err := parseNumber(b)
	if err != nil {
		return "", err
	}
	if sign < 0 {
		y.Neg(y)
	}
	return formatNumber(x.Add(x, y))
}

// --- comparison ---

// equal is DynamoDB's = : same type and same value; sets ignore order.
func equal(a, b Value) bool {
	if a.Kind != b.Kind {
		return false
	}
	switch a.Kind {
	case KindS, KindN:
		return a.S == b.S
	case KindB:
		return bytes.Equal(a.B, b.B)
	case KindBOOL:
		return a.Bool == b.Bool
	case KindNULL:
		return true
	case KindSS, KindNS, KindBS:
		if len(a.Set) != len(b.Set) {
			return false
		}
		for i := range a.Set {
			if a.Set[i] != b.Set[i] {
				return false
			}
		}
		return true
	case KindL:
		if len(a.L) != len(b.L) {
			return false
		}
		for i := range a.L {
			if !equal(a.L[i], b.L[i]) {
				return false
			}
		}
		return true
	case KindM:
		if len(a.M) != len(b.M) {
			return false
		}
		for k, x := range a.M {
			y, ok := b.M[k]
			if !ok || !equal(x, y) {
				return false
			}
		}
		return true
	}
	return false
}

// compare orders two scalars of one type (S, N, B); ok is false when they
// cannot be ordered.
func compare(a, b Value) (int, bool) {
	if a.Kind != b.Kind {
		return 0, false
	}
	switch a.Kind {
	case KindS:
		return strings.Compare(a.S, b.S), true
	case KindN:
		return compareNumbers(a.S, b.S), true
	case KindB:
		return bytes.Compare(a.B, b.B), true
	}
	return 0, false
}

// encodeKey renders a key value as a map key that keeps it unique.
func encodeKey(v Value) string {
	switch v.Kind {
	case KindB:
		return "B:" + base64.StdEncoding.EncodeToString(v.B)
	default:
		return v.Kind.String() + ":" + v.S
	}
}

func clone(v Value) Value {
	switch v.Kind {
	case KindM:
		m := make(map[string]Value, len(v.M))
		for k, x := range v.M {
			m[k] = clone(x)
		}
		v.M = m
	case KindL:
		l := make([]Value, len(v.L))
		for i, x := range v.L {
			l[i] = clone(x)
		}
		v.L = l
	case KindSS, KindNS, KindBS:
		v.Set = append([]string(nil), v.Set...)
	case KindB:
		v.B = append([]byte{}, v.B...)
	}
	return v
}

func cloneItem(it Item) Item {
	if it == nil {
		return nil
	}
	out := make(Item, len(it))
	for k, v := range it {
		out[k] = clone(v)
	}
	return out
}

// size is the attribute's size in DynamoDB's sense, for the 400 KB item
// limit: names and values in bytes, numbers about one byte per two digits.
func size(v Value) int {
	switch v.Kind {
	case KindS:
		return len(v.S)
	case KindN:
		return len(v.S)/2 + 1
	case KindB:
		return len(v.B)
	case KindBOOL, KindNULL:
		return 1
	case KindSS, KindNS, KindBS:
		n := 0
		for _, s := range v.Set {
			n += len(s)
		}
		return n
	case KindM:
		n := 3
		for k, x := range v.M {
			n += len(k) + size(x) + 1
		}
		return n
	case KindL:
		n := 3
		for _, x := range v.L {
			n += size(x) + 1
		}
		return n
	}
	return 0
}

func itemSize(it Item) int {
	n := 0
	for k, v := range it {
		n += len(k) + size(v)
	}
	return n
}

// memberKey renders a scalar as a set member string.
func memberKey(v Value) string {
	if v.Kind == KindB {
		return base64.StdEncoding.EncodeToString(v.B)
	}
	return v.S
}

func setKindOf(scalar Kind) Kind {
	switch scalar {
	case KindS:
		return KindSS
	case KindN:
		return KindNS
	case KindB:
		return KindBS
	}
	return 0
}
