package dynamodb

import (
	"bytes"
	"sort"
	"strings"

	"github.com/pushdeploy/pushdeploy/internal/local/localcloud/awsproto"
)

// resolve finds the value at path in item.
func resolve(item Item, path docPath) (Value, bool) {
	if len(path) == 0 || path[0].isIdx {
		return Value{}, false
	}
	v, ok := item[path[0].name]
	if !ok {
		return Value{}, false
	}
	for _, e := range path[1:] {
		if e.isIdx {
			if v.Kind != KindL || e.index >= len(v.L) {
				return Value{}, false
			}
			v = v.L[e.index]
			continue
		}
		if v.Kind != KindM {
			return Value{}, false
		}
		if v, ok = v.M[e.name]; !ok {
			return Value{}, false
		}
	}
	return v, true
}

// operandValue evaluates a condition operand; ok is false when it names a
// missing attribute (conditions on it are then false).
func operandValue(item Item, o operand) (Value, bool) {
	switch x := o.(type) {
	case valueOp:
		return x.v, true
	case pathOp:
		return resolve(item, x.path)
	case sizeOp:
		v, ok := resolve(item, x.path)
		if !ok {
			return Value{}, false
		}
		var n int
		switch v.Kind {
		case KindS:
			n = len(v.S)
		case KindB:
			n = len(v.B)
		case KindSS, KindNS, KindBS:
			n = len(v.Set)
		case KindM:
			n = len(v.M)
		case KindL:
			n = len(v.L)
		default:
			return Value{}, false
		}
		return Value{Kind: KindN, S: itoa(n)}, true
	}
	return Value{}, false
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	neg := n < 0
	if neg {
		n = -n
	}
	for n > 0 {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
	}
	if neg {
		b = append([]byte{'-'}, b...)
	}
	return string(b)
}

// evalCond evaluates a condition against item (nil for a missing item).
func evalCond(item Item, c cond) bool {
	switch x := c.(type) {
	case andCond:
		return evalCond(item, x.a) && evalCond(item, x.b)
	case orCond:
		return evalCond(item, x.a) || evalCond(item, x.b)
	case notCond:
		return !evalCond(item, x.c)
	case cmpCond:
		a, aok := operandValue(item, x.a)
		b, bok := operandValue(item, x.b)
		if !aok || !bok {
			return false
		}
		switch x.op {
		case "=":
			return equal(a, b)
		case "<>":
			return !equal(a, b)
		}
		n, ok := compare(a, b)
		if !ok {
			return false
		}
		switch x.op {
		case "<":
			return n < 0
		case "<=":
			return n <= 0
		case ">":
			return n > 0
		case ">=":
			return n >= 0
		}
	case betweenCond:
		v, ok1 := operandValue(item, x.v)
		lo, ok2 := operandValue(item, x.lo)
		hi, ok3 := operandValue(item, x.hi)
		if !ok1 || !ok2 || !ok3 {
			return false
		}
		a, ok := compare(v, lo)
		b, ok2 := compare(v, hi)
		return ok && ok2 && a >= 0 && b <= 0
	case inCond:
		v, ok := operandValue(item, x.v)
		if !ok {
			return false
		}
		for _, o := range x.list {
			if w, ok := operandValue(item, o); ok && equal(v, w) {
				return true
			}
		}
		return false
	case funcCond:
		v, exists := resolve(item, x.path)
		switch x.name {
		case "attribute_exists":
			return exists
		case "attribute_not_exists":
			return !exists
		}
		arg, ok := operandValue(item, x.arg)
		if !exists || !ok {
			return false
		}
		switch x.name {
		case "attribute_type":
			return arg.Kind == KindS && v.Kind.String() == arg.S
		case "begins_with":
			switch {
			case v.Kind == KindS && arg.Kind == KindS:
				return strings.HasPrefix(v.S, arg.S)
			case v.Kind == KindB && arg.Kind == KindB:
				return bytes.HasPrefix(v.B, arg.B)
			}
			return false
		case "contains":
			switch v.Kind {
			case KindS:
				return arg.Kind == KindS && strings.Contains(v.S, arg.S)
			case KindB:
				return arg.Kind == KindB && bytes.Contains(v.B, arg.B)
			case KindSS, KindNS, KindBS:
				if setKindOf(arg.Kind) != v.Kind {
					return false
				}
				k := memberKey(arg)
				for _, m := range v.Set {
					if m == k {
						return true
					}
				}
				return false
			case KindL:
				for _, el := range v.L {
					if equal(el, arg) {
						return true
					}
				}
			}
			return false
		}
	}
	return false
}

// --- update ---

var errMissingOperand = awsproto.Validation("The provided expression refers to an attribute that does not exist in the item")

