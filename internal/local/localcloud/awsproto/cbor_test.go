package awsproto_test

import (
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/aws/smithy-go/encoding/cbor"
	"github.com/google/go-cmp/cmp"

	"github.com/pushdeploy/pushdeploy/internal/local/localcloud/awsproto"
)

type inner struct {
	N int `json:"n"`
}

type Embedded struct {
	Promoted string `json:"promoted"`
	Shadowed string `json:"name"`
}

type sample struct {
	Embedded
	Name     string           `json:"name"`
	Count    int32            `json:"count"`
	Neg      int64            `json:"neg"`
	Ratio    float64          `json:"ratio"`
	OK       bool             `json:"ok"`
	Blob     []byte           `json:"blob"`
	List     []string         `json:"list"`
	NilList  []string         `json:"nilList"`
	Empty    []string         `json:"empty,omitempty"`
	Map      map[string]inner `json:"map"`
	Ptr      *inner           `json:"ptr,omitempty"`
	NilPtr   *inner           `json:"nilPtr"`
	When     awsproto.Time    `json:"when"`
	Zero     awsproto.Time    `json:"zero,omitzero"`
	Raw      json.RawMessage  `json:"raw"`
	AsString int              `json:"asString,string"`
	Skipped  string           `json:"-"`
	untagged string           // unexported: never encoded
	NoTag    string
	Any      any               `json:"any"`
	Labels   map[string]string `json:"labels,omitempty"`
}

func TestToCBOR(t *testing.T) {
	when := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	v := sample{
		Embedded: Embedded{Promoted: "p", Shadowed: "hidden"},
		Name:     "web", Count: 3, Neg: -5, Ratio: 0.25, OK: true, Blob: []byte{1, 2},
		List: []string{"a"}, Map: map[string]inner{"k": {N: 7}}, Ptr: &inner{N: 1},
		When: awsproto.Time(when), Raw: json.RawMessage(`{"x":[1,2.5,-3,null,"s"]}`), AsString: 42,
		Skipped: "no", untagged: "no", NoTag: "yes", Any: map[string]any{"b": true, "n": json.Number("12")},
	}
	got, err := awsproto.ToCBOR(v)
	if err != nil {
		t.Fatal(err)
	}
	want := cbor.Map{
		"promoted": cbor.String("p"),
		"name":     cbor.String("web"),
		"count":    cbor.Uint(3),
		"neg":      cbor.NegInt(4),
		"ratio":    cbor.Float64(0.25),
		"ok":       cbor.Bool(true),
		"blob":     cbor.Slice{1, 2},
		"list":     cbor.List{cbor.String("a")},
		"nilList":  &cbor.Nil{},
		"map":      cbor.Map{"k": cbor.Map{"n": cbor.Uint(7)}},
		"ptr":      cbor.Map{"n": cbor.Uint(1)},
		"nilPtr":   &cbor.Nil{},
		"when":     &cbor.Tag{ID: 1, Value: cbor.Uint(uint64(when.Unix()))},
		"raw":      cbor.Map{"x": cbor.List{cbor.Uint(1), cbor.Float64(2.5), cbor.NegInt(2), &cbor.Nil{}, cbor.String("s")}},
		"asString": cbor.String("42"),
		"NoTag":    cbor.String("yes"),
		"any":      cbor.Map{"b": cbor.Bool(true), "n": cbor.Uint(12)},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ToCBOR (-want +got):\n%s", diff)
	}
}

