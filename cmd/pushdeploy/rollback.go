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
		"Rolls a service back to its last good revision (the last one that passed its bake),\n"+
			"or to --revision (a task definition ARN, family:N, or N of the service's family),\n"+
			"through a manual execution of the deploy state machine, and follows it like watch\n"+
			"(--output json: the timeline as JSON lines, the last one the result).\n"+
			"Nothing is rolled back past the last good revision unless --revision says so.",
		stdout, stderr)
	m := newManual(c)
	revision := m.flagSet().String("revision", "", "target revision: task definition ARN, family:N or N (default: the last good revision)")
	if _, code, done := c.parse(args, 0); done {
		return code
	}
	if n, err := strconv.Atoi(*revision); *revision != "" && (err != nil || n < 1) {
		if _, err := taskdef.ParseRevision(*revision); err != nil {
			return c.usageError("--revision: %v", err)
		}
	}
	return m.run(ctx, contract.ExecutionInput{Action: contract.ActionRollback, Revision: *revision})
}
