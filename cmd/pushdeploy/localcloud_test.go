package main

import (
	"bufio"
	"context"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	awssfn "github.com/aws/aws-sdk-go-v2/service/sfn"
)

var urlLine = regexp.MustCompile(`serving on (http://\S+)`)

// startLocalCloud runs the subcommand and returns its URL and a func that
// interrupts it and returns its exit code.
func startLocalCloud(tb testing.TB, args ...string) (string, func() int) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	code := make(chan int, 1)
	go func() {
		code <- runLocalCloud(ctx, args, pw, io.Discard)
		pw.Close()
	}()
	sc := bufio.NewScanner(pr)
	var url string
	for sc.Scan() {
		if m := urlLine.FindStringSubmatch(sc.Text()); m != nil {
			url = m[1]
			break
		}
	}
	if url == "" {
		cancel()
		tb.Fatalf("no URL printed (exit %d)", <-code)
	}
	go io.Copy(io.Discard, pr) // the call log keeps flowing
	return url, func() int {
		cancel()
		return <-code
	}
}

func sfnClient(url string) *awssfn.Client {
	return awssfn.New(awssfn.Options{Region: "us-east-1", BaseEndpoint: aws.String(url),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
}

func TestLocalCloudCommand(t *testing.T) {
	url, stop := startLocalCloud(t, "--listen", "127.0.0.1:0", "--speed", "60")
	out, err := sfnClient(url).ListStateMachines(context.Background(), &awssfn.ListStateMachinesInput{})
	if err != nil || len(out.StateMachines) != 0 {
		t.Errorf("ListStateMachines: %v %v", out, err)
	}
	if code := stop(); code != 0 {
		t.Errorf("exit %d after interrupt", code)
	}

	for _, args := range [][]string{{"--speed", "0"}, {"--bogus"}, {"extra"}, {"--clock", "sundial"},
		{"--clock", "virtual", "--speed", "2"}, {"--env-file", "x"}, {"--install", "--in-process", "--bin", "b"}} {
		var stderr strings.Builder
		if code := runLocalCloud(context.Background(), args, io.Discard, &stderr); code != 2 || !strings.HasPrefix(stderr.String(), "pushdeploy: localcloud: ") ||
			!strings.Contains(stderr.String(), "--help") || strings.Count(stderr.String(), "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q", args, code, stderr.String())
		}
	}
}

// BenchmarkLocalCloudStart measures the time from the command's start to
// its first answered API call (ns/op).
func BenchmarkLocalCloudStart(b *testing.B) {
	for i := 0; i < b.N; i++ {
		url, stop := startLocalCloud(b, "--listen", "127.0.0.1:0")
		if _, err := sfnClient(url).ListStateMachines(context.Background(), &awssfn.ListStateMachinesInput{}); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		stop()
		b.StartTimer()
	}
}

// Without built functions, --install says how to get them, before serving.
func TestLocalCloudInstallWithoutBuild(t *testing.T) {
	var stderr strings.Builder
	code := runLocalCloud(context.Background(), []string{"--listen", "127.0.0.1:0", "--install", "--bin", filepath.Join(t.TempDir(), "none")}, io.Discard, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), "make build") {
		t.Errorf("exit %d, stderr %q", code, stderr.String())
	}
}

