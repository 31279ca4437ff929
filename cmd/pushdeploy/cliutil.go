package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/pushdeploy/pushdeploy/internal/app/awsconfig"
	"github.com/pushdeploy/pushdeploy/internal/app/awsconfig/chain"
	"github.com/pushdeploy/pushdeploy/internal/app/contract"
	"github.com/pushdeploy/pushdeploy/internal/app/history"
	"github.com/pushdeploy/pushdeploy/internal/app/taskdef"
)

// Environment variables the operator commands read as flag defaults.
const (
	envStateMachine = "PUSHDEPLOY_STATE_MACHINE_ARN"
	envTable        = "PUSHDEPLOY_TABLE"
	envEndpoint     = "AWS_ENDPOINT_URL"
)

// cliCommand is one operator subcommand's flag set and usage.
type cliCommand struct {
	name, synopsis, about string
	fs                    *flag.FlagSet
	stdout, stderr        io.Writer
	exits                 string // the exit codes' help; exitCodesHelp when empty
}

func newCLICommand(name, synopsis, about string, stdout, stderr io.Writer) *cliCommand {
	c := &cliCommand{name: name, synopsis: synopsis, about: about, stdout: stdout, stderr: stderr}
	c.fs = flag.NewFlagSet(name, flag.ContinueOnError)
	// parse reports flag errors itself, on one line.
	c.fs.SetOutput(io.Discard)
	c.fs.Usage = func() {}
	return c
}

func (c *cliCommand) usage(w io.Writer) {
	fmt.Fprintf(w, "usage: pushdeploy %s %s\n\n%s\n\nFlags:\n", c.name, c.synopsis, c.about)
	out := c.fs.Output()
	c.fs.SetOutput(w)
	c.fs.PrintDefaults()
	c.fs.SetOutput(out)
	exits := c.exits
	if exits == "" {
		exits = exitCodesHelp
	}
	fmt.Fprint(w, "\n"+exits)
}

// parse reads flags and up to maxArgs positional arguments, which may come
// before, between or after the flags. done is true when the command must
// return code: --help (usage on stdout, 0) or a usage error (stderr, 2).
func (c *cliCommand) parse(args []string, maxArgs int) (pos []string, code int, done bool) {
	for _, a := range args {
		if a == "--" {
			break
		}
		if a == "-h" || a == "-help" || a == "--help" {
			c.usage(c.stdout)
			return nil, exitOK, true
		}
	}
	rest := args
	for {
		if err := c.fs.Parse(rest); err != nil {
			return nil, c.usageError("%v", err), true
		}
		rest = c.fs.Args()
		if len(rest) == 0 {
			break
		}
		if rest[0] == "--" {
			pos = append(pos, rest[1:]...)
			break
		}
		pos = append(pos, rest[0])
		rest = rest[1:]
	}
	if len(pos) > maxArgs {
		return nil, c.usageError("unexpected arguments %q", pos[maxArgs:]), true
	}
	return pos, exitOK, false
}

// usageError prints a usage problem on one line and returns exit 2.
func (c *cliCommand) usageError(format string, a ...any) int {
	fmt.Fprintf(c.stderr, "pushdeploy: %s: %s (see 'pushdeploy %s --help')\n", c.name, fmt.Sprintf(format, a...), c.name)
	return exitBadInput
}

func (c *cliCommand) fail(err error) int { return fail(c.stderr, c.name, err) }

// answer writes a command's result: v as JSON with --output json, else the
// line text.
func (c *cliCommand) answer(w io.Writer, asJSON bool, v any, text string) int {
	if !asJSON {
		fmt.Fprintln(w, text)
		return exitOK
	}
	if err := writeJSON(w, v); err != nil {
		return c.fail(err)
	}
	return exitOK
}

// awsFlags select the account, region and endpoint.
type awsFlags struct {
	region, profile, endpoint string
}

func (a *awsFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&a.region, "region", "", "AWS region (default: the standard chain, AWS_REGION, the profile)")
	fs.StringVar(&a.profile, "profile", "", "shared config profile (default: AWS_PROFILE or default)")
	fs.StringVar(&a.endpoint, "endpoint-url", "", "endpoint for every AWS service, e.g. the local cloud (default: AWS_ENDPOINT_URL)")
}

