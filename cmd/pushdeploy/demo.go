package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/pushdeploy/pushdeploy/internal/app/clock"
	"github.com/pushdeploy/pushdeploy/internal/local/localrun"
)

// runDemo is `pushdeploy demo`: the main job on this machine, no AWS.
func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	root := fs.String("root", "", "repository root holding template.yaml (default: this checkout)")
	bin := fs.String("bin", "", "directory of built functions, <LogicalId>/bootstrap (default: ROOT/build, from make build)")
	inProcess := fs.Bool("in-process", false, "run the handlers in this process instead of the built bootstrap binaries")
	verbose := fs.Bool("v", false, "print every API call of the local cloud and the functions' logs")
	usage := func(w io.Writer) {
		fmt.Fprintln(w, "usage: pushdeploy demo [flags]\n\nStarts the local cloud on a virtual clock, installs pushdeploy from template.yaml,\nand runs four pushes: one that deploys, one whose tasks crash, one whose alarm fires in the bake,\nand one that passes its bake and whose alarm fires ten minutes later (pushdeploy rolls it back on its own).")
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
	fs.Usage = func() {}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			usage(stdout)
			return 0
		}
		fmt.Fprintf(stderr, "pushdeploy: demo: %v (see 'pushdeploy demo --help')\n", err)
		return 2
	}
	clk := clock.NewVirtual(time.Now().UTC().Truncate(time.Second))
	stop := clk.AutoAdvance(0)
	defer stop()
	opts := localrun.Options{Clock: clk, Root: *root, BinDir: *bin, InProcess: *inProcess}
	if *verbose {
		opts.Log, opts.FunctionLogs = stderr, stderr
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	started, virtualStart := time.Now(), clk.Now()
	w, err := localrun.Start(ctx, opts)
	if err != nil {
		fmt.Fprintln(stderr, errorLine("demo", err))
		return 1
	}
	defer w.Close()
	if err := w.Demo(ctx, stdout); err != nil {
		fmt.Fprintln(stderr, errorLine("demo", err))
		return 1
	}
	// What an operator sees afterwards: the same history, through the CLI.
	fmt.Fprintf(stdout, "\n$ pushdeploy history --cluster %s --service %s\n", localrun.DemoCluster, localrun.DemoService)
	for _, table := range w.Installed.Tables {
		runHistory(ctx, []string{"--cluster", localrun.DemoCluster, "--service", localrun.DemoService,
			"--endpoint-url", w.URL, "--region", localrun.Region, "--table", table}, stdout, stderr)
	}
	fmt.Fprintf(stdout, "\n%s of virtual time in %s of real time; %d API calls\n",
		clk.Now().Sub(virtualStart).Round(time.Second), time.Since(started).Round(time.Millisecond), w.Cloud.Log().Count("", ""))
	return 0
}
