// Command tracing is the minimal function plus an aws.Config instrumented by
// internal/app/tracing: what pushdeploy's X-Ray tracing costs on its own.
package main

import (
	"context"
	"encoding/json"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/pushdeploy/pushdeploy/internal/app/tracing"
)

func main() {
	var cfg aws.Config
	tracing.Instrument(&cfg)
	lambda.Start(func(_ context.Context, in json.RawMessage) (json.RawMessage, error) {
		return in, nil
	})
}
