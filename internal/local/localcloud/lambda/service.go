// Package lambda is the local cloud's AWS Lambda: functions whose code is a
// real built `bootstrap` binary, run through the Lambda Runtime API as AWS
// runs it, or Go handlers run in-process for fast tests. It serves the
// Lambda REST-JSON API (2015-03-31) and a Go API for the other local services.
package lambda

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	awslambda "github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/pushdeploy/pushdeploy/internal/app/clock"
	"github.com/pushdeploy/pushdeploy/internal/local/localcloud/awsproto"
)

// BinaryEnv is a local-only environment variable: when a function is created
// with it and without Code.ZipFile, its value is the path of a built
// `bootstrap` on disk, run in place. It is not passed to the process.
const BinaryEnv = "LOCALCLOUD_LAMBDA_BINARY"

// Factory builds the in-process handler of a function that has no
// registered handler; the wiring layer plugs internal/app/handler in here.
type Factory func(ctx context.Context, fn FunctionConfig) (awslambda.Handler, error)

// Options configure the service. Zero values get defaults.
type Options struct {
	Clock   clock.Clock // default clock.Real{}
	Account string      // default 123456789012
	Region  string      // default us-east-1
	// Endpoint is AWS_ENDPOINT_URL for function processes: the local cloud's
	// URL. It may also be set later with SetEndpoint, once the server listens.
	Endpoint string
	// Factory builds in-process handlers for functions created without code.
	Factory Factory
	// InProcess runs every function through Factory even when it has a
	// binary: fast tests of the same template.
	InProcess bool
	// Logs receives the function processes' stdout and stderr, a line at a
	// time prefixed with the function name. Default: discarded.
	Logs io.Writer
	// MaxConcurrency caps the concurrent executions of one function; more
	// are refused with TooManyRequestsException. 0 is no cap.
	MaxConcurrency int
	// AsyncRetries is how many times an Event invocation is retried after a
	// function error (AWS: 2, after 1 and then 2 minutes). -1 is none.
	AsyncRetries int
}

// FunctionConfig is a function as the local cloud holds it.
type FunctionConfig struct {
	Name          string
	Arn           string
	Runtime       string
	Role          string
	Handler       string
	Description   string
	Timeout       time.Duration
	MemorySize    int32
	Environment   map[string]string // the function's variables
	Tags          map[string]string
	Architectures []string
	TracingMode   string
	LogFormat     string
	// Binary is the `bootstrap` to run; empty for in-process functions.
	Binary       string
	CodeSha256   string
	CodeSize     int64
	LastModified time.Time
	RevisionID   string

	runtimeEnv map[string]string
}

// Getenv looks key up as the function's process would see it: its own
// variables, then what Lambda sets (AWS_REGION, AWS_LAMBDA_FUNCTION_NAME,
// AWS_ENDPOINT_URL...). In-process factories use it as their env func.
func (f FunctionConfig) Getenv(key string) string {
	if v, ok := f.runtimeEnv[key]; ok {
		return v
	}
	return f.Environment[key]
}

// AWSConfig is the SDK configuration the function's process would load
// from its environment: region, the local cloud's endpoint and the
// environment's own credentials, by which the local cloud knows the
// function's calls (see Lend). In-process factories build handlers with it.
func (f FunctionConfig) AWSConfig() aws.Config {
	cfg := aws.Config{
		Region: f.Getenv("AWS_REGION"),
		Credentials: credentials.NewStaticCredentialsProvider(
			f.Getenv("AWS_ACCESS_KEY_ID"), f.Getenv("AWS_SECRET_ACCESS_KEY"), f.Getenv("AWS_SESSION_TOKEN")),
	}
	if url := f.Getenv("AWS_ENDPOINT_URL"); url != "" {
		cfg.BaseEndpoint = aws.String(url)
	}
	return cfg
}

// Service is the local Lambda.
type Service struct {
	opts    Options
	clk     clock.Clock
	baseCtx context.Context
	cancel  context.CancelFunc

	mu        sync.Mutex
	endpoint  string
	functions map[string]*function
	inProcess map[string]awslambda.Handler
	keys      map[string]*holder // access key id -> who holds the clock for it
	tmpDirs   []string
	closed    bool
	async     sync.WaitGroup

	invocations atomic.Int64 // every invocation run, for cost figures
}

// Invocations counts the invocations run so far, of every function, however
// they came (API, EventBridge, Step Functions), retries included.
func (s *Service) Invocations() int { return int(s.invocations.Load()) }

