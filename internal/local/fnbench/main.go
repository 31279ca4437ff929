// Command fnbench measures what each function costs at a cold start, beside
// the smallest aws-lambda-go function (reference/minimal) measured in the
// same run: `make bench-functions`.
//
// Every binary is built by the Makefile (build-<LogicalId> for the
// functions, build-package for the references), so with make build's and
// sam build's flags: stripped linux/arm64 for the size, and the same for the
// host's architecture to run. Each run starts the bootstrap as Lambda does
// (AWS_LAMBDA_RUNTIME_API and the environment template.yaml gives it, with
// Tracing: Active's X-Ray variables) against a stand-in Runtime API; at its
// first GET /2018-06-01/runtime/invocation/next, init is over: the process
// is killed and its rusage read (user+system CPU, peak RSS). Runs are
// interleaved across the binaries; the table shows medians and ratios to
// the minimal function's medians.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"
)

// references are built from this tree whatever -repo says, with make
// build-package.
var references = []struct{ name, pkg, about string }{
	{"minimal", "./internal/local/fnbench/reference/minimal", "aws-lambda-go only: the yardstick"},
	{"+tracing", "./internal/local/fnbench/reference/tracing", "minimal + internal/app/tracing"},
	{"+xray SDK", "./internal/local/fnbench/reference/xraysdk", "minimal + the X-Ray SDK's awsv2 (package xray)"},
	{"+ECS+DynamoDB", "./internal/local/fnbench/reference/sdkfloor", "minimal + awsconfig.FromLambda + ECS and DynamoDB clients: the least a function of pushdeploy's starts"},
	{"+chain ECS+DynamoDB", "./internal/local/fnbench/reference/sdkchain", "the same with the CLI's chain.Load (config.LoadDefaultConfig) instead: what the functions started with before"},
}

// Size and init targets (issue 10).
const (
	maxSize    = 15e6 // bytes: MB here are 10^6 bytes
	maxInitCPU = 2.5
)

func main() {
	repo := flag.String("repo", ".", "the tree whose functions are built (its Makefile's build-<LogicalId>), e.g. an older checkout for before/after figures")
	functions := flag.String("functions", "", "the Makefile's FUNCTIONS: LogicalId:name pairs")
	runs := flag.Int("runs", 20, "cold starts per binary")
	extra := flag.String("env", "", "more environment for every run, space-separated KEY=VALUE (e.g. GOGC=200: the share of the garbage collector)")
	flag.Parse()
	extraEnv = strings.Fields(*extra)
	if err := run(*repo, strings.Fields(*functions), *runs, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "fnbench:", err)
		os.Exit(1)
	}
}

// extraEnv is -env.
var extraEnv []string

type binary struct {
	name, about string
	arm64, host string
	size        int64
	cpu, rss    []float64 // per run: seconds, bytes
	wall        []float64
}

func run(repo string, functions []string, runs int, out io.Writer) error {
	if len(functions) == 0 {
		return errors.New("no -functions (make bench-functions passes the Makefile's FUNCTIONS)")
	}
	dir, err := os.MkdirTemp("", "fnbench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	var bins []*binary
	for _, r := range references {
		b := &binary{name: r.name, about: r.about}
		for _, arch := range []string{"arm64", runtime.GOARCH} {
			to := filepath.Join(dir, arch, filepath.Base(r.pkg))
			if err := makeTarget(".", to, arch, "build-package", "PKG="+r.pkg); err != nil {
				return err
			}
			b.set(arch, filepath.Join(to, "bootstrap"))
		}
		bins = append(bins, b)
	}
	for _, f := range functions {
		id, name, ok := strings.Cut(f, ":")
		if !ok {
			return fmt.Errorf("-functions: %q is not LogicalId:name", f)
		}
		b := &binary{name: name, about: id}
		for _, arch := range []string{"arm64", runtime.GOARCH} {
			to := filepath.Join(dir, arch, id)
			if err := makeTarget(repo, to, arch, "build-"+id); err != nil {
				return err
			}
			b.set(arch, filepath.Join(to, "bootstrap"))
		}
		bins = append(bins, b)
	}
	for _, b := range bins {
		st, err := os.Stat(b.arm64)
		if err != nil {
			return err
		}
		b.size = st.Size()
	}
	for i := 0; i < runs; i++ {
		for _, b := range bins {
			cpu, rss, wall, err := coldStart(b.host, b.name)
			if err != nil {
				return fmt.Errorf("%s: %w", b.name, err)
			}
			b.cpu, b.rss, b.wall = append(b.cpu, cpu), append(b.rss, rss), append(b.wall, wall)
		}
	}
	report(out, bins, repo, runs)
	return nil
}

func (b *binary) set(arch, path string) {
	if arch == "arm64" {
		b.arm64 = path
	}
	if arch == runtime.GOARCH {
		b.host = path
	}
}

// makeTarget runs the Makefile's target in repo with ARTIFACTS_DIR=to, for
// linux/arch, as sam build does.
func makeTarget(repo, to, arch, target string, vars ...string) error {
	if err := os.MkdirAll(to, 0o755); err != nil {
		return err
	}
	abs, err := filepath.Abs(to)
	if err != nil {
		return err
	}
	args := append([]string{"--no-print-directory", "-C", repo, target, "ARTIFACTS_DIR=" + abs, "FUNCTION_GOOS=linux", "FUNCTION_GOARCH=" + arch}, vars...)
	cmd := exec.Command("make", args...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("make %s: %w", strings.Join(args, " "), err)
	}
	return nil
}

// coldStart runs bin until its first request for an invocation and returns
// the CPU seconds (user+system) and peak RSS bytes it used to get there, and
// the wall time.
func coldStart(bin, name string) (cpu, rss, wall float64, err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, 0, 0, err
	}
	defer ln.Close()
	ready := make(chan struct{}, 1)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && r.URL.Path == "/2018-06-01/runtime/invocation/next" {
			select {
			case ready <- struct{}{}:
			default:
			}
			<-r.Context().Done() // no invocation: the process is killed first
			return
		}
		http.Error(w, "fnbench serves invocation/next only", http.StatusNotFound)
	})}
	go srv.Serve(ln)
	defer srv.Close()

	cmd := exec.Command(bin)
	cmd.Dir = filepath.Dir(bin)
	cmd.Env = append(lambdaEnv(ln.Addr().String(), name, cmd.Dir), extraEnv...)
	var stderr strings.Builder
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, 0, 0, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case <-ready:
		wall = time.Since(start).Seconds()
		cmd.Process.Kill()
		<-exited
	case err := <-exited:
		return 0, 0, 0, fmt.Errorf("exited before asking for an invocation (%v): %s", err, stderr.String())
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		<-exited
		return 0, 0, 0, fmt.Errorf("no invocation/next in 30s: %s", stderr.String())
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		return 0, 0, 0, errors.New("no rusage on this platform")
	}
	cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
	return cpu, float64(ru.Maxrss) * 1024, wall, nil // Maxrss is in KiB on Linux
}

