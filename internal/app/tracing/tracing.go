// Package tracing records an AWS X-Ray subsegment for every AWS SDK call a
// function makes while its invocation is traced, and passes the trace on to
// the service called. It is the only package that knows X-Ray.
//
// It is the X-Ray SDK's own aws-sdk-go-v2 instrumentation (awsv2: a
// subsegment per call opened in the Initialize step, the trace header and
// the response captured per attempt in the Deserialize step), with the
// subsegment written here rather than by package xray: xray imports gRPC,
// protobuf and fasthttp for its other integrations, which made up 9.4 of
// register's 21.4 MB (stripped arm64) and ran their package initialisation
// at each cold start (make bench-functions: the +xray SDK row). From the
// X-Ray SDK this uses the header (the trace header's format) and daemoncfg
// (AWS_XRAY_DAEMON_ADDRESS) packages; the documents are the ones xray emits
// for a Lambda function's subsegments (its "facade" segment is Lambda's own:
// the subsegments name it as their parent), checked against xray's in
// tracing_test.go.
//
// Nothing happens at start-up: a call is traced only when its context
// carries the invocation's trace header with Sampled=1 (in Lambda with
// Tracing: Active, aws-lambda-go puts it there); the daemon's UDP socket is
// dialled by the first traced call. Local runs, tests and the CLI carry no
// header, or Sampled=0 (the local Lambda), and their calls go out untouched.
package tracing

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-xray-sdk-go/v2/daemoncfg"
	"github.com/aws/aws-xray-sdk-go/v2/header"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// LambdaTraceHeaderKey is the context key under which aws-lambda-go puts
// the invocation's X-Amzn-Trace-Id (a plain string, as xray reads it).
const LambdaTraceHeaderKey = "x-amzn-trace-id"

// TraceHeader is the HTTP header that carries the trace downstream.
const TraceHeader = "X-Amzn-Trace-Id"

// Instrument makes every client built from cfg record a subsegment per AWS
// call made in a traced invocation.
func Instrument(cfg *aws.Config) {
	cfg.APIOptions = append(cfg.APIOptions, openSubsegment, captureAttempt)
}

type subsegmentKey struct{}

func openSubsegment(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("PushdeployXRaySubsegment", func(
		ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (
		middleware.InitializeOutput, middleware.Metadata, error) {
		trace := traced(ctx)
		if trace == nil {
			return next.HandleInitialize(ctx, in)
		}
		s := &subsegment{
			Type: "subsegment", ID: newID(), TraceID: trace.TraceID, ParentID: trace.ParentID,
			Name: awsmiddleware.GetServiceID(ctx), Namespace: "aws", StartTime: now(),
			AWS: map[string]any{"operation": awsmiddleware.GetOperationName(ctx), "region": awsmiddleware.GetRegion(ctx)},
		}
		out, md, err := next.HandleInitialize(context.WithValue(ctx, subsegmentKey{}, s), in)
		s.close(err)
		emit(s)
		return out, md, err
	}), middleware.After)
}