// New returns a Lambda service with no functions.
func New(opts Options) (*Service, error) {
	opts.Clock, opts.Account, opts.Region = awsproto.WithDefaults(opts.Clock, opts.Account, opts.Region)
	if opts.Logs == nil {
		opts.Logs = io.Discard
	}
	if opts.AsyncRetries == 0 {
		opts.AsyncRetries = 2
	} else if opts.AsyncRetries < 0 {
		opts.AsyncRetries = 0
	}
	if opts.InProcess && opts.Factory == nil {
		return nil, fmt.Errorf("lambda: in-process mode needs a Factory")
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Service{
		opts: opts, clk: opts.Clock, baseCtx: ctx, cancel: cancel,
		endpoint:  opts.Endpoint,
		functions: map[string]*function{},
		inProcess: map[string]awslambda.Handler{},
		keys:      map[string]*holder{},
	}, nil
}

// Name is the service's name in the call log.
func (s *Service) Name() string { return "lambda" }

// SetEndpoint sets AWS_ENDPOINT_URL for processes started from now on.
func (s *Service) SetEndpoint(url string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.endpoint = url
}

// RegisterInProcess makes the function called name run h in-process,
// whatever code it was created with. A function need not exist yet.
func (s *Service) RegisterInProcess(name string, h awslambda.Handler) {
	s.mu.Lock()
	s.inProcess[name] = h
	f := s.functions[name]
	s.mu.Unlock()
	if f != nil {
		f.reset()
	}
}

// CreateInput is the Go form of CreateFunction.
type CreateInput struct {
	Name          string
	Role          string
	Runtime       string // default provided.al2023
	Handler       string // default bootstrap
	Description   string
	Timeout       time.Duration // default 3s
	MemorySize    int32         // default 128
	Environment   map[string]string
	Tags          map[string]string
	Architectures []string
	TracingMode   string
	LogFormat     string
	// Binary is a built bootstrap on disk; ZipFile a deployment package
	// holding one. Neither: the function runs in-process.
	Binary  string
	ZipFile []byte
}

var (
	namePattern = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)
	reservedEnv = map[string]bool{
		"_HANDLER": true, "_X_AMZN_TRACE_ID": true, "AWS_DEFAULT_REGION": true, "AWS_REGION": true,
		"AWS_EXECUTION_ENV": true, "AWS_LAMBDA_FUNCTION_NAME": true, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": true,
		"AWS_LAMBDA_FUNCTION_VERSION": true, "AWS_LAMBDA_INITIALIZATION_TYPE": true, "AWS_LAMBDA_LOG_GROUP_NAME": true,
		"AWS_LAMBDA_LOG_STREAM_NAME": true, "AWS_ACCESS_KEY": true, "AWS_ACCESS_KEY_ID": true,
		"AWS_SECRET_ACCESS_KEY": true, "AWS_SESSION_TOKEN": true, "AWS_LAMBDA_RUNTIME_API": true,
		"LAMBDA_TASK_ROOT": true, "LAMBDA_RUNTIME_DIR": true,
	}
)

func checkEnvironment(env map[string]string) error {
	var bad []string
	for k := range env {
		if reservedEnv[k] {
			bad = append(bad, k)
		}
	}
	if len(bad) > 0 {
		sort.Strings(bad)
		return awsproto.Errorf("InvalidParameterValueException", "Lambda was unable to configure your environment variables because the environment variables you have provided contains reserved keys that are currently not supported for modification. Reserved keys used in this request: %s", strings.Join(bad, ", "))
	}
	return nil
}

