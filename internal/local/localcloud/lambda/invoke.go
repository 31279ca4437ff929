package lambda

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	awslambda "github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/pushdeploy/pushdeploy/internal/local/localcloud/awsproto"
)

// Payload limits, as on AWS.
const (
	maxSyncPayload  = 6 * 1024 * 1024
	maxAsyncPayload = 256 * 1024
)

// Invocation is one call of a function.
type Invocation struct {
	Payload       []byte
	ClientContext string // base64 JSON, as in X-Amz-Client-Context
	TraceID       string // X-Amzn-Trace-Id of the caller; a new trace when empty
}

// Result is what a synchronous invocation returns. A function error is not
// a Go error: FunctionError is "Unhandled" and Payload holds
// {"errorMessage","errorType"} as the runtime reported it.
type Result struct {
	RequestID       string
	Payload         []byte
	FunctionError   string
	ExecutedVersion string
	Log             []byte // the invocation's log lines, at most the last 4 KB (LogType Tail)
}

// ErrorType is the errorType of a function error's payload, or "".
func (r Result) ErrorType() string {
	if r.FunctionError == "" {
		return ""
	}
	var e struct {
		ErrorType string `json:"errorType"`
	}
	json.Unmarshal(r.Payload, &e)
	return e.ErrorType
}

// function is a function and its warm execution environments.
type function struct {
	svc *Service

	mu      sync.Mutex
	cfg     FunctionConfig
	idle    []*sandbox
	active  int
	gen     int               // bumped when config or code changes: older environments retire
	handler awslambda.Handler // built by the factory, kept warm
	policy  []permission
	holder  *holder // the clock hold of in-process invocations
	key     string  // access key id of in-process invocations
}

type permission struct {
	sid       string
	statement json.RawMessage
}

func (f *function) config() FunctionConfig {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.cfg
}

// reset retires every warm environment and the cached in-process handler.
func (f *function) reset() {
	f.mu.Lock()
	idle := f.idle
	f.idle, f.handler = nil, nil
	f.gen++
	f.mu.Unlock()
	for _, sb := range idle {
		sb.kill()
	}
}

// Invoke runs a function synchronously (InvocationType RequestResponse).
// The error is an *awsproto.Error for what AWS reports as a service error
// (unknown function, throttling, bad payload); function errors are in the
// Result.
func (s *Service) Invoke(ctx context.Context, name string, inv Invocation) (Result, error) {
	f, err := s.lookup(name)
	if err != nil {
		return Result{}, err
	}
	if err := checkPayload(&inv, maxSyncPayload); err != nil {
		return Result{}, err
	}
	// Served over HTTP, the server's hold on the clock moves to the
	// invocation, which lets go of it while the function waits on calls.
	req := awsproto.RequestFrom(ctx).Hold
	hold := req.Take()
	if hold == nil {
		hold = s.clk.Busy()
	}
	res, after, err := s.invoke(f, inv, newID(), hold)
	if req != nil {
		req.Give(after)
	} else {
		after()
	}
	return res, err
}

// InvokeAsync queues an Event invocation and returns its request id. It runs
// in the background, with AWS's retries after function errors; the virtual
// clock stays busy until it is done.
func (s *Service) InvokeAsync(ctx context.Context, name string, inv Invocation) (string, error) {
	f, err := s.lookup(name)
	if err != nil {
		return "", err
	}
	if err := checkPayload(&inv, maxAsyncPayload); err != nil {
		return "", err
	}
	id := newID()
	s.startAsync(f.cfg.Name, inv, id, 0)
	return id, nil
}

func checkPayload(inv *Invocation, limit int) error {
	if len(inv.Payload) > limit {
		return &awsproto.Error{Type: "RequestEntityTooLargeException", Status: 413,
			Message: fmt.Sprintf("Request must be smaller than %d bytes for the InvokeFunction operation", limit)}
	}
	if len(strings.TrimSpace(string(inv.Payload))) == 0 {
		inv.Payload = []byte("{}")
	}
	if !json.Valid(inv.Payload) {
		return awsproto.Errorf("InvalidRequestContentException", "Could not parse request body into json: Could not parse payload into json")
	}
	return nil
}

