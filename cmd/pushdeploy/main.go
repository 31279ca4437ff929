// Command pushdeploy is the operator CLI and the local run of pushdeploy.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
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
	"freeze":     runFreeze,
	"unfreeze":   runUnfreeze,
	"cancel":     runCancel,
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
	if args[0] == "--version" || args[0] == "version" {
		fmt.Fprintln(stdout, "pushdeploy "+version())
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "pushdeploy: unknown command %q (see 'pushdeploy --help')\n", args[0])
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
	fmt.Fprintln(w, "usage: pushdeploy <command> [flags]   (pushdeploy <command> --help for its flags; pushdeploy --version)")
	fmt.Fprintln(w, "commands:")
	for _, n := range names {
		fmt.Fprintln(w, "  "+n)
	}
}

// version is the module version the binary was built from, or the VCS
// revision of a build from a checkout ("+dirty" with local changes).
func version() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "(unknown)"
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev, modified string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				modified = "+dirty"
			}
		}
	}
	if rev == "" {
		return "(devel)"
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	return "(devel) " + rev + modified
}
