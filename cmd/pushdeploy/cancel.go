package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/pushdeploy/pushdeploy/internal/app/clock"
	"github.com/pushdeploy/pushdeploy/internal/app/contract"
	"github.com/pushdeploy/pushdeploy/internal/app/coord"
	"github.com/pushdeploy/pushdeploy/internal/app/history"
)

// runCancel is `pushdeploy cancel`.
func runCancel(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newCLICommand("cancel", "EXECUTION_ARN [flags]",
		"Stops a deploy (or redeploy) in flight and returns the service to the revision it ran\n"+
			"before: the execution's rollout or bake wait is woken with a 'cancelled' outcome, so its\n"+
			"own Undo steps put the previous revision back and its finish writes the one record,\n"+
			"ROLLED_BACK 'cancelled by <who>' (who: the caller's IAM identity). The revision and its\n"+
			"image are not held bad: a cancel is no evidence against them. An execution between\n"+
			"steps is tried again for --wait; a rollback, an undo in progress or a finished\n"+
			"execution cannot be cancelled (exit 2). Then it follows the execution like watch; a\n"+
			"completed cancel exits 0.",
		stdout, stderr)
	var af awsFlags
	var out outputFlag
	af.register(c.fs)
	out.register(c.fs)
	table := stringFlagEnv(c.fs, "table", envTable, "pushdeploy's DynamoDB table")
	retry := c.fs.Duration("wait", 30*time.Second, "how long to keep trying while the execution is between steps")
	noWait := c.fs.Bool("no-wait", false, "return once the cancel is sent")
	interval := c.fs.Duration("interval", 2*time.Second, "how often to poll the execution history while following")
	pos, code, done := c.parse(args, 1)
	if done {
		return code
	}
	if len(pos) != 1 {
		return c.usageError("want one EXECUTION_ARN")
	}
	if err := required("table", *table); err != nil {
		return c.usageError("%v", err)
	}
	if *interval <= 0 || *retry < 0 {
		return c.usageError("--interval must be positive, --wait not negative")
	}
	arn := pos[0]
	cfg, err := af.config(ctx)
	if err != nil {
		return c.fail(err)
	}
	api := sfn.NewFromConfig(cfg)
	desc, err := api.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
	if err != nil {
		return c.fail(err)
	}
	if desc.Status != sfntypes.ExecutionStatusRunning {
		return c.fail(badInput("execution %s is %s, not running: nothing to cancel", arn, desc.Status))
	}
	var in contract.ExecutionInput
	if err := json.Unmarshal([]byte(aws.ToString(desc.Input)), &in); err != nil || in.Cluster == "" || in.Service == "" {
		return c.fail(badInput("execution %s is not a pushdeploy execution (its input names no cluster and service)", arn))
	}
	svc, err := describeService(ctx, ecs.NewFromConfig(cfg), in.Cluster, in.Service)
	if err != nil {
		return c.fail(err)
	}
	leases, err := coord.New(dynamodb.NewFromConfig(cfg), *table, clock.Real{})
	if err != nil {
		return c.fail(err)
	}
	co, err := coord.NewCoordinator(leases, api, clock.Real{})
	if err != nil {
		return c.fail(err)
	}
	by := requestedBy(ctx, cfg, isLoopback(af.endpointURL()))
	deadline := time.Now().Add(*retry)
	for {
		err = co.Cancel(ctx, aws.ToString(svc.ServiceArn), arn, by)
		var not *coord.NotCancellableError
		if errors.As(err, &not) && not.Retry && time.Now().Before(deadline) {
			select {
			case <-ctx.Done():
				return c.fail(ctx.Err())
			case <-time.After(500 * time.Millisecond):
			}
			continue
		}
		if errors.As(err, &not) {
			return c.fail(badInput("%v", err))
		}
		if err != nil {
			return c.fail(err)
		}
		break
	}
	if *noWait {
		if out.json() {
			_ = writeJSON(stdout, map[string]string{"executionArn": arn, "cancelledBy": by})
		} else {
			fmt.Fprintf(stdout, "cancelled %s (by %s); it rolls back\n", arn, by)
		}
		return exitOK
	}
	if !out.json() {
		fmt.Fprintf(stdout, "cancelled %s (by %s); following it\n", arn, by)
	}
	f := &follower{api: api, ecs: ecs.NewFromConfig(cfg), out: stdout, json: out.json(), tty: !out.json() && isTerminal(stdout), interval: *interval}
	res, err := f.follow(ctx, arn)
	if err != nil {
		return c.fail(err)
	}
	if res.Status == string(history.RolledBack) {
		return exitOK // what was asked
	}
	if res.ExitCode != exitOK && res.Reason != "" {
		fmt.Fprintln(stderr, errorLine(c.name, fmt.Errorf("%s: %s", res.Status, res.Reason)))
	}
	return res.ExitCode
}
