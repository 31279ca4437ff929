package pattern

import (
	"errors"
	"testing"
)

// ec2Event is the EC2 state-change example AWS's event pattern pages use.
const ec2Event = `{
  "version": "0",
  "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
  "detail-type": "EC2 Instance State-change Notification",
  "source": "aws.ec2",
  "account": "111122223333",
  "time": "2017-12-22T18:43:48Z",
  "region": "us-west-1",
  "resources": ["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"],
  "detail": {
    "instance-id": "i-1234567890abcdef0",
    "state": "terminated",
    "c-count": 5,
    "d-count": 3,
    "x-limit": 301.8,
    "source-ip": "10.0.0.123",
    "location": null,
    "flagged": false,
    "FileName": "Image.PNG",
    "LastName": "",
    "tags": ["prod", "web"],
    "containers": [{"name": "app", "image": "repo:v1"}, {"name": "sidecar", "image": "envoy:1"}]
  }
}`

func TestMatch(t *testing.T) {
	tests := []struct {
		name, pattern string
		want          bool
	}{
		{"exact source", `{"source": ["aws.ec2"]}`, true},
		{"exact source miss", `{"source": ["aws.ecs"]}`, false},
		{"array is OR", `{"source": ["aws.ecs", "aws.ec2"]}`, true},
		{"AND across fields", `{"source": ["aws.ec2"], "detail-type": ["Nope"]}`, false},
		{"nested detail", `{"detail": {"state": ["terminated"]}}`, true},
		{"nested detail miss", `{"detail": {"state": ["running"]}}`, false},
		{"missing field", `{"detail": {"nope": ["x"]}}`, false},
		{"number exact", `{"detail": {"c-count": [5]}}`, true},
		{"number exact as float", `{"detail": {"c-count": [5.0]}}`, true},
		{"number does not match string", `{"detail": {"c-count": ["5"]}}`, false},
		{"string does not match number", `{"detail": {"state": [5]}}`, false},
		{"null", `{"detail": {"location": [null]}}`, true},
		{"null miss on string", `{"detail": {"state": [null]}}`, false},
		{"boolean", `{"detail": {"flagged": [false]}}`, true},
		{"boolean miss", `{"detail": {"flagged": [true]}}`, false},
		{"empty string miss", `{"detail": {"state": [""]}}`, false},
		{"empty string", `{"detail": {"LastName": [""]}}`, true},
		{"empty string is not null", `{"detail": {"LastName": [null]}}`, false},
		{"empty string exists", `{"detail": {"LastName": [{"exists": true}]}}`, true},
		{"prefix of empty string", `{"detail": {"LastName": [{"prefix": "a"}]}}`, false},
		{"prefix", `{"time": [{"prefix": "2017-12-22"}]}`, true},
		{"prefix miss", `{"time": [{"prefix": "2017-10-02"}]}`, false},
		{"prefix ignore case", `{"detail-type": [{"prefix": {"equals-ignore-case": "ec2 instance"}}]}`, true},
		{"suffix", `{"detail": {"FileName": [{"suffix": ".PNG"}]}}`, true},
		{"suffix case sensitive", `{"detail": {"FileName": [{"suffix": ".png"}]}}`, false},
		{"suffix ignore case", `{"detail": {"FileName": [{"suffix": {"equals-ignore-case": ".png"}}]}}`, true},
		{"equals-ignore-case", `{"detail": {"state": [{"equals-ignore-case": "TERMINATED"}]}}`, true},
		{"anything-but string", `{"detail": {"state": [{"anything-but": "initializing"}]}}`, true},
		{"anything-but string hit", `{"detail": {"state": [{"anything-but": "terminated"}]}}`, false},
		{"anything-but number", `{"detail": {"x-limit": [{"anything-but": 123}]}}`, true},
		{"anything-but list", `{"detail": {"state": [{"anything-but": ["stopped", "terminated"]}]}}`, false},
		{"anything-but number list", `{"detail": {"c-count": [{"anything-but": [100, 200, 300]}]}}`, true},
		{"anything-but prefix", `{"region": [{"anything-but": {"prefix": "us-"}}]}`, false},
		{"anything-but prefix miss", `{"region": [{"anything-but": {"prefix": "eu-"}}]}`, true},
		{"anything-but suffix", `{"detail": {"FileName": [{"anything-but": {"suffix": ".PNG"}}]}}`, false},
		{"anything-but ignore case", `{"detail": {"state": [{"anything-but": {"equals-ignore-case": ["Running", "TERMINATED"]}}]}}`, false},
		{"anything-but wildcard", `{"detail": {"FileName": [{"anything-but": {"wildcard": "*.txt"}}]}}`, true},
		{"anything-but on missing field", `{"detail": {"nope": [{"anything-but": "x"}]}}`, false},
		{"exists true", `{"detail": {"state": [{"exists": true}]}}`, true},
		{"exists true missing", `{"detail": {"nope": [{"exists": true}]}}`, false},
		{"exists false missing", `{"detail": {"nope": [{"exists": false}]}}`, true},
		{"exists false present", `{"detail": {"state": [{"exists": false}]}}`, false},
		{"exists false under missing parent", `{"nope": {"deeper": [{"exists": false}]}}`, true},
		{"exists true on intermediate node", `{"detail": {"containers": [{"exists": true}]}}`, false},
		{"exists on null value", `{"detail": {"location": [{"exists": true}]}}`, true},
		{"numeric range", `{"detail": {"c-count": [{"numeric": [">", 0, "<=", 5]}]}}`, true},
		{"numeric range open top", `{"detail": {"c-count": [{"numeric": [">", 0, "<", 5]}]}}`, false},
		{"numeric equals", `{"detail": {"d-count": [{"numeric": ["=", 3]}]}}`, true},
		{"numeric float", `{"detail": {"x-limit": [{"numeric": [">=", 301.8]}]}}`, true},
		{"numeric on string", `{"detail": {"state": [{"numeric": [">", 0]}]}}`, false},
		{"AWS numeric example", `{"detail": {"c-count": [{"numeric": [">", 0, "<=", 5]}], "d-count": [{"numeric": ["<", 10]}], "x-limit": [{"numeric": ["=", 301.8]}]}}`, true},
		{"wildcard", `{"detail": {"FileName": [{"wildcard": "Image.*"}]}}`, true},
		{"wildcard middle", `{"source": [{"wildcard": "aws.*2"}]}`, true},
		{"wildcard miss", `{"source": [{"wildcard": "*.ecs"}]}`, false},
		{"wildcard two stars", `{"resources": [{"wildcard": "arn:aws:ec2:*:instance/*"}]}`, true},
		{"wildcard literal", `{"source": [{"wildcard": "aws.ec2"}]}`, true},
		{"cidr", `{"detail": {"source-ip": [{"cidr": "10.0.0.0/24"}]}}`, true},
		{"cidr miss", `{"detail": {"source-ip": [{"cidr": "10.0.1.0/24"}]}}`, false},
		{"event array any element", `{"detail": {"tags": ["web"]}}`, true},
		{"event array no element", `{"detail": {"tags": ["db"]}}`, false},
		{"resources array", `{"resources": [{"prefix": "arn:aws:ec2:us-west-1"}]}`, true},
		{"array of objects", `{"detail": {"containers": {"name": ["sidecar"], "image": [{"prefix": "envoy"}]}}}`, true},
		{"array of objects same element", `{"detail": {"containers": {"name": ["sidecar"], "image": [{"prefix": "repo"}]}}}`, false},
		{"$or", `{"detail": {"$or": [{"state": ["running"]}, {"c-count": [{"numeric": [">", 4]}]}]}}`, true},
		{"$or none", `{"detail": {"$or": [{"state": ["running"]}, {"c-count": [{"numeric": [">", 5]}]}]}}`, false},
		{"$or top level", `{"source": ["aws.ec2"], "$or": [{"region": ["eu-west-1"]}, {"account": ["111122223333"]}]}`, true},
		{"mixed OR in array", `{"detail": {"state": ["running", {"prefix": "term"}]}}`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse([]byte(tt.pattern))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			got, err := p.Match([]byte(ec2Event))
			if err != nil {
				t.Fatalf("Match: %v", err)
			}
			if got != tt.want {
				t.Errorf("Match = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	tests := []struct{ name, pattern string }{
		{"not json", `{"source": [`},
		{"not object", `["aws.ec2"]`},
		{"leaf not array", `{"source": "aws.ec2"}`},
		{"leaf number", `{"source": 5}`},
		{"empty array", `{"source": []}`},
		{"nested array", `{"source": [["a"]]}`},
		{"unknown operator", `{"source": [{"contains": "ec2"}]}`},
		{"two operators", `{"source": [{"prefix": "a", "suffix": "b"}]}`},
		{"prefix not string", `{"source": [{"prefix": 5}]}`},
		{"exists not bool", `{"source": [{"exists": "yes"}]}`},
		{"numeric bad op", `{"n": [{"numeric": ["!=", 5]}]}`},
		{"numeric odd length", `{"n": [{"numeric": [">", 5, "<"]}]}`},
		{"numeric not number", `{"n": [{"numeric": [">", "5"]}]}`},
		{"numeric inverted", `{"n": [{"numeric": [">", 10, "<", 5]}]}`},
		{"numeric two lower", `{"n": [{"numeric": [">", 1, ">", 5]}]}`},
		{"anything-but mixed list", `{"s": [{"anything-but": ["a", 1]}]}`},
		{"anything-but empty list", `{"s": [{"anything-but": []}]}`},
		{"anything-but bool", `{"s": [{"anything-but": true}]}`},
		{"anything-but unknown", `{"s": [{"anything-but": {"numeric": [">", 1]}}]}`},
		{"wildcard consecutive", `{"s": [{"wildcard": "a**b"}]}`},
		{"cidr malformed", `{"ip": [{"cidr": "10.0.0.0/99"}]}`},
		{"$or one alternative", `{"$or": [{"a": ["b"]}]}`},
		{"$or not objects", `{"$or": ["a", "b"]}`},
		{"trailing data", `{"a": ["b"]} {}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.pattern))
			var perr *Error
			if !errors.As(err, &perr) {
				t.Fatalf("Parse(%s) = %v, want *Error", tt.pattern, err)
			}
		})
	}
}

func TestMatchRejectsNonObjectEvent(t *testing.T) {
	p, err := Parse([]byte(`{"source": ["a"]}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Match([]byte(`[1]`)); err == nil {
		t.Error("Match of an array event: want error")
	}
}