func TestTimeForms(t *testing.T) {
	tests := []struct {
		name     string
		t        time.Time
		wantJSON string
		wantCBOR cbor.Value
	}{
		{"whole seconds", time.Unix(1700000000, 0), "1700000000", &cbor.Tag{ID: 1, Value: cbor.Uint(1700000000)}},
		{"milliseconds", time.UnixMilli(1700000000123), "1700000000.123", &cbor.Tag{ID: 1, Value: cbor.Float64(1700000000.123)}},
		{"before 1970", time.Unix(-10, 0), "-10", &cbor.Tag{ID: 1, Value: cbor.NegInt(9)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := json.Marshal(awsproto.Time(tt.t))
			if err != nil || string(p) != tt.wantJSON {
				t.Errorf("JSON = %s, %v; want %s", p, err, tt.wantJSON)
			}
			var back awsproto.Time
			if err := json.Unmarshal(p, &back); err != nil || !time.Time(back).Equal(tt.t) {
				t.Errorf("JSON round trip = %v, %v", time.Time(back), err)
			}
			c, err := awsproto.Time(tt.t).MarshalCBORValue()
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.wantCBOR, c); diff != "" {
				t.Errorf("CBOR (-want +got):\n%s", diff)
			}
			// Through CBOR to the JSON a service reads, and back.
			j, err := awsproto.CBORToJSON(cbor.Encode(c))
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(j, &back); err != nil || !time.Time(back).Equal(tt.t) {
				t.Errorf("CBOR->JSON %s -> %v, %v", j, time.Time(back), err)
			}
		})
	}
}

func TestCBORToJSON(t *testing.T) {
	tests := []struct {
		name string
		in   cbor.Value
		want string
	}{
		{"map", cbor.Map{"a": cbor.Uint(1), "b": cbor.String("x\"y")}, `{"a":1,"b":"x\"y"}`},
		{"negative", cbor.NegInt(0), `-1`},
		{"min int", cbor.NegInt(math.MaxUint64), `-18446744073709551616`},
		{"blob", cbor.Slice("hi"), `"aGk="`},
		{"list", cbor.List{cbor.Bool(false), &cbor.Nil{}, &cbor.Undefined{}}, `[false,null,null]`},
		{"float32", cbor.Float32(1.5), `1.5`},
		{"nan", cbor.Float64(math.NaN()), `"NaN"`},
		{"inf", cbor.Float64(math.Inf(-1)), `"-Infinity"`},
		{"timestamp", &cbor.Tag{ID: 1, Value: cbor.Float64(1.5)}, `1.5`},
		{"bignum", &cbor.Tag{ID: 2, Value: cbor.Slice{1, 0, 0, 0, 0, 0, 0, 0, 0}}, `18446744073709551616`},
		{"negative bignum", &cbor.Tag{ID: 3, Value: cbor.Slice{1}}, `-2`},
		{"other tag", &cbor.Tag{ID: 55799, Value: cbor.String("s")}, `"s"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := awsproto.CBORToJSON(cbor.Encode(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if !json.Valid(got) {
				t.Fatalf("invalid JSON %s", got)
			}
			var g, w any
			json.Unmarshal(got, &g)
			json.Unmarshal([]byte(tt.want), &w)
			if string(got) != tt.want && !cmp.Equal(g, w) {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
	bad := []struct {
		name string
		in   []byte
	}{
		{"truncated", []byte{0xa1, 0x61}},
		{"timestamp of a string", cbor.Encode(&cbor.Tag{ID: 1, Value: cbor.String("now")})},
		{"bignum of a string", cbor.Encode(&cbor.Tag{ID: 2, Value: cbor.String("1")})},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := awsproto.CBORToJSON(tt.in); err == nil {
				t.Error("no error")
			}
		})
	}
}

func TestMarshalCBORRejects(t *testing.T) {
	if _, err := awsproto.MarshalCBOR(map[string]any{"f": func() {}}); err == nil {
		t.Error("a func encoded without error")
	}
	if _, err := awsproto.MarshalCBOR(map[string]json.Number{"n": "1x"}); err == nil {
		t.Error("a bad json.Number encoded without error")
	}
	if _, err := awsproto.MarshalCBOR(map[[2]int]string{{1, 2}: "x"}); err == nil {
		t.Error("an array map key encoded without error")
	}
}
