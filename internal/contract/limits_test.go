package contract

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestDecodeStrictDuplicateKeys(t *testing.T) {
	tests := []struct {
		name, in string
		want     string // "" accepts
	}{
		{"top level", `{"action":"deploy","action":"rollback"}`, `duplicate key "action"`},
		{"nested", `{"alarm":{"alarmName":"a","alarmName":"b"}}`, `duplicate key "alarmName" in "alarm"`},
		{"in an array", `{"a":[{"x":1},{"x":1,"x":2}]}`, `duplicate key "x" in "a[]"`},
		{"after a nested object", `{"a":{"b":1},"c":2,"a":3}`, `duplicate key "a"`},
		{"same key in sibling objects", `{"a":{"x":1},"b":{"x":1}}`, ""},
		{"same key at two depths", `{"x":{"x":{"x":1}}}`, ""},
		{"key equal to a value", `{"a":"b","b":"a"}`, ""},
		{"scalar", `"x"`, ""},
		{"empty object", `{}`, ""},
		{"long key quoted short", `{"` + strings.Repeat("k", 5000) + `":1,"` + strings.Repeat("k", 5000) + `":2}`, `(5000 bytes)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v any
			err := DecodeStrict([]byte(tt.in), &v)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("err = %v, want none", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("err = %v, want one containing %s", err, tt.want)
			case tt.want != "" && len(err.Error()) > 300:
				t.Fatalf("message of %d bytes quotes the input", len(err.Error()))
			}
		})
	}
}

func TestDecodeExecutionInputDuplicateKey(t *testing.T) {
	_, err := DecodeExecutionInput([]byte(`{"action":"deploy","cluster":"c","service":"s","action":"rollback"}`))
	var bad *BadInput
	if !errors.As(err, &bad) || bad.Field != "input" || !strings.Contains(bad.Reason, `duplicate key "action"`) {
		t.Fatalf("err = %v, want BadInput naming the duplicate key", err)
	}
}

func TestDecodeStrictClipsUnknownField(t *testing.T) {
	key := strings.Repeat("k", 200000)
	_, err := DecodeExecutionInput([]byte(`{"action":"deploy","` + key + `":1}`))
	var bad *BadInput
	if !errors.As(err, &bad) || !strings.Contains(bad.Reason, "unknown field") || len(bad.Error()) > 400 {
		t.Fatalf("err = %.400v (%d bytes), want a short BadInput naming the unknown field", err, len(err.Error()))
	}
}

func TestCheckLimits(t *testing.T) {
	long := func(n int) string { return strings.Repeat("a", n) }
	ok := ExecutionInput{Action: ActionDeploy, Cluster: long(MaxNameBytes), Service: long(MaxNameBytes),
		Image: long(MaxImageBytes), Digest: long(MaxDigestBytes), Revision: long(MaxRevisionBytes),
		Reason: long(MaxReasonBytes), RequestedBy: long(MaxRequestedByBytes)}
	for range MaxContainers {
		ok.Containers = append(ok.Containers, long(MaxNameBytes))
	}
	if err := ok.CheckLimits(); err != nil {
		t.Fatalf("every field at its limit: %v", err)
	}
	tests := []struct {
		field  string
		change func(*ExecutionInput)
	}{
		{"action", func(in *ExecutionInput) { in.Action = Action(long(65)) }},
		{"cluster", func(in *ExecutionInput) { in.Cluster = long(MaxNameBytes + 1) }},
		{"service", func(in *ExecutionInput) { in.Service = long(MaxNameBytes + 1) }},
		{"image", func(in *ExecutionInput) { in.Image = long(MaxImageBytes + 1) }},
		{"digest", func(in *ExecutionInput) { in.Digest = long(MaxDigestBytes + 1) }},
		{"revision", func(in *ExecutionInput) { in.Revision = long(MaxRevisionBytes + 1) }},
		{"reason", func(in *ExecutionInput) { in.Reason = long(200 * 1024) }},
		{"requestedBy", func(in *ExecutionInput) { in.RequestedBy = long(MaxRequestedByBytes + 1) }},
		{"trigger", func(in *ExecutionInput) { in.Trigger = Trigger(long(65)) }},
		{"containers", func(in *ExecutionInput) { in.Containers = append(in.Containers, "one-too-many") }},
		{"containers[3]", func(in *ExecutionInput) { in.Containers[3] = long(MaxNameBytes + 1) }},
		{"input", func(in *ExecutionInput) {
			in.Alarm = &AlarmTrigger{Reason: long(MaxInputBytes)}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.field, func(t *testing.T) {
			in := ok
			in.Containers = append([]string(nil), ok.Containers...)
			tt.change(&in)
			err := in.CheckLimits()
			var bad *BadInput
			if !errors.As(err, &bad) || bad.Field != tt.field || !strings.Contains(bad.Reason, "the limit is") {
				t.Fatalf("err = %v, want BadInput naming %s and its limit", err, tt.field)
			}
			if strings.Contains(bad.Error(), "aaaaaaaa") {
				t.Fatalf("message echoes the value: %.200s", bad.Error())
			}
		})
	}
}

// TestLimitsFitThePayload: an input at every limit, with an alarm trigger
// described as CloudWatch bounds it, is under MaxInputBytes, itself far
// under Step Functions' 256 KiB.
func TestLimitsFitThePayload(t *testing.T) {
	long := func(n int) string { return strings.Repeat("\u00e9", n/2) }
	in := ExecutionInput{Action: ActionRollback, Cluster: long(MaxNameBytes), Service: long(MaxNameBytes),
		Revision: long(MaxRevisionBytes), Reason: long(MaxReasonBytes), RequestedBy: long(MaxRequestedByBytes),
		Trigger: TriggerAlarm, Alarm: &AlarmTrigger{EventID: long(64), AlarmName: long(255), AlarmArn: long(320),
			Reason: long(1023), TaskDefinitionArn: long(MaxRevisionBytes)}}
	data, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) > MaxInputBytes/2 {
		t.Fatalf("an input at the limits is %d bytes, want at most half of %d", len(data), MaxInputBytes)
	}
	if err := in.CheckLimits(); err != nil {
		t.Fatal(err)
	}
}