// CreateFunction creates a function; errors are *awsproto.Error.
func (s *Service) CreateFunction(ctx context.Context, in CreateInput) (FunctionConfig, error) {
	if !namePattern.MatchString(in.Name) {
		return FunctionConfig{}, awsproto.Validation("1 validation error detected: Value '%s' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9-_]+", in.Name)
	}
	if err := checkEnvironment(in.Environment); err != nil {
		return FunctionConfig{}, err
	}
	if in.Timeout == 0 {
		in.Timeout = 3 * time.Second
	}
	if in.Timeout < time.Second || in.Timeout > 900*time.Second {
		return FunctionConfig{}, awsproto.Validation("1 validation error detected: Value '%d' at 'timeout' failed to satisfy constraint: Member must have value between 1 and 900", int(in.Timeout/time.Second))
	}
	if in.MemorySize == 0 {
		in.MemorySize = 128
	}
	if in.Runtime == "" {
		in.Runtime = "provided.al2023"
	}
	if in.Handler == "" {
		in.Handler = "bootstrap"
	}
	if len(in.Architectures) == 0 {
		in.Architectures = []string{"x86_64"}
	}
	if in.TracingMode == "" {
		in.TracingMode = "PassThrough"
	}
	if in.LogFormat == "" {
		in.LogFormat = "Text"
	}
	env := copyMap(in.Environment)
	if in.Binary == "" && len(in.ZipFile) == 0 && env[BinaryEnv] != "" {
		in.Binary = env[BinaryEnv]
	}
	fn := FunctionConfig{
		Name: in.Name, Arn: s.arn(in.Name), Runtime: in.Runtime, Role: in.Role, Handler: in.Handler,
		Description: in.Description, Timeout: in.Timeout, MemorySize: in.MemorySize,
		Environment: env, Tags: copyMap(in.Tags), Architectures: in.Architectures,
		TracingMode: in.TracingMode, LogFormat: in.LogFormat,
		LastModified: s.clk.Now(), RevisionID: newID(),
	}
	code, err := s.prepareCode(in.Name, in.Binary, in.ZipFile)
	if err != nil {
		return FunctionConfig{}, err
	}
	fn.Binary, fn.CodeSha256, fn.CodeSize = code.binary, code.sha, code.size
	if fn.Binary == "" && !s.canRunInProcess(in.Name) {
		return FunctionConfig{}, awsproto.Errorf("InvalidParameterValueException", "function %s has no code: give Code.ZipFile with a bootstrap, the %s variable, or register an in-process handler", in.Name, BinaryEnv)
	}

	f := &function{svc: s, cfg: fn, holder: &holder{clk: s.clk, name: in.Name}}
	f.key = s.newKey(f.holder)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.functions[in.Name]; ok || s.closed {
		delete(s.keys, f.key)
		if s.closed {
			return FunctionConfig{}, awsproto.Errorf("ServiceException", "the local Lambda is closed")
		}
		return FunctionConfig{}, &awsproto.Error{Type: "ResourceConflictException", Status: 409, Message: "Function already exist: " + in.Name}
	}
	s.functions[in.Name] = f
	return fn, nil
}

func (s *Service) canRunInProcess(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.inProcess[name]
	return ok || s.opts.Factory != nil
}

type code struct {
	binary, sha string
	size        int64
}

// prepareCode finds the bootstrap to run: a zip is extracted to a directory
// the service owns; a binary on disk is run where it is.
func (s *Service) prepareCode(name, binary string, zip []byte) (code, error) {
	switch {
	case len(zip) > 0:
		dir, err := os.MkdirTemp("", "localcloud-lambda-"+name+"-")
		if err != nil {
			return code{}, fmt.Errorf("code directory: %w", err)
		}
		s.mu.Lock()
		s.tmpDirs = append(s.tmpDirs, dir)
		s.mu.Unlock()
		if err := unzip(zip, dir); err != nil {
			return code{}, awsproto.Errorf("InvalidParameterValueException", "Could not unzip uploaded file. Please check your file, then try to upload again. (%v)", err)
		}
		sum := sha256.Sum256(zip)
		return code{binary: dir + "/bootstrap", sha: base64.StdEncoding.EncodeToString(sum[:]), size: int64(len(zip))}, nil
	case binary != "":
		b, err := os.ReadFile(binary)
		if err != nil {
			return code{}, awsproto.Errorf("InvalidParameterValueException", "cannot read the bootstrap %s: %v", binary, err)
		}
		sum := sha256.Sum256(b)
		return code{binary: binary, sha: base64.StdEncoding.EncodeToString(sum[:]), size: int64(len(b))}, nil
	}
	return code{}, nil
}

// UpdateConfigInput is the Go form of UpdateFunctionConfiguration; nil
// fields are left as they are.
type UpdateConfigInput struct {
	Environment *map[string]string
	Timeout     *time.Duration
	MemorySize  *int32
	Description *string
	Role        *string
	Handler     *string
	Runtime     *string
	TracingMode *string
	RevisionID  string // when set, must match
}

// UpdateFunctionConfiguration changes a function's settings; warm
// environments are discarded, as on AWS.
func (s *Service) UpdateFunctionConfiguration(ctx context.Context, name string, in UpdateConfigInput) (FunctionConfig, error) {
	f, err := s.lookup(name)
	if err != nil {
		return FunctionConfig{}, err
	}
	if in.Environment != nil {
		if err := checkEnvironment(*in.Environment); err != nil {
			return FunctionConfig{}, err
		}
	}
	if in.Timeout != nil && (*in.Timeout < time.Second || *in.Timeout > 900*time.Second) {
		return FunctionConfig{}, awsproto.Validation("1 validation error detected: Value '%d' at 'timeout' failed to satisfy constraint: Member must have value between 1 and 900", int(*in.Timeout/time.Second))
	}
	f.mu.Lock()
	if in.RevisionID != "" && in.RevisionID != f.cfg.RevisionID {
		f.mu.Unlock()
		return FunctionConfig{}, awsproto.Errorf("PreconditionFailedException", "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id")
	}
	c := &f.cfg
	if in.Environment != nil {
		c.Environment = copyMap(*in.Environment)
	}
	set(&c.Timeout, in.Timeout)
	set(&c.MemorySize, in.MemorySize)
	set(&c.Description, in.Description)
	set(&c.Role, in.Role)
	set(&c.Handler, in.Handler)
	set(&c.Runtime, in.Runtime)
	set(&c.TracingMode, in.TracingMode)
	c.LastModified = s.clk.Now()
	c.RevisionID = newID()
	out := *c
	f.mu.Unlock()
	f.reset()
	return out, nil
}

