package eventbridge

import (
	"testing"
	"time"
)

func TestTransform(t *testing.T) {
	// The EC2 example of AWS's input transformation page.
	raw := []byte(`{"version":"0","id":"7bf73129-1428-4cd3-a780-95db273d1602","detail-type":"EC2 Instance State-change Notification","source":"aws.ec2","account":"123456789012","time":"2015-11-11T21:29:54Z","region":"us-east-1","resources":["arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"],"detail":{"instance-id":"i-0123456789","state":"RUNNING","n":7,"tags":{"a":"<b>"}}}`)
	ev, err := decodeEvent(raw)
	if err != nil {
		t.Fatal(err)
	}
	paths := map[string]string{"instance": "$.detail.instance-id", "state": "$.detail.state", "n": "$.detail.n", "tags": "$.detail.tags", "missing": "$.detail.nope"}
	r := &rule{name: "r", arn: "arn:aws:events:us-east-1:123456789012:rule/r"}
	tests := []struct{ tpl, want string }{
		{`{"instance" : <instance>, "state": <state>}`, `{"instance" : "i-0123456789", "state": "RUNNING"}`},
		{`{"instance" : "<instance>", "state": "<state>"}`, `{"instance" : "i-0123456789", "state": "RUNNING"}`},
		{`"instance <instance> is in <state>"`, `"instance i-0123456789 is in RUNNING"`},
		{`instance <instance> is in <state>`, `instance i-0123456789 is in RUNNING`},
		{`{"myInstance": <instance>,"myStatus": "<instance> is in state \"<state>\""}`, `{"myInstance": "i-0123456789","myStatus": "i-0123456789 is in state \"RUNNING\""}`},
		{`{"n": <n>, "tags": <tags>, "s": "<tags>"}`, `{"n": 7, "tags": {"a":"<b>"}, "s": "{\"a\":\"<b>\"}"}`},
		{`{"m": <missing>, "s": "<missing>"}`, `{"m": null, "s": ""}`},
		{`{"rule": <aws.events.rule-name>, "arn": "<aws.events.rule-arn>"}`, `{"rule": "r", "arn": "arn:aws:events:us-east-1:123456789012:rule/r"}`},
		{`{"at": <aws.events.event.ingestion-time>}`, `{"at": "2026-03-01T12:00:00.000Z"}`},
		{`{"a < b": <unknown>}`, `{"a < b": <unknown>}`},
	}
	for _, tt := range tests {
		got, err := transform(&inputTransformer{InputPathsMap: paths, InputTemplate: tt.tpl}, r, raw, ev, time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
		if err != nil {
			t.Errorf("transform(%s): %v", tt.tpl, err)
			continue
		}
		if string(got) != tt.want {
			t.Errorf("transform(%s)\n got %s\nwant %s", tt.tpl, got, tt.want)
		}
	}
}

func TestParsePath(t *testing.T) {
	for _, p := range []string{"detail", "$..a", "$.a[x]", "$.a[0", "$[*]"} {
		if _, err := parsePath(p); err == nil {
			t.Errorf("parsePath(%q): want error", p)
		}
	}
	steps, err := parsePath("$.detail.a-b[1].c_d")
	if err != nil || len(steps) != 4 || steps[2].index != 1 || steps[1].name != "a-b" {
		t.Errorf("parsePath = %+v, %v", steps, err)
	}
}
