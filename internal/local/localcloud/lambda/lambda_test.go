package lambda_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	awsl "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/google/go-cmp/cmp"

	awslambda "github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/pushdeploy/pushdeploy/internal/app/clock"
	"github.com/pushdeploy/pushdeploy/internal/local/localcloud"
	"github.com/pushdeploy/pushdeploy/internal/local/localcloud/lambda"
	"github.com/pushdeploy/pushdeploy/internal/local/localcloud/localtest"
)

type env struct {
	server *localcloud.Server
	svc    *lambda.Service
	client *awsl.Client
	log    *localcloud.CallLog
	clk    *clock.Virtual
	url    string
}

func setup(t *testing.T, opts lambda.Options) *env { return setupB(t, opts) }

func setupB(t testing.TB, opts lambda.Options) *env {
	t.Helper()
	clk := clock.NewVirtual(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	opts.Clock = clk
	svc, err := lambda.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	log := localcloud.NewCallLog(nil)
	server := localtest.NewServer(clk, log)
	server.AddREST(svc)
	server.Lend = svc.Lend
	url := localtest.Serve(t, server)
	svc.SetEndpoint(url)
	t.Cleanup(func() { svc.Close() }) // before the server closes
	client := awsl.NewFromConfig(localtest.Config(url))
	return &env{server: server, svc: svc, client: client, log: log, clk: clk, url: url}
}

// DeployError is a named error: its type name is the errorType.
type DeployError struct{ Service string }

func (e *DeployError) Error() string { return "cannot deploy " + e.Service }

type valueError string

func (e valueError) Error() string { return string(e) }

func TestInProcessInvoke(t *testing.T) {
	e := setup(t, lambda.Options{})
	ctx := context.Background()
	e.svc.RegisterInProcess("echo", awslambda.NewHandler(func(ctx context.Context, in map[string]any) (map[string]any, error) {
		lc, _ := lambdacontext.FromContext(ctx)
		switch in["op"] {
		case "fail":
			return nil, &DeployError{Service: "web"}
		case "value":
			return nil, valueError("plain")
		case "wrapped":
			return nil, fmt.Errorf("wrap: %w", &DeployError{Service: "api"})
		case "panic":
			panic("kaboom")
		}
		return map[string]any{"in": in, "arn": lc.InvokedFunctionArn, "id": lc.AwsRequestID != ""}, nil
	}))
	if _, err := e.client.CreateFunction(ctx, &awsl.CreateFunctionInput{
		FunctionName: aws.String("echo"), Role: aws.String("arn:aws:iam::123456789012:role/r"),
		Runtime: types.RuntimeProvidedal2023, Handler: aws.String("bootstrap"), Code: &types.FunctionCode{},
	}); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name      string
		function  string
		payload   string
		wantErr   string // service error type
		wantFnErr string
		want      string // JSON
	}{
		{name: "ok", function: "echo", payload: `{"op":"hi"}`,
			want: `{"in":{"op":"hi"},"arn":"arn:aws:lambda:us-east-1:123456789012:function:echo","id":true}`},
		{name: "by arn", function: "arn:aws:lambda:us-east-1:123456789012:function:echo", payload: `{"op":"x"}`,
			want: `{"in":{"op":"x"},"arn":"arn:aws:lambda:us-east-1:123456789012:function:echo","id":true}`},
		{name: "named error", function: "echo", payload: `{"op":"fail"}`, wantFnErr: "Unhandled",
			want: `{"errorMessage":"cannot deploy web","errorType":"DeployError"}`},
		{name: "value error", function: "echo", payload: `{"op":"value"}`, wantFnErr: "Unhandled",
			want: `{"errorMessage":"plain","errorType":"valueError"}`},
		{name: "wrapped error is outermost type", function: "echo", payload: `{"op":"wrapped"}`, wantFnErr: "Unhandled",
			want: `{"errorMessage":"wrap: cannot deploy api","errorType":"wrapError"}`},
		{name: "unknown function", function: "nope", payload: `{}`, wantErr: "ResourceNotFoundException"},
		{name: "bad qualifier", function: "echo:v7", payload: `{}`, wantErr: "ResourceNotFoundException"},
		{name: "bad json", function: "echo", payload: `{nope`, wantErr: "InvalidRequestContentException"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := e.client.Invoke(ctx, &awsl.InvokeInput{FunctionName: aws.String(tc.function), Payload: []byte(tc.payload)})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := aws.ToString(out.FunctionError); got != tc.wantFnErr {
				t.Errorf("FunctionError = %q, want %q", got, tc.wantFnErr)
			}
			if out.StatusCode != 200 || aws.ToString(out.ExecutedVersion) != "$LATEST" {
				t.Errorf("status %d version %q", out.StatusCode, aws.ToString(out.ExecutedVersion))
			}
			jsonEq(t, string(out.Payload), tc.want)
		})
	}

	t.Run("panic", func(t *testing.T) {
		out, err := e.client.Invoke(ctx, &awsl.InvokeInput{FunctionName: aws.String("echo"), Payload: []byte(`{"op":"panic"}`)})
		if err != nil {
			t.Fatal(err)
		}
		var p struct {
			ErrorMessage, ErrorType string
			StackTrace              []any
		}
		json.Unmarshal(out.Payload, &p)
		if aws.ToString(out.FunctionError) != "Unhandled" || p.ErrorType != "string" || p.ErrorMessage != "kaboom" || len(p.StackTrace) == 0 {
			t.Errorf("got %s", out.Payload)
		}
	})
	if n := e.log.Count("lambda", "Invoke"); n < len(tests) {
		t.Errorf("call log has %d Invoke calls", n)
	}
}

