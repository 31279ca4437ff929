package main

import (
	"context"
	"io"

	"github.com/pushdeploy/pushdeploy/internal/app/contract"
)

// runRedeploy is `pushdeploy redeploy`.
func runRedeploy(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newCLICommand("redeploy", "--cluster C --service S [flags]",
		"Starts new tasks of the service's current revision (e.g. to pick up new secrets)\n"+
			"through a manual execution of the deploy state machine, and follows it like watch\n"+
			"(--output json: the timeline as JSON lines, the last one the result).",
		stdout, stderr)
	m := newManual(c)
	if _, code, done := c.parse(args, 0); done {
		return code
	}
	return m.run(ctx, contract.ExecutionInput{Action: contract.ActionRedeploy})
}