// setOperandValue evaluates the right side of a SET action against the
// item as it was before the update.
func setOperandValue(old Item, o operand) (Value, error) {
	switch x := o.(type) {
	case valueOp:
		return x.v, nil
	case pathOp:
		v, ok := resolve(old, x.path)
		if !ok {
			return Value{}, errMissingOperand
		}
		return v, nil
	case ifNotExistsOp:
		if v, ok := resolve(old, x.path); ok {
			return v, nil
		}
		return setOperandValue(old, x.def)
	case listAppendOp:
		a, err := setOperandValue(old, x.a)
		if err != nil {
			return Value{}, err
		}
		b, err := setOperandValue(old, x.b)
		if err != nil {
			return Value{}, err
		}
		if a.Kind != KindL || b.Kind != KindL {
			return Value{}, awsproto.Validation("Invalid UpdateExpression: Incorrect operand type for operator or function; operator or function: list_append, operand type: %s", firstNot(KindL, a.Kind, b.Kind))
		}
		l := append(append([]Value{}, a.L...), b.L...)
		return Value{Kind: KindL, L: l}, nil
	case arithOp:
		a, err := setOperandValue(old, x.a)
		if err != nil {
			return Value{}, err
		}
		b, err := setOperandValue(old, x.b)
		if err != nil {
			return Value{}, err
		}
		if a.Kind != KindN || b.Kind != KindN {
			return Value{}, awsproto.Validation("An operand in the update expression has an incorrect data type")
		}
		sign := 1
		if x.op == "-" {
			sign = -1
		}
		n, err := addNumbers(a.S, b.S, sign)
		if err != nil {
			return Value{}, err
		}
		return Value{Kind: KindN, S: n}, nil
	}
	return Value{}, awsproto.Validation("Invalid UpdateExpression: unsupported operand")
}

func firstNot(k Kind, kinds ...Kind) Kind {
	for _, x := range kinds {
		if x != k {
			return x
		}
	}
	return k
}

var errInvalidPath = awsproto.Validation("The document path provided in the update expression is invalid for update")

// setPath writes v at path in item, creating only the last element.
func setPath(item Item, path docPath, v Value) error {
	if len(path) == 1 {
		item[path[0].name] = v
		return nil
	}
	parent, ok := item[path[0].name]
	if !ok {
		return errInvalidPath
	}
	nv, err := setIn(parent, path[1:], v)
	if err != nil {
		return err
	}
	item[path[0].name] = nv
	return nil
}

func setIn(parent Value, rest docPath, v Value) (Value, error) {
	e := rest[0]
	if e.isIdx {
		if parent.Kind != KindL {
			return Value{}, errInvalidPath
		}
		l := append([]Value{}, parent.L...)
		if len(rest) == 1 {
			if e.index >= len(l) {
				l = append(l, v) // past the end appends, as on AWS
			} else {
				l[e.index] = v
			}
			return Value{Kind: KindL, L: l}, nil
		}
		if e.index >= len(l) {
			return Value{}, errInvalidPath
		}
		child, err := setIn(l[e.index], rest[1:], v)
		if err != nil {
			return Value{}, err
		}
		l[e.index] = child
		return Value{Kind: KindL, L: l}, nil
	}
	if parent.Kind != KindM {
		return Value{}, errInvalidPath
	}
	m := make(map[string]Value, len(parent.M)+1)
	for k, x := range parent.M {
		m[k] = x
	}
	if len(rest) == 1 {
		m[e.name] = v
		return Value{Kind: KindM, M: m}, nil
	}
	child, ok := m[e.name]
	if !ok {
		return Value{}, errInvalidPath
	}
	nv, err := setIn(child, rest[1:], v)
	if err != nil {
		return Value{}, err
	}
	m[e.name] = nv
	return Value{Kind: KindM, M: m}, nil
}

// removePath deletes path from item; a missing path is not an error.
func removePath(item Item, path docPath) error {
	if len(path) == 1 {
		delete(item, path[0].name)
		return nil
	}
	parent, ok := item[path[0].name]
	if !ok {
		return nil
	}
	nv, err := removeIn(parent, path[1:])
	if err != nil {
		return err
	}
	item[path[0].name] = nv
	return nil
}

func removeIn(parent Value, rest docPath) (Value, error) {
	e := rest[0]
	if e.isIdx {
		if parent.Kind != KindL {
			return Value{}, errInvalidPath
		}
		if e.index >= len(parent.L) {
			return parent, nil
		}
		l := append([]Value{}, parent.L...)
		if len(rest) == 1 {
			l = append(l[:e.index], l[e.index+1:]...)
			return Value{Kind: KindL, L: l}, nil
		}
		child, err := removeIn(l[e.index], rest[1:])
		if err != nil {
			return Value{}, err
		}
		l[e.index] = child
		return Value{Kind: KindL, L: l}, nil
	}
	if parent.Kind != KindM {
		return Value{}, errInvalidPath
	}
	m := make(map[string]Value, len(parent.M))
	for k, x := range parent.M {
		m[k] = x
	}
	if len(rest) == 1 {
		delete(m, e.name)
		return Value{Kind: KindM, M: m}, nil
	}
	child, ok := m[e.name]
	if !ok {
		return parent, nil
	}
	nv, err := removeIn(child, rest[1:])
	if err != nil {
		return Value{}, err
	}
	m[e.name] = nv
	return Value{Kind: KindM, M: m}, nil
}

