package cloudwatch_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cw "github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/pushdeploy/pushdeploy/internal/app/clock"
	"github.com/pushdeploy/pushdeploy/internal/local/localcloud"
	"github.com/pushdeploy/pushdeploy/internal/local/localcloud/cloudwatch"
	"github.com/pushdeploy/pushdeploy/internal/local/localcloud/localtest"
)

const account = "123456789012"

var start = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

type env struct {
	clk    *clock.Virtual
	svc    *cloudwatch.Service
	server *localcloud.Server
	events *localtest.Bus
	client *cw.Client
	url    string
}

func newEnv(t testing.TB) *env {
	t.Helper()
	clk := clock.NewVirtual(start)
	rec := &localtest.Bus{}
	svc, err := cloudwatch.New(clk, account, rec)
	if err != nil {
		t.Fatal(err)
	}
	url, server := localtest.Start(t, clk, nil, svc)
	cfg := localtest.Config(url)
	cfg.Retryer = localtest.NoBackoff
	return &env{clk: clk, svc: svc, server: server, events: rec, client: cw.NewFromConfig(cfg), url: url}
}

func (e *env) putAlarm(t testing.TB, name string, tags ...types.Tag) {
	t.Helper()
	_, err := e.client.PutMetricAlarm(context.Background(), &cw.PutMetricAlarmInput{
		AlarmName:          aws.String(name),
		AlarmDescription:   aws.String("5xx rate of " + name),
		MetricName:         aws.String("HTTPCode_Target_5XX_Count"),
		Namespace:          aws.String("AWS/ApplicationELB"),
		Statistic:          types.StatisticSum,
		Period:             aws.Int32(60),
		EvaluationPeriods:  aws.Int32(3),
		DatapointsToAlarm:  aws.Int32(2),
		Threshold:          aws.Float64(5.5),
		ComparisonOperator: types.ComparisonOperatorGreaterThanThreshold,
		TreatMissingData:   aws.String("notBreaching"),
		Dimensions:         []types.Dimension{{Name: aws.String("LoadBalancer"), Value: aws.String("app/web/123")}},
		AlarmActions:       []string{"arn:aws:sns:us-east-1:123456789012:page"},
		Tags:               tags,
	})
	if err != nil {
		t.Fatalf("PutMetricAlarm %s: %v", name, err)
	}
}

