// Package localrun runs pushdeploy on one machine: the local cloud, the
// application installed into it from template.yaml, and helpers to seed
// services, push images, fire alarms and read what happened. `pushdeploy
// demo` and the end-to-end tests are built on it.
package localrun

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"runtime"

	awslambda "github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/pushdeploy/pushdeploy/internal/app/awsconfig"
	"github.com/pushdeploy/pushdeploy/internal/app/clock"
	"github.com/pushdeploy/pushdeploy/internal/app/handler"
	"github.com/pushdeploy/pushdeploy/internal/local/localcloud"
	"github.com/pushdeploy/pushdeploy/internal/local/localcloud/awsproto"
	lclambda "github.com/pushdeploy/pushdeploy/internal/local/localcloud/lambda"
	"github.com/pushdeploy/pushdeploy/internal/local/samlocal"
)

// Account and Region of the local world.
const (
	Account = awsproto.DefaultAccount
	Region  = awsproto.DefaultRegion
)

// Options say how to run.
type Options struct {
	// Clock drives the whole world; a *clock.Virtual with AutoAdvance runs
	// a ten-minute rollout in milliseconds.
	Clock clock.Clock
	// Root is the repository root holding template.yaml; default: found
	// from this source file.
	Root string
	// InProcess runs each function as its handler inside this process, on
	// Clock; otherwise the built bootstrap binaries under BinDir run through
	// the Lambda Runtime API, and read the wall clock like any process: a
	// virtual Clock must then start at the current time, so that the
	// deadlines they compute and the engine's waits agree.
	InProcess bool
	// BinDir holds <LogicalId>/bootstrap; default Root/build.
	BinDir string
	// Parameters override the template's defaults.
	Parameters map[string]string
	// Log receives a line per API call; FunctionLogs the functions' output.
	Log, FunctionLogs io.Writer
	// Listen is the address to serve on; default 127.0.0.1:0, any free port.
	Listen string
	// Realism enforces AWS's request throttling in the local cloud
	// (localcloud.DocumentedRealism()); nil: off.
	Realism *localcloud.Realism
}

// World is a running local cloud with pushdeploy installed.
type World struct {
	Clock           clock.Clock
	Cloud           *localcloud.Cloud
	URL             string
	Config          aws.Config // SDK config pointing at the local cloud
	Installed       *samlocal.Installed
	StateMachineARN string
	// Env is what a client of this world needs, as environment variables:
	// AWS_ENDPOINT_URL, AWS_REGION, PUSHDEPLOY_STATE_MACHINE_ARN,
	// PUSHDEPLOY_TABLE and dummy AWS credentials. GET /_localcloud/info
	// answers it too.
	Env map[string]string

	functionLogs io.Writer
}

