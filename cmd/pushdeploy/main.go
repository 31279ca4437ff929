// Command pushdeploy is the operator CLI and the local run of pushdeploy.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

// command runs one subcommand and returns the process exit code.
type command func(ctx context.Context, args []string, stdout, stderr io.Writer) int

// commands is the subcommand table; each subcommand adds its line here.
var commands = map[string]command{
	"localcloud": runLocalCloud,
	"states":     runStates,
	"demo":       runDemo,
	"deploy":     runDeploy,
	"rollback":   runRollback,
	"redeploy":   runRedeploy,
	"status":     runStatus,
	"history":    runHistory,
	"watch":      runWatch,
	"quarantine": runQuarantine,
	"diff":       runDiff,
	"graph":      runGraph,
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "--help" || args[0] == "-h" || args[0] == "help" {
		if len(args) == 0 {
			usage(stderr)
			return 2
		}
		usage(stdout)
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "pushdeploy: unknown command %q\n", args[0])
		usage(stderr)
		return 2
	}
	return cmd(ctx, args[1:], stdout, stderr)
}

func usage(w io.Writer) {
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintln(w, "usage: pushdeploy <command> [flags]   (pushdeploy <command> --help for its flags)")
	fmt.Fprintln(w, "commands:")
	for _, n := range names {
		fmt.Fprintln(w, "  "+n)
	}
}