func jsonEq(t *testing.T, got, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal([]byte(got), &g); err != nil {
		t.Fatalf("got is not JSON: %s", got)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("want is not JSON: %s", want)
	}
	if d := cmp.Diff(w, g); d != "" {
		t.Errorf("payload (-want +got):\n%s", d)
	}
}

func TestFunctionAPI(t *testing.T) {
	e := setup(t, lambda.Options{Factory: func(ctx context.Context, fn lambda.FunctionConfig) (awslambda.Handler, error) {
		return awslambda.NewHandler(func() (string, error) { return fn.Getenv("GREETING"), nil }), nil
	}})
	ctx := context.Background()
	for _, n := range []string{"c", "a", "b"} {
		_, err := e.client.CreateFunction(ctx, &awsl.CreateFunctionInput{
			FunctionName: aws.String(n), Role: aws.String("arn:aws:iam::123456789012:role/r"),
			Environment: &types.Environment{Variables: map[string]string{"GREETING": "hello " + n}},
			Tags:        map[string]string{"app": "pushdeploy"}, Code: &types.FunctionCode{},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err := e.client.CreateFunction(ctx, &awsl.CreateFunctionInput{FunctionName: aws.String("a"), Role: aws.String("r"), Code: &types.FunctionCode{}})
	var conflict *types.ResourceConflictException
	if !errors.As(err, &conflict) {
		t.Errorf("duplicate create: %v", err)
	}
	_, err = e.client.CreateFunction(ctx, &awsl.CreateFunctionInput{FunctionName: aws.String("d"), Role: aws.String("r"), Code: &types.FunctionCode{},
		Environment: &types.Environment{Variables: map[string]string{"AWS_REGION": "eu-west-1"}}})
	var invalid *types.InvalidParameterValueException
	if !errors.As(err, &invalid) {
		t.Errorf("reserved variable: %v", err)
	}

	var names []string
	p := awsl.NewListFunctionsPaginator(e.client, &awsl.ListFunctionsInput{MaxItems: aws.Int32(2)})
	pages := 0
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, f := range page.Functions {
			names = append(names, aws.ToString(f.FunctionName))
		}
	}
	if d := cmp.Diff([]string{"a", "b", "c"}, names); d != "" || pages != 2 {
		t.Errorf("list (-want +got) %s, pages %d", d, pages)
	}

	got, err := e.client.GetFunction(ctx, &awsl.GetFunctionInput{FunctionName: aws.String("b")})
	if err != nil {
		t.Fatal(err)
	}
	c := got.Configuration
	if aws.ToString(c.FunctionArn) != "arn:aws:lambda:us-east-1:123456789012:function:b" || aws.ToInt32(c.Timeout) != 3 ||
		c.Environment.Variables["GREETING"] != "hello b" || got.Tags["app"] != "pushdeploy" || c.State != types.StateActive {
		t.Errorf("GetFunction: %+v tags %v", c, got.Tags)
	}

	invoke := func(name string) string {
		out, err := e.client.Invoke(ctx, &awsl.InvokeInput{FunctionName: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		return string(out.Payload)
	}
	if s := invoke("b"); s != `"hello b"` {
		t.Errorf("invoke b = %s", s)
	}
	if _, err := e.client.UpdateFunctionConfiguration(ctx, &awsl.UpdateFunctionConfigurationInput{
		FunctionName: aws.String("b"), Environment: &types.Environment{Variables: map[string]string{"GREETING": "bonjour"}},
	}); err != nil {
		t.Fatal(err)
	}
	if s := invoke("b"); s != `"bonjour"` {
		t.Errorf("after update, invoke b = %s", s)
	}

	perm, err := e.client.AddPermission(ctx, &awsl.AddPermissionInput{FunctionName: aws.String("b"), StatementId: aws.String("events"),
		Action: aws.String("lambda:InvokeFunction"), Principal: aws.String("events.amazonaws.com"), SourceArn: aws.String("arn:aws:events:us-east-1:123456789012:rule/r")})
	if err != nil || !strings.Contains(aws.ToString(perm.Statement), "events.amazonaws.com") {
		t.Errorf("AddPermission: %v %v", perm, err)
	}

	if _, err := e.client.DeleteFunction(ctx, &awsl.DeleteFunctionInput{FunctionName: aws.String("b")}); err != nil {
		t.Fatal(err)
	}
	_, err = e.client.GetFunction(ctx, &awsl.GetFunctionInput{FunctionName: aws.String("b")})
	var nf *types.ResourceNotFoundException
	if !errors.As(err, &nf) {
		t.Errorf("after delete: %v", err)
	}
}

func TestEventInvokeRetries(t *testing.T) {
	var mu sync.Mutex
	calls := 0
	e := setup(t, lambda.Options{})
	stop := e.clk.AutoAdvance(0)
	defer stop()
	e.svc.RegisterInProcess("flaky", awslambda.NewHandler(func() error {
		mu.Lock()
		defer mu.Unlock()
		calls++
		return &DeployError{Service: "x"}
	}))
	ctx := context.Background()
	if _, err := e.client.CreateFunction(ctx, &awsl.CreateFunctionInput{FunctionName: aws.String("flaky"), Role: aws.String("r"), Code: &types.FunctionCode{}}); err != nil {
		t.Fatal(err)
	}
	start := e.clk.Now()
	out, err := e.client.Invoke(ctx, &awsl.InvokeInput{FunctionName: aws.String("flaky"), InvocationType: types.InvocationTypeEvent, Payload: []byte(`{}`)})
	if err != nil || out.StatusCode != 202 {
		t.Fatalf("event invoke: %v %v", out, err)
	}
	// One try and two retries, a minute and then two minutes apart on the clock.
	for i := 0; ; i++ {
		mu.Lock()
		n := calls
		mu.Unlock()
		if n == 3 && e.clk.Pending() == 0 {
			break
		}
		if i > 5000 {
			t.Fatalf("calls = %d", n)
		}
		e.clk.Sleep(ctx, time.Second)
	}
	if d := e.clk.Now().Sub(start); d < 3*time.Minute {
		t.Errorf("retries took %s of clock time, want at least 3m", d)
	}
}

// buildFunction builds testdata/fn, a function written with aws-lambda-go.
func buildFunction(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	out := filepath.Join(dir, "bootstrap")
	cmd := exec.Command("go", "build", "-o", out, "./testdata/fn")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build test function: %v\n%s", err, b)
	}
	return out
}

func zipOf(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.Create("bootstrap") // no mode bits: the service must make it executable
	if err != nil {
		t.Fatal(err)
	}
	w.Write(b)
	zw.Close()
	return buf.Bytes()
}

type fnOut struct {
	Op        string `json:"op"`
	Value     string `json:"value"`
	PID       int    `json:"pid"`
	RequestID string `json:"requestId"`
	ARN       string `json:"arn"`
	Trace     string `json:"trace"`
	DeadlineS int    `json:"deadlineS"`
}

func TestBinaryMode(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a Lambda binary")
	}
	bin := buildFunction(t)
	var logs localtest.Buffer
	e := setup(t, lambda.Options{Logs: &logs})
	ctx := context.Background()
	_, err := e.client.CreateFunction(ctx, &awsl.CreateFunctionInput{
		FunctionName: aws.String("zipped"), Role: aws.String("r"), Runtime: types.RuntimeProvidedal2023, Handler: aws.String("bootstrap"),
		Code:        &types.FunctionCode{ZipFile: zipOf(t, bin)},
		Timeout:     aws.Int32(5),
		Environment: &types.Environment{Variables: map[string]string{"STAGE": "test"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	// The local-only way: a bootstrap on disk, named by a variable.
	if _, err := e.client.CreateFunction(ctx, &awsl.CreateFunctionInput{
		FunctionName: aws.String("ondisk"), Role: aws.String("r"), Timeout: aws.Int32(1), Code: &types.FunctionCode{},
		Environment: &types.Environment{Variables: map[string]string{lambda.BinaryEnv: bin}},
	}); err != nil {
		t.Fatal(err)
	}

	invoke := func(fn, payload string) (*awsl.InvokeOutput, fnOut) {
		t.Helper()
		out, err := e.client.Invoke(ctx, &awsl.InvokeInput{FunctionName: aws.String(fn), Payload: []byte(payload)})
		if err != nil {
			t.Fatal(err)
		}
		var o fnOut
		if out.FunctionError == nil {
			if err := json.Unmarshal(out.Payload, &o); err != nil {
				t.Fatalf("payload %s: %v", out.Payload, err)
			}
		}
		return out, o
	}

	out, first := invoke("zipped", `{"op":"echo"}`)
	if first.ARN != "arn:aws:lambda:us-east-1:123456789012:function:zipped" || first.RequestID == "" ||
		!requestIDIs(out, first.RequestID) || !strings.HasPrefix(first.Trace, "Root=1-") || first.DeadlineS != 5 {
		t.Errorf("context seen by the function: %+v", first)
	}

	t.Run("env", func(t *testing.T) {
		for key, want := range map[string]string{
			"STAGE": "test", "AWS_ENDPOINT_URL": e.url, "AWS_LAMBDA_FUNCTION_NAME": "zipped", "AWS_REGION": "us-east-1",
			"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128", "_HANDLER": "bootstrap",
		} {
			if _, o := invoke("zipped", fmt.Sprintf(`{"op":"env","key":%q}`, key)); o.Value != want {
				t.Errorf("%s = %q, want %q", key, o.Value, want)
			}
		}
		if _, o := invoke("ondisk", fmt.Sprintf(`{"op":"env","key":%q}`, lambda.BinaryEnv)); o.Value != "" {
			t.Errorf("local-only variable leaked into the function: %q", o.Value)
		}
	})

	t.Run("warm reuse", func(t *testing.T) {
		_, again := invoke("zipped", `{"op":"echo"}`)
		if again.PID != first.PID || again.RequestID == first.RequestID {
			t.Errorf("pid %d then %d; request ids %s %s", first.PID, again.PID, first.RequestID, again.RequestID)
		}
	})

	t.Run("function error", func(t *testing.T) {
		out, _ := invoke("zipped", `{"op":"fail","key":"web"}`)
		if aws.ToString(out.FunctionError) != "Unhandled" {
			t.Fatalf("FunctionError = %v, payload %s", out.FunctionError, out.Payload)
		}
		jsonEq(t, string(out.Payload), `{"errorMessage":"deploy failed: web","errorType":"DeployError"}`)
		_, o := invoke("zipped", `{"op":"echo"}`)
		if o.PID != first.PID {
			t.Errorf("an error must not cost the warm environment")
		}
	})

	t.Run("log tail", func(t *testing.T) {
		out, err := e.client.Invoke(ctx, &awsl.InvokeInput{FunctionName: aws.String("zipped"), Payload: []byte(`{"op":"echo"}`), LogType: types.LogTypeTail})
		if err != nil {
			t.Fatal(err)
		}
		id, _ := awsmiddleware.GetRequestIDMetadata(out.ResultMetadata)
		log, err := base64.StdEncoding.DecodeString(aws.ToString(out.LogResult))
		if err != nil || !strings.HasPrefix(string(log), "START RequestId: "+id+" Version: $LATEST\n") ||
			!strings.Contains(string(log), "\nEND RequestId: "+id+"\nREPORT RequestId: "+id+"\tDuration: ") {
			t.Errorf("log %q (%v)", log, err)
		}
	})

	t.Run("unknown field", func(t *testing.T) {
		out, _ := invoke("zipped", `{"op":"echo","extra":1}`)
		if aws.ToString(out.FunctionError) != "Unhandled" || !strings.Contains(string(out.Payload), "extra") {
			t.Errorf("got %v %s", out.FunctionError, out.Payload)
		}
	})

	t.Run("panic then a fresh environment", func(t *testing.T) {
		out, _ := invoke("zipped", `{"op":"panic","key":"x"}`)
		if aws.ToString(out.FunctionError) != "Unhandled" || !strings.Contains(string(out.Payload), `"errorMessage":"boom x"`) {
			t.Errorf("got %v %s", out.FunctionError, out.Payload)
		}
		_, o := invoke("zipped", `{"op":"echo"}`)
		if o.PID == first.PID || o.PID == 0 {
			t.Errorf("after a panic the process must be new: pid %d", o.PID)
		}
	})

	t.Run("exit", func(t *testing.T) {
		out, _ := invoke("zipped", `{"op":"exit"}`)
		if !strings.Contains(string(out.Payload), `"errorType":"Runtime.ExitError"`) {
			t.Errorf("got %v %s", out.FunctionError, out.Payload)
		}
		if _, o := invoke("zipped", `{"op":"echo"}`); o.Op != "echo" {
			t.Errorf("no recovery after exit: %+v", o)
		}
	})

	t.Run("timeout", func(t *testing.T) {
		out, _ := invoke("ondisk", `{"op":"sleep","ms":3000}`)
		if !strings.Contains(string(out.Payload), `"errorType":"Sandbox.Timedout"`) {
			t.Errorf("got %v %s", out.FunctionError, out.Payload)
		}
	})

	t.Run("update configuration restarts", func(t *testing.T) {
		if _, err := e.client.UpdateFunctionConfiguration(ctx, &awsl.UpdateFunctionConfigurationInput{
			FunctionName: aws.String("zipped"), Environment: &types.Environment{Variables: map[string]string{"STAGE": "prod"}},
		}); err != nil {
			t.Fatal(err)
		}
		if _, o := invoke("zipped", `{"op":"env","key":"STAGE"}`); o.Value != "prod" {
			t.Errorf("STAGE = %q after update", o.Value)
		}
	})

	t.Run("concurrent", func(t *testing.T) {
		var wg sync.WaitGroup
		errs := make(chan error, 4)
		for i := 0; i < 4; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				out, err := e.client.Invoke(ctx, &awsl.InvokeInput{FunctionName: aws.String("zipped"), Payload: []byte(`{"op":"sleep","ms":50}`)})
				if err == nil && out.FunctionError != nil {
					err = fmt.Errorf("function error %s", out.Payload)
				}
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Error(err)
			}
		}
	})
	if !strings.Contains(logs.String(), "zipped: ") {
		t.Errorf("function logs not captured: %q", logs.String())
	}
}

func requestIDIs(out *awsl.InvokeOutput, id string) bool {
	got, _ := awsmiddleware.GetRequestIDMetadata(out.ResultMetadata)
	return got == id
}

// TestAWSCLI drives the local Lambda with the AWS CLI on the machine, an
// independent client (botocore's REST-JSON).
func TestAWSCLI(t *testing.T) {
	localtest.NeedAWSCLI(t)
	bin := buildFunction(t)
	e := setup(t, lambda.Options{})
	dir := t.TempDir()
	zipPath := filepath.Join(dir, "fn.zip")
	if err := os.WriteFile(zipPath, zipOf(t, bin), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) string {
		t.Helper()
		return string(localtest.AWSCLI(t, e.url, args...))
	}
	run("lambda", "create-function", "--function-name", "cli", "--runtime", "provided.al2023", "--handler", "bootstrap",
		"--role", "arn:aws:iam::123456789012:role/r", "--zip-file", "fileb://"+zipPath)
	outFile := filepath.Join(dir, "out.json")
	for _, tc := range []struct{ payload, meta, body string }{
		{`{"op":"env","key":"STAGE"}`, `"StatusCode": 200`, `"op":"env"`},
		{`{"op":"fail","key":"cli"}`, `"FunctionError": "Unhandled"`, `{"errorMessage":"deploy failed: cli","errorType":"DeployError"}`},
	} {
		meta := run("lambda", "invoke", "--function-name", "cli", "--payload", tc.payload, outFile)
		body, _ := os.ReadFile(outFile)
		if !strings.Contains(meta, tc.meta) || !strings.Contains(string(body), tc.body) {
			t.Errorf("invoke %s: %s %s", tc.payload, meta, body)
		}
	}
	if out := run("lambda", "list-functions"); !strings.Contains(out, `"FunctionName": "cli"`) {
		t.Errorf("list-functions: %s", out)
	}
}

// BenchmarkInvoke measures a synchronous Invoke through the SDK and the
// local cloud's server: in-process, and a warm bootstrap process.
func BenchmarkInvoke(b *testing.B) {
	ctx := context.Background()
	b.Run("in-process", func(b *testing.B) {
		e := setupB(b, lambda.Options{})
		e.svc.RegisterInProcess("fn", awslambda.NewHandler(func(in map[string]any) (map[string]any, error) { return in, nil }))
		if _, err := e.svc.CreateFunction(ctx, lambda.CreateInput{Name: "fn"}); err != nil {
			b.Fatal(err)
		}
		benchInvoke(b, e, "fn", `{"op":"echo"}`)
	})
	b.Run("binary-warm", func(b *testing.B) {
		dir := b.TempDir()
		bin := filepath.Join(dir, "bootstrap")
		if out, err := exec.Command("go", "build", "-o", bin, "./testdata/fn").CombinedOutput(); err != nil {
			b.Fatalf("%v\n%s", err, out)
		}
		e := setupB(b, lambda.Options{})
		if _, err := e.svc.CreateFunction(ctx, lambda.CreateInput{Name: "fn", Binary: bin}); err != nil {
			b.Fatal(err)
		}
		benchInvoke(b, e, "fn", `{"op":"echo"}`)
	})
}

func benchInvoke(b *testing.B, e *env, fn, payload string) {
	ctx := context.Background()
	in := &awsl.InvokeInput{FunctionName: aws.String(fn), Payload: []byte(payload)}
	if _, err := e.client.Invoke(ctx, in); err != nil { // cold start outside the timing
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		out, err := e.client.Invoke(ctx, in)
		if err != nil || out.FunctionError != nil {
			b.Fatalf("%v %s", err, out.Payload)
		}
	}
}

// TestLatencyInsideInvocation: a function's own call with injected latency
// lets the clock pass that latency while the invocation waits (the function
// lends its hold on the clock), in-process and as a process.
func TestLatencyInsideInvocation(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a Lambda binary")
	}
	bin := buildFunction(t)
	e := setup(t, lambda.Options{Factory: func(ctx context.Context, fn lambda.FunctionConfig) (awslambda.Handler, error) {
		// As the wiring layer builds in-process handlers: config from the function's environment.
		client := awsl.NewFromConfig(fn.AWSConfig())
		return awslambda.NewHandler(func(ctx context.Context) (fnOut, error) {
			out, err := client.ListFunctions(ctx, &awsl.ListFunctionsInput{})
			if err != nil {
				return fnOut{}, err
			}
			return fnOut{Op: "list", Value: fmt.Sprint(len(out.Functions))}, nil
		}), nil
	}})
	stop := e.clk.AutoAdvance(0)
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := e.svc.CreateFunction(ctx, lambda.CreateInput{Name: "inproc"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.CreateFunction(ctx, lambda.CreateInput{Name: "proc", Binary: bin, Timeout: 10 * time.Second}); err != nil {
		t.Fatal(err)
	}
	e.server.Faults.AddLatency(localcloud.Latency{Service: "lambda", Operation: "ListFunctions", Delay: time.Minute})
	for _, fn := range []string{"inproc", "proc"} {
		t.Run(fn, func(t *testing.T) {
			before := e.clk.Now()
			out, err := e.client.Invoke(ctx, &awsl.InvokeInput{FunctionName: aws.String(fn), Payload: []byte(`{"op":"list"}`)})
			if err != nil {
				t.Fatal(err)
			}
			var o fnOut
			json.Unmarshal(out.Payload, &o)
			if out.FunctionError != nil || o.Value != "2" {
				t.Fatalf("payload %s", out.Payload)
			}
			if d := e.clk.Now().Sub(before); d < time.Minute {
				t.Errorf("the clock moved %s, want the injected minute", d)
			}
		})
	}
}
