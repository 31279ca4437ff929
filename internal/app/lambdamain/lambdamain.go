// Package lambdamain is what every function's main does: read the
// environment, load the aws.Config with retries and X-Ray, hand it to the
// function's own wiring (which builds exactly its clients and its handler
// with one of internal/app/handler's function constructors), and start the
// Lambda runtime. It knows no function by name, so each bootstrap links its
// own handler and clients only.
package lambdamain

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/pushdeploy/pushdeploy/internal/app/awsconfig"
	"github.com/pushdeploy/pushdeploy/internal/app/handler"
	"github.com/pushdeploy/pushdeploy/internal/app/tracing"
)

// Wire builds a function's handler: its clients from cfg, then its
// constructor with w.
type Wire func(cfg aws.Config, w handler.Wiring) (lambda.Handler, error)

// Run starts the Lambda runtime loop for the function named like its
// directory under functions/, built by wire. It returns only on a start-up
// error, after logging it, with the process exiting non-zero so Lambda
// reports an init error.
func Run(name string, wire Wire) {
	log := lambdacontext.NewLogger()
	h, err := Handler(context.Background(), wire, os.Getenv, log)
	if err != nil {
		log.Error("start", "function", name, "error", err)
		os.Exit(1)
	}
	lambda.Start(h)
}

// Handler is what Run starts: the aws.Config from the environment,
// instrumented by tracing, and the Wiring from env, handed to wire.
func Handler(ctx context.Context, wire Wire, env func(string) string, log *slog.Logger) (lambda.Handler, error) {
	w, err := handler.WiringFromEnv(env, log)
	if err != nil {
		return nil, err
	}
	cfg, err := awsconfig.FromLambda(env, awsconfig.DefaultRetry)
	if err != nil {
		return nil, err
	}
	tracing.Instrument(&cfg)
	return wire(cfg, w)
}