// UpdateFunctionCode replaces a function's code.
func (s *Service) UpdateFunctionCode(ctx context.Context, name, binary string, zip []byte) (FunctionConfig, error) {
	f, err := s.lookup(name)
	if err != nil {
		return FunctionConfig{}, err
	}
	if binary == "" && len(zip) == 0 {
		return FunctionConfig{}, awsproto.Errorf("InvalidParameterValueException", "Please provide a source for function code.")
	}
	cd, err := s.prepareCode(name, binary, zip)
	if err != nil {
		return FunctionConfig{}, err
	}
	f.mu.Lock()
	f.cfg.Binary, f.cfg.CodeSha256, f.cfg.CodeSize = cd.binary, cd.sha, cd.size
	f.cfg.LastModified = s.clk.Now()
	f.cfg.RevisionID = newID()
	out := f.cfg
	f.mu.Unlock()
	f.reset()
	return out, nil
}

func set[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

// GetFunction returns a function's configuration.
func (s *Service) GetFunction(ctx context.Context, name string) (FunctionConfig, error) {
	f, err := s.lookup(name)
	if err != nil {
		return FunctionConfig{}, err
	}
	return f.config(), nil
}

// ListFunctions returns every function, by name.
func (s *Service) ListFunctions(ctx context.Context) []FunctionConfig {
	s.mu.Lock()
	fs := make([]*function, 0, len(s.functions))
	for _, f := range s.functions {
		fs = append(fs, f)
	}
	s.mu.Unlock()
	out := make([]FunctionConfig, 0, len(fs))
	for _, f := range fs {
		out = append(out, f.config())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// DeleteFunction removes a function and stops its environments.
func (s *Service) DeleteFunction(ctx context.Context, name string) error {
	f, err := s.lookup(name)
	if err != nil {
		return err
	}
	s.mu.Lock()
	delete(s.functions, f.cfg.Name)
	s.mu.Unlock()
	s.dropKey(f.key)
	f.reset()
	return nil
}

// Close stops every function process and waits for Event invocations in
// flight; the service answers nothing afterwards.
func (s *Service) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	fs := make([]*function, 0, len(s.functions))
	for _, f := range s.functions {
		fs = append(fs, f)
	}
	dirs := s.tmpDirs
	s.mu.Unlock()
	s.cancel()
	for _, f := range fs {
		f.reset()
	}
	s.async.Wait()
	var first error
	for _, d := range dirs {
		if err := os.RemoveAll(d); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// lookup resolves a name, partial ARN or ARN (with an optional $LATEST
// qualifier) to a function.
func (s *Service) lookup(ref string) (*function, error) {
	name, qualifier := ParseFunctionName(ref)
	s.mu.Lock()
	f, ok := s.functions[name]
	s.mu.Unlock()
	if !ok || (qualifier != "" && qualifier != "$LATEST") {
		arn := s.arn(name)
		if qualifier != "" {
			arn += ":" + qualifier
		}
		return nil, &awsproto.Error{Type: "ResourceNotFoundException", Status: 404, Message: "Function not found: " + arn}
	}
	return f, nil
}

// ParseFunctionName splits a function reference (name, name:qualifier,
// partial ARN or ARN) into its name and qualifier.
func ParseFunctionName(ref string) (name, qualifier string) {
	parts := strings.Split(ref, ":")
	switch {
	case len(parts) >= 7 && parts[0] == "arn": // arn:aws:lambda:region:account:function:name[:q]
		name = parts[6]
		if len(parts) > 7 {
			qualifier = parts[7]
		}
	case len(parts) >= 3 && parts[1] == "function": // account:function:name[:q]
		name = parts[2]
		if len(parts) > 3 {
			qualifier = parts[3]
		}
	case len(parts) == 2:
		name, qualifier = parts[0], parts[1]
	default:
		name = ref
	}
	return name, qualifier
}

func (s *Service) arn(name string) string {
	return fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", s.opts.Region, s.opts.Account, name)
}

func copyMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
