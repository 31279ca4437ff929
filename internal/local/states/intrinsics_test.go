package states

import (
	"regexp"
	"testing"
)

func TestIntrinsics(t *testing.T) {
	data := `{"s":"a,b;c","n":3,"arr":[1,2,2,"x",{"k":1},{"k":1}],"obj":{"a":1,"b":{"c":2}},"obj2":{"b":3,"d":4},"json":"{\"q\":[1,2]}","name":"World","b64":"aGVsbG8gd29ybGQ="}`
	cases := []struct {
		expr string
		want string // JSON result, or "ERR" for States.IntrinsicFailure
	}{
		{`States.Format('Hello, {}!', $.name)`, `"Hello, World!"`},
		{`States.Format('{} {} {} {}', $.n, true, null, 'x')`, `"3 true null x"`},
		{`States.Format('literal \{\} and \'q\' and \\')`, `"literal {} and 'q' and \\"`},
		{`States.Format('{} {}', $.n)`, "ERR"},
		{`States.Format('{}', $.n, $.n)`, "ERR"},
		{`States.Format('{}', $.obj)`, "ERR"},
		{`States.StringToJson($.json)`, `{"q":[1,2]}`},
		{`States.StringToJson('nope{')`, "ERR"},
		{`States.JsonToString($.obj)`, `"{\"a\":1,\"b\":{\"c\":2}}"`},
		{`States.Array(1, 'two', $.n, States.Array())`, `[1,"two",3,[]]`},
		{`States.ArrayPartition(States.Array(1,2,3,4,5), 2)`, `[[1,2],[3,4],[5]]`},
		{`States.ArrayPartition(States.Array(), 2)`, `[]`},
		{`States.ArrayPartition($.arr, 0)`, "ERR"},
		{`States.ArrayContains($.arr, 'x')`, `true`},
		{`States.ArrayContains($.arr, $.obj)`, `false`},
		{`States.ArrayContains($.arr, 2.0)`, `true`},
		{`States.ArrayRange(1, 9, 2)`, `[1,3,5,7,9]`},
		{`States.ArrayRange(5, 1, -2)`, `[5,3,1]`},
		{`States.ArrayRange(1, 2, 0)`, "ERR"},
		{`States.ArrayRange(0, 1000, 1)`, "ERR"},
		{`States.ArrayGetItem($.arr, 3)`, `"x"`},
		{`States.ArrayGetItem($.arr, 6)`, "ERR"},
		{`States.ArrayLength($.arr)`, `6`},
		{`States.ArrayLength($.obj)`, "ERR"},
		{`States.ArrayUnique($.arr)`, `[1,2,"x",{"k":1}]`},
		{`States.Base64Encode('hello world')`, `"aGVsbG8gd29ybGQ="`},
		{`States.Base64Decode($.b64)`, `"hello world"`},
		{`States.Base64Decode('***')`, "ERR"},
		{`States.Hash('input data', 'SHA-1')`, `"aaff4a450a104cd177d28d18d74485e8cae074b7"`},
		{`States.Hash('input data', 'MD5')`, `"812f45842bc6d66ee14572ce20db8e86"`},
		{`States.Hash('abc', 'SHA-256')`, `"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"`},
		{`States.Hash('abc', 'SHA-3')`, "ERR"},
		{`States.JsonMerge($.obj, $.obj2, false)`, `{"a":1,"b":3,"d":4}`},
		{`States.JsonMerge($.obj, $.obj2, true)`, "ERR"},
		{`States.MathRandom(1, 2)`, `1`},
		{`States.MathRandom(5, 5)`, "ERR"},
		{`States.MathAdd($.n, -1)`, `2`},
		{`States.MathAdd(1.5, 1)`, "ERR"},
		{`States.StringSplit($.s, ',;')`, `["a","b","c"]`},
		{`States.StringSplit('a,,b', ',')`, `["a","b"]`},
		{`States.ArrayLength(States.StringSplit('1 2 3', ' '))`, `3`},
		{`States.Format('{}', $.missing)`, "ERR"},
	}
	v, err := decodeJSON([]byte(data))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		t.Run(c.expr, func(t *testing.T) {
			fn, err := parseIntrinsic(c.expr)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			got, ferr := fn.eval(v, nil)
			if c.want == "ERR" {
				if ferr == nil || ferr.Name != ErrIntrinsicFailure {
					t.Fatalf("want States.IntrinsicFailure, got %s / %v", mustJSON(got), ferr)
				}
				return
			}
			if ferr != nil {
				t.Fatalf("eval: %v", ferr)
			}
			if g, w := canon(t, mustJSON(got)), canon(t, c.want); g != w {
				t.Errorf("got %s, want %s", g, w)
			}
		})
	}
}

func TestIntrinsicRandomness(t *testing.T) {
	seeded, _ := parseIntrinsic(`States.MathRandom(0, 1000000, 42)`)
	a, _ := seeded.eval(nil, nil)
	b, _ := seeded.eval(nil, nil)
	if mustJSON(a) != mustJSON(b) {
		t.Errorf("seeded MathRandom differs: %v vs %v", a, b)
	}
	uuid, _ := parseIntrinsic(`States.UUID()`)
	u1, _ := uuid.eval(nil, nil)
	u2, _ := uuid.eval(nil, nil)
	re := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	if !re.MatchString(u1.(string)) || u1 == u2 {
		t.Errorf("UUIDs %v %v", u1, u2)
	}
	r, _ := parseIntrinsic(`States.MathRandom(10, 13)`)
	for range 50 {
		n, _ := r.eval(nil, nil)
		if x, _ := toInt(n); x < 10 || x >= 13 {
			t.Fatalf("MathRandom(10,13) = %v", n)
		}
	}
}

func TestIntrinsicSyntax(t *testing.T) {
	bad := []string{
		`States.Nope(1)`, `States.Format(`, `States.Format('x'`, `States.UUID(1)`,
		`States.ArrayRange(1,2)`, `States.Format('a') extra`, `States.Array(foo)`, `States.Format('unterminated)`,
	}
	for _, s := range bad {
		if _, err := parseIntrinsic(s); err == nil {
			t.Errorf("parseIntrinsic(%q) accepted bad syntax", s)
		}
	}
	ok := []string{`States.Array()`, `States.Format('a, b ({})', $.x[0])`, `States.Array($.a['b,c'], $$.Execution.Id)`}
	for _, s := range ok {
		if _, err := parseIntrinsic(s); err != nil {
			t.Errorf("parseIntrinsic(%q): %v", s, err)
		}
	}
}
