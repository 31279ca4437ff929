package awsconfig

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
)

// server answers every call with an empty JSON object after failing the
// first `throttle` calls with ThrottlingException, and counts calls.
func server(t *testing.T, throttle int32) (*httptest.Server, *atomic.Int32) {
	var n atomic.Int32
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		if n.Add(1) <= throttle {
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"__type":"ThrottlingException","message":"Rate exceeded"}`))
			return
		}
		w.Write([]byte(`{}`))
	}))
	t.Cleanup(s.Close)
	return s, &n
}

// env sets what Lambda gives a function plus kv, in the process (the
// clients read AWS_ENDPOINT_URL's presence there) and for FromLambda.
func env(t *testing.T, kv ...string) func(string) string {
	vars := map[string]string{"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_SESSION_TOKEN": "token", "AWS_REGION": "us-east-1"}
	for i := 0; i < len(kv); i += 2 {
		vars[kv[i]] = kv[i+1]
	}
	for k, v := range vars {
		t.Setenv(k, v)
	}
	return func(k string) string { return vars[k] }
}

// FromLambda honours AWS_ENDPOINT_URL and the service-specific variants as
// the SDK's own environment source does (the local world's functions rely
// on it), and signs with Lambda's credentials.
func TestEndpointFromEnvironment(t *testing.T) {
	all, allCalls := server(t, 0)
	ddb, ddbCalls := server(t, 0)
	cfg, err := FromLambda(env(t, "AWS_ENDPOINT_URL", all.URL, "AWS_ENDPOINT_URL_DYNAMODB", ddb.URL), Retry{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Region != "us-east-1" {
		t.Errorf("region %q", cfg.Region)
	}
	creds, err := cfg.Credentials.Retrieve(context.Background())
	if err != nil || creds.AccessKeyID != "test" || creds.SecretAccessKey != "test" || creds.SessionToken != "token" {
		t.Errorf("credentials %+v, %v", creds, err)
	}
	if _, err := ecs.NewFromConfig(cfg).ListClusters(context.Background(), &ecs.ListClustersInput{}); err != nil {
		t.Fatal(err)
	}
	if _, err := dynamodb.NewFromConfig(cfg).ListTables(context.Background(), &dynamodb.ListTablesInput{}); err != nil {
		t.Fatal(err)
	}
	if allCalls.Load() != 1 || ddbCalls.Load() != 1 {
		t.Fatalf("calls: AWS_ENDPOINT_URL %d, AWS_ENDPOINT_URL_DYNAMODB %d; want 1 each", allCalls.Load(), ddbCalls.Load())
	}
}

func TestThrottlingRetried(t *testing.T) {
	s, calls := server(t, 4)
	// Tiny delays: this tests the attempts, not the waiting.
	fast := Retry{Base: time.Millisecond, ThrottleBase: time.Millisecond, MaxBackoff: 2 * time.Millisecond}
	cfg, err := FromLambda(env(t, "AWS_ENDPOINT_URL", s.URL), fast)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ecs.NewFromConfig(cfg).ListClusters(context.Background(), &ecs.ListClustersInput{}); err != nil {
		t.Fatalf("4 throttles within 6 attempts: %v", err)
	}
	if calls.Load() != 5 {
		t.Fatalf("calls = %d, want 5", calls.Load())
	}

	s2, calls2 := server(t, 100)
	cfg.BaseEndpoint = aws.String(s2.URL)
	_, err = ecs.NewFromConfig(cfg).ListClusters(context.Background(), &ecs.ListClustersInput{})
	var maxErr *retry.MaxAttemptsError
	if !errors.As(err, &maxErr) || calls2.Load() != int32(DefaultRetry.MaxAttempts) {
		t.Fatalf("err = %v after %d calls, want MaxAttemptsError after %d", err, calls2.Load(), DefaultRetry.MaxAttempts)
	}
}

// Only the service-specific endpoint, or none when configured endpoints are
// ignored; a Lambda environment without a region or keys is a named error.
func TestFromLambdaEnvironment(t *testing.T) {
	ddb, ddbCalls := server(t, 0)
	cfg, err := FromLambda(env(t, "AWS_ENDPOINT_URL_DYNAMODB", ddb.URL), Retry{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.BaseEndpoint != nil {
		t.Errorf("base endpoint %q without AWS_ENDPOINT_URL", *cfg.BaseEndpoint)
	}
	if _, err := dynamodb.NewFromConfig(cfg).ListTables(context.Background(), &dynamodb.ListTablesInput{}); err != nil || ddbCalls.Load() != 1 {
		t.Fatalf("AWS_ENDPOINT_URL_DYNAMODB: %v, %d calls", err, ddbCalls.Load())
	}
	cfg, err = FromLambda(env(t, "AWS_ENDPOINT_URL", ddb.URL, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true"), Retry{})
	if err != nil || cfg.BaseEndpoint != nil {
		t.Errorf("ignored endpoints: %v, %v", cfg.BaseEndpoint, err)
	}
	if got := cfg.Retryer().MaxAttempts(); got != DefaultRetry.MaxAttempts {
		t.Errorf("retryer: %d attempts", got)
	}
	for _, missing := range []string{"AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} {
		vars := map[string]string{"AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s", "AWS_REGION": "eu-west-1"}
		delete(vars, missing)
		_, err := FromLambda(func(k string) string { return vars[k] }, Retry{})
		var me *MissingEnvError
		if !errors.As(err, &me) || me.Name != missing {
			t.Errorf("without %s: %v", missing, err)
		}
	}
	cfg, err = FromLambda(func(k string) string {
		return map[string]string{"AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s", "AWS_DEFAULT_REGION": "eu-west-1"}[k]
	}, Retry{})
	if err != nil || cfg.Region != "eu-west-1" {
		t.Errorf("AWS_DEFAULT_REGION: %q, %v", cfg.Region, err)
	}
}

type throttle struct{}

func (throttle) Error() string     { return "throttled" }
func (throttle) ErrorCode() string { return "ThrottlingException" }

func TestBackoff(t *testing.T) {
	r := DefaultRetry
	b := backoff{r: r, throttle: retry.IsErrorThrottles(retry.DefaultThrottles), rand: func() float64 { return 0.999999999 }}
	tests := []struct {
		attempt int
		err     error
		want    time.Duration
	}{
		{1, throttle{}, time.Second},
		{2, throttle{}, 2 * time.Second},
		{4, throttle{}, 8 * time.Second},
		{5, throttle{}, 10 * time.Second},
		{60, throttle{}, 10 * time.Second},
		{1, errors.New("5xx"), 200 * time.Millisecond},
		{5, errors.New("5xx"), 3200 * time.Millisecond},
	}
	for _, tt := range tests {
		got, _ := b.BackoffDelay(tt.attempt, tt.err)
		if d := tt.want - got; d < 0 || d > time.Microsecond {
			t.Errorf("attempt %d (%v): %s, want just under %s", tt.attempt, tt.err, got, tt.want)
		}
	}
	b.rand = func() float64 { return 0 }
	if got, _ := b.BackoffDelay(3, throttle{}); got != 0 {
		t.Errorf("full jitter lower bound: %s", got)
	}
	if got := r.WorstCaseBackoff(true); got != 25*time.Second {
		t.Errorf("worst case throttled = %s, want 25s", got)
	}
	if got := r.WorstCaseBackoff(false); got != 6200*time.Millisecond {
		t.Errorf("worst case other = %s, want 6.2s", got)
	}
	if got := NewRetryer(Retry{}).MaxAttempts(); got != 6 {
		t.Errorf("MaxAttempts = %d", got)
	}
}
