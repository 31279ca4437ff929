// Command finish is pushdeploy's finish function (internal/handler).
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/pushdeploy/pushdeploy/internal/awsconfig"
	"github.com/pushdeploy/pushdeploy/internal/handler"
	"github.com/pushdeploy/pushdeploy/internal/tracing"
)

func main() {
	ctx := context.Background()
	log := lambdacontext.NewLogger()
	cfg, err := awsconfig.Load(ctx, awsconfig.Options{})
	if err != nil {
		log.Error("load aws config", "error", err)
		os.Exit(1)
	}
	tracing.Instrument(&cfg)
	h, err := handler.New(ctx, "finish", cfg, os.Getenv, handler.WithLogger(log))
	if err != nil {
		log.Error("build handler", "error", err)
		os.Exit(1)
	}
	lambda.Start(h)
}
