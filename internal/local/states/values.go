package states

import (
	"bytes"
	"encoding/json"
	"math/big"
	"strconv"
)

// JSON values are held as decoded by encoding/json with UseNumber:
// map[string]any, []any, string, json.Number, bool, nil. Numbers keep their
// exact text so large integers and decimals survive a round trip.

func decodeJSON(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	if d.More() {
		return nil, &json.SyntaxError{Offset: d.InputOffset()}
	}
	var extra any
	if err := d.Decode(&extra); err == nil {
		return nil, &json.SyntaxError{Offset: d.InputOffset()}
	}
	return v, nil
}

// encodeJSON marshals without HTML escaping, as Step Functions does.
func encodeJSON(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}

func mustJSON(v any) string {
	b, err := encodeJSON(v)
	if err != nil {
		return "null"
	}
	return string(b)
}

func jsonNumber(s string) json.Number { return json.Number(s) }

func numberOf(n int64) json.Number { return json.Number(strconv.FormatInt(n, 10)) }

// toRat reads a JSON number exactly.
func toRat(v any) (*big.Rat, bool) {
	n, ok := v.(json.Number)
	if !ok {
		switch t := v.(type) {
		case float64:
			return new(big.Rat).SetFloat64(t), true
		case int:
			return new(big.Rat).SetInt64(int64(t)), true
		case int64:
			return new(big.Rat).SetInt64(t), true
		}
		return nil, false
	}
	r, ok := new(big.Rat).SetString(string(n))
	return r, ok
}

// toInt reads a JSON number that is an integer (2.0 counts).
func toInt(v any) (int64, bool) {
	r, ok := toRat(v)
	if !ok || !r.IsInt() || !r.Num().IsInt64() {
		return 0, false
	}
	return r.Num().Int64(), true
}

func isNumber(v any) bool {
	_, ok := toRat(v)
	return ok
}

// jsonEqual compares JSON values by value (1 equals 1.0).
func jsonEqual(a, b any) bool {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !jsonEqual(v, w) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !jsonEqual(x[i], y[i]) {
				return false
			}
		}
		return true
	case nil:
		return b == nil
	case string:
		y, ok := b.(string)
		return ok && x == y
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	}
	if ra, ok := toRat(a); ok {
		rb, ok := toRat(b)
		return ok && ra.Cmp(rb) == 0
	}
	return false
}

// deepCopy copies objects and arrays so that writing a result into a copy
// never changes the state's input.
func deepCopy(v any) any {
	switch t := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, x := range t {
			m[k] = deepCopy(x)
		}
		return m
	case []any:
		a := make([]any, len(t))
		for i, x := range t {
			a[i] = deepCopy(x)
		}
		return a
	}
	return v
}

// typeName names a JSON value's type for error messages.
func typeName(v any) string {
	switch v.(type) {
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case bool:
		return "boolean"
	case nil:
		return "null"
	}
	if isNumber(v) {
		return "number"
	}
	return "unknown"
}
