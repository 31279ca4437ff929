// Package lambdamain is what every function's main does: read the
// environment, build the AWS clients with retries and X-Ray, build the
// function's handler from internal/app/handler, and hand it to the Lambda
// runtime. Each functions/<name>/main.go is one call to Run.
package lambdamain

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/pushdeploy/pushdeploy/internal/app/awsconfig"
	"github.com/pushdeploy/pushdeploy/internal/app/handler"
	"github.com/pushdeploy/pushdeploy/internal/app/tracing"
)

// Run starts the Lambda runtime loop for the function named like its
// directory under functions/. It returns only on a start-up error, after
// logging it, with the process exiting non-zero so Lambda reports an init
// error.
func Run(name string) {
	ctx := context.Background()
	log := lambdacontext.NewLogger()
	cfg, err := awsconfig.Load(ctx, awsconfig.Options{})
	if err != nil {
		log.Error("load aws config", "function", name, "error", err)
		os.Exit(1)
	}
	tracing.Instrument(&cfg)
	h, err := handler.New(ctx, name, cfg, os.Getenv, handler.WithLogger(log))
	if err != nil {
		log.Error("build handler", "function", name, "error", err)
		os.Exit(1)
	}
	lambda.Start(h)
}
