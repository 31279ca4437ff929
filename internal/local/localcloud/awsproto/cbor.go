package awsproto

import (
	"bytes"
	"encoding"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/smithy-go/encoding/cbor"
)

// Services see every request as JSON and return Go values, whatever the wire
// protocol. For Smithy RPC v2 CBOR the server converts the CBOR request body
// to JSON (CBORToJSON) and encodes the output value to CBOR (MarshalCBOR),
// following the same json struct tags that the JSON protocols use.

// Time is a timestamp in an API output or input. In JSON it is epoch seconds
// (a number, millisecond precision) as the AWS JSON protocols send
// timestamps; in CBOR it is tag 1 around epoch seconds, as Smithy RPC v2 CBOR
// requires (the SDK rejects an untagged timestamp).
type Time time.Time

// IsZero makes `json:",omitzero"` leave unset timestamps out.
func (t Time) IsZero() bool { return time.Time(t).IsZero() }

// epoch is t in epoch seconds with millisecond precision.
func (t Time) epoch() float64 { return float64(time.Time(t).UnixMilli()) / 1000 }

// MarshalJSON writes epoch seconds.
func (t Time) MarshalJSON() ([]byte, error) {
	return []byte(strconv.FormatFloat(t.epoch(), 'f', -1, 64)), nil
}

// UnmarshalJSON reads epoch seconds; CBOR inputs reach services as JSON
// with their tag-1 timestamps turned into such numbers.
func (t *Time) UnmarshalJSON(p []byte) error {
	if string(p) == "null" {
		return nil
	}
	f, err := strconv.ParseFloat(string(p), 64)
	if err != nil {
		return fmt.Errorf("timestamp %s is not epoch seconds", p)
	}
	*t = Time(time.UnixMilli(int64(math.Round(f * 1000))).UTC())
	return nil
}

// MarshalCBORValue writes tag 1 around whole epoch seconds, or around a
// float when the time has a fraction of a second.
func (t Time) MarshalCBORValue() (cbor.Value, error) {
	tt := time.Time(t)
	if tt.UnixMilli()%1000 == 0 {
		return &cbor.Tag{ID: 1, Value: intValue(tt.Unix())}, nil
	}
	return &cbor.Tag{ID: 1, Value: cbor.Float64(t.epoch())}, nil
}

// CBORMarshaler is a type with its own CBOR form.
type CBORMarshaler interface {
	MarshalCBORValue() (cbor.Value, error)
}