// lambdaEnv is what Lambda gives a function of template.yaml (256 MB,
// Tracing: Active) and what its Globals set, with static credentials.
func lambdaEnv(api, name, dir string) []string {
	return []string{
		"AWS_LAMBDA_RUNTIME_API=" + api,
		"AWS_LAMBDA_FUNCTION_NAME=pushdeploy-" + name, "AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=256", "AWS_LAMBDA_LOG_FORMAT=JSON", "AWS_LAMBDA_LOG_LEVEL=INFO",
		"AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/pushdeploy-" + name, "AWS_LAMBDA_LOG_STREAM_NAME=fnbench",
		"AWS_EXECUTION_ENV=AWS_Lambda_provided.al2023", "LAMBDA_TASK_ROOT=" + dir, "LAMBDA_RUNTIME_DIR=" + dir,
		"AWS_REGION=us-east-1", "AWS_DEFAULT_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID=fnbench", "AWS_SECRET_ACCESS_KEY=fnbench", "AWS_SESSION_TOKEN=fnbench",
		"AWS_XRAY_DAEMON_ADDRESS=127.0.0.1:2000", "AWS_XRAY_CONTEXT_MISSING=LOG_ERROR", "_AWS_XRAY_DAEMON_ADDRESS=127.0.0.1", "_AWS_XRAY_DAEMON_PORT=2000",
		"AWS_CONFIG_FILE=" + filepath.Join(dir, "none"), "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(dir, "none"), "HOME=" + dir, "TZ=:UTC",
		"HISTORY_TABLE=pushdeploy-history", "EVENT_BUS_NAME=default",
		"STATE_MACHINE_ARN=arn:aws:states:us-east-1:123456789012:stateMachine:pushdeploy-deploy",
	}
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func report(out io.Writer, bins []*binary, repo string, runs int) {
	base := bins[0]
	bcpu, brss := median(base.cpu), median(base.rss)
	fmt.Fprintf(out, "functions of %s; %d cold starts each, medians, %s/%s host, %s", repo, runs, runtime.GOOS, runtime.GOARCH, runtime.Version())
	if len(extraEnv) > 0 {
		fmt.Fprintf(out, ", with %s", strings.Join(extraEnv, " "))
	}
	fmt.Fprint(out, "\n\n")
	fmt.Fprintln(out, "| function | stripped arm64 | × minimal | init CPU | × minimal | peak RSS | × minimal | to invocation/next |")
	fmt.Fprintln(out, "|---|---:|---:|---:|---:|---:|---:|---:|")
	var big, slow []string
	for _, b := range bins {
		cpu, rss := median(b.cpu), median(b.rss)
		fmt.Fprintf(out, "| %s | %.1f MB | %.2f | %.1f ms | %.2f | %.1f MB | %.2f | %.1f ms |\n",
			b.name, float64(b.size)/1e6, float64(b.size)/float64(base.size),
			cpu*1000, cpu/bcpu, rss/1e6, rss/brss, median(b.wall)*1000)
		if strings.HasPrefix(b.name, "+") {
			continue
		}
		if b.size > maxSize {
			big = append(big, b.name)
		}
		if cpu/bcpu > maxInitCPU {
			slow = append(slow, b.name)
		}
	}
	fmt.Fprintln(out)
	fmt.Fprintf(out, "targets: stripped arm64 <= %.0f MB: %s; init CPU <= %.1f× minimal: %s\n", maxSize/1e6, verdict(big), maxInitCPU, verdict(slow))
	for _, b := range bins {
		if strings.HasPrefix(b.name, "+") || b.name == "minimal" {
			fmt.Fprintf(out, "  %s: %s\n", b.name, b.about)
		}
	}
}

func verdict(over []string) string {
	if len(over) == 0 {
		return "met by every function"
	}
	return "missed by " + strings.Join(over, ", ")
}
