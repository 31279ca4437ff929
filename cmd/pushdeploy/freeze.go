package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/pushdeploy/pushdeploy/internal/app/contract"
	"github.com/pushdeploy/pushdeploy/internal/app/freeze"
	"github.com/pushdeploy/pushdeploy/internal/app/history"
)

// runFreeze is `pushdeploy freeze`.
func runFreeze(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newCLICommand("freeze", "--cluster C (--service S | --all) --reason R [--until T] [flags]",
		"Holds pushes back: while the freeze is in force, a push to the service (or, with --all,\n"+
			"to any service of the cluster) is recorded SKIPPED with\n"+
			"'frozen: <reason> by <who> until <T>' and nothing on the service changes. Alarm\n"+
			"rollbacks and manual executions (deploy, rollback, redeploy) still run. --until ends it\n"+
			"by itself (RFC 3339 time, or a duration from now such as 2h); without it, it lasts until\n"+
			"`pushdeploy unfreeze`. Who froze is the caller's IAM identity (STS).",
		stdout, stderr)
	f := newServiceFlags(c)
	all := c.fs.Bool("all", false, "freeze every service of the cluster (instead of --service)")
	reason := c.fs.String("reason", "", "why (required; shown in every skipped push)")
	until := c.fs.String("until", "", "when the freeze ends: RFC 3339 (2026-12-24T18:00:00Z) or a duration from now (90m)")
	if _, code, done := c.parse(args, 0); done {
		return code
	}
	if code, ok := freezeScope(c, f, *all); !ok {
		return code
	}
	if strings.TrimSpace(*reason) == "" {
		return c.usageError("missing --reason")
	}
	now := time.Now().UTC()
	var end time.Time
	if *until != "" {
		var err error
		if end, err = parseUntil(*until, now); err != nil {
			return c.usageError("--until: %v", err)
		}
	}
	cfg, store, service, err := openFreezes(ctx, f, *all)
	if err != nil {
		return c.fail(err)
	}
	fr := freeze.Freeze{Cluster: freeze.ClusterName(*f.cluster), Service: service, Reason: *reason,
		By: requestedBy(ctx, cfg, isLoopback(f.aws.endpointURL())), Since: now, Until: end}
	if err := store.Put(ctx, fr, now); err != nil {
		return c.fail(freezeError(err))
	}
	return c.answer(stdout, f.out.json(), fr, fmt.Sprintf("froze %s: %s", fr.Scope(), strings.TrimPrefix(fr.Explain(), freeze.ReasonPrefix)))
}

// runUnfreeze is `pushdeploy unfreeze`.
func runUnfreeze(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newCLICommand("unfreeze", "--cluster C (--service S | --all) [--deploy-latest] [flags]",
		"Lifts a freeze (see `pushdeploy freeze`): pushes deploy again. With --deploy-latest\n"+
			"(and --service), the newest push the freeze held back, if no push came after it, is\n"+
			"deployed at once, as a manual deploy of its digest followed like `pushdeploy deploy`.",
		stdout, stderr)
	m := newManual(c)
	all := c.fs.Bool("all", false, "lift the cluster's freeze (instead of --service)")
	latest := c.fs.Bool("deploy-latest", false, "deploy the newest push the freeze skipped (with --service)")
	table := stringFlagEnv(c.fs, "table", envTable, "pushdeploy's DynamoDB table")
	if _, code, done := c.parse(args, 0); done {
		return code
	}
	f := &serviceFlags{aws: m.aws, out: m.out, cluster: m.cluster, service: m.service, table: table}
	if code, ok := freezeScope(c, f, *all); !ok {
		return code
	}
	if *latest && *all {
		return c.usageError("--deploy-latest deploys one service: give --service, not --all")
	}
	if *latest && *m.stateMachine == "" {
		return c.usageError("missing --state-machine (--deploy-latest starts a deploy)")
	}
	_, store, service, err := openFreezes(ctx, f, *all)
	if err != nil {
		return c.fail(err)
	}
	fr, err := store.Delete(ctx, *f.cluster, service)
	if err != nil {
		return c.fail(freezeError(err))
	}
	if !*latest {
		return c.answer(stdout, f.out.json(), fr, fmt.Sprintf("unfroze %s (was: %s)", fr.Scope(), strings.TrimPrefix(fr.Explain(), freeze.ReasonPrefix)))
	}
	if !f.out.json() {
		fmt.Fprintf(stdout, "unfroze %s\n", fr.Scope())
	}
	cfg, err := m.aws.config(ctx)
	if err != nil {
		return c.fail(err)
	}
	hist, err := history.New(dynamodb.NewFromConfig(cfg), *table, 0)
	if err != nil {
		return c.fail(err)
	}
	in, rec, err := latestFrozenPush(ctx, hist, sfn.NewFromConfig(cfg), service)
	if err != nil {
		return c.fail(err)
	}
	if in == nil {
		if f.out.json() {
			_ = writeJSON(stdout, map[string]string{"deployed": "", "reason": "no push was held back by the freeze"})
		} else {
			fmt.Fprintln(stdout, "no push was held back by the freeze: nothing to deploy")
		}
		return exitOK
	}
	if !f.out.json() {
		fmt.Fprintf(stdout, "deploying %s, held back at %s (%s)\n", in.Image, rec.StartedAt.UTC().Format(time.RFC3339), shortName(rec.ExecutionARN))
	}
	if *m.reason == "" {
		*m.reason = "held back by freeze: " + fr.Reason
	}
	return m.run(ctx, contract.ExecutionInput{Action: contract.ActionDeploy, Image: in.Image})
}

