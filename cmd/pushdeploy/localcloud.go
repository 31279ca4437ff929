package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/pushdeploy/pushdeploy/internal/app/clock"
	"github.com/pushdeploy/pushdeploy/internal/local/localcloud"
	"github.com/pushdeploy/pushdeploy/internal/local/localcloud/lambda"
	"github.com/pushdeploy/pushdeploy/internal/local/localrun"
)

const localCloudUsage = `usage: pushdeploy localcloud [--listen 127.0.0.1:4566] [--speed N | --clock virtual]
                            [--install [--in-process | --bin DIR] [--root DIR] [--env-file FILE]]
       pushdeploy localcloud fault image|throttle|latency|rollout|clear [flags]
       pushdeploy localcloud clock advance DURATION | now
       pushdeploy localcloud alarm set NAME --state ALARM [--in 5m] [--for 10m]

Serves the local cloud (ECS, ECR, CloudWatch, EventBridge, Lambda, DynamoDB,
Resource Groups Tagging, STS, Step Functions) on one address until
interrupted, printing a line per API call. Point the SDKs and the AWS CLI at
it with AWS_ENDPOINT_URL.

With --install, pushdeploy is installed into it from template.yaml (its
functions, rules, state machine and table), as 'pushdeploy demo' does, and
the variables a client needs are printed (and written to --env-file as
KEY=VALUE lines): AWS_ENDPOINT_URL, AWS_REGION, PUSHDEPLOY_STATE_MACHINE_ARN,
PUSHDEPLOY_TABLE, and dummy AWS credentials.

--clock real (the default) runs on real time, --speed N times faster;
--clock virtual stands still until 'pushdeploy localcloud clock advance'.
Function processes write their output to stderr.

The fault, clock and alarm commands talk to a running local cloud
(--endpoint-url, default $AWS_ENDPOINT_URL) through its control API under
/_localcloud/; 'pushdeploy localcloud fault --help' lists the faults.

Flags:
`