// TestLocalCloudInstall serves pushdeploy installed on a virtual clock and
// drives it with the fault and clock commands: each one's output and exit code.
func TestLocalCloudInstall(t *testing.T) {
	envFile := filepath.Join(t.TempDir(), "env")
	url, stop := startLocalCloud(t, "--listen", "127.0.0.1:0", "--install", "--in-process", "--clock", "virtual", "--env-file", envFile)
	defer func() {
		if code := stop(); code != 0 {
			t.Errorf("exit %d after interrupt", code)
		}
	}()
	p, err := os.ReadFile(envFile)
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(p)), "\n") {
		k, v, _ := strings.Cut(line, "=")
		env[k] = v
	}
	if env["AWS_ENDPOINT_URL"] != url || env["AWS_REGION"] != "us-east-1" || env["PUSHDEPLOY_TABLE"] == "" || env["AWS_ACCESS_KEY_ID"] == "" {
		t.Errorf("env file:\n%s", p)
	}
	sms, err := sfnClient(url).ListStateMachines(context.Background(), &awssfn.ListStateMachinesInput{})
	if err != nil || len(sms.StateMachines) != 1 || aws.ToString(sms.StateMachines[0].StateMachineArn) != env["PUSHDEPLOY_STATE_MACHINE_ARN"] {
		t.Errorf("ListStateMachines: %v %v; env %v", sms, err, env)
	}

	t.Setenv("AWS_ENDPOINT_URL", url)
	cli := func(args ...string) (int, string, string) {
		var stdout, stderr strings.Builder
		code := run(context.Background(), append([]string{"localcloud"}, args...), &stdout, &stderr)
		return code, stdout.String(), stderr.String()
	}
	code, before, _ := cli("clock", "now")
	t0, err := time.Parse(time.RFC3339, strings.TrimSpace(before))
	if code != 0 || err != nil {
		t.Fatalf("clock now: exit %d, %q", code, before)
	}
	for _, c := range []struct {
		args   []string
		code   int
		stdout string // substring
		stderr string // substring
	}{
		{[]string{"fault", "image", "--image", "sha256:" + strings.Repeat("a", 64), "--mode", "fail-to-start"}, 0, "will fail to start", ""},
		{[]string{"fault", "image", "--image", "x", "--mode", "melt"}, 2, "", "--mode is fail-to-start or fail-health-check"},
		{[]string{"fault", "image", "--mode", "fail-to-start"}, 2, "", "missing --image"},
		{[]string{"fault", "throttle", "--operation", "ecs:UpdateService", "--rate", "0.5"}, 0, "throttling 50% of ecs:UpdateService calls", ""},
		{[]string{"fault", "throttle", "--operation", "ecs:UpdateService", "--rate", "3"}, 2, "", "--rate must be in (0, 1]"},
		{[]string{"fault", "throttle", "--operation", ":X", "--rate", "1"}, 2, "", "want service:Operation"},
		{[]string{"fault", "latency", "--operation", "ecs:UpdateService", "--delay", "30s"}, 0, "delaying ecs:UpdateService calls by 30s", ""},
		{[]string{"fault", "latency", "--operation", "ecs:UpdateService"}, 2, "", "--delay must be positive"},
		{[]string{"fault", "rollout", "--duration", "10m"}, 0, "healthy rollouts take 10m0s", ""},
		{[]string{"fault", "rollout", "--duration", "10m", "--service", "web"}, 0, "healthy rollouts of web take 10m0s", ""},
		{[]string{"fault", "clear"}, 0, "faults cleared", ""},
		{[]string{"fault", "meltdown"}, 2, "", "unknown fault"},
		{[]string{"fault"}, 2, "", "usage"},
		{[]string{"fault", "--help"}, 0, "usage", ""},
		{[]string{"clock", "advance", "10m"}, 0, t0.Add(10 * time.Minute).Format(time.RFC3339), ""},
		{[]string{"clock", "now"}, 0, t0.Add(10 * time.Minute).Format(time.RFC3339), ""},
		{[]string{"clock", "advance", "soon"}, 2, "", "positive duration"},
		{[]string{"clock", "rewind"}, 2, "", "want 'advance DURATION' or 'now'"},
		{[]string{"clock", "now", "--endpoint-url", "http://127.0.0.1:1"}, 5, "", "reach the local cloud"},
		{[]string{"clock", "now", "--endpoint-url", ""}, 0, "", ""}, // falls back to $AWS_ENDPOINT_URL
	} {
		code, stdout, stderr := cli(c.args...)
		if code != c.code || !strings.Contains(stdout, c.stdout) || !strings.Contains(stderr, c.stderr) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want %d, %q, %q", c.args, code, stdout, stderr, c.code, c.stdout, c.stderr)
		}
	}

	// An alarm's state change scheduled on the clock, seen with the CloudWatch API.
	cw := cloudwatch.New(cloudwatch.Options{Region: "us-east-1", BaseEndpoint: aws.String(url),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
	if _, err := cw.PutMetricAlarm(context.Background(), &cloudwatch.PutMetricAlarmInput{
		AlarmName: aws.String("web-5xx"), MetricName: aws.String("5xx"), Namespace: aws.String("AWS/ApplicationELB"),
		Statistic: cwtypes.StatisticSum, Period: aws.Int32(60), EvaluationPeriods: aws.Int32(1), Threshold: aws.Float64(1),
		ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanOrEqualToThreshold,
	}); err != nil {
		t.Fatal(err)
	}
	alarmState := func() cwtypes.StateValue {
		out, err := cw.DescribeAlarms(context.Background(), &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{"web-5xx"}})
		if err != nil || len(out.MetricAlarms) != 1 {
			t.Fatalf("describe alarms: %v %v", out, err)
		}
		return out.MetricAlarms[0].StateValue
	}
	at := t0.Add(15 * time.Minute).Format(time.RFC3339)
	for _, c := range []struct {
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{[]string{"alarm", "set", "web-5xx", "--state", "ALARM", "--in", "5m", "--for", "10m", "--reason", "spike"}, 0,
			"alarm web-5xx goes to ALARM at " + at + ", back to OK at " + t0.Add(25*time.Minute).Format(time.RFC3339) + "\n", ""},
		{[]string{"alarm", "set", "nope", "--state", "ALARM"}, 2, "", `pushdeploy: localcloud alarm set: alarm scenario: no such alarm: "nope" in us-east-1`},
		{[]string{"alarm", "set", "web-5xx", "--state", "RED"}, 2, "", "--state is ALARM, OK or INSUFFICIENT_DATA"},
		{[]string{"alarm", "set", "--state", "OK"}, 2, "", "want one alarm NAME"},
		{[]string{"alarm", "fire"}, 2, "", "unknown subcommand"},
		{[]string{"alarm"}, 2, "", "usage"},
		{[]string{"alarm", "--help"}, 0, "usage", ""},
	} {
		code, stdout, stderr := cli(c.args...)
		if code != c.code || !strings.Contains(stdout, c.stdout) || !strings.Contains(stderr, c.stderr) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want %d, %q, %q", c.args, code, stdout, stderr, c.code, c.stdout, c.stderr)
		}
	}
	if s := alarmState(); s == cwtypes.StateValueAlarm {
		t.Errorf("the alarm fired before its time")
	}
	cli("clock", "advance", "5m")
	if s := alarmState(); s != cwtypes.StateValueAlarm {
		t.Errorf("at %s the alarm is %s, want ALARM", at, s)
	}
	cli("clock", "advance", "10m")
	if s := alarmState(); s != cwtypes.StateValueOk {
		t.Errorf("after its window the alarm is %s, want OK", s)
	}

	t.Setenv("AWS_ENDPOINT_URL", "")
	if code, _, stderr := cli("fault", "clear"); code != 2 || !strings.Contains(stderr, "no local cloud") {
		t.Errorf("fault clear without endpoint: exit %d, %q", code, stderr)
	}
}

// A real clock refuses to be advanced: exit 2, and why.
func TestLocalCloudClockAdvanceNeedsVirtual(t *testing.T) {
	url, stop := startLocalCloud(t, "--listen", "127.0.0.1:0")
	defer stop()
	var stdout, stderr strings.Builder
	code := run(context.Background(), []string{"localcloud", "clock", "advance", "1m", "--endpoint-url", url}, &stdout, &stderr)
	if code != 2 || !strings.Contains(stderr.String(), "--clock virtual") {
		t.Errorf("exit %d, stderr %q", code, stderr.String())
	}
}
