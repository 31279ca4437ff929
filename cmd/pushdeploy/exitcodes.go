package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/aws/smithy-go"

	"github.com/pushdeploy/pushdeploy/internal/app/contract"
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

// exitCodes are the exit codes' meanings, in order, with the product's
// error names of each class (contract.NamesOf), so that the help and the
// README (a test compares them) say which named errors give which code.
var exitCodes = []struct {
	code    int
	meaning string
}{
	{exitOK, "succeeded (a rollback: rolled back), or skipped (nothing needed to change; the reason is printed)"},
	{exitFailed, "the execution failed (and was not rolled back), timed out or was aborted (" + strings.Join(contract.NamesOf(contract.Unexpected), ", ") + ", or any error once the service was touched)"},
	{exitBadInput, "usage error or bad input, refused by the CLI before anything started or by the state machine before anything changed: " +
		strings.Join(contract.NamesOf(contract.Final), ", ")},
	{exitRolledBack, "the deploy (or redeploy) failed and was rolled back"},
	{exitSuperseded, "superseded: a newer execution took over the service (" + strings.Join(contract.NamesOf(contract.Lost), ", ") + ")"},
	{exitAWS, "AWS or connection error (credentials, endpoint, missing table or state machine; " +
		strings.Join(append(contract.NamesOf(contract.Throttle), contract.NamesOf(contract.Transient)...), ", ") + " after the retries)"},
	{exitInterrupted, "interrupted while following (the execution goes on)"},
}

// exitCodesHelp is appended to every subcommand's usage.
var exitCodesHelp = func() string {
	var b strings.Builder
	b.WriteString("Exit codes:\n")
	for _, e := range exitCodes {
		fmt.Fprintf(&b, "  %-4d %s\n", e.code, e.meaning)
	}
	return b.String()
}()

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
// (a wrong name or ARN), not by the environment. The product's own errors
// are classified by contract.ClassOf (exitForClass).
var badInputAPICodes = map[string]bool{
	"InvalidArn":                  true,
	"ExecutionDoesNotExist":       true,
	"StateMachineDoesNotExist":    true,
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

// exitForClass is the exit code of a product error (contract.ErrorNames) by
// its class, the one the state machine's Retry and Catch policy uses:
// retrying cannot help (the input) is 2, a lost lease is superseded (4),
// AWS throttling or a transient failure is the environment (5), anything
// else failed (1).
func exitForClass(c contract.ErrorClass) int {
	switch c {
	case contract.Final:
		return exitBadInput
	case contract.Lost:
		return exitSuperseded
	case contract.Throttle, contract.Transient:
		return exitAWS
	}
	return exitFailed
}

// exitForName is exitForClass of an error name an execution reported, or
// exitFailed for a name that is not the product's (States.*, Lambda.*).
func exitForName(name string) int {
	if !slices.Contains(contract.ErrorNames(), name) {
		return exitFailed
	}
	return exitForClass(contract.ClassOf(name))
}

// exitCode classifies an error: known exit codes, the product's named
// errors by class, then AWS API errors by code; anything else reached AWS
// or failed to (exit 5).
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
	if name := contract.NameOf(err); name != "" {
		return exitForName(name)
	}
	var api smithy.APIError
	if errors.As(err, &api) && badInputAPICodes[api.ErrorCode()] {
		return exitBadInput
	}
	return exitAWS
}

// fail prints err on one line of stderr and returns its exit code.
func fail(stderr io.Writer, cmd string, err error) int {
	fmt.Fprintln(stderr, errorLine(cmd, err))
	return exitCode(err)
}
