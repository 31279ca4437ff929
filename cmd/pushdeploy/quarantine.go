package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/pushdeploy/pushdeploy/internal/app/contract"
	"github.com/pushdeploy/pushdeploy/internal/app/ledger"
	"github.com/pushdeploy/pushdeploy/internal/app/taskdef"
)

// runQuarantine is `pushdeploy quarantine list|release`.
func runQuarantine(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "list":
			return runQuarantineList(ctx, args[1:], stdout, stderr)
		case "release":
			return runQuarantineRelease(ctx, args[1:], stdout, stderr)
		}
	}
	c := newCLICommand("quarantine", "list|release --cluster C --service S [flags]",
		"Shows or lifts the quarantine of image digests a service was rolled back from:\n"+
			"  list     the quarantined digests, with the revision and the execution that rolled back\n"+
			"  release  lets pushes of --digest deploy again (a recorded execution)",
		stdout, stderr)
	if len(args) == 0 {
		c.usage(stderr)
		return exitBadInput
	}
	if args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		c.usage(stdout)
		return exitOK
	}
	return c.usageError("unknown subcommand %q (want list or release)", args[0])
}

func runQuarantineList(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newCLICommand("quarantine list", "--cluster C --service S [--output json]",
		"Lists the image digests pushes do not deploy to the service because it was rolled\n"+
			"back from them (alarm, circuit breaker, timeout, an operator's rollback), oldest first.",
		stdout, stderr)
	f := newServiceFlags(c)
	if _, code, done := c.parse(args, 0); done {
		return code
	}
	if code, ok := f.check(c); !ok {
		return code
	}
	_, svc, store, err := f.open(ctx)
	if err != nil {
		return c.fail(err)
	}
	l, err := store.Ledger(ctx, aws.ToString(svc.ServiceArn))
	if err != nil {
		return c.fail(err)
	}
	qs := append([]ledger.Quarantine{}, l.Quarantined...)
	if f.out.json() {
		if err := writeJSON(stdout, qs); err != nil {
			return c.fail(err)
		}
		return exitOK
	}
	if len(qs) == 0 {
		fmt.Fprintln(stdout, "no quarantined digests")
		return exitOK
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SINCE\tDIGEST\tFROM\tBY\tREASON")
	for _, q := range qs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", q.Since.UTC().Format(time.DateTime), q.Digest, dash(shortRevision(q.Revision)), shortName(q.Execution), q.Reason)
	}
	tw.Flush()
	return exitOK
}

func runQuarantineRelease(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newCLICommand("quarantine release", "--cluster C --service S --digest sha256:... [--reason R] [flags]",
		"Lifts the quarantine of a digest on the service, through a manual execution of the\n"+
			"deploy state machine (recorded in the history with who did it and why), so that\n"+
			"pushes of it deploy again. Nothing on the service changes; deploy it with\n"+
			"`pushdeploy deploy --digest` or push it again.",
		stdout, stderr)
	m := newManual(c)
	digest := c.fs.String("digest", "", "the quarantined digest (sha256:<64 hex>)")
	if _, code, done := c.parse(args, 0); done {
		return code
	}
	if !taskdef.ValidDigest(*digest) {
		return c.usageError("--digest %q is not sha256:<64 lowercase hex>", *digest)
	}
	return m.run(ctx, contract.ExecutionInput{Action: contract.ActionRelease, Digest: *digest})
}
