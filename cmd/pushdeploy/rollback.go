package main

import (
	"context"
	"io"
	"strconv"

	"github.com/pushdeploy/pushdeploy/internal/contract"
	"github.com/pushdeploy/pushdeploy/internal/taskdef"
)

// runRollback is `pushdeploy rollback`.
func runRollback(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newCLICommand("rollback", "--cluster C --service S [--revision family:N] [flags]",
		"Rolls a service back to its last good revision other than the one it runs (the newest\n"+
			"in its ledger that passed its bake or was rolled back to), or to --revision (a task\n"+
			"definition ARN, family:N, or N of the service's family), through a manual execution\n"+
			"of the deploy state machine, and follows it like watch (--output json: the timeline\n"+
			"as JSON lines, the last one the result). The revision rolled back from becomes bad\n"+
			"and its image is quarantined: pushes of it are skipped until `pushdeploy quarantine\n"+
			"release`. A revision the service was rolled back from needs --force.",
		stdout, stderr)
	m := newManual(c)
	revision := m.flagSet().String("revision", "", "target revision: task definition ARN, family:N or N (default: the last good revision)")
	force := m.flagSet().Bool("force", false, "roll back to a revision the service was rolled back from (recorded)")
	if _, code, done := c.parse(args, 0); done {
		return code
	}
	if n, err := strconv.Atoi(*revision); *revision != "" && (err != nil || n < 1) {
		if _, err := taskdef.ParseRevision(*revision); err != nil {
			return c.usageError("--revision: %v", err)
		}
	}
	return m.run(ctx, contract.ExecutionInput{Action: contract.ActionRollback, Revision: *revision, Force: *force})
}
