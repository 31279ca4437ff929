package localcloud_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/smithy-go"

	"github.com/pushdeploy/pushdeploy/internal/app/clock"
	"github.com/pushdeploy/pushdeploy/internal/local/localcloud"
	"github.com/pushdeploy/pushdeploy/internal/local/localcloud/localtest"
)

func control(t *testing.T, url, method, path, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		t.Fatalf("%s %s: body: %v", method, path, err)
	}
	return resp.StatusCode, v
}

func TestControlAPI(t *testing.T) {
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clk := clock.NewVirtual(start)
	cloud, err := localcloud.New(localcloud.Options{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cloud.Close() })
	srv := httptest.NewServer(cloud.Server)
	t.Cleanup(srv.Close)
	cloud.SetInfo(map[string]string{"PUSHDEPLOY_TABLE": "t"})

	for _, c := range []struct {
		method, path, body string
		status             int
		want               string // a substring of the JSON answer
	}{
		{"GET", "/_localcloud/clock", "", 200, `"virtual":true`},
		{"GET", "/_localcloud/info", "", 200, `"PUSHDEPLOY_TABLE":"t"`},
		{"POST", "/_localcloud/clock/advance", `{"duration":"10m"}`, 200, `"now":"2026-03-01T12:10:00Z"`},
		{"POST", "/_localcloud/clock/advance", `{"duration":"-1m"}`, 400, "not positive"},
		{"POST", "/_localcloud/clock/advance", `{"duraton":"1m"}`, 400, "unknown field"},
		{"POST", "/_localcloud/faults/image", `{"image":"sha256:ab","mode":"fail-to-start"}`, 200, `"image":"sha256:ab"`},
		{"POST", "/_localcloud/faults/image", `{"image":"x","mode":"explode"}`, 400, "fail-health-check"},
		{"POST", "/_localcloud/faults/rollout", `{"duration":"10m"}`, 200, `"duration":"10m"`},
		{"POST", "/_localcloud/faults/latency", `{"operation":"ecs:ListClusters","delay":"30s"}`, 200, `"delay":"30s"`},
		{"POST", "/_localcloud/faults/throttle", `{"operation":"ecs:ListClusters","rate":2}`, 400, "rate 2"},
		{"POST", "/_localcloud/faults/throttle", `{"operation":":X","rate":1}`, 400, "service:Operation"},
		{"GET", "/_localcloud/nothing", "", 404, "no control API"},
	} {
		status, v := control(t, srv.URL, c.method, c.path, c.body)
		got, _ := json.Marshal(v)
		if status != c.status || !strings.Contains(string(got), c.want) {
			t.Errorf("%s %s %s = %d %s, want %d with %s", c.method, c.path, c.body, status, got, c.status, c.want)
		}
	}

	// Throttling applies to the AWS API behind the same address, and clear removes it.
	if status, _ := control(t, srv.URL, "DELETE", "/_localcloud/faults", ""); status != 200 {
		t.Fatalf("clear: %d", status)
	}
	if status, _ := control(t, srv.URL, "POST", "/_localcloud/faults/throttle", `{"operation":"ecs:ListClusters","rate":1}`); status != 200 {
		t.Fatalf("throttle: %d", status)
	}
	cfg := localtest.Config(srv.URL)
	cfg.RetryMaxAttempts = 1
	client := ecs.NewFromConfig(cfg)
	_, err = client.ListClusters(context.Background(), &ecs.ListClustersInput{})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "ThrottlingException" {
		t.Errorf("ListClusters under throttle: %v", err)
	}
	if _, err := client.DescribeClusters(context.Background(), &ecs.DescribeClustersInput{Clusters: []string{"x"}}); err != nil {
		t.Errorf("DescribeClusters is not throttled: %v", err)
	}
	control(t, srv.URL, "DELETE", "/_localcloud/faults", "")
	if _, err := client.ListClusters(context.Background(), &ecs.ListClustersInput{}); err != nil {
		t.Errorf("ListClusters after clear: %v", err)
	}
}