// CBORToJSON converts a CBOR data item to the JSON a service reads: maps to
// objects, byte strings to base64 strings (as AWS JSON sends blobs), tag-1
// timestamps to epoch seconds, non-finite floats to "NaN"/"Infinity"/
// "-Infinity" (as AWS JSON sends them).
func CBORToJSON(p []byte) (json.RawMessage, error) {
	v, err := cbor.Decode(p)
	if err != nil {
		return nil, fmt.Errorf("decode cbor: %w", err)
	}
	var b bytes.Buffer
	if err := writeJSON(&b, v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func writeJSON(b *bytes.Buffer, v cbor.Value) error {
	switch v := v.(type) {
	case cbor.Uint:
		b.WriteString(strconv.FormatUint(uint64(v), 10))
	case cbor.NegInt:
		// NegInt(n) is -1-n; computed in big arithmetic since n may be 2^64-1.
		n := new(big.Int).SetUint64(uint64(v))
		n.Add(n, big.NewInt(1)).Neg(n)
		b.WriteString(n.String())
	case cbor.Slice:
		writeJSONString(b, base64.StdEncoding.EncodeToString(v))
	case cbor.String:
		writeJSONString(b, string(v))
	case cbor.List:
		b.WriteByte('[')
		for i, e := range v {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := writeJSON(b, e); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	case cbor.Map:
		b.WriteByte('{')
		first := true
		for k, e := range v {
			if !first {
				b.WriteByte(',')
			}
			first = false
			writeJSONString(b, k)
			b.WriteByte(':')
			if err := writeJSON(b, e); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	case *cbor.Tag:
		switch v.ID {
		case 1: // epoch timestamp: the number itself
			switch v.Value.(type) {
			case cbor.Uint, cbor.NegInt, cbor.Float32, cbor.Float64:
			default:
				return fmt.Errorf("cbor tag 1 (timestamp) holds %T, not a number", v.Value)
			}
			return writeJSON(b, v.Value)
		case 2, 3: // bignums
			s, ok := v.Value.(cbor.Slice)
			if !ok {
				return fmt.Errorf("cbor tag %d (bignum) holds %T, not bytes", v.ID, v.Value)
			}
			n := new(big.Int).SetBytes(s)
			if v.ID == 3 {
				n.Add(n, big.NewInt(1)).Neg(n)
			}
			b.WriteString(n.String())
		default:
			return writeJSON(b, v.Value)
		}
	case cbor.Bool:
		b.WriteString(strconv.FormatBool(bool(v)))
	case *cbor.Nil, *cbor.Undefined:
		b.WriteString("null")
	case cbor.Float32:
		writeJSONFloat(b, float64(v), 32)
	case cbor.Float64:
		writeJSONFloat(b, float64(v), 64)
	default:
		return fmt.Errorf("unsupported cbor value %T", v)
	}
	return nil
}

func writeJSONString(b *bytes.Buffer, s string) {
	p, _ := json.Marshal(s) // a string always marshals
	b.Write(p)
}

func writeJSONFloat(b *bytes.Buffer, f float64, bits int) {
	switch {
	case math.IsNaN(f):
		b.WriteString(`"NaN"`)
	case math.IsInf(f, 1):
		b.WriteString(`"Infinity"`)
	case math.IsInf(f, -1):
		b.WriteString(`"-Infinity"`)
	default:
		b.WriteString(strconv.FormatFloat(f, 'g', -1, bits))
	}
}

// JSONToCBOR converts JSON to a CBOR value: integers to CBOR integers, other
// numbers to doubles. It is the fallback for values that only know their
// JSON form (json.RawMessage, json.Marshaler).
func JSONToCBOR(p []byte) (cbor.Value, error) {
	d := json.NewDecoder(bytes.NewReader(p))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, fmt.Errorf("decode json: %w", err)
	}
	return anyToCBOR(v)
}

func anyToCBOR(v any) (cbor.Value, error) {
	switch v := v.(type) {
	case nil:
		return &cbor.Nil{}, nil
	case bool:
		return cbor.Bool(v), nil
	case string:
		return cbor.String(v), nil
	case json.Number:
		return numberToCBOR(string(v))
	case []any:
		l := make(cbor.List, len(v))
		for i, e := range v {
			c, err := anyToCBOR(e)
			if err != nil {
				return nil, err
			}
			l[i] = c
		}
		return l, nil
	case map[string]any:
		m := make(cbor.Map, len(v))
		for k, e := range v {
			c, err := anyToCBOR(e)
			if err != nil {
				return nil, err
			}
			m[k] = c
		}
		return m, nil
	}
	return nil, fmt.Errorf("unsupported json value %T", v)
}

func numberToCBOR(s string) (cbor.Value, error) {
	if !strings.ContainsAny(s, ".eE") {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return intValue(n), nil
		}
		if n, err := strconv.ParseUint(s, 10, 64); err == nil {
			return cbor.Uint(n), nil
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return nil, fmt.Errorf("number %s: %w", s, err)
	}
	return cbor.Float64(f), nil
}

func intValue(n int64) cbor.Value {
	if n < 0 {
		return cbor.NegInt(uint64(-(n + 1)))
	}
	return cbor.Uint(n)
}

// MarshalCBOR encodes v as CBOR the way encoding/json would encode it as
// JSON (field names, omitempty, omitzero and "-" from json tags; embedded
// structs promoted), except that byte slices become byte strings, types with
// MarshalCBORValue (Time) give their own form, and other json.Marshalers
// are converted from their JSON.
func MarshalCBOR(v any) ([]byte, error) {
	c, err := ToCBOR(v)
	if err != nil {
		return nil, err
	}
	return cbor.Encode(c), nil
}

// ToCBOR is MarshalCBOR without the final encoding.
func ToCBOR(v any) (cbor.Value, error) {
	if v == nil {
		return &cbor.Nil{}, nil
	}
	return valueToCBOR(reflect.ValueOf(v))
}

var (
	cborMarshalerType = reflect.TypeFor[CBORMarshaler]()
	jsonMarshalerType = reflect.TypeFor[json.Marshaler]()
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
	jsonNumberType    = reflect.TypeFor[json.Number]()
)

func valueToCBOR(v reflect.Value) (cbor.Value, error) {
	if !v.IsValid() {
		return &cbor.Nil{}, nil
	}
	t := v.Type()
	if (t.Kind() == reflect.Pointer || t.Kind() == reflect.Interface) && v.IsNil() {
		return &cbor.Nil{}, nil
	}
	if t == jsonNumberType {
		return numberToCBOR(v.String())
	}
	if t.Kind() != reflect.Interface {
		if m, ok := marshaler(v, cborMarshalerType); ok {
			return m.(CBORMarshaler).MarshalCBORValue()
		}
		if m, ok := marshaler(v, jsonMarshalerType); ok {
			p, err := m.(json.Marshaler).MarshalJSON()
			if err != nil {
				return nil, fmt.Errorf("marshal %s: %w", t, err)
			}
			return JSONToCBOR(p)
		}
		if m, ok := marshaler(v, textMarshalerType); ok && t.Kind() != reflect.Slice {
			p, err := m.(encoding.TextMarshaler).MarshalText()
			if err != nil {
				return nil, fmt.Errorf("marshal %s: %w", t, err)
			}
			return cbor.String(p), nil
		}
	}
	switch t.Kind() {
	case reflect.Pointer, reflect.Interface:
		return valueToCBOR(v.Elem())
	case reflect.Bool:
		return cbor.Bool(v.Bool()), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return intValue(v.Int()), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return cbor.Uint(v.Uint()), nil
	case reflect.Float32, reflect.Float64:
		return cbor.Float64(v.Float()), nil
	case reflect.String:
		return cbor.String(v.String()), nil
	case reflect.Slice, reflect.Array:
		if t.Kind() == reflect.Slice && v.IsNil() {
			return &cbor.Nil{}, nil
		}
		if t.Elem().Kind() == reflect.Uint8 {
			p := make([]byte, v.Len())
			reflect.Copy(reflect.ValueOf(p), v)
			return cbor.Slice(p), nil
		}
		l := make(cbor.List, v.Len())
		for i := range l {
			c, err := valueToCBOR(v.Index(i))
			if err != nil {
				return nil, err
			}
			l[i] = c
		}
		return l, nil
	case reflect.Map:
		if v.IsNil() {
			return &cbor.Nil{}, nil
		}
		m := make(cbor.Map, v.Len())
		it := v.MapRange()
		for it.Next() {
			k, err := mapKey(it.Key())
			if err != nil {
				return nil, err
			}
			c, err := valueToCBOR(it.Value())
			if err != nil {
				return nil, err
			}
			m[k] = c
		}
		return m, nil
	case reflect.Struct:
		m := cbor.Map{}
		for _, f := range structFields(t) {
			fv, ok := fieldByIndex(v, f.index)
			if !ok || (f.omitEmpty && isEmpty(fv)) || (f.omitZero && isZero(fv)) {
				continue
			}
			c, err := valueToCBOR(fv)
			if err != nil {
				return nil, fmt.Errorf("field %s: %w", f.name, err)
			}
			if f.asString {
				c = quoted(c)
			}
			m[f.name] = c
		}
		return m, nil
	}
	return nil, fmt.Errorf("cannot encode %s as cbor", t)
}

// marshaler returns v (or &v when addressable) as an implementation of
// iface, as encoding/json finds marshalers.
func marshaler(v reflect.Value, iface reflect.Type) (any, bool) {
	if v.Type().Implements(iface) {
		return v.Interface(), true
	}
	if v.CanAddr() && reflect.PointerTo(v.Type()).Implements(iface) {
		return v.Addr().Interface(), true
	}
	return nil, false
}

func mapKey(k reflect.Value) (string, error) {
	if k.Kind() == reflect.String {
		return k.String(), nil
	}
	if m, ok := k.Interface().(encoding.TextMarshaler); ok {
		p, err := m.MarshalText()
		return string(p), err
	}
	switch k.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(k.Int(), 10), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return strconv.FormatUint(k.Uint(), 10), nil
	}
	return "", fmt.Errorf("cannot encode map key of type %s as cbor", k.Type())
}

// quoted applies the json ",string" option: scalars become strings.
func quoted(c cbor.Value) cbor.Value {
	switch c := c.(type) {
	case cbor.Uint:
		return cbor.String(strconv.FormatUint(uint64(c), 10))
	case cbor.NegInt:
		return cbor.String(strconv.FormatInt(-1-int64(c), 10))
	case cbor.Float64:
		return cbor.String(strconv.FormatFloat(float64(c), 'g', -1, 64))
	case cbor.Bool:
		return cbor.String(strconv.FormatBool(bool(c)))
	}
	return c
}

func isEmpty(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Interface, reflect.Pointer:
		return v.IsZero()
	}
	return false
}

func isZero(v reflect.Value) bool {
	if z, ok := v.Interface().(interface{ IsZero() bool }); ok {
		if v.Kind() == reflect.Pointer && v.IsNil() {
			return true
		}
		return z.IsZero()
	}
	return v.IsZero()
}

type field struct {
	name                          string
	index                         []int
	omitEmpty, omitZero, asString bool
	tagged                        bool
}

var fieldCache sync.Map // reflect.Type -> []field

// structFields lists the fields encoding/json would write for t, with the
// names it would use: tagged fields win over untagged ones at the same
// depth, shallower fields over deeper ones.
func structFields(t reflect.Type) []field {
	if fs, ok := fieldCache.Load(t); ok {
		return fs.([]field)
	}
	type candidate struct {
		field
		depth int
	}
	var all []candidate
	var walk func(t reflect.Type, index []int, depth int)
	walk = func(t reflect.Type, index []int, depth int) {
		for i := range t.NumField() {
			sf := t.Field(i)
			tag := sf.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, opts, _ := strings.Cut(tag, ",")
			idx := append(append([]int(nil), index...), i)
			ft := sf.Type
			if sf.Anonymous && name == "" {
				if ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if ft.Kind() == reflect.Struct {
					walk(ft, idx, depth+1)
					continue
				}
			}
			if !sf.IsExported() {
				continue
			}
			f := field{name: name, index: idx, tagged: name != ""}
			if f.name == "" {
				f.name = sf.Name
			}
			for _, o := range strings.Split(opts, ",") {
				switch o {
				case "omitempty":
					f.omitEmpty = true
				case "omitzero":
					f.omitZero = true
				case "string":
					f.asString = true
				}
			}
			all = append(all, candidate{f, depth})
		}
	}
	walk(t, nil, 0)
	best := map[string]candidate{}
	var order []string
	for _, c := range all {
		prev, ok := best[c.name]
		if !ok {
			order = append(order, c.name)
			best[c.name] = c
			continue
		}
		if c.depth < prev.depth || (c.depth == prev.depth && c.tagged && !prev.tagged) {
			best[c.name] = c
		}
	}
	fs := make([]field, 0, len(order))
	for _, n := range order {
		fs = append(fs, best[n].field)
	}
	fieldCache.Store(t, fs)
	return fs
}

// fieldByIndex follows index through embedded pointers; ok is false when a
// nil embedded pointer hides the field.
func fieldByIndex(v reflect.Value, index []int) (reflect.Value, bool) {
	for i, x := range index {
		if i > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				return reflect.Value{}, false
			}
			v = v.Elem()
		}
		v = v.Field(x)
	}
	return v, true
}

// ErrorCBOR is the body of a Smithy RPC v2 CBOR error: __type names the
// exception (the SDKs strip a namespace before the '#'), message says why.
func ErrorCBOR(typ, message string) []byte {
	return cbor.Encode(cbor.Map{"__type": cbor.String(typ), "message": cbor.String(message)})
}