func captureAttempt(stack *middleware.Stack) error {
	return stack.Deserialize.Add(middleware.DeserializeMiddlewareFunc("PushdeployXRayAttempt", func(
		ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (
		middleware.DeserializeOutput, middleware.Metadata, error) {
		s, ok := ctx.Value(subsegmentKey{}).(*subsegment)
		if !ok {
			return next.HandleDeserialize(ctx, in)
		}
		if req, ok := in.Request.(*smithyhttp.Request); ok {
			req.Header.Set(TraceHeader, s.downstream())
		}
		out, md, err := next.HandleDeserialize(ctx, in)
		if resp, ok := out.RawResponse.(*smithyhttp.Response); ok {
			s.response(resp, md)
		}
		return out, md, err
	}), middleware.Before)
}

// traced returns the invocation's trace header when ctx's calls are to be
// recorded.
func traced(ctx context.Context) *header.Header {
	v, _ := ctx.Value(LambdaTraceHeaderKey).(string)
	if v == "" || disabled() {
		return nil
	}
	h := header.FromString(v)
	if h.SamplingDecision != header.Sampled || h.TraceID == "" || h.ParentID == "" {
		return nil
	}
	return h
}

// disabled is X-Ray's own switch, AWS_XRAY_SDK_DISABLED.
func disabled() bool { return strings.EqualFold(os.Getenv("AWS_XRAY_SDK_DISABLED"), "true") }

// subsegment is an X-Ray subsegment document, the fields xray's awsv2
// instrumentation sets.
type subsegment struct {
	mu sync.Mutex

	Type      string         `json:"type"`
	ID        string         `json:"id"`
	TraceID   string         `json:"trace_id"`
	ParentID  string         `json:"parent_id"`
	Name      string         `json:"name"`
	Namespace string         `json:"namespace"`
	StartTime float64        `json:"start_time"`
	EndTime   float64        `json:"end_time"`
	Error     bool           `json:"error,omitempty"`
	Throttle  bool           `json:"throttle,omitempty"`
	Fault     bool           `json:"fault,omitempty"`
	Cause     *cause         `json:"cause,omitempty"`
	HTTP      *httpData      `json:"http,omitempty"`
	AWS       map[string]any `json:"aws,omitempty"`
}

type cause struct {
	WorkingDirectory string      `json:"working_directory,omitempty"`
	Exceptions       []exception `json:"exceptions"`
}

type exception struct {
	ID      string `json:"id"`
	Type    string `json:"type,omitempty"`
	Message string `json:"message"`
	Remote  bool   `json:"remote,omitempty"`
}

type httpData struct {
	Response httpResponse `json:"response"`
}

type httpResponse struct {
	Status        int `json:"status,omitempty"`
	ContentLength int `json:"content_length,omitempty"`
}

// downstream is the trace header sent with an attempt: this subsegment is
// the service's parent.
func (s *subsegment) downstream() string {
	return header.Header{TraceID: s.TraceID, ParentID: s.ID, SamplingDecision: header.Sampled}.String()
}

// response records an attempt's response: the last attempt's is the call's
// (xray keeps a retried 5xx's fault on a call that succeeded).
func (s *subsegment) response(resp *smithyhttp.Response, md middleware.Metadata) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.HTTP = &httpData{Response: httpResponse{Status: resp.StatusCode, ContentLength: int(resp.ContentLength)}}
	if id, ok := awsmiddleware.GetRequestIDMetadata(md); ok {
		s.AWS["request_id"] = id
	}
	s.Error, s.Throttle, s.Fault = false, false, false
	switch c := resp.StatusCode; {
	case c == 429:
		s.Error, s.Throttle = true, true
	case c >= 400 && c < 500:
		s.Error = true
	case c >= 500 && c < 600:
		s.Fault = true
	}
}

// close ends the subsegment; a call that failed is a fault with its error,
// as xray's Close records it.
func (s *subsegment) close(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.EndTime = now()
	if err == nil {
		return
	}
	s.Fault = true
	wd, _ := os.Getwd()
	e := exception{ID: newID(), Message: err.Error()}
	var api interface{ ErrorCode() string }
	if errors.As(err, &api) {
		e.Type, e.Remote = api.ErrorCode(), true
	}
	s.Cause = &cause{WorkingDirectory: wd, Exceptions: []exception{e}}
}

// emitHeader starts every document sent to the X-Ray daemon.
const emitHeader = `{"format": "json", "version": 1}` + "\n"

var daemon struct {
	mu   sync.Mutex
	addr string // the AWS_XRAY_DAEMON_ADDRESS conn was dialled for
	conn *net.UDPConn
}

// emit sends s to the X-Ray daemon at AWS_XRAY_DAEMON_ADDRESS (daemoncfg
// reads it as xray does; 127.0.0.1:2000 without it). Like xray, it drops the
// document when the daemon cannot be reached: tracing never fails a call.
func emit(s *subsegment) {
	s.mu.Lock()
	b, err := json.Marshal(s)
	s.mu.Unlock()
	if err != nil {
		return
	}
	if conn := daemonConn(); conn != nil {
		conn.Write(append([]byte(emitHeader), b...))
	}
}

func daemonConn() *net.UDPConn {
	daemon.mu.Lock()
	defer daemon.mu.Unlock()
	addr := os.Getenv("AWS_XRAY_DAEMON_ADDRESS")
	if daemon.conn != nil && daemon.addr == addr {
		return daemon.conn
	}
	if daemon.conn != nil {
		daemon.conn.Close()
		daemon.conn = nil
	}
	daemon.addr = addr
	d, err := daemoncfg.GetDaemonEndpointsFromEnv()
	if err != nil {
		return nil // a malformed address: nothing is sent (xray would panic)
	}
	if d == nil {
		d = daemoncfg.GetDefaultDaemonEndpoints()
	}
	daemon.conn, _ = net.DialUDP("udp", nil, d.UDPAddr)
	return daemon.conn
}

func newID() string {
	var b [8]byte
	for i, v := 0, rand.Uint64(); i < 8; i, v = i+1, v>>8 {
		b[i] = byte(v)
	}
	return hex.EncodeToString(b[:])
}

func now() float64 { return float64(time.Now().UnixNano()) / float64(time.Second) }