// cliRetry keeps a CLI responsive against a dead endpoint: at most 4
// attempts, about 1.4s of backoff for connection errors.
var cliRetry = awsconfig.Retry{MaxAttempts: 4}

// config loads the standard chain with the flags applied. Against a
// loopback endpoint (the local cloud) with no credentials configured it
// signs with static dummy credentials, and defaults the region to
// us-east-1: the local cloud checks neither.
func (a *awsFlags) config(ctx context.Context) (aws.Config, error) {
	var load []func(*config.LoadOptions) error
	if a.region != "" {
		load = append(load, config.WithRegion(a.region))
	}
	if a.profile != "" {
		load = append(load, config.WithSharedConfigProfile(a.profile))
	}
	local := isLoopback(a.endpointURL())
	if local && a.profile == "" && os.Getenv("AWS_ACCESS_KEY_ID") == "" {
		load = append(load, config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("local", "local", "")))
	}
	cfg, err := chain.Load(ctx, chain.Options{Retry: cliRetry, Load: load})
	if err != nil {
		return aws.Config{}, err
	}
	if a.endpoint != "" {
		cfg.BaseEndpoint = aws.String(a.endpoint)
	}
	if cfg.Region == "" {
		if !local {
			return aws.Config{}, badInput("no AWS region: use --region or set AWS_REGION")
		}
		cfg.Region = "us-east-1"
	}
	return cfg, nil
}

func (a *awsFlags) endpointURL() string {
	if a.endpoint != "" {
		return a.endpoint
	}
	return os.Getenv(envEndpoint)
}

// isLoopback reports whether an endpoint URL points at this machine.
func isLoopback(endpoint string) bool {
	if endpoint == "" {
		return false
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		return false
	}
	host := u.Hostname()
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// outputFlag is --output text|json.
type outputFlag string

func (o *outputFlag) register(fs *flag.FlagSet) {
	*o = "text"
	fs.Func("output", "output format: text or json (default text)", func(s string) error {
		if s != "text" && s != "json" {
			return fmt.Errorf("want text or json, not %q", s)
		}
		*o = outputFlag(s)
		return nil
	})
}

func (o outputFlag) json() bool { return o == "json" }

// writeJSON writes v indented, with a newline.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// stringFlagEnv is a string flag defaulting to an environment variable.
func stringFlagEnv(fs *flag.FlagSet, name, env, usage string) *string {
	return fs.String(name, os.Getenv(env), usage+" (default: $"+env+")")
}

// isTerminal reports whether w is a character device (a terminal), without
// golang.org/x/term, which go.mod does not carry.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// requestedBy names the caller for the history: the IAM principal when STS
// answers quickly, else $USER. The local cloud has no STS, so it is not asked.
func requestedBy(ctx context.Context, cfg aws.Config, local bool) string {
	if !local {
		ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		out, err := sts.NewFromConfig(cfg, func(o *sts.Options) {
			o.RetryMaxAttempts = 1
			if cfg.BaseEndpoint != nil {
				o.BaseEndpoint = nil // a custom endpoint is for the deploy services, not STS
			}
		}).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err == nil && aws.ToString(out.Arn) != "" {
			return aws.ToString(out.Arn)
		}
	}
	for _, k := range []string{"USER", "USERNAME", "LOGNAME"} {
		if v := os.Getenv(k); v != "" {
			return v
		}
	}
	return "unknown"
}

var nameUnsafe = regexp.MustCompile(`[^A-Za-z0-9_-]+`)

// executionName makes a unique, readable execution name (at most 80
// characters of [A-Za-z0-9_-]): cli-<action>-<service>-<time>-<random>.
func executionName(action, service string, now time.Time) string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	svc := nameUnsafe.ReplaceAllString(service, "-")
	if len(svc) > 40 {
		svc = svc[:40]
	}
	return fmt.Sprintf("cli-%s-%s-%s-%s", action, svc, now.UTC().Format("20060102T150405"), hex.EncodeToString(b[:]))
}