func TestPutAndDescribeAlarm(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.putAlarm(t, "web-5xx")
	out, err := e.client.DescribeAlarms(ctx, &cw.DescribeAlarmsInput{AlarmNames: []string{"web-5xx"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.MetricAlarms) != 1 {
		t.Fatalf("got %d alarms, want 1", len(out.MetricAlarms))
	}
	a := out.MetricAlarms[0]
	if got, want := aws.ToString(a.AlarmArn), "arn:aws:cloudwatch:us-east-1:123456789012:alarm:web-5xx"; got != want {
		t.Errorf("AlarmArn = %s, want %s", got, want)
	}
	if a.StateValue != types.StateValueInsufficientData || aws.ToString(a.StateReason) != "Unchecked: Initial alarm creation" {
		t.Errorf("state = %s (%s), want INSUFFICIENT_DATA", a.StateValue, aws.ToString(a.StateReason))
	}
	if !aws.ToTime(a.StateUpdatedTimestamp).Equal(start) || !aws.ToTime(a.AlarmConfigurationUpdatedTimestamp).Equal(start) {
		t.Errorf("timestamps = %v, %v; want %v", a.StateUpdatedTimestamp, a.AlarmConfigurationUpdatedTimestamp, start)
	}
	if aws.ToFloat64(a.Threshold) != 5.5 || aws.ToInt32(a.Period) != 60 || aws.ToInt32(a.EvaluationPeriods) != 3 ||
		aws.ToInt32(a.DatapointsToAlarm) != 2 || a.Statistic != types.StatisticSum ||
		a.ComparisonOperator != types.ComparisonOperatorGreaterThanThreshold || aws.ToString(a.TreatMissingData) != "notBreaching" ||
		!aws.ToBool(a.ActionsEnabled) {
		t.Errorf("config did not round-trip: %+v", a)
	}
	if diff := cmp.Diff([]string{"arn:aws:sns:us-east-1:123456789012:page"}, a.AlarmActions); diff != "" {
		t.Errorf("AlarmActions (-want +got):\n%s", diff)
	}
	if len(a.Dimensions) != 1 || aws.ToString(a.Dimensions[0].Value) != "app/web/123" {
		t.Errorf("Dimensions = %+v", a.Dimensions)
	}
	if got := e.server.Log.Count("cloudwatch", "PutMetricAlarm"); got != 1 {
		t.Errorf("call log has %d PutMetricAlarm calls, want 1", got)
	}
}

func TestPutMetricAlarmErrors(t *testing.T) {
	e := newEnv(t)
	base := func() *cw.PutMetricAlarmInput {
		return &cw.PutMetricAlarmInput{
			AlarmName: aws.String("a"), MetricName: aws.String("m"), Namespace: aws.String("n"),
			Statistic: types.StatisticAverage, Period: aws.Int32(60), EvaluationPeriods: aws.Int32(1),
			Threshold: aws.Float64(1), ComparisonOperator: types.ComparisonOperatorLessThanThreshold,
		}
	}
	tests := []struct {
		name   string
		change func(*cw.PutMetricAlarmInput)
		check  func(error) bool
	}{
		{"bad period", func(in *cw.PutMetricAlarmInput) { in.Period = aws.Int32(61) }, isType[*types.InvalidParameterValueException]},
		{"no namespace", func(in *cw.PutMetricAlarmInput) { in.Namespace = nil }, isType[*types.MissingRequiredParameterException]},
		{"two statistics", func(in *cw.PutMetricAlarmInput) { in.ExtendedStatistic = aws.String("p99") }, isType[*types.InvalidParameterCombinationException]},
		{"metrics and metric name", func(in *cw.PutMetricAlarmInput) {
			in.Metrics = []types.MetricDataQuery{{Id: aws.String("e1"), Expression: aws.String("m1*2")}}
		}, isType[*types.InvalidParameterCombinationException]},
		{"bad operator", func(in *cw.PutMetricAlarmInput) { in.ComparisonOperator = "Bigger" }, isType[*types.InvalidParameterValueException]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := base()
			tt.change(in)
			_, err := e.client.PutMetricAlarm(context.Background(), in)
			if !tt.check(err) {
				t.Fatalf("error = %v (%T)", err, err)
			}
		})
	}
	// The query-compatible error code is what the SDK reports.
	in := base()
	in.Period = aws.Int32(7)
	_, err := e.client.PutMetricAlarm(context.Background(), in)
	var api smithy.APIError
	if !errors.As(err, &api) || api.ErrorCode() != "InvalidParameterValue" {
		t.Errorf("ErrorCode = %v, want InvalidParameterValue", err)
	}
}

func isType[T error](err error) bool {
	var target T
	return errors.As(err, &target)
}

func TestMetricMathAlarm(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	_, err := e.client.PutMetricAlarm(ctx, &cw.PutMetricAlarmInput{
		AlarmName: aws.String("ratio"), EvaluationPeriods: aws.Int32(1), Threshold: aws.Float64(0.05),
		ComparisonOperator: types.ComparisonOperatorGreaterThanOrEqualToThreshold,
		Metrics: []types.MetricDataQuery{
			{Id: aws.String("errors"), ReturnData: aws.Bool(false), MetricStat: &types.MetricStat{
				Metric: &types.Metric{Namespace: aws.String("App"), MetricName: aws.String("Errors")}, Period: aws.Int32(60), Stat: aws.String("Sum")}},
			{Id: aws.String("ratio"), Expression: aws.String("errors/100"), Label: aws.String("error ratio")},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	out, err := e.client.DescribeAlarms(ctx, &cw.DescribeAlarmsInput{AlarmNames: []string{"ratio"}})
	if err != nil {
		t.Fatal(err)
	}
	m := out.MetricAlarms[0].Metrics
	if len(m) != 2 || aws.ToString(m[0].MetricStat.Metric.MetricName) != "Errors" || aws.ToBool(m[0].ReturnData) || aws.ToString(m[1].Expression) != "errors/100" {
		t.Errorf("Metrics did not round-trip: %+v", m)
	}
}

func TestDescribeAlarmsFiltersAndPagination(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	names := []string{"api-latency", "api-5xx", "web-5xx", "web-latency", "worker-lag"}
	for _, n := range names {
		e.putAlarm(t, n)
	}
	if err := e.svc.SetState(ctx, "web-5xx", cloudwatch.StateAlarm, "test"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		in   cw.DescribeAlarmsInput
		want []string
	}{
		{"all", cw.DescribeAlarmsInput{}, []string{"api-5xx", "api-latency", "web-5xx", "web-latency", "worker-lag"}},
		{"prefix", cw.DescribeAlarmsInput{AlarmNamePrefix: aws.String("web-")}, []string{"web-5xx", "web-latency"}},
		{"names", cw.DescribeAlarmsInput{AlarmNames: []string{"worker-lag", "api-5xx", "nope"}}, []string{"api-5xx", "worker-lag"}},
		{"state", cw.DescribeAlarmsInput{StateValue: types.StateValueAlarm}, []string{"web-5xx"}},
		{"composite only", cw.DescribeAlarmsInput{AlarmTypes: []types.AlarmType{types.AlarmTypeCompositeAlarm}}, nil},
		{"metric type", cw.DescribeAlarmsInput{AlarmTypes: []types.AlarmType{types.AlarmTypeMetricAlarm}, AlarmNamePrefix: aws.String("worker")}, []string{"worker-lag"}},
		{"action prefix", cw.DescribeAlarmsInput{ActionPrefix: aws.String("arn:aws:sns:us-east-1:123456789012:pa")}, names},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.in
			in.MaxRecords = aws.Int32(2)
			var got []string
			pages := 0
			p := cw.NewDescribeAlarmsPaginator(e.client, &in)
			for p.HasMorePages() {
				out, err := p.NextPage(ctx)
				if err != nil {
					t.Fatal(err)
				}
				pages++
				if len(out.MetricAlarms) > 2 {
					t.Fatalf("page of %d alarms, MaxRecords 2", len(out.MetricAlarms))
				}
				for _, a := range out.MetricAlarms {
					got = append(got, aws.ToString(a.AlarmName))
				}
			}
			want := append([]string(nil), tt.want...)
			sortStrings(want)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("alarms (-want +got):\n%s", diff)
			}
			if wantPages := max(1, (len(want)+1)/2); pages != wantPages {
				t.Errorf("%d pages, want %d", pages, wantPages)
			}
		})
	}
	_, err := e.client.DescribeAlarms(ctx, &cw.DescribeAlarmsInput{NextToken: aws.String("garbage!")})
	if !isType[*types.InvalidNextToken](err) {
		t.Errorf("bad token: %v, want InvalidNextToken", err)
	}
	_, err = e.client.DescribeAlarms(ctx, &cw.DescribeAlarmsInput{AlarmNames: []string{"a"}, AlarmNamePrefix: aws.String("a")})
	if !isType[*types.InvalidParameterCombinationException](err) {
		t.Errorf("names+prefix: %v, want InvalidParameterCombinationException", err)
	}
}

func sortStrings(s []string) {
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
}

func TestSetAlarmStateEmitsEvents(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.putAlarm(t, "web-5xx")
	e.clk.Advance(90 * time.Second)
	set := func(state types.StateValue, reason, data string) {
		t.Helper()
		in := &cw.SetAlarmStateInput{AlarmName: aws.String("web-5xx"), StateValue: state, StateReason: aws.String(reason)}
		if data != "" {
			in.StateReasonData = aws.String(data)
		}
		if _, err := e.client.SetAlarmState(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	set(types.StateValueAlarm, "Threshold Crossed", `{"version":"1.0"}`)
	set(types.StateValueAlarm, "still bad", "") // no transition, no event
	e.clk.Advance(time.Minute)
	set(types.StateValueOk, "recovered", "")
	evs := e.events.Events()
	if len(evs) != 2 {
		t.Fatalf("%d events, want 2: %+v", len(evs), evs)
	}
	var d cloudwatch.StateChangeDetail
	if err := json.Unmarshal(evs[0].Detail, &d); err != nil {
		t.Fatal(err)
	}
	if d.State.Value != "ALARM" || d.PreviousState.Value != "INSUFFICIENT_DATA" || d.State.ReasonData != `{"version":"1.0"}` ||
		d.State.Timestamp != "2026-03-01T12:01:30.000+0000" || d.AlarmName != "web-5xx" {
		t.Errorf("first event detail = %+v", d)
	}
	if evs[0].Time != "2026-03-01T12:01:30Z" || evs[0].Resources[0] != "arn:aws:cloudwatch:us-east-1:123456789012:alarm:web-5xx" {
		t.Errorf("first event envelope = %+v", evs[0])
	}
	if err := json.Unmarshal(evs[1].Detail, &d); err != nil {
		t.Fatal(err)
	}
	if d.State.Value != "OK" || d.PreviousState.Value != "ALARM" || d.PreviousState.Reason != "still bad" {
		t.Errorf("second event detail = %+v", d)
	}
	state, ok := e.svc.AlarmState(ctx, "web-5xx")
	if !ok || state != "OK" {
		t.Errorf("AlarmState = %q, %v; want OK", state, ok)
	}
	if _, ok := e.svc.AlarmState(ctx, "nope"); ok {
		t.Error("AlarmState of a missing alarm: ok")
	}
	out, err := e.client.DescribeAlarms(ctx, &cw.DescribeAlarmsInput{})
	if err != nil {
		t.Fatal(err)
	}
	a := out.MetricAlarms[0]
	if !aws.ToTime(a.StateTransitionedTimestamp).Equal(start.Add(150*time.Second)) || aws.ToString(a.StateReason) != "recovered" {
		t.Errorf("after SetAlarmState: %v %s", a.StateTransitionedTimestamp, aws.ToString(a.StateReason))
	}

	tests := []struct {
		name  string
		in    cw.SetAlarmStateInput
		check func(error) bool
	}{
		{"missing alarm", cw.SetAlarmStateInput{AlarmName: aws.String("nope"), StateValue: "OK", StateReason: aws.String("r")}, isType[*types.ResourceNotFound]},
		{"bad reason data", cw.SetAlarmStateInput{AlarmName: aws.String("web-5xx"), StateValue: "OK", StateReason: aws.String("r"), StateReasonData: aws.String("{")}, isType[*types.InvalidFormatFault]},
		{"bad state", cw.SetAlarmStateInput{AlarmName: aws.String("web-5xx"), StateValue: "MAYBE", StateReason: aws.String("r")}, isType[*types.InvalidParameterValueException]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.client.SetAlarmState(ctx, &tt.in)
			if !tt.check(err) {
				t.Errorf("error = %v (%T)", err, err)
			}
		})
	}
}

func TestDeleteAlarms(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.putAlarm(t, "a")
	e.putAlarm(t, "b")
	_, err := e.client.DeleteAlarms(ctx, &cw.DeleteAlarmsInput{AlarmNames: []string{"a", "missing"}})
	if !isType[*types.ResourceNotFound](err) {
		t.Fatalf("delete with a missing name: %v, want ResourceNotFound", err)
	}
	if _, ok := e.svc.AlarmState(ctx, "a"); !ok {
		t.Fatal("a failed DeleteAlarms deleted alarm a")
	}
	if _, err := e.client.DeleteAlarms(ctx, &cw.DeleteAlarmsInput{AlarmNames: []string{"a", "b"}}); err != nil {
		t.Fatal(err)
	}
	out, err := e.client.DescribeAlarms(ctx, &cw.DescribeAlarmsInput{})
	if err != nil || len(out.MetricAlarms) != 0 {
		t.Fatalf("after delete: %v, %d alarms", err, len(out.MetricAlarms))
	}
}

func TestTags(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.putAlarm(t, "web-5xx", types.Tag{Key: aws.String("pushdeploy:service"), Value: aws.String("web")})
	arn := aws.String("arn:aws:cloudwatch:us-east-1:123456789012:alarm:web-5xx")
	if _, err := e.client.TagResource(ctx, &cw.TagResourceInput{ResourceARN: arn, Tags: []types.Tag{
		{Key: aws.String("team"), Value: aws.String("payments")}, {Key: aws.String("tier"), Value: aws.String("1")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.UntagResource(ctx, &cw.UntagResourceInput{ResourceARN: arn, TagKeys: []string{"tier"}}); err != nil {
		t.Fatal(err)
	}
	e.putAlarm(t, "web-5xx", types.Tag{Key: aws.String("ignored"), Value: aws.String("on update")})
	out, err := e.client.ListTagsForResource(ctx, &cw.ListTagsForResourceInput{ResourceARN: arn})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, tg := range out.Tags {
		got[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
	}
	if diff := cmp.Diff(map[string]string{"pushdeploy:service": "web", "team": "payments"}, got); diff != "" {
		t.Errorf("tags (-want +got):\n%s", diff)
	}
	res := e.svc.TaggedResources(ctx)
	if len(res) != 1 || res[0].Type != "cloudwatch:alarm" || res[0].ARN != *arn || res[0].Tags["team"] != "payments" {
		t.Errorf("TaggedResources = %+v", res)
	}
	_, err = e.client.ListTagsForResource(ctx, &cw.ListTagsForResourceInput{ResourceARN: aws.String("arn:aws:cloudwatch:us-east-1:123456789012:alarm:nope")})
	if !isType[*types.ResourceNotFoundException](err) {
		t.Errorf("missing alarm: %v, want ResourceNotFoundException", err)
	}
	_, err = e.client.TagResource(ctx, &cw.TagResourceInput{ResourceARN: aws.String("not-an-arn"), Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}})
	if !isType[*types.InvalidParameterValueException](err) {
		t.Errorf("bad ARN: %v, want InvalidParameterValueException", err)
	}
}

func TestDescribeAlarmHistory(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.putAlarm(t, "web-5xx")
	for i, s := range []string{"ALARM", "OK", "ALARM"} {
		e.clk.Advance(time.Minute)
		if err := e.svc.SetState(ctx, "web-5xx", s, "step "+string(rune('0'+i))); err != nil {
			t.Fatal(err)
		}
	}
	var summaries []string
	p := cw.NewDescribeAlarmHistoryPaginator(e.client, &cw.DescribeAlarmHistoryInput{
		AlarmName: aws.String("web-5xx"), HistoryItemType: types.HistoryItemTypeStateUpdate, MaxRecords: aws.Int32(2)})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range out.AlarmHistoryItems {
			summaries = append(summaries, aws.ToString(it.HistorySummary))
		}
	}
	want := []string{"Alarm updated from OK to ALARM", "Alarm updated from ALARM to OK", "Alarm updated from INSUFFICIENT_DATA to ALARM"}
	if diff := cmp.Diff(want, summaries); diff != "" {
		t.Errorf("history, newest first (-want +got):\n%s", diff)
	}
	out, err := e.client.DescribeAlarmHistory(ctx, &cw.DescribeAlarmHistoryInput{
		AlarmName: aws.String("web-5xx"), StartDate: aws.Time(start.Add(90 * time.Second)), ScanBy: types.ScanByTimestampAscending})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.AlarmHistoryItems) != 2 || !aws.ToTime(out.AlarmHistoryItems[0].Timestamp).Equal(start.Add(2*time.Minute)) {
		t.Errorf("history since +90s = %+v", out.AlarmHistoryItems)
	}
}

func TestScenario(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.putAlarm(t, "web-5xx")
	if _, err := e.svc.AlarmWindow(ctx, "web-5xx", start.Add(5*time.Minute), start.Add(8*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Apply(ctx, cloudwatch.Scenario{Alarm: "nope", State: "ALARM"}); err == nil {
		t.Error("scenario on a missing alarm: no error")
	}
	steps := []struct {
		at   time.Duration
		want string
	}{{4 * time.Minute, "INSUFFICIENT_DATA"}, {5 * time.Minute, "ALARM"}, {7 * time.Minute, "ALARM"}, {8 * time.Minute, "OK"}}
	for _, s := range steps {
		e.clk.Advance(start.Add(s.at).Sub(e.clk.Now()))
		eventually(t, func() bool { got, _ := e.svc.AlarmState(ctx, "web-5xx"); return got == s.want },
			"state at +%v is not %s", s.at, s.want)
	}
	if n := len(e.events.Events()); n != 2 {
		t.Errorf("%d events, want 2 (to ALARM, to OK)", n)
	}
}

func TestThrottlingRetriedOverCBOR(t *testing.T) {
	e := newEnv(t)
	e.server.Faults.AddThrottle(localcloud.Throttle{Service: "cloudwatch", Operation: "DescribeAlarms", Rate: 1, Limit: 2})
	if _, err := e.client.DescribeAlarms(context.Background(), &cw.DescribeAlarmsInput{}); err != nil {
		t.Fatalf("DescribeAlarms after 2 throttles: %v", err)
	}
	calls := e.server.Log.Calls()
	var errs []string
	for _, c := range calls {
		errs = append(errs, c.Error)
	}
	if diff := cmp.Diff([]string{"ThrottlingException", "ThrottlingException", ""}, errs); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	// Without retries the SDK reports the throttle with its query code.
	e.server.Faults.AddThrottle(localcloud.Throttle{Service: "cloudwatch", Rate: 1, Limit: 1})
	_, err := e.client.DescribeAlarms(context.Background(), &cw.DescribeAlarmsInput{}, func(o *cw.Options) { o.RetryMaxAttempts = 1 })
	var api smithy.APIError
	if !errors.As(err, &api) || api.ErrorCode() != "Throttling" {
		t.Errorf("throttled call: %v, want Throttling", err)
	}
}

func TestUnsupportedOperation(t *testing.T) {
	e := newEnv(t)
	_, err := e.client.ListMetrics(context.Background(), &cw.ListMetricsInput{})
	var api smithy.APIError
	if !errors.As(err, &api) || api.ErrorCode() != "UnknownOperationException" || !strings.Contains(api.ErrorMessage(), "ListMetrics") {
		t.Errorf("ListMetrics: %v, want UnknownOperationException naming it", err)
	}
}

// eventually waits for callbacks that the virtual clock fired in their own
// goroutines; the bound is only there to fail instead of hanging.
func eventually(t *testing.T, cond func() bool, format string, args ...any) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf(format, args...)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestRegions(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	_, err := e.client.PutMetricAlarm(ctx, &cw.PutMetricAlarmInput{
		AlarmName: aws.String("eu"), MetricName: aws.String("m"), Namespace: aws.String("n"), Statistic: types.StatisticSum,
		Period: aws.Int32(60), EvaluationPeriods: aws.Int32(1), Threshold: aws.Float64(1),
		ComparisonOperator: types.ComparisonOperatorGreaterThanThreshold,
	}, func(o *cw.Options) { o.Region = "eu-west-1" })
	if err != nil {
		t.Fatal(err)
	}
	out, err := e.client.DescribeAlarms(ctx, &cw.DescribeAlarmsInput{})
	if err != nil || len(out.MetricAlarms) != 0 {
		t.Errorf("us-east-1 sees %d alarms (%v), want 0", len(out.MetricAlarms), err)
	}
	if _, ok := e.svc.AlarmState(ctx, "eu"); ok {
		t.Error("AlarmState found an eu-west-1 alarm in the default region")
	}
	e.svc.SetDefaultRegion("eu-west-1")
	if state, ok := e.svc.AlarmState(ctx, "eu"); !ok || state != "INSUFFICIENT_DATA" {
		t.Errorf("AlarmState in eu-west-1 = %q, %v", state, ok)
	}
	if err := e.svc.SetState(ctx, "eu", "ALARM", "test"); err != nil {
		t.Fatal(err)
	}
	if evs := e.events.Events(); len(evs) != 1 || evs[0].Region != "eu-west-1" || evs[0].Resources[0] != "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:eu" {
		t.Errorf("events = %+v", evs)
	}
}
