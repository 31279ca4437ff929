// Command sdkfloor is the minimal function plus the aws.Config the
// functions build (awsconfig.FromLambda) and the two clients every
// pushdeploy function builds (ECS, DynamoDB): the SDK's share of a cold
// start, below which no function of pushdeploy's can go.
package main

import (
	"context"
	"encoding/json"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/pushdeploy/pushdeploy/internal/app/awsconfig"
)

func main() {
	cfg, err := awsconfig.FromLambda(os.Getenv, awsconfig.DefaultRetry)
	if err != nil {
		panic(err)
	}
	e, d := ecs.NewFromConfig(cfg), dynamodb.NewFromConfig(cfg)
	lambda.Start(func(ctx context.Context, in json.RawMessage) (json.RawMessage, error) {
		e.ListClusters(ctx, nil)
		d.ListTables(ctx, nil)
		return in, nil
	})
}
