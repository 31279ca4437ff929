// Command check is pushdeploy's check function: handler.CheckFunction with the
// clients it calls and no other, started by internal/app/lambdamain.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/pushdeploy/pushdeploy/internal/app/handler"
	"github.com/pushdeploy/pushdeploy/internal/app/lambdamain"
)

func main() { lambdamain.Run("check", wire) }

func wire(cfg aws.Config, w handler.Wiring) (lambda.Handler, error) {
	return handler.CheckFunction(w, ecs.NewFromConfig(cfg), cloudwatch.NewFromConfig(cfg), dynamodb.NewFromConfig(cfg))
}
