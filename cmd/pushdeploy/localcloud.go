package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/pushdeploy/pushdeploy/internal/app/clock"
	"github.com/pushdeploy/pushdeploy/internal/local/localcloud"
	"github.com/pushdeploy/pushdeploy/internal/local/localcloud/lambda"
)

const localCloudUsage = `usage: pushdeploy localcloud [--listen 127.0.0.1:4566] [--speed N]

Serves the local cloud (ECS, ECR, CloudWatch, EventBridge, Lambda, DynamoDB,
Resource Groups Tagging, Step Functions) on one address until interrupted,
printing a line per API call. Point the SDKs and the AWS CLI at it with
AWS_ENDPOINT_URL. --speed runs the clock N times faster than real time.
Function processes write their output to stderr.
`

// runLocalCloud is the "localcloud" subcommand.
func runLocalCloud(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("localcloud", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors and usage are printed below, once
	listen := fs.String("listen", "127.0.0.1:4566", "address to serve the AWS APIs on")
	speed := fs.Float64("speed", 1, "clock speed: 1 is real time, 60 passes a minute per second")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, localCloudUsage)
			return 0
		}
		fmt.Fprintf(stderr, "pushdeploy localcloud: %v\n%s", err, localCloudUsage)
		return 2
	}
	if fs.NArg() > 0 || *speed <= 0 {
		fmt.Fprint(stderr, localCloudUsage)
		return 2
	}
	var clk clock.Clock = clock.Real{}
	if *speed != 1 {
		clk = clock.NewScaled(*speed)
	}
	cloud, err := localcloud.New(localcloud.Options{Clock: clk, Log: stdout, Lambda: lambda.Options{Logs: stderr}})
	if err != nil {
		fmt.Fprintf(stderr, "pushdeploy localcloud: %v\n", err)
		return 1
	}
	url, err := cloud.Listen(*listen)
	if err != nil {
		cloud.Close()
		fmt.Fprintf(stderr, "pushdeploy localcloud: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "local cloud serving on %s (clock speed %gx); stop with Ctrl-C\n", url, *speed)
	fmt.Fprintf(stdout, "  export AWS_ENDPOINT_URL=%s AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test\n", url)
	<-ctx.Done()
	if err := cloud.Close(); err != nil {
		fmt.Fprintf(stderr, "pushdeploy localcloud: %v\n", err)
		return 1
	}
	return 0
}
