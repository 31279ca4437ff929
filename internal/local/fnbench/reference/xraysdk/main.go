// Command xraysdk is the minimal function plus an aws.Config instrumented by
// the X-Ray SDK's own aws-sdk-go-v2 instrumentation (awsv2, package xray):
// what tracing would cost through package xray, which internal/app/tracing
// avoids.
package main

import (
	"context"
	"encoding/json"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-xray-sdk-go/v2/instrumentation/awsv2"
)

func main() {
	var cfg aws.Config
	awsv2.AWSV2Instrumentor(&cfg.APIOptions)
	lambda.Start(func(_ context.Context, in json.RawMessage) (json.RawMessage, error) {
		return in, nil
	})
}