// apply runs an update on a copy of old (nil when the item is new) and
// returns the new item. Every operand reads the old item, as on AWS.
func (u *update) apply(old Item) (Item, error) {
	if old == nil {
		old = Item{}
	}
	item := cloneItem(old)
	type write struct {
		path docPath
		v    Value
	}
	var writes []write
	for _, s := range u.set {
		v, err := setOperandValue(old, s.val)
		if err != nil {
			return nil, err
		}
		writes = append(writes, write{s.path, v})
	}
	for _, w := range writes {
		if err := setPath(item, w.path, w.v); err != nil {
			return nil, err
		}
	}
	// Remove list elements from the highest index down so that indices
	// keep naming the elements of the old list.
	removes := append([]docPath(nil), u.remove...)
	sort.SliceStable(removes, func(i, j int) bool {
		a, b := removes[i], removes[j]
		for k := 0; k < len(a) && k < len(b); k++ {
			if a[k].isIdx && b[k].isIdx && a[k].index != b[k].index {
				return a[k].index > b[k].index
			}
			if a[k] != b[k] {
				return false
			}
		}
		return false
	})
	for _, p := range removes {
		if err := removePath(item, p); err != nil {
			return nil, err
		}
	}
	for _, a := range u.add {
		cur, exists := resolve(item, a.path)
		var nv Value
		switch {
		case !exists:
			nv = a.val.v
		case cur.Kind == KindN && a.val.v.Kind == KindN:
			n, err := addNumbers(cur.S, a.val.v.S, 1)
			if err != nil {
				return nil, err
			}
			nv = Value{Kind: KindN, S: n}
		case cur.Kind == a.val.v.Kind && (cur.Kind == KindSS || cur.Kind == KindNS || cur.Kind == KindBS):
			nv = Value{Kind: cur.Kind, Set: union(cur.Set, a.val.v.Set)}
		default:
			return nil, awsproto.Validation("An operand in the update expression has an incorrect data type")
		}
		if err := setPath(item, a.path, nv); err != nil {
			return nil, err
		}
	}
	for _, d := range u.del {
		cur, exists := resolve(item, d.path)
		if !exists {
			continue
		}
		if cur.Kind != d.val.v.Kind {
			return nil, awsproto.Validation("An operand in the update expression has an incorrect data type")
		}
		rest := difference(cur.Set, d.val.v.Set)
		if len(rest) == 0 {
			if err := removePath(item, d.path); err != nil {
				return nil, err
			}
			continue
		}
		if err := setPath(item, d.path, Value{Kind: cur.Kind, Set: rest}); err != nil {
			return nil, err
		}
	}
	return item, nil
}

func union(a, b []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range append(append([]string{}, a...), b...) {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}

func difference(a, b []string) []string {
	drop := map[string]bool{}
	for _, s := range b {
		drop[s] = true
	}
	var out []string
	for _, s := range a {
		if !drop[s] {
			out = append(out, s)
		}
	}
	return out
}

// --- projection ---

// project keeps only the given paths of item; list elements picked by
// index are kept in their order, compacted, as on AWS.
func project(item Item, paths []docPath) Item {
	if item == nil {
		return nil
	}
	out := Item{}
	for _, p := range paths {
		v, ok := resolve(item, p)
		if !ok {
			continue
		}
		mergeAt(out, item, p, v)
	}
	return out
}

// mergeAt places v at path p in out, building the containers as in src.
func mergeAt(out Item, src Item, p docPath, v Value) {
	if len(p) == 1 {
		out[p[0].name] = clone(v)
		return
	}
	cur, ok := out[p[0].name]
	srcTop := src[p[0].name]
	if !ok {
		cur = Value{Kind: srcTop.Kind}
	}
	out[p[0].name] = mergeIn(cur, p[1:], v)
}

func mergeIn(cur Value, rest docPath, v Value) Value {
	e := rest[0]
	if e.isIdx {
		cur.Kind = KindL
		if len(rest) == 1 {
			cur.L = append(append([]Value{}, cur.L...), clone(v))
			return cur
		}
		// A nested path under a list element: keep one element per path.
		child := Value{}
		cur.L = append(append([]Value{}, cur.L...), mergeIn(child, rest[1:], v))
		return cur
	}
	cur.Kind = KindM
	m := make(map[string]Value, len(cur.M)+1)
	for k, x := range cur.M {
		m[k] = x
	}
	if len(rest) == 1 {
		m[e.name] = clone(v)
	} else {
		m[e.name] = mergeIn(m[e.name], rest[1:], v)
	}
	cur.M = m
	return cur
}
