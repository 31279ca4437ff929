package tracing

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/resourcegroupstaggingapi"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-xray-sdk-go/v2/instrumentation/awsv2"
	"github.com/aws/aws-xray-sdk-go/v2/xray"
)

const (
	traceRoot    = "1-5759e988-bd862e3fe1be46a994272793"
	lambdaParent = "53995c3f42cd8ad8"
)

// invocation is the context aws-lambda-go hands a traced invocation.
func invocation(sampled string) context.Context {
	//lint:ignore SA1029 the string key aws-lambda-go itself uses
	return context.WithValue(context.Background(), "x-amzn-trace-id", "Root="+traceRoot+";Parent="+lambdaParent+";Sampled="+sampled)
}

// daemon is a stand-in X-Ray daemon: the documents it receives.
type fakeDaemon struct {
	conn *net.UDPConn
	docs chan map[string]any
}

func newDaemon(t *testing.T) *fakeDaemon {
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	t.Setenv("AWS_XRAY_DAEMON_ADDRESS", conn.LocalAddr().String())
	d := &fakeDaemon{conn: conn, docs: make(chan map[string]any, 100)}
	go func() {
		buf := make([]byte, 64<<10)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			head, body, ok := strings.Cut(string(buf[:n]), "\n")
			if !ok || head != strings.TrimSpace(emitHeader) {
				t.Errorf("daemon got %q", buf[:n])
				continue
			}
			var doc map[string]any
			if err := json.Unmarshal([]byte(body), &doc); err != nil {
				t.Errorf("daemon got %q: %v", body, err)
				continue
			}
			d.docs <- doc
		}
	}()
	return d
}

// next returns the next document, or nil after a short wait.
func (d *fakeDaemon) next(wait time.Duration) map[string]any {
	select {
	case doc := <-d.docs:
		return doc
	case <-time.After(wait):
		return nil
	}
}

// service answers every request with status(n) for the n-th request (from
// 1) and records each request's trace header.
type service struct {
	mu      sync.Mutex
	headers []string
	url     string
}

func newService(t *testing.T, status func(n int) int) *service {
	s := &service{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.headers = append(s.headers, r.Header.Get(TraceHeader))
		n := len(s.headers)
		s.mu.Unlock()
		w.Header().Set("X-Amzn-RequestId", "req-1")
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(status(n))
		w.Write([]byte(`{}`))
	}))
	t.Cleanup(srv.Close)
	s.url = srv.URL
	return s
}

func (s *service) sent() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.headers...)
}

func ok(int) int { return http.StatusOK }

func config(url string) aws.Config {
	return aws.Config{
		Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(url),
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
			})
		},
	}
}

// calls is one call of each client pushdeploy's functions build (the
// services of internal/app/awsapi, and ECR); the response need not decode:
// a failed call is traced too.
var calls = []struct {
	service, operation string
	call               func(context.Context, aws.Config)
}{
	{"ECS", "DescribeServices", func(ctx context.Context, c aws.Config) {
		ecs.NewFromConfig(c).DescribeServices(ctx, &ecs.DescribeServicesInput{Services: []string{"web"}})
	}},
	{"ECR", "DescribeImages", func(ctx context.Context, c aws.Config) {
		ecr.NewFromConfig(c).DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String("web")})
	}},
	{"CloudWatch", "DescribeAlarms", func(ctx context.Context, c aws.Config) {
		cloudwatch.NewFromConfig(c).DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{})
	}},
	{"Resource Groups Tagging API", "GetResources", func(ctx context.Context, c aws.Config) {
		resourcegroupstaggingapi.NewFromConfig(c).GetResources(ctx, &resourcegroupstaggingapi.GetResourcesInput{})
	}},
	{"DynamoDB", "Query", func(ctx context.Context, c aws.Config) {
		dynamodb.NewFromConfig(c).Query(ctx, &dynamodb.QueryInput{TableName: aws.String("history")})
	}},
	{"EventBridge", "PutEvents", func(ctx context.Context, c aws.Config) {
		eventbridge.NewFromConfig(c).PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{{Detail: aws.String("{}")}}})
	}},
	{"SFN", "SendTaskSuccess", func(ctx context.Context, c aws.Config) {
		sfn.NewFromConfig(c).SendTaskSuccess(ctx, &sfn.SendTaskSuccessInput{TaskToken: aws.String("t"), Output: aws.String("{}")})
	}},
}

// In a traced invocation every call of every client is one subsegment of
// the Lambda function's segment, and the service gets the subsegment as
// its parent. (A call that fails validation before it is sent, e.g. a
// required field missing, is not traced, as with xray: no AWS call is made.)
func TestEveryCallTraced(t *testing.T) {
	d := newDaemon(t)
	svc := newService(t, ok)
	cfg := config(svc.url)
	Instrument(&cfg)
	for i, c := range calls {
		c.call(invocation("1"), cfg)
		doc := d.next(5 * time.Second)
		if doc == nil {
			t.Fatalf("%s.%s: no subsegment", c.service, c.operation)
		}
		aws, _ := doc["aws"].(map[string]any)
		if doc["type"] != "subsegment" || doc["name"] != c.service || doc["namespace"] != "aws" ||
			doc["trace_id"] != traceRoot || doc["parent_id"] != lambdaParent ||
			aws["operation"] != c.operation || aws["region"] != "us-east-1" {
			t.Errorf("%s.%s: subsegment %v", c.service, c.operation, doc)
		}
		if start, end := doc["start_time"].(float64), doc["end_time"].(float64); start <= 0 || end < start {
			t.Errorf("%s.%s: times %v..%v", c.service, c.operation, start, end)
		}
		want := "Root=" + traceRoot + ";Parent=" + doc["id"].(string) + ";Sampled=1"
		if got := svc.sent()[i]; got != want {
			t.Errorf("%s.%s: sent trace header %q, want %q", c.service, c.operation, got, want)
		}
	}
}

