package tracing

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-xray-sdk-go/v2/strategy/sampling"
	"github.com/aws/aws-xray-sdk-go/v2/xray"
	"github.com/aws/aws-xray-sdk-go/v2/xraylog"
)

func client(t *testing.T) (*ecs.Client, *[]string) {
	var mu sync.Mutex
	var traces []string
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		traces = append(traces, r.Header.Get("X-Amzn-Trace-Id"))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.Write([]byte(`{}`))
	}))
	t.Cleanup(s.Close)
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""), BaseEndpoint: aws.String(s.URL)}
	Instrument(&cfg)
	return ecs.NewFromConfig(cfg), &traces
}

type logger struct {
	mu   sync.Mutex
	msgs []string
}

func (l *logger) Log(level xraylog.LogLevel, msg fmt.Stringer) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.msgs = append(l.msgs, level.String()+": "+msg.String())
}

// Without a segment (local runs, tests) calls go through untraced and the
// X-Ray SDK logs nothing, even with the RUNTIME_ERROR strategy (a panic).
func TestNoSegmentIsQuiet(t *testing.T) {
	t.Setenv("AWS_XRAY_CONTEXT_MISSING", "RUNTIME_ERROR")
	l := &logger{}
	xray.SetLogger(l)
	c, traces := client(t)
	if _, err := c.ListClusters(context.Background(), &ecs.ListClustersInput{}); err != nil {
		t.Fatal(err)
	}
	if (*traces)[0] != "" {
		t.Errorf("trace header %q sent without a segment", (*traces)[0])
	}
	for _, m := range l.msgs {
		if bytes.Contains([]byte(m), []byte("context")) {
			t.Errorf("X-Ray logged %q", m)
		}
	}
}

// With a segment, each call is a subsegment whose trace id goes downstream.
func TestSegmentTraced(t *testing.T) {
	c, traces := client(t)
	// Sample every request: the default rules sample one a second, which
	// repeated runs exhaust.
	all, err := sampling.NewLocalizedStrategyFromJSONBytes([]byte(`{"version": 2, "default": {"fixed_target": 0, "rate": 1}}`))
	if err != nil {
		t.Fatal(err)
	}
	ctx, err := xray.ContextWithConfig(context.Background(), xray.Config{SamplingStrategy: all})
	if err != nil {
		t.Fatal(err)
	}
	ctx, seg := xray.BeginSegment(ctx, "test")
	if _, err := c.ListClusters(ctx, &ecs.ListClustersInput{}); err != nil {
		t.Fatal(err)
	}
	defer seg.Close(nil)
	got := (*traces)[0]
	if !bytes.Contains([]byte(got), []byte("Root="+seg.TraceID)) {
		t.Errorf("trace header %q does not carry the segment's trace %s", got, seg.TraceID)
	}
	// The call's own subsegment is the downstream parent, not the segment.
	if !bytes.Contains([]byte(got), []byte("Parent=")) || bytes.Contains([]byte(got), []byte("Parent="+seg.ID)) {
		t.Errorf("trace header %q: want a subsegment of %s as parent", got, seg.ID)
	}
}
