package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/pushdeploy/pushdeploy/internal/app/contract"
	"github.com/pushdeploy/pushdeploy/internal/app/taskdef"
)

// runDeploy is `pushdeploy deploy`.
func runDeploy(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newCLICommand("deploy", "--cluster C --service S (--image URI | --digest sha256:...) [flags]",
		"Deploys an image to one service: starts a manual execution of the deploy state machine\n"+
			"(register a copy of the current task definition with the image pinned by digest,\n"+
			"update, wait for the rollout, bake, roll back on failure) and follows it like watch\n"+
			"(--output json: the timeline as JSON lines, the last one the result).\n"+
			"--image takes repository:tag or repository@sha256:...; --digest an image of the\n"+
			"repository the service follows (its pushdeploy:repository tag). A digest the service\n"+
			"was rolled back from is quarantined: deploying it needs --force, and its success\n"+
			"lifts the quarantine.",
		stdout, stderr)
	m := newManual(c)
	image := c.fs.String("image", "", "image to deploy: [<registry>/]<repository>:<tag> or @sha256:<digest> (no registry: this account's ECR)")
	digest := c.fs.String("digest", "", "digest (sha256:<64 hex>) of an image of the service's repository")
	containers := c.fs.String("containers", "", "comma-separated containers that get the image (default: the service's pushdeploy:containers tag)")
	force := c.fs.Bool("force", false, "deploy a quarantined digest (recorded; its success lifts the quarantine)")
	if _, code, done := c.parse(args, 0); done {
		return code
	}
	in := contract.ExecutionInput{Action: contract.ActionDeploy, Image: *image, Digest: *digest, Containers: splitList(*containers), Force: *force}
	switch {
	case *image == "" && *digest == "":
		return c.usageError("give --image or --digest")
	case *image != "" && *digest != "":
		return c.usageError("give --image or --digest, not both")
	case *digest != "" && !taskdef.ValidDigest(*digest):
		return c.usageError("--digest %q is not sha256:<64 lowercase hex>", *digest)
	case *image != "":
		if _, err := taskdef.ParseImage(*image); err != nil {
			return c.usageError("--image: %v", err)
		}
	}
	return m.run(ctx, in)
}

// manual holds what deploy, rollback and redeploy share: flags, starting
// the execution and following it.
type manual struct {
	c            *cliCommand
	aws          awsFlags
	out          outputFlag
	cluster      *string
	service      *string
	reason       *string
	stateMachine *string
	noWait       *bool
	interval     *time.Duration
}

func newManual(c *cliCommand) *manual {
	m := &manual{c: c}
	fs := c.fs
	m.cluster = fs.String("cluster", "", "ECS cluster name or ARN")
	m.service = fs.String("service", "", "ECS service name or ARN")
	m.reason = fs.String("reason", "", "why, kept in the history record")
	m.stateMachine = stringFlagEnv(fs, "state-machine", envStateMachine, "ARN of pushdeploy's deploy state machine")
	m.noWait = fs.Bool("no-wait", false, "print the execution ARN and return once started")
	m.interval = fs.Duration("interval", 2*time.Second, "how often to poll the execution history while following")
	m.aws.register(fs)
	m.out.register(fs)
	return m
}

// flagSet exposes the flag set for action-specific flags.
func (m *manual) flagSet() *flag.FlagSet { return m.c.fs }

// run validates the common flags, starts the execution and follows it.
func (m *manual) run(ctx context.Context, in contract.ExecutionInput) int {
	c := m.c
	if err := required("cluster", *m.cluster, "service", *m.service, "state-machine", *m.stateMachine); err != nil {
		return c.usageError("%v", err)
	}
	if *m.interval <= 0 {
		return c.usageError("--interval must be positive")
	}
	in.Cluster, in.Service, in.Reason = *m.cluster, *m.service, *m.reason
	cfg, err := m.aws.config(ctx)
	if err != nil {
		return c.fail(err)
	}
	if in.Image != "" {
		img, err := taskdef.ParseImage(in.Image)
		if err == nil {
			img, err = qualifyImage(ctx, cfg, img)
		}
		if err != nil {
			return c.fail(err)
		}
		in.Image = img.String()
	}
	if err := precheck(ctx, cfg, *m.stateMachine, in); err != nil {
		return c.fail(err)
	}
	in.RequestedBy = requestedBy(ctx, cfg, isLoopback(m.aws.endpointURL()))
	body, err := json.Marshal(in)
	if err != nil {
		return c.fail(err)
	}
	api := sfn.NewFromConfig(cfg)
	out, err := api.StartExecution(ctx, &sfn.StartExecutionInput{
		StateMachineArn: aws.String(*m.stateMachine),
		Name:            aws.String(executionName(string(in.Action), in.Service, time.Now())),
		Input:           aws.String(string(body)),
	})
	if err != nil {
		return c.fail(fmt.Errorf("start execution: %w", err))
	}
	arn := aws.ToString(out.ExecutionArn)
	if *m.noWait {
		if m.out.json() {
			_ = writeJSON(c.stdout, map[string]string{"executionArn": arn})
		} else {
			fmt.Fprintln(c.stdout, arn)
		}
		return exitOK
	}
	if !m.out.json() {
		fmt.Fprintf(c.stdout, "execution %s\n", arn)
	}
	f := &follower{api: api, ecs: ecs.NewFromConfig(cfg), out: c.stdout, json: m.out.json(), tty: !m.out.json() && isTerminal(c.stdout), interval: *m.interval}
	res, err := f.follow(ctx, arn)
	if err != nil {
		return c.fail(err)
	}
	if res.ExitCode != exitOK && res.Reason != "" {
		fmt.Fprintln(c.stderr, errorLine(c.name, fmt.Errorf("%s: %s", res.Status, res.Reason)))
	}
	return res.ExitCode
}