// Start brings a world up. Close it when done.
func Start(ctx context.Context, opts Options) (*World, error) {
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Root == "" {
		opts.Root = repoRoot()
	}
	if opts.BinDir == "" {
		opts.BinDir = filepath.Join(opts.Root, "build")
	}
	if !opts.InProcess {
		if _, err := os.Stat(opts.BinDir); err != nil {
			return nil, fmt.Errorf("no built functions in %s: run 'make build', or run the handlers in-process: %w", opts.BinDir, err)
		}
	}
	w := &World{Clock: opts.Clock, functionLogs: opts.FunctionLogs}
	lambdaOpts := lclambda.Options{InProcess: opts.InProcess, Logs: opts.FunctionLogs, Factory: w.handlerFactory}
	cloud, err := localcloud.New(localcloud.Options{Clock: opts.Clock, Log: opts.Log, Account: Account, Region: Region, Lambda: lambdaOpts, Realism: opts.Realism})
	if err != nil {
		return nil, err
	}
	w.Cloud = cloud
	if opts.Listen == "" {
		opts.Listen = "127.0.0.1:0"
	}
	if w.URL, err = cloud.Listen(opts.Listen); err != nil {
		cloud.Close()
		return nil, err
	}
	w.Config = SDKConfig(w.URL)
	tmpl, err := samlocal.Load(filepath.Join(opts.Root, "template.yaml"))
	if err != nil {
		w.Close()
		return nil, err
	}
	binDir := opts.BinDir
	if opts.InProcess {
		binDir = ""
	}
	w.Installed, err = samlocal.Install(ctx, w.Config, tmpl, samlocal.Options{
		StackName: "pushdeploy", Region: Region, Account: Account, Parameters: opts.Parameters, Dir: opts.Root,
		Functions: &lambdaFunctions{client: lambda.NewFromConfig(w.Config), binDir: binDir},
	})
	if err != nil {
		w.Close()
		return nil, err
	}
	if w.StateMachineARN, err = w.Installed.StateMachine(); err != nil {
		w.Close()
		return nil, err
	}
	table, err := w.table()
	if err != nil {
		w.Close()
		return nil, err
	}
	w.Env = map[string]string{
		"AWS_ENDPOINT_URL": w.URL, "AWS_REGION": Region, "AWS_DEFAULT_REGION": Region, // botocore before 1.31 reads only the latter
		"PUSHDEPLOY_STATE_MACHINE_ARN": w.StateMachineARN, "PUSHDEPLOY_TABLE": table,
		// The local cloud checks no signature, but the AWS CLI signs every
		// request and refuses to run without credentials.
		"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
	}
	cloud.SetInfo(w.Env)
	return w, nil
}

// Close stops the world.
func (w *World) Close() error { return w.Cloud.Close() }

// HarnessAccessKey is the access key ID of SDKConfig: the harness's calls
// (seeding, pushing, polling), which realism mode can leave unthrottled
// (localcloud.Realism.Observers).
const HarnessAccessKey = "local"

// SDKConfig is an aws.Config for the local cloud at url: what
// AWS_ENDPOINT_URL does for production code.
func SDKConfig(url string) aws.Config {
	return aws.Config{
		Region:       Region,
		Credentials:  credentials.NewStaticCredentialsProvider(HarnessAccessKey, "local", ""),
		BaseEndpoint: aws.String(url),
	}
}

// handlerFactory builds a function's real handler in-process, from the
// CodeUri the installer tagged it with. Its SDK config is the one the
// function's process would get (its own credentials, which let the local
// cloud tell its calls apart, and AWS_ENDPOINT_URL), with production's
// retryer at a thousandth of its delays: the SDK sleeps in real time.
func (w *World) handlerFactory(ctx context.Context, fn lclambda.FunctionConfig) (awslambda.Handler, error) {
	codeURI := fn.Tags[CodeURITag]
	if codeURI == "" {
		return nil, fmt.Errorf("function %s has no %s tag", fn.Name, CodeURITag)
	}
	cfg := fn.AWSConfig()
	cfg.Retryer = func() aws.Retryer { return awsconfig.NewRetryer(inProcessRetry) }
	logs := w.functionLogs
	if logs == nil {
		logs = io.Discard
	}
	logger := slog.New(slog.NewJSONHandler(logs, nil)).With("function", fn.Name)
	s, err := handler.SettingsFromEnv(fn.Getenv)
	if err != nil {
		return nil, fmt.Errorf("function %s: %w", fn.Name, err)
	}
	return newHandler(path.Base(codeURI), handler.ClientsFrom(cfg), handler.Wiring{Settings: s, Clock: w.Clock, Log: logger})
}

// inProcessRetry is awsconfig.DefaultRetry's attempts with its delays
// divided by a thousand.
var inProcessRetry = awsconfig.Retry{
	MaxAttempts:  awsconfig.DefaultRetry.MaxAttempts,
	Base:         awsconfig.DefaultRetry.Base / 1000,
	ThrottleBase: awsconfig.DefaultRetry.ThrottleBase / 1000,
	MaxBackoff:   awsconfig.DefaultRetry.MaxBackoff / 1000,
}

// repoRoot is the directory holding template.yaml, found from this file.
func repoRoot() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		wd, _ := os.Getwd()
		return wd
	}
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", "..", ".."))
}
