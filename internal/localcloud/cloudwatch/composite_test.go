package cloudwatch_test

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cw "github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/pushdeploy/pushdeploy/internal/localcloud/cloudwatch"
)

func (e *env) setState(t *testing.T, name string, v types.StateValue) {
	t.Helper()
	if _, err := e.client.SetAlarmState(context.Background(), &cw.SetAlarmStateInput{AlarmName: aws.String(name), StateValue: v, StateReason: aws.String("test")}); err != nil {
		t.Fatalf("SetAlarmState %s: %v", name, err)
	}
}

func (e *env) composite(t *testing.T, name string) types.CompositeAlarm {
	t.Helper()
	out, err := e.client.DescribeAlarms(context.Background(), &cw.DescribeAlarmsInput{AlarmNames: []string{name}, AlarmTypes: []types.AlarmType{types.AlarmTypeCompositeAlarm}})
	if err != nil || len(out.CompositeAlarms) != 1 {
		t.Fatalf("DescribeAlarms %s: %+v, %v", name, out, err)
	}
	return out.CompositeAlarms[0]
}

// TestCompositeAlarmFollowsChildren drives a composite alarm through its
// children with the real SDK client: state from the rule, re-evaluated on
// every child change (SetAlarmState and scenarios on the clock), events,
// DescribeAlarms by AlarmTypes, tags and deletion.
func TestCompositeAlarmFollowsChildren(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.putAlarm(t, "web-5xx")
	e.putAlarm(t, "web-latency")
	e.setState(t, "web-5xx", types.StateValueOk)
	e.setState(t, "web-latency", types.StateValueOk)
	_, err := e.client.PutCompositeAlarm(ctx, &cw.PutCompositeAlarmInput{
		AlarmName:        aws.String("web-health"),
		AlarmRule:        aws.String(`ALARM("web-5xx") OR (ALARM(web-latency) AND NOT OK("arn:aws:cloudwatch:us-east-1:123456789012:alarm:web-5xx"))`),
		AlarmDescription: aws.String("web is unhealthy"),
		ActionsEnabled:   aws.Bool(false),
		Tags:             []types.Tag{{Key: aws.String("pushdeploy:service"), Value: aws.String("prod/web")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	c := e.composite(t, "web-health")
	if c.StateValue != types.StateValueOk || aws.ToBool(c.ActionsEnabled) || aws.ToString(c.AlarmDescription) != "web is unhealthy" ||
		aws.ToString(c.AlarmArn) != "arn:aws:cloudwatch:us-east-1:123456789012:alarm:web-health" {
		t.Errorf("new composite alarm: %+v", c)
	}

	// AWS's default: no AlarmTypes means metric alarms only.
	out, err := e.client.DescribeAlarms(ctx, &cw.DescribeAlarmsInput{AlarmNames: []string{"web-health", "web-5xx"}})
	if err != nil || len(out.MetricAlarms) != 1 || len(out.CompositeAlarms) != 0 {
		t.Errorf("DescribeAlarms without AlarmTypes: %d metric, %d composite, %v", len(out.MetricAlarms), len(out.CompositeAlarms), err)
	}
	out, err = e.client.DescribeAlarms(ctx, &cw.DescribeAlarmsInput{AlarmNames: []string{"web-health", "web-5xx"},
		AlarmTypes: []types.AlarmType{types.AlarmTypeMetricAlarm, types.AlarmTypeCompositeAlarm}})
	if err != nil || len(out.MetricAlarms) != 1 || len(out.CompositeAlarms) != 1 {
		t.Errorf("DescribeAlarms with both AlarmTypes: %d metric, %d composite, %v", len(out.MetricAlarms), len(out.CompositeAlarms), err)
	}
	out, err = e.client.DescribeAlarms(ctx, &cw.DescribeAlarmsInput{ChildrenOfAlarmName: aws.String("web-health")})
	if err != nil || len(out.MetricAlarms) != 2 {
		t.Errorf("ChildrenOfAlarmName: %+v, %v", out, err)
	}
	out, err = e.client.DescribeAlarms(ctx, &cw.DescribeAlarmsInput{ParentsOfAlarmName: aws.String("web-latency")})
	if err != nil || len(out.CompositeAlarms) != 1 {
		t.Errorf("ParentsOfAlarmName: %+v, %v", out, err)
	}

	before := len(e.events.Events())
	e.setState(t, "web-latency", types.StateValueAlarm) // web-5xx is OK: rule false
	if got := e.composite(t, "web-health").StateValue; got != types.StateValueOk {
		t.Errorf("after web-latency ALARM: %s, want OK", got)
	}
	e.setState(t, "web-5xx", types.StateValueAlarm)
	c = e.composite(t, "web-health")
	if c.StateValue != types.StateValueAlarm {
		t.Fatalf("after web-5xx ALARM: %s, want ALARM", c.StateValue)
	}
	if !strings.HasPrefix(aws.ToString(c.StateReason), "arn:aws:cloudwatch:us-east-1:123456789012:alarm:web-5xx transitioned to ALARM at ") ||
		!strings.Contains(aws.ToString(c.StateReasonData), `"triggeringAlarms":[{"arn":"arn:aws:cloudwatch:us-east-1:123456789012:alarm:web-5xx"`) {
		t.Errorf("reason %q, data %q", aws.ToString(c.StateReason), aws.ToString(c.StateReasonData))
	}
	evs := e.events.Events()[before:]
	var names []string
	for _, ev := range evs {
		var d cloudwatch.StateChangeDetail
		if err := json.Unmarshal(ev.Detail, &d); err != nil {
			t.Fatal(err)
		}
		names = append(names, d.AlarmName+":"+d.State.Value)
		if d.AlarmName == "web-health" && d.Configuration.AlarmRule == "" {
			t.Errorf("composite event without alarmRule: %s", ev.Detail)
		}
	}
	if diff := cmp.Diff([]string{"web-latency:ALARM", "web-5xx:ALARM", "web-health:ALARM"}, names); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}

	// A scenario on the clock moves the child, and the composite with it.
	e.setState(t, "web-5xx", types.StateValueOk)
	e.setState(t, "web-latency", types.StateValueOk)
	if _, err := e.svc.AlarmWindow(ctx, "web-5xx", e.clk.Now().Add(time.Minute), e.clk.Now().Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	e.clk.Advance(time.Minute)
	eventually(t, func() bool { st, _ := e.svc.AlarmState(ctx, "web-health"); return st == cloudwatch.StateAlarm },
		"composite in ALARM when the alarm window started")
	e.clk.Advance(time.Minute)
	eventually(t, func() bool { st, _ := e.svc.AlarmState(ctx, "web-health"); return st == cloudwatch.StateOK },
		"composite back to OK when the alarm window ended")

	tags, err := e.client.ListTagsForResource(ctx, &cw.ListTagsForResourceInput{ResourceARN: c.AlarmArn})
	if err != nil || len(tags.Tags) != 1 || aws.ToString(tags.Tags[0].Value) != "prod/web" {
		t.Errorf("tags: %+v, %v", tags, err)
	}
	hist, err := e.client.DescribeAlarmHistory(ctx, &cw.DescribeAlarmHistoryInput{AlarmName: aws.String("web-health"), AlarmTypes: []types.AlarmType{types.AlarmTypeCompositeAlarm}})
	if err != nil || len(hist.AlarmHistoryItems) == 0 || hist.AlarmHistoryItems[0].AlarmType != types.AlarmTypeCompositeAlarm {
		t.Errorf("history: %+v, %v", hist, err)
	}

	// A child of a composite that stays cannot be deleted; both together can.
	if _, err := e.client.DeleteAlarms(ctx, &cw.DeleteAlarmsInput{AlarmNames: []string{"web-5xx"}}); errCode(err) != "ValidationError" {
		t.Errorf("delete a child: %v, want ValidationError", err)
	}
	if _, err := e.client.DeleteAlarms(ctx, &cw.DeleteAlarmsInput{AlarmNames: []string{"web-5xx", "web-health"}}); err != nil {
		t.Errorf("delete child and parent: %v", err)
	}
}

func errCode(err error) string {
	var api smithy.APIError
	if ok := asAPI(err, &api); ok {
		return api.ErrorCode()
	}
	return ""
}

func asAPI(err error, api *smithy.APIError) bool {
	for err != nil {
		if a, ok := err.(smithy.APIError); ok {
			*api = a
			return true
		}
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return false
		}
		err = u.Unwrap()
	}
	return false
}

func TestPutCompositeAlarmErrors(t *testing.T) {
	e := newEnv(t)
	e.putAlarm(t, "web-5xx")
	tests := []struct {
		name string
		in   cw.PutCompositeAlarmInput
		code string
	}{
		// (Missing AlarmName or AlarmRule the SDK refuses before sending.)
		{"empty rule", cw.PutCompositeAlarmInput{AlarmName: aws.String("c"), AlarmRule: aws.String("")}, "MissingParameter"},
		{"syntax", cw.PutCompositeAlarmInput{AlarmName: aws.String("c"), AlarmRule: aws.String("ALARM(web-5xx) AND")}, "ValidationError"},
		{"lower case", cw.PutCompositeAlarmInput{AlarmName: aws.String("c"), AlarmRule: aws.String("alarm(web-5xx)")}, "ValidationError"},
		{"missing child", cw.PutCompositeAlarmInput{AlarmName: aws.String("c"), AlarmRule: aws.String("ALARM(web-5xx) OR ALARM(nope)")}, "ValidationError"},
		{"other region", cw.PutCompositeAlarmInput{AlarmName: aws.String("c"), AlarmRule: aws.String(`ALARM("arn:aws:cloudwatch:eu-west-1:123456789012:alarm:web-5xx")`)}, "ValidationError"},
		{"metric alarm's name", cw.PutCompositeAlarmInput{AlarmName: aws.String("web-5xx"), AlarmRule: aws.String("TRUE")}, "ValidationError"},
		{"too long", cw.PutCompositeAlarmInput{AlarmName: aws.String("c"), AlarmRule: aws.String(strings.Repeat("TRUE OR ", 1300) + "TRUE")}, "InvalidParameterValue"},
		{"bad tag", cw.PutCompositeAlarmInput{AlarmName: aws.String("c"), AlarmRule: aws.String("TRUE"), Tags: []types.Tag{{Key: aws.String("aws:x"), Value: aws.String("v")}}}, "InvalidParameterValue"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.client.PutCompositeAlarm(context.Background(), &tt.in)
			if got := errCode(err); got != tt.code {
				t.Errorf("error %v (code %q), want %s", err, got, tt.code)
			}
		})
	}
	out, err := e.client.DescribeAlarms(context.Background(), &cw.DescribeAlarmsInput{AlarmTypes: []types.AlarmType{types.AlarmTypeCompositeAlarm}})
	if err != nil || len(out.CompositeAlarms) != 0 {
		t.Errorf("a failed put left %+v, %v", out.CompositeAlarms, err)
	}
}

func TestCompositeStateChangeEventMatchesAWSExample(t *testing.T) {
	want, err := os.ReadFile("testdata/composite-alarm-state-change.json")
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t)
	ctx := context.Background()
	e.putAlarm(t, "ServerCpuTooHigh")
	e.putAlarm(t, "TotalNetworkTrafficTooHigh")
	e.setState(t, "ServerCpuTooHigh", types.StateValueOk)
	if _, err := e.client.PutCompositeAlarm(ctx, &cw.PutCompositeAlarmInput{AlarmName: aws.String("ServiceAggregatedAlarm"),
		AlarmRule: aws.String("ALARM(ServerCpuTooHigh) OR ALARM(TotalNetworkTrafficTooHigh)")}); err != nil {
		t.Fatal(err)
	}
	e.setState(t, "ServerCpuTooHigh", types.StateValueAlarm)
	evs := e.events.Events()
	got, err := json.Marshal(evs[len(evs)-1])
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(shapeOf(t, want), shapeOf(t, got)); diff != "" {
		t.Errorf("event shape differs from AWS's example (-aws +local):\n%s\n%s", diff, got)
	}
}