// describeService returns an active service with its tags; a missing or
// inactive one (or cluster) is contract.ServiceNotFound, as plan names it.
func describeService(ctx context.Context, client *ecs.Client, cluster, service string) (ecstypes.Service, error) {
	out, err := client.DescribeServices(ctx, &ecs.DescribeServicesInput{
		Cluster:  aws.String(cluster),
		Services: []string{service},
		Include:  []ecstypes.ServiceField{ecstypes.ServiceFieldTags},
	})
	var api smithy.APIError
	if errors.As(err, &api) && (api.ErrorCode() == "ClusterNotFoundException" || api.ErrorCode() == "ServiceNotFoundException") {
		return ecstypes.Service{}, &contract.ServiceNotFound{Cluster: cluster, Service: service, Err: errors.New(strings.TrimSuffix(api.ErrorMessage(), "."))}
	}
	if err != nil {
		return ecstypes.Service{}, fmt.Errorf("describe service %s: %w", service, err)
	}
	// One service asked for: at most one described.
	if len(out.Services) > 0 {
		s := out.Services[0]
		if aws.ToString(s.Status) == "ACTIVE" {
			return s, nil
		}
		return ecstypes.Service{}, &contract.ServiceNotFound{Cluster: cluster, Service: service, Err: errors.New("status " + aws.ToString(s.Status))}
	}
	reason := "missing"
	for _, f := range out.Failures {
		reason = strings.ToLower(aws.ToString(f.Reason))
	}
	return ecstypes.Service{}, &contract.ServiceNotFound{Cluster: cluster, Service: service, Err: errors.New(reason)}
}

// serviceTags returns a service's tags as a map.
func serviceTags(s ecstypes.Service) map[string]string {
	m := map[string]string{}
	for _, t := range s.Tags {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return m
}

// shortRevision turns a task definition ARN into family:N.
func shortRevision(arn string) string {
	if i := strings.LastIndex(arn, "task-definition/"); i >= 0 {
		return arn[i+len("task-definition/"):]
	}
	return arn
}

// required checks that flags are set, naming the missing ones.
func required(pairs ...string) error {
	var missing []string
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] == "" {
			missing = append(missing, "--"+pairs[i])
		}
	}
	if len(missing) > 0 {
		return errors.New("missing " + strings.Join(missing, ", "))
	}
	return nil
}

// serviceFlags are the flags of the commands that read one service's state
// (status, history, quarantine list): AWS, output, cluster, service, table.
type serviceFlags struct {
	aws     awsFlags
	out     outputFlag
	cluster *string
	service *string
	table   *string
}

func newServiceFlags(c *cliCommand) *serviceFlags {
	f := &serviceFlags{}
	f.aws.register(c.fs)
	f.out.register(c.fs)
	f.cluster = c.fs.String("cluster", "", "ECS cluster name or ARN")
	f.service = c.fs.String("service", "", "ECS service name or ARN")
	f.table = stringFlagEnv(c.fs, "table", envTable, "pushdeploy's DynamoDB table")
	return f
}

// check reports a missing required flag as a usage error (code, false).
func (f *serviceFlags) check(c *cliCommand) (int, bool) {
	if err := required("cluster", *f.cluster, "service", *f.service, "table", *f.table); err != nil {
		return c.usageError("%v", err), false
	}
	return 0, true
}

// open loads the AWS config, describes the service and opens the history
// table: what every reading command starts with.
func (f *serviceFlags) open(ctx context.Context) (aws.Config, ecstypes.Service, *history.Store, error) {
	cfg, err := f.aws.config(ctx)
	if err != nil {
		return aws.Config{}, ecstypes.Service{}, nil, err
	}
	svc, err := describeService(ctx, ecs.NewFromConfig(cfg), *f.cluster, *f.service)
	if err != nil {
		return aws.Config{}, ecstypes.Service{}, nil, err
	}
	store, err := history.New(dynamodb.NewFromConfig(cfg), *f.table, 0)
	return cfg, svc, store, err
}

// qualifyImage puts an image with no registry (web:m1, web@sha256:...) in
// this account's ECR in the configured region, as the help says: the
// account is the caller's (STS GetCallerIdentity, which the local cloud
// answers too). An image that names a registry is returned as is.
func qualifyImage(ctx context.Context, cfg aws.Config, img taskdef.Image) (taskdef.Image, error) {
	if img.Registry != "" {
		return img, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return img, fmt.Errorf("image %s names no registry, and this account's could not be found: %w", img, err)
	}
	img.Registry = fmt.Sprintf("%s.dkr.ecr.%s.amazonaws.com", aws.ToString(out.Account), cfg.Region)
	return img, nil
}