// runLocalCloud is the "localcloud" subcommand: serve, or drive a running one.
func runLocalCloud(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "fault":
			return runFault(ctx, args[1:], stdout, stderr)
		case "clock":
			return runClock(ctx, args[1:], stdout, stderr)
		case "alarm":
			return runAlarm(ctx, args[1:], stdout, stderr)
		}
	}
	fs := flag.NewFlagSet("localcloud", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors and usage are printed below, once
	listen := fs.String("listen", "127.0.0.1:4566", "address to serve the AWS APIs on")
	speed := fs.Float64("speed", 1, "clock speed of the real clock: 1 is real time, 60 passes a minute per second")
	clockKind := fs.String("clock", "real", "real, or virtual: time moves only when told ('localcloud clock advance')")
	install := fs.Bool("install", false, "install pushdeploy from template.yaml")
	inProcess := fs.Bool("in-process", false, "with --install: run the handlers in this process instead of the built bootstrap binaries")
	root := fs.String("root", "", "with --install: repository root holding template.yaml (default: this checkout)")
	bin := fs.String("bin", "", "with --install: directory of built functions, <LogicalId>/bootstrap (default: ROOT/build, from 'make build')")
	envFile := fs.String("env-file", "", "with --install: write the client's environment to this file, KEY=VALUE lines")
	printUsage := func(w io.Writer) {
		fmt.Fprint(w, localCloudUsage)
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printUsage(stdout)
			return 0
		}
		fmt.Fprintf(stderr, "pushdeploy: localcloud: %v (see 'pushdeploy localcloud --help')\n", err)
		return 2
	}
	badUsage := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "pushdeploy: localcloud: %s (see 'pushdeploy localcloud --help')\n", fmt.Sprintf(format, a...))
		return 2
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	switch {
	case fs.NArg() > 0:
		return badUsage("unexpected arguments %q", fs.Args())
	case *speed <= 0:
		return badUsage("--speed must be positive")
	case *clockKind != "real" && *clockKind != "virtual":
		return badUsage("--clock is real or virtual, not %q", *clockKind)
	case *clockKind == "virtual" && set["speed"]:
		return badUsage("--speed is for the real clock; a virtual clock moves with 'localcloud clock advance'")
	case !*install && (set["in-process"] || set["root"] || set["bin"] || set["env-file"]):
		return badUsage("--in-process, --root, --bin and --env-file need --install")
	case *inProcess && set["bin"]:
		return badUsage("--in-process runs no binaries: drop --bin")
	}
	var clk clock.Clock = clock.Real{}
	switch {
	case *clockKind == "virtual":
		// Built functions read the wall clock: start where it stands.
		clk = clock.NewVirtual(time.Now().UTC().Truncate(time.Second))
	case *speed != 1:
		clk = clock.NewScaled(*speed)
	}
	clockText := fmt.Sprintf("clock speed %gx", *speed)
	if *clockKind == "virtual" {
		clockText = "virtual clock: it moves only with 'pushdeploy localcloud clock advance'"
	}

	var url string
	var closeCloud func() error
	var env map[string]string
	if *install {
		w, err := localrun.Start(ctx, localrun.Options{Clock: clk, Root: *root, BinDir: *bin, InProcess: *inProcess,
			Log: stdout, FunctionLogs: stderr, Listen: *listen})
		if err != nil {
			fmt.Fprintln(stderr, errorLine("localcloud: install", err))
			return 1
		}
		url, closeCloud, env = w.URL, w.Close, w.Env
		if *envFile != "" {
			if err := writeEnvFile(*envFile, env); err != nil {
				w.Close()
				fmt.Fprintln(stderr, errorLine("localcloud", err))
				return 1
			}
		}
	} else {
		cloud, err := localcloud.New(localcloud.Options{Clock: clk, Log: stdout, Lambda: lambda.Options{Logs: stderr}})
		if err != nil {
			fmt.Fprintln(stderr, errorLine("localcloud", err))
			return 1
		}
		if url, err = cloud.Listen(*listen); err != nil {
			cloud.Close()
			fmt.Fprintln(stderr, errorLine("localcloud", err))
			return 1
		}
		closeCloud = cloud.Close
		env = map[string]string{"AWS_ENDPOINT_URL": url, "AWS_REGION": localrun.Region, "AWS_DEFAULT_REGION": localrun.Region, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}
	}
	fmt.Fprintf(stdout, "local cloud serving on %s (%s); stop with Ctrl-C\n", url, clockText)
	if *install {
		fmt.Fprintln(stdout, "pushdeploy installed from template.yaml")
	}
	fmt.Fprintf(stdout, "  export %s\n", envLine(env, " "))
	if *envFile != "" {
		fmt.Fprintf(stdout, "  (also in %s: set -a; . %s; set +a)\n", *envFile, *envFile)
	}
	<-ctx.Done()
	if err := closeCloud(); err != nil {
		fmt.Fprintln(stderr, errorLine("localcloud", err))
		return 1
	}
	return 0
}

// envKeys orders the environment: endpoint and region, pushdeploy's, credentials.
var envKeys = []string{"AWS_ENDPOINT_URL", "AWS_REGION", "AWS_DEFAULT_REGION", "PUSHDEPLOY_STATE_MACHINE_ARN", "PUSHDEPLOY_TABLE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}

func envLine(env map[string]string, sep string) string {
	var parts []string
	seen := map[string]bool{}
	for _, k := range envKeys {
		if v, ok := env[k]; ok {
			parts = append(parts, k+"="+v)
			seen[k] = true
		}
	}
	var rest []string
	for k := range env {
		if !seen[k] {
			rest = append(rest, k)
		}
	}
	sort.Strings(rest)
	for _, k := range rest {
		parts = append(parts, k+"="+env[k])
	}
	return strings.Join(parts, sep)
}

// writeEnvFile writes KEY=VALUE lines, readable by `set -a; . FILE`,
// docker's --env-file and dotenv loaders alike (no value needs quoting).
func writeEnvFile(path string, env map[string]string) error {
	if err := os.WriteFile(path, []byte(envLine(env, "\n")+"\n"), 0o600); err != nil {
		return fmt.Errorf("env file: %w", err)
	}
	return nil
}
