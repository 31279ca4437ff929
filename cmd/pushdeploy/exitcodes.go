package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/aws/smithy-go"
)

// Exit codes of the operator subcommands (deploy, rollback, redeploy, status,
// history, watch, diff, graph). Scripts may rely on them; they are printed
// by every subcommand's --help.
//
// A rollback execution (pushdeploy rollback, or an alarm's) that completes
// is recorded ROLLED_BACK and its Step Functions execution fails with
// RolledBack, but it did what was asked: it exits 0. Exit 3 is for deploys
// and redeploys that failed and were rolled back.
//
// SKIPPED exits 0: the state machine decided nothing needed to change (the
// service already runs the image, is already on its last good revision...),
// so the service is in a state the caller can build on; the reason is
// printed. SUPERSEDED gets its own code: a newer execution took the
// service's lease, so what runs is not what this command asked for, and a
// script must not assume its image is live.
const (
	exitOK          = 0   // succeeded, or skipped with a reason; a read-only command worked
	exitFailed      = 1   // the execution failed (not rolled back, timed out, aborted, finish failed)
	exitBadInput    = 2   // usage error or input rejected (by the CLI or the state machine's plan): nothing changed
	exitRolledBack  = 3   // a deploy or redeploy failed and was rolled back: the service runs the previous revision
	exitSuperseded  = 4   // a newer execution took over the service; this one stopped
	exitAWS         = 5   // AWS or connection error: credentials, endpoint, throttling, missing table or state machine
	exitInterrupted = 130 // interrupted while following; the execution goes on (see `pushdeploy watch`)
)

// exitCodesHelp is appended to every subcommand's usage.
const exitCodesHelp = `Exit codes:
  0    succeeded (a rollback: rolled back), or skipped (nothing needed to change; the reason is printed)
  1    the execution failed (and was not rolled back), timed out or was aborted
  2    usage error or bad input (rejected by the CLI or by the state machine before anything changed)
  3    the deploy (or redeploy) failed and was rolled back
  4    superseded: a newer execution took over the service
  5    AWS or connection error (credentials, endpoint, throttling, missing table or state machine)
  130  interrupted while following (the execution goes on)
`

// exitError carries an exit code with an error, for errors whose class is
// known where they are made.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// badInput is an error in what the operator asked for: exit 2.
func badInput(format string, a ...any) error {
	return &exitError{code: exitBadInput, err: fmt.Errorf(format, a...)}
}

// badInputAPICodes are AWS error codes caused by the command's arguments
// (a wrong name or ARN), not by the environment.
var badInputAPICodes = map[string]bool{
	"InvalidArn":                  true,
	"ExecutionDoesNotExist":       true,
	"InvalidName":                 true,
	"InvalidExecutionInput":       true,
	"ClusterNotFoundException":    true,
	"ServiceNotFoundException":    true,
	"ServiceNotActiveException":   true,
	"InvalidParameterException":   true,
	"ClientException":             true,
	"ImageNotFoundException":      true,
	"RepositoryNotFoundException": true,
}

// exitCode classifies an error: known classes, then AWS API errors by code;
// anything else reached AWS or failed to (exit 5).
func exitCode(err error) int {
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	if errors.Is(err, context.Canceled) {
		return exitInterrupted
	}
	var api smithy.APIError
	if errors.As(err, &api) && badInputAPICodes[api.ErrorCode()] {
		return exitBadInput
	}
	return exitAWS
}

// fail prints err on stderr and returns its exit code.
func fail(stderr io.Writer, cmd string, err error) int {
	fmt.Fprintf(stderr, "pushdeploy %s: %v\n", cmd, err)
	return exitCode(err)
}