func (s *Service) startAsync(name string, inv Invocation, id string, attempt int) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.async.Add(1)
	s.mu.Unlock()
	hold := s.clk.Busy() // taken before the goroutine starts, so time cannot jump past it
	go func() {
		defer s.async.Done()
		s.runAsync(name, inv, id, attempt, hold)
	}()
}

// runAsync runs an Event invocation; hold is its hold on the clock, released
// when it is done.
func (s *Service) runAsync(name string, inv Invocation, id string, attempt int, hold func()) {
	f, err := s.lookup(name)
	if err != nil {
		hold()
		return // deleted meanwhile: AWS drops the event too
	}
	res, after, err := s.invoke(f, inv, id, hold)
	after()
	if err == nil && res.FunctionError == "" {
		return
	}
	reason := string(res.Payload)
	if err != nil {
		reason = err.Error()
	}
	if attempt >= s.opts.AsyncRetries {
		fmt.Fprintf(s.opts.Logs, "%s: async invocation %s failed after %d attempts: %s\n", name, id, attempt+1, reason)
		return
	}
	// AWS waits about a minute before the first retry and two before the second.
	s.clk.AfterFunc(time.Duration(attempt+1)*time.Minute, func() {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return
		}
		s.async.Add(1)
		s.mu.Unlock()
		defer s.async.Done()
		s.runAsync(name, inv, id, attempt+1, s.clk.Busy())
	})
}

// invoke runs one invocation in-process or in a process, on a warm
// environment when there is one. hold is the caller's hold on the clock,
// handed over; after is one to release or hand back when done.
func (s *Service) invoke(f *function, inv Invocation, id string, hold func()) (res Result, after func(), err error) {
	f.mu.Lock()
	cfg := f.cfg
	if s.opts.MaxConcurrency > 0 && f.active >= s.opts.MaxConcurrency {
		f.mu.Unlock()
		return Result{}, hold, &awsproto.Error{Type: "TooManyRequestsException", Status: 429, Message: "Rate Exceeded."}
	}
	f.active++
	f.mu.Unlock()
	s.invocations.Add(1)
	defer func() {
		f.mu.Lock()
		f.active--
		f.mu.Unlock()
	}()

	c := &call{
		id: id, payload: inv.Payload, timeout: cfg.Timeout, arn: cfg.Arn,
		traceID: inv.TraceID, clientContext: inv.ClientContext, done: make(chan outcome, 1), hold: hold,
	}
	if c.traceID == "" {
		c.traceID = newTraceID(time.Now())
	}
	started := time.Now()
	c.logLine(s.opts.Logs, cfg.Name, fmt.Sprintf("START RequestId: %s Version: $LATEST", id))
	var out outcome
	h, err := s.inProcessHandler(f)
	switch {
	case err != nil:
		out = errorOutcome("Runtime.ExitError", fmt.Sprintf("RequestId: %s Error: Runtime exited with error: %v", id, err))
	case h != nil:
		c.enter(f.holder)
		out = s.runInProcess(h, c)
		c.exit(s.clk, f.holder)
	default:
		out = s.runBinary(f, c)
	}
	took := time.Since(started)
	c.logLine(s.opts.Logs, cfg.Name, "END RequestId: "+id)
	c.logLine(s.opts.Logs, cfg.Name, fmt.Sprintf("REPORT RequestId: %s\tDuration: %.2f ms\tBilled Duration: %d ms\tMemory Size: %d MB",
		id, float64(took.Microseconds())/1000, took.Milliseconds()+1, cfg.MemorySize))
	res = Result{RequestID: id, Payload: out.payload, ExecutedVersion: "$LATEST", Log: c.tail()}
	if out.errType != "" {
		res.FunctionError = "Unhandled"
	}
	return res, c.hold, nil
}

