package localcloud_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/pushdeploy/pushdeploy/internal/app/clock"
	"github.com/pushdeploy/pushdeploy/internal/local/localcloud"
	"github.com/pushdeploy/pushdeploy/internal/local/localcloud/localtest"
)

func newQueryCloud(t *testing.T) string {
	cloud, err := localcloud.New(localcloud.Options{Clock: clock.NewVirtual(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cloud.Close() })
	srv := httptest.NewServer(cloud.Server)
	t.Cleanup(srv.Close)
	return srv.URL
}

// The SDK's STS client speaks awsquery: GetCallerIdentity names the local account.
func TestSTSGetCallerIdentity(t *testing.T) {
	u := newQueryCloud(t)
	out, err := sts.NewFromConfig(localtest.Config(u)).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.Account) != localtest.Account || !strings.HasPrefix(aws.ToString(out.Arn), "arn:aws:iam::"+localtest.Account+":") {
		t.Errorf("GetCallerIdentity = %+v", out)
	}
}

// CloudWatch over awsquery, as AWS CLIs before its CBOR move send it: a
// form-encoded SetAlarmState changes what the SDK (CBOR) then reads, and
// DescribeAlarms answers XML with lists as <member> items.
func TestCloudWatchQueryProtocol(t *testing.T) {
	u := newQueryCloud(t)
	cw := cloudwatch.NewFromConfig(localtest.Config(u))
	ctx := context.Background()
	if _, err := cw.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{AlarmName: aws.String("web-5xx"), Namespace: aws.String("App"),
		MetricName: aws.String("5xx"), Statistic: cwtypes.StatisticSum, Period: aws.Int32(60), EvaluationPeriods: aws.Int32(1),
		Threshold: aws.Float64(1), ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanOrEqualToThreshold}); err != nil {
		t.Fatal(err)
	}
	query := func(form url.Values) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
		req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=test/20260301/us-east-1/monitoring/aws4_request, SignedHeaders=host, Signature=0")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		p, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(p)
	}
	status, body := query(url.Values{"Action": {"SetAlarmState"}, "Version": {"2010-08-01"}, "AlarmName": {"web-5xx"},
		"StateValue": {"ALARM"}, "StateReason": {"rehearsal"}})
	if status != 200 || !strings.Contains(body, "<SetAlarmStateResponse") {
		t.Fatalf("SetAlarmState: %d %s", status, body)
	}
	out, err := cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{"web-5xx"}})
	if err != nil || len(out.MetricAlarms) != 1 || out.MetricAlarms[0].StateValue != cwtypes.StateValueAlarm {
		t.Fatalf("after SetAlarmState over query: %+v %v", out, err)
	}
	status, body = query(url.Values{"Action": {"DescribeAlarms"}, "AlarmNames.member.1": {"web-5xx"}, "MaxRecords": {"10"}})
	for _, want := range []string{"<MetricAlarms><member>", "<AlarmName>web-5xx</AlarmName>", "<StateValue>ALARM</StateValue>", "<Period>60</Period>"} {
		if status != 200 || !strings.Contains(body, want) {
			t.Errorf("DescribeAlarms: %d, no %s in %s", status, want, body)
		}
	}
	status, body = query(url.Values{"Action": {"SetAlarmState"}, "AlarmName": {"nope"}, "StateValue": {"ALARM"}, "StateReason": {"x"}})
	if status != 400 || !strings.Contains(body, "<Code>ResourceNotFound</Code>") {
		t.Errorf("SetAlarmState of a missing alarm: %d %s", status, body)
	}
}

// The AWS CLI, whichever protocol its version speaks for CloudWatch, sets
// an alarm's state and reads the caller's identity.
func TestAWSCLIAlarmAndIdentity(t *testing.T) {
	u := newQueryCloud(t)
	localtest.AWSCLI(t, u, "cloudwatch", "put-metric-alarm", "--alarm-name", "web-5xx", "--namespace", "App", "--metric-name", "5xx",
		"--statistic", "Sum", "--period", "60", "--evaluation-periods", "1", "--threshold", "1", "--comparison-operator", "GreaterThanOrEqualToThreshold")
	localtest.AWSCLI(t, u, "cloudwatch", "set-alarm-state", "--alarm-name", "web-5xx", "--state-value", "ALARM", "--state-reason", "cli")
	var desc struct{ MetricAlarms []struct{ StateValue string } }
	if err := json.Unmarshal(localtest.AWSCLI(t, u, "cloudwatch", "describe-alarms", "--alarm-names", "web-5xx"), &desc); err != nil {
		t.Fatal(err)
	}
	if len(desc.MetricAlarms) != 1 || desc.MetricAlarms[0].StateValue != "ALARM" {
		t.Errorf("describe-alarms = %+v", desc)
	}
	var id struct{ Account string }
	if err := json.Unmarshal(localtest.AWSCLI(t, u, "sts", "get-caller-identity"), &id); err != nil || id.Account != localtest.Account {
		t.Errorf("get-caller-identity = %+v, %v", id, err)
	}
}