// A retried call is one subsegment; every attempt carries it as the parent
// and the last attempt's response is the one recorded. A call that fails
// is recorded as a fault with its error.
func TestRetriesAndFailures(t *testing.T) {
	d := newDaemon(t)
	svc := newService(t, func(n int) int {
		if n == 1 {
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	})
	cfg := config(svc.url)
	Instrument(&cfg)
	if _, err := ecs.NewFromConfig(cfg).ListClusters(invocation("1"), &ecs.ListClustersInput{}); err != nil {
		t.Fatal(err)
	}
	doc := d.next(5 * time.Second)
	if doc == nil {
		t.Fatal("no subsegment")
	}
	if sent := svc.sent(); len(sent) != 2 || sent[0] != sent[1] || !strings.Contains(sent[0], "Parent="+doc["id"].(string)) {
		t.Errorf("attempts sent %q for subsegment %v", sent, doc["id"])
	}
	if status := doc["http"].(map[string]any)["response"].(map[string]any)["status"]; status != 200.0 || doc["fault"] != nil || doc["aws"].(map[string]any)["request_id"] != "req-1" {
		t.Errorf("subsegment %v", doc)
	}
	if extra := d.next(100 * time.Millisecond); extra != nil {
		t.Errorf("a second subsegment for one call: %v", extra)
	}

	denied := newService(t, func(int) int { return http.StatusBadRequest })
	cfg = config(denied.url)
	Instrument(&cfg)
	if _, err := ecs.NewFromConfig(cfg).ListClusters(invocation("1"), &ecs.ListClustersInput{}); err == nil {
		t.Fatal("400 accepted")
	}
	doc = d.next(5 * time.Second)
	if doc == nil || doc["error"] != true || doc["fault"] != true || doc["cause"] == nil {
		t.Errorf("failed call: subsegment %v", doc)
	}
}

// Untraced invocations (no header: local runs, tests, the CLI; Sampled=0:
// tracing passed through, the local Lambda) send nothing to the daemon and
// no trace header.
func TestUntracedCallsUntouched(t *testing.T) {
	d := newDaemon(t)
	svc := newService(t, ok)
	cfg := config(svc.url)
	Instrument(&cfg)
	for _, ctx := range []context.Context{context.Background(), invocation("0")} {
		if _, err := ecs.NewFromConfig(cfg).ListClusters(ctx, &ecs.ListClustersInput{}); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("AWS_XRAY_SDK_DISABLED", "true")
	if _, err := ecs.NewFromConfig(cfg).ListClusters(invocation("1"), &ecs.ListClustersInput{}); err != nil {
		t.Fatal(err)
	}
	if doc := d.next(200 * time.Millisecond); doc != nil {
		t.Errorf("untraced call recorded: %v", doc)
	}
	for _, h := range svc.sent() {
		if h != "" {
			t.Errorf("untraced call sent trace header %q", h)
		}
	}
}

// The subsegment is the document the X-Ray SDK's own instrumentation
// (awsv2, through package xray) sends for the same call in a Lambda
// invocation: same fields, same values but the ids and times.
func TestSameDocumentAsXRaySDK(t *testing.T) {
	d := newDaemon(t)
	if err := xray.Configure(xray.Config{DaemonAddr: d.conn.LocalAddr().String()}); err != nil {
		t.Fatal(err)
	}
	svc := newService(t, ok)
	ours, theirs := config(svc.url), config(svc.url)
	Instrument(&ours)
	awsv2.AWSV2Instrumentor(&theirs.APIOptions)
	var docs []map[string]any
	for _, cfg := range []aws.Config{ours, theirs} {
		if _, err := ecs.NewFromConfig(cfg).ListClusters(invocation("1"), &ecs.ListClustersInput{}); err != nil {
			t.Fatal(err)
		}
		doc := d.next(5 * time.Second)
		if doc == nil {
			t.Fatal("no subsegment")
		}
		for _, k := range []string{"id", "start_time", "end_time"} {
			if doc[k] == nil {
				t.Errorf("no %s in %v", k, doc)
			}
			delete(doc, k)
		}
		if doc["Dummy"] == false {
			delete(doc, "Dummy") // xray's Segment exports this field by mistake
		}
		docs = append(docs, doc)
	}
	a, _ := json.Marshal(docs[0])
	b, _ := json.Marshal(docs[1])
	if string(a) != string(b) {
		t.Errorf("subsegments differ:\nours:   %s\nX-Ray SDK: %s", a, b)
	}
	sent := svc.sent()
	if len(sent) != 2 || !strings.HasPrefix(sent[1], "Root="+traceRoot+";Parent=") || !strings.HasSuffix(sent[1], ";Sampled=1") ||
		len(sent[0]) != len(sent[1]) {
		t.Errorf("trace headers: ours %q, X-Ray SDK %q", sent[0], sent[1])
	}
}