func TestControlAdvanceNeedsVirtualClock(t *testing.T) {
	cloud, err := localcloud.New(localcloud.Options{Clock: clock.Real{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cloud.Close() })
	srv := httptest.NewServer(cloud.Server)
	t.Cleanup(srv.Close)
	status, v := control(t, srv.URL, "POST", "/_localcloud/clock/advance", `{"duration":"1m"}`)
	if status != http.StatusConflict || !strings.Contains(v["error"].(string), "--clock virtual") {
		t.Errorf("advance on a real clock = %d %v", status, v)
	}
	if _, v := control(t, srv.URL, "GET", "/_localcloud/clock", ""); v["virtual"] != false {
		t.Errorf("clock = %v", v)
	}
}

// TestControlAlarmState: an alarm state change scheduled through the
// control API happens when the virtual clock reaches it, seen through the
// CloudWatch API (aws-sdk-go-v2), and an alarm window goes back to OK.
func TestControlAlarmState(t *testing.T) {
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	cloud, err := localcloud.New(localcloud.Options{Clock: clock.NewVirtual(start)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cloud.Close() })
	srv := httptest.NewServer(cloud.Server)
	t.Cleanup(srv.Close)
	ctx := context.Background()
	cw := cloudwatch.NewFromConfig(localtest.Config(srv.URL))
	if _, err := cw.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{
		AlarmName: aws.String("web-5xx"), MetricName: aws.String("5xx"), Namespace: aws.String("AWS/ApplicationELB"),
		Statistic: cwtypes.StatisticSum, Period: aws.Int32(60), EvaluationPeriods: aws.Int32(1), Threshold: aws.Float64(1),
		ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanOrEqualToThreshold,
	}); err != nil {
		t.Fatal(err)
	}
	state := func() cwtypes.StateValue {
		t.Helper()
		out, err := cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{"web-5xx"}})
		if err != nil || len(out.MetricAlarms) != 1 {
			t.Fatalf("describe alarms: %v %v", out, err)
		}
		return out.MetricAlarms[0].StateValue
	}
	initial := state()

	for _, c := range []struct {
		body   string
		status int
		want   string
	}{
		{`{"alarm":"nope","state":"ALARM"}`, 404, "no such alarm"},
		{`{"alarm":"web-5xx","state":"RED"}`, 400, `invalid state \"RED\"`},
		{`{"alarm":"web-5xx","state":"ALARM","in":"-1m"}`, 400, "negative"},
		{`{"alarm":"web-5xx","state":"ALARM","for":"0s"}`, 400, "not positive"},
		{`{"state":"ALARM"}`, 400, "want an alarm name"},
		{`{"alarm":"web-5xx","state":"ALARM","in":"5m","for":"10m","reason":"spike"}`, 200, `"at":"2026-03-01T12:05:00Z","state":"ALARM","until":"2026-03-01T12:15:00Z"`},
	} {
		status, v := control(t, srv.URL, "POST", "/_localcloud/alarms/state", c.body)
		got, _ := json.Marshal(v)
		if status != c.status || !strings.Contains(string(got), c.want) {
			t.Errorf("POST /alarms/state %s = %d %s, want %d with %s", c.body, status, got, c.status, c.want)
		}
	}
	if s := state(); s != initial {
		t.Fatalf("the alarm changed before its time: %s", s)
	}
	control(t, srv.URL, "POST", "/_localcloud/clock/advance", `{"duration":"5m"}`)
	if s := state(); s != cwtypes.StateValueAlarm {
		t.Fatalf("at 12:05 the alarm is %s, want ALARM", s)
	}
	control(t, srv.URL, "POST", "/_localcloud/clock/advance", `{"duration":"10m"}`)
	if s := state(); s != cwtypes.StateValueOk {
		t.Fatalf("after its window the alarm is %s, want OK", s)
	}
}