// inProcessHandler returns the handler to run in-process, or nil to run the
// function's binary.
func (s *Service) inProcessHandler(f *function) (awslambda.Handler, error) {
	s.mu.Lock()
	h, ok := s.inProcess[f.cfg.Name]
	s.mu.Unlock()
	if ok {
		return h, nil
	}
	f.mu.Lock()
	cfg, cached, gen := f.cfg, f.handler, f.gen
	f.mu.Unlock()
	if cfg.Binary != "" && !s.opts.InProcess {
		return nil, nil
	}
	if cached != nil {
		return cached, nil
	}
	if s.opts.Factory == nil {
		return nil, fmt.Errorf("no in-process handler for %s", cfg.Name)
	}
	cfg.runtimeEnv = s.runtimeEnv(cfg, filepath.Dir(cfg.Binary), f.key)
	h, err := s.opts.Factory(s.baseCtx, cfg)
	if err != nil {
		return nil, fmt.Errorf("build handler %s: %w", cfg.Name, err)
	}
	f.mu.Lock()
	if f.gen == gen {
		f.handler = h
	}
	f.mu.Unlock()
	return h, nil
}

// runInProcess calls h as aws-lambda-go's runtime loop would: same context
// values, same error payloads, panics reported with their stack.
func (s *Service) runInProcess(h awslambda.Handler, c *call) outcome {
	ctx, cancel := context.WithTimeout(s.baseCtx, c.timeout)
	defer cancel()
	lc := &lambdacontext.LambdaContext{AwsRequestID: c.id, InvokedFunctionArn: c.arn}
	if c.clientContext != "" {
		if b, err := base64.StdEncoding.DecodeString(c.clientContext); err == nil {
			json.Unmarshal(b, &lc.ClientContext)
		}
	}
	ctx = lambdacontext.NewContext(ctx, lc)
	//lint:ignore SA1029 the string key aws-lambda-go itself uses, so handlers find the trace id where it puts it
	ctx = context.WithValue(ctx, "x-amzn-trace-id", c.traceID)
	ch := make(chan outcome, 1)
	go func() {
		defer func() {
			if v := recover(); v != nil {
				ch <- panicOutcome(v)
			}
		}()
		out, err := h.Invoke(ctx, c.payload)
		if err != nil {
			ch <- errorPayload(err)
			return
		}
		ch <- outcome{payload: out}
	}()
	select {
	case o := <-ch:
		return o
	case <-ctx.Done():
		if s.baseCtx.Err() != nil {
			return errorOutcome("Runtime.ExitError", fmt.Sprintf("RequestId: %s Error: the local Lambda is shutting down", c.id))
		}
		return timeoutOutcome(c)
	}
}

// errorPayload is aws-lambda-go's report of a returned error: errorType is
// the Go type name of the outermost error.
func errorPayload(err error) outcome {
	if ive, ok := err.(messages.InvokeResponse_Error); ok {
		return marshalError(&ive)
	}
	return marshalError(&messages.InvokeResponse_Error{Message: err.Error(), Type: typeName(err)})
}

func panicOutcome(v any) outcome {
	if ive, ok := v.(messages.InvokeResponse_Error); ok {
		return marshalError(&ive)
	}
	pcs := make([]uintptr, 32)
	n := runtime.Callers(3, pcs)
	var stack []*messages.InvokeResponse_Error_StackFrame
	frames := runtime.CallersFrames(pcs[:n])
	for {
		fr, more := frames.Next()
		label := fr.Function[strings.LastIndex(fr.Function, "/")+1:]
		label = label[strings.Index(label, ".")+1:]
		stack = append(stack, &messages.InvokeResponse_Error_StackFrame{Path: fr.File, Line: int32(fr.Line), Label: label})
		if !more {
			break
		}
	}
	return marshalError(&messages.InvokeResponse_Error{Message: fmt.Sprintf("%v", v), Type: typeName(v), StackTrace: stack})
}

func typeName(v any) string {
	t := reflect.TypeOf(v)
	if t.Kind() == reflect.Pointer {
		return t.Elem().Name()
	}
	return t.Name()
}

func marshalError(e *messages.InvokeResponse_Error) outcome {
	b, err := json.Marshal(e)
	if err != nil {
		b, _ = json.Marshal(&messages.InvokeResponse_Error{Type: "Runtime.SerializationError", Message: err.Error()})
	}
	typ := e.Type
	if typ == "" {
		typ = "Unhandled"
	}
	return outcome{payload: b, errType: typ}
}

func errorOutcome(typ, msg string) outcome {
	return marshalError(&messages.InvokeResponse_Error{Type: typ, Message: msg})
}

func timeoutOutcome(c *call) outcome {
	return errorOutcome("Sandbox.Timedout", fmt.Sprintf("RequestId: %s Error: Task timed out after %.2f seconds", c.id, c.timeout.Seconds()))
}

