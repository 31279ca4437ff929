package dynamodb

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestNormalizeNumber(t *testing.T) {
	tests := []struct{ in, want, err string }{
		{"0", "0", ""},
		{"-0.000", "0", ""},
		{"007", "7", ""},
		{"1.50", "1.5", ""},
		{".5", "0.5", ""},
		{"5.", "5", ""},
		{"+3", "3", ""},
		{"1E+3", "1000", ""},
		{"12.5e-3", "0.0125", ""},
		{"-1e-130", "-0." + strings.Repeat("0", 129) + "1", ""},
		{"9.9999999999999999999999999999999999999E+125", "99999999999999999999999999999999999999" + strings.Repeat("0", 88), ""},
		{"1e126", "", "overflow"},
		{"1e-131", "", "underflow"},
		{"12345678901234567890123456789012345678.9", "", "38 significant digits"},
		{"abc", "", "converted"},
		{"1.2.3", "", "converted"},
		{"1/3", "", "converted"},
		{"0x10", "", "converted"},
		{"", "", "converted"},
		{"e5", "", "converted"},
		{"1e", "", "converted"},
	}
	for _, tt := range tests {
		got, err := normalizeNumber(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("normalizeNumber(%q) = %q, %v; want error with %q", tt.in, got, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("normalizeNumber(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestValueJSON(t *testing.T) {
	in := `{"s":{"S":""},"n":{"N":"1.0"},"b":{"B":"AAE="},"t":{"BOOL":true},"z":{"NULL":true},` +
		`"m":{"M":{}},"l":{"L":[]},"ss":{"SS":["b","a"]},"ns":{"NS":["2","10"]},"bs":{"BS":["AQ=="]}}`
	var it Item
	if err := json.Unmarshal([]byte(in), &it); err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(it)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"b":{"B":"AAE="},"bs":{"BS":["AQ=="]},"l":{"L":[]},"m":{"M":{}},"n":{"N":"1"},"ns":{"NS":["10","2"]},"s":{"S":""},"ss":{"SS":["a","b"]},"t":{"BOOL":true},"z":{"NULL":true}}`
	if string(out) != want {
		t.Errorf("round trip:\n got %s\nwant %s", out, want)
	}
	for _, bad := range []string{`{"S":"a","N":"1"}`, `{}`, `{"X":"a"}`, `{"NULL":false}`, `{"SS":[]}`, `{"NS":["1","1.0"]}`, `{"N":"x"}`, `"a"`} {
		var v Value
		if err := json.Unmarshal([]byte(bad), &v); err == nil {
			t.Errorf("Unmarshal(%s): want error", bad)
		}
	}
}

func TestEqualAndCompare(t *testing.T) {
	n := func(s string) Value { return Value{Kind: KindN, S: s} }
	if c, ok := compare(n("2"), n("10")); !ok || c >= 0 {
		t.Errorf("2 < 10 numerically: %d %v", c, ok)
	}
	if c, ok := compare(str("2"), str("10")); !ok || c <= 0 {
		t.Errorf("\"2\" > \"10\" as strings: %d %v", c, ok)
	}
	if _, ok := compare(n("1"), str("1")); ok {
		t.Error("N and S must not be ordered")
	}
	a := Value{Kind: KindM, M: map[string]Value{"x": {Kind: KindL, L: []Value{str("a"), n("1")}}}}
	b := clone(a)
	if !equal(a, b) {
		t.Error("a clone must be equal")
	}
	b.M["x"].L[1] = n("2")
	if equal(a, b) || a.M["x"].L[1].S != "1" {
		t.Error("a changed clone must differ and leave the original alone")
	}
}
