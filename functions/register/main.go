// Command register is pushdeploy's register function: handler.RegisterFunction with the
// clients it calls and no other, started by internal/app/lambdamain.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/pushdeploy/pushdeploy/internal/app/handler"
	"github.com/pushdeploy/pushdeploy/internal/app/lambdamain"
)

func main() { lambdamain.Run("register", wire) }

func wire(cfg aws.Config, w handler.Wiring) (lambda.Handler, error) {
	return handler.RegisterFunction(w, ecs.NewFromConfig(cfg), dynamodb.NewFromConfig(cfg))
}