// freezeScope checks --cluster, and --service or --all (one of them).
func freezeScope(c *cliCommand, f *serviceFlags, all bool) (int, bool) {
	if err := required("cluster", *f.cluster, "table", *f.table); err != nil {
		return c.usageError("%v", err), false
	}
	switch {
	case all && *f.service != "":
		return c.usageError("give --service or --all, not both"), false
	case !all && *f.service == "":
		return c.usageError("give --service S, or --all for every service of the cluster"), false
	}
	return 0, true
}

// openFreezes loads the config and the freeze store and, without --all,
// describes the service (a freeze names it by ARN).
func openFreezes(ctx context.Context, f *serviceFlags, all bool) (aws.Config, *freeze.Store, string, error) {
	cfg, err := f.aws.config(ctx)
	if err != nil {
		return aws.Config{}, nil, "", err
	}
	var service string
	if !all {
		svc, err := describeService(ctx, ecs.NewFromConfig(cfg), *f.cluster, *f.service)
		if err != nil {
			return aws.Config{}, nil, "", err
		}
		service = aws.ToString(svc.ServiceArn)
	}
	store, err := freeze.NewStore(dynamodb.NewFromConfig(cfg), *f.table)
	return cfg, store, service, err
}

// parseUntil reads an RFC 3339 time or a positive duration from now.
func parseUntil(s string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(s); err == nil {
		if d <= 0 {
			return time.Time{}, fmt.Errorf("%q is not in the future", s)
		}
		return now.Add(d), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither an RFC 3339 time nor a duration (90m, 2h)", s)
	}
	if !t.After(now) {
		return time.Time{}, fmt.Errorf("%s is not in the future", s)
	}
	return t.UTC(), nil
}

// freezeError makes the store's refusals bad input (exit 2).
func freezeError(err error) error {
	var frozen *freeze.FrozenError
	var not *freeze.NotFrozenError
	var bad *freeze.InvalidError
	if errors.As(err, &frozen) || errors.As(err, &not) || errors.As(err, &bad) {
		return badInput("%v", err)
	}
	return err
}

// latestFrozenPush finds the newest push to the service and, if the
// freeze skipped it, its execution input (nil if there is nothing to
// deploy: the newest push was not held back).
func latestFrozenPush(ctx context.Context, hist *history.Store, api *sfn.Client, service string) (*contract.ExecutionInput, history.Record, error) {
	token := ""
	for range 10 { // 250 records back at most
		page, err := hist.List(ctx, service, 25, token)
		if err != nil {
			return nil, history.Record{}, err
		}
		for _, r := range page.Records {
			if r.Trigger != string(contract.TriggerPush) {
				continue
			}
			if r.Outcome != history.Skipped || !strings.HasPrefix(r.Reason, freeze.ReasonPrefix) {
				return nil, r, nil
			}
			out, err := api.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(r.ExecutionARN)})
			if err != nil {
				return nil, r, fmt.Errorf("read the held-back push %s: %w", r.ExecutionARN, err)
			}
			var in contract.ExecutionInput
			if err := json.Unmarshal([]byte(aws.ToString(out.Input)), &in); err != nil || in.Image == "" {
				return nil, r, fmt.Errorf("the held-back push %s has no image in its input", r.ExecutionARN)
			}
			return &in, r, nil
		}
		if token = page.Next; token == "" {
			break
		}
	}
	return nil, history.Record{}, nil
}
