package lambdamain

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/pushdeploy/pushdeploy/internal/app/handler"
)

// The aws.Config a function's wiring gets is the production one: the
// endpoint from the environment and X-Ray on every call of a traced
// invocation; the Wiring carries the settings read from the environment.
func TestWiringGetsTracedConfig(t *testing.T) {
	udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer udp.Close()
	var traceHeader string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		traceHeader = r.Header.Get("X-Amzn-Trace-Id")
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.Write([]byte(`{}`))
	}))
	defer srv.Close()
	for k, v := range map[string]string{
		"AWS_XRAY_DAEMON_ADDRESS": udp.LocalAddr().String(), "AWS_ENDPOINT_URL": srv.URL,
		"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
		"AWS_CONFIG_FILE": t.TempDir() + "/none", "AWS_SHARED_CREDENTIALS_FILE": t.TempDir() + "/none",
	} {
		t.Setenv(k, v)
	}
	env := func(k string) string {
		if v, ok := map[string]string{handler.EnvHistoryTable: "history", handler.EnvStateMachineArn: "arn:aws:states:us-east-1:123456789012:stateMachine:pushdeploy"}[k]; ok {
			return v
		}
		return os.Getenv(k)
	}
	var got aws.Config
	var wiring handler.Wiring
	if _, err := Handler(context.Background(), func(cfg aws.Config, w handler.Wiring) (lambda.Handler, error) {
		got, wiring = cfg, w
		return nil, nil
	}, env, nil); err != nil {
		t.Fatal(err)
	}
	if wiring.Settings.Table != "history" || wiring.Settings.Account != "123456789012" || wiring.Clock == nil {
		t.Errorf("wiring %+v", wiring)
	}
	//lint:ignore SA1029 the string key aws-lambda-go itself uses
	ctx := context.WithValue(context.Background(), "x-amzn-trace-id", "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1")
	if _, err := ecs.NewFromConfig(got).ListClusters(ctx, &ecs.ListClustersInput{}); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(traceHeader, "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=") {
		t.Errorf("call sent trace header %q", traceHeader)
	}
	udp.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 64<<10)
	n, err := udp.Read(buf)
	if err != nil || !strings.Contains(string(buf[:n]), `"operation":"ListClusters"`) {
		t.Errorf("daemon got %q (%v)", buf[:n], err)
	}
}

// Bad settings fail the start (Run exits non-zero: an init error), naming
// the variable.
func TestBadSettingsFailStart(t *testing.T) {
	_, err := Handler(context.Background(), func(aws.Config, handler.Wiring) (lambda.Handler, error) {
		t.Fatal("wired despite bad settings")
		return nil, nil
	}, func(string) string { return "" }, nil)
	if err == nil || !strings.Contains(err.Error(), handler.EnvHistoryTable) {
		t.Errorf("err = %v", err)
	}
}
