package cloudwatch_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	cw "github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/google/go-cmp/cmp"

	"github.com/pushdeploy/pushdeploy/internal/local/localcloud/localtest"
)

// shape lists every path of a JSON document with the JSON type found there;
// array elements share the path "[]".
func shape(v any, path string, out map[string]string) {
	switch v := v.(type) {
	case map[string]any:
		out[path] = "object"
		for k, e := range v {
			shape(e, path+"."+k, out)
		}
	case []any:
		out[path] = "array"
		for _, e := range v {
			shape(e, path+"[]", out)
		}
	case string:
		out[path] = "string"
	case float64:
		out[path] = "number"
	case bool:
		out[path] = "bool"
	case nil:
		out[path] = "null"
	}
}

func shapeOf(t *testing.T, p []byte) map[string]string {
	t.Helper()
	var v any
	if err := json.Unmarshal(p, &v); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	shape(v, "", out)
	// Dimension names are data, not shape.
	for k := range out {
		if strings.Contains(k, ".dimensions.") {
			delete(out, k)
		}
	}
	return out
}

func TestStateChangeEventMatchesAWSExample(t *testing.T) {
	want, err := os.ReadFile("testdata/alarm-state-change.json")
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t)
	ctx := context.Background()
	_, err = e.client.PutMetricAlarm(ctx, &cw.PutMetricAlarmInput{
		AlarmName: aws.String("ServerCpuTooHigh"), AlarmDescription: aws.String("Goes into alarm when server CPU utilization is too high!"),
		MetricName: aws.String("CPUUtilization"), Namespace: aws.String("AWS/EC2"), Statistic: types.StatisticAverage,
		Dimensions: []types.Dimension{{Name: aws.String("InstanceId"), Value: aws.String("i-12345678901234567")}},
		Period:     aws.Int32(300), EvaluationPeriods: aws.Int32(1), Threshold: aws.Float64(50),
		ComparisonOperator: types.ComparisonOperatorGreaterThanThreshold,
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []types.StateValue{types.StateValueOk, types.StateValueAlarm} {
		if _, err := e.client.SetAlarmState(ctx, &cw.SetAlarmStateInput{AlarmName: aws.String("ServerCpuTooHigh"), StateValue: s,
			StateReason: aws.String("Threshold Crossed"), StateReasonData: aws.String(`{"version":"1.0"}`)}); err != nil {
			t.Fatal(err)
		}
	}
	evs := e.events.Events()
	if len(evs) != 2 {
		t.Fatalf("%d events, want 2", len(evs))
	}
	got, err := json.Marshal(evs[1])
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(shapeOf(t, want), shapeOf(t, got)); diff != "" {
		t.Errorf("event shape differs from AWS's example (-aws +local):\n%s", diff)
	}
	// The product decodes it with aws-lambda-go's envelope.
	var ev events.EventBridgeEvent
	if err := json.Unmarshal(got, &ev); err != nil || ev.DetailType != "CloudWatch Alarm State Change" || ev.Source != "aws.cloudwatch" {
		t.Errorf("aws-lambda-go decode: %v, %+v", err, ev)
	}
}

// TestAWSCLI proves that botocore's Smithy RPC v2 CBOR (the AWS CLI's
// first choice for CloudWatch) works against the local cloud.
func TestAWSCLI(t *testing.T) {
	localtest.NeedAWSCLI(t)
	e := newEnv(t)
	run := func(args ...string) ([]byte, error) {
		return localtest.TryAWSCLI(t, e.url, append([]string{"cloudwatch"}, args...)...)
	}
	if out, err := run("put-metric-alarm", "--alarm-name", "cli-alarm", "--metric-name", "Errors", "--namespace", "App",
		"--statistic", "Sum", "--period", "60", "--evaluation-periods", "2", "--threshold", "1.5",
		"--comparison-operator", "GreaterThanThreshold", "--tags", "Key=team,Value=web"); err != nil {
		t.Fatalf("put-metric-alarm: %v\n%s", err, out)
	}
	if out, err := run("set-alarm-state", "--alarm-name", "cli-alarm", "--state-value", "ALARM", "--state-reason", "cli"); err != nil {
		t.Fatalf("set-alarm-state: %v\n%s", err, out)
	}
	out, err := run("describe-alarms", "--alarm-name-prefix", "cli-")
	if err != nil {
		t.Fatalf("describe-alarms: %v\n%s", err, out)
	}
	var resp struct {
		MetricAlarms []struct {
			AlarmName         string
			StateValue        string
			Threshold         float64
			EvaluationPeriods int
			// Printed as sent, epoch seconds: a number (CBOR, v1) or a
			// string (the query protocol's XML, v2).
			StateUpdatedTimestamp json.RawMessage
		}
	}
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatalf("describe-alarms output: %v\n%s", err, out)
	}
	epoch := func(raw json.RawMessage) float64 {
		f, _ := strconv.ParseFloat(strings.Trim(string(raw), `"`), 64)
		return f
	}
	if len(resp.MetricAlarms) != 1 || resp.MetricAlarms[0].StateValue != "ALARM" || resp.MetricAlarms[0].Threshold != 1.5 ||
		resp.MetricAlarms[0].EvaluationPeriods != 2 || epoch(resp.MetricAlarms[0].StateUpdatedTimestamp) != float64(start.Unix()) {
		t.Errorf("describe-alarms = %s", out)
	}
	out, err = run("set-alarm-state", "--alarm-name", "nope", "--state-value", "OK", "--state-reason", "cli")
	if err == nil || !strings.Contains(string(out), "ResourceNotFound") {
		t.Errorf("set-alarm-state on a missing alarm: %v\n%s", err, out)
	}
	if got := e.server.Log.Count("cloudwatch", ""); got != 4 {
		t.Errorf("%d CloudWatch calls logged, want 4", got)
	}
	tags := e.svc.TaggedResources(context.Background())
	keys := []string{}
	for k := range tags[0].Tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if diff := cmp.Diff([]string{"team"}, keys); diff != "" {
		t.Errorf("tags (-want +got):\n%s", diff)
	}
}

// TestAWSJSON10 serves the same service over AWS JSON 1.0, CloudWatch's
// other protocol, with timestamps as epoch seconds.
func TestAWSJSON10(t *testing.T) {
	e := newEnv(t)
	e.putAlarm(t, "web-5xx")
	req, err := http.NewRequest("POST", e.url, strings.NewReader(`{"AlarmNamePrefix":"web"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Amz-Target", "GraniteServiceVersion20100801.DescribeAlarms")
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		MetricAlarms []struct {
			AlarmName             string
			StateUpdatedTimestamp json.Number
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 {
		t.Fatalf("status %d, %v", resp.StatusCode, err)
	}
	if len(out.MetricAlarms) != 1 || out.MetricAlarms[0].StateUpdatedTimestamp.String() != fmt.Sprint(start.Unix()) {
		t.Errorf("DescribeAlarms over JSON 1.0 = %+v", out)
	}
}