// runtimeEnv is the environment Lambda gives a function's process on top of
// its own variables.
func (s *Service) runtimeEnv(cfg FunctionConfig, taskRoot, accessKey string) map[string]string {
	s.mu.Lock()
	endpoint := s.endpoint
	s.mu.Unlock()
	now := s.clk.Now().UTC()
	env := map[string]string{
		"AWS_REGION":                      s.opts.Region,
		"AWS_DEFAULT_REGION":              s.opts.Region,
		"AWS_LAMBDA_FUNCTION_NAME":        cfg.Name,
		"AWS_LAMBDA_FUNCTION_VERSION":     "$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": strconv.Itoa(int(cfg.MemorySize)),
		"AWS_LAMBDA_LOG_GROUP_NAME":       "/aws/lambda/" + cfg.Name,
		"AWS_LAMBDA_LOG_STREAM_NAME":      now.Format("2006/01/02") + "/[$LATEST]" + strings.ReplaceAll(newID(), "-", ""),
		"AWS_LAMBDA_INITIALIZATION_TYPE":  "on-demand",
		"_HANDLER":                        cfg.Handler,
		"LAMBDA_TASK_ROOT":                taskRoot,
		"LAMBDA_RUNTIME_DIR":              taskRoot,
		"AWS_ACCESS_KEY_ID":               accessKey, // tells the server whose hold on the clock to lend
		"AWS_SECRET_ACCESS_KEY":           "test",
		"AWS_SESSION_TOKEN":               "test",
		"TZ":                              ":UTC",
		"LANG":                            "en_US.UTF-8",
		// Keep the host's AWS profiles out of the function.
		"AWS_CONFIG_FILE":             "/dev/null",
		"AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
		"AWS_XRAY_CONTEXT_MISSING":    "LOG_ERROR",
		"AWS_XRAY_DAEMON_ADDRESS":     "127.0.0.1:2000",
	}
	if cfg.LogFormat == "JSON" {
		env["AWS_LAMBDA_LOG_FORMAT"] = "JSON"
	}
	if endpoint != "" {
		// The local cloud wins over a template's value: everything stays local.
		env["AWS_ENDPOINT_URL"] = endpoint
	}
	return env
}

// call is one invocation on its way through an execution environment.
type call struct {
	id            string
	payload       []byte
	timeout       time.Duration
	arn           string
	traceID       string
	clientContext string
	done          chan outcome
	hold          func() // the invocation's hold on the clock while no holder has it

	logMu sync.Mutex
	log   []byte
}

// logLine writes a line of the invocation's log to out and keeps it for Tail.
func (c *call) logLine(out io.Writer, name, line string) {
	fmt.Fprintf(out, "%s: %s\n", name, line)
	c.keep(line)
}

func (c *call) keep(line string) {
	c.logMu.Lock()
	defer c.logMu.Unlock()
	c.log = append(c.log, line...)
	c.log = append(c.log, '\n')
	if n := len(c.log); n > 8192 {
		c.log = append([]byte(nil), c.log[n-4096:]...)
	}
}

// tail is the last 4 KB of the log, as LogType Tail returns it.
func (c *call) tail() []byte {
	c.logMu.Lock()
	defer c.logMu.Unlock()
	if n := len(c.log); n > 4096 {
		return append([]byte(nil), c.log[n-4096:]...)
	}
	return append([]byte(nil), c.log...)
}

// outcome is what the runtime reported: a response, or an error payload
// with its type.
type outcome struct {
	payload []byte
	errType string
}

func newID() string {
	var b [16]byte
	rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// newTraceID makes an X-Ray trace header for an invocation that has none.
func newTraceID(now time.Time) string {
	var b [20]byte
	rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return fmt.Sprintf("Root=1-%08x-%s;Parent=%s;Sampled=0", now.Unix(), h[:24], h[24:40])
}

// InvokeEvent delivers an EventBridge event to a function as an Event
// invocation: queued, not awaited (eventbridge.Invoker).
func (s *Service) InvokeEvent(ctx context.Context, functionARN string, payload []byte) error {
	_, err := s.InvokeAsync(ctx, functionARN, Invocation{Payload: payload})
	return err
}
