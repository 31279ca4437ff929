// Command watch is pushdeploy's watch function: handler.WatchFunction with the
// clients it calls and no other, started by internal/app/lambdamain.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/pushdeploy/pushdeploy/internal/app/handler"
	"github.com/pushdeploy/pushdeploy/internal/app/lambdamain"
)

func main() { lambdamain.Run("watch", wire) }

func wire(cfg aws.Config, w handler.Wiring) (lambda.Handler, error) {
	return handler.WatchFunction(w, ecs.NewFromConfig(cfg), cloudwatch.NewFromConfig(cfg), dynamodb.NewFromConfig(cfg), sfn.NewFromConfig(cfg), eventbridge.NewFromConfig(cfg))
}
