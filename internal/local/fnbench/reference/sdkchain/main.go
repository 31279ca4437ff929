// Command sdkchain is reference sdkfloor with the CLI's aws.Config
// (awsconfig/chain: config.LoadDefaultConfig, whose shared-file, SSO and STS
// credential providers the functions no longer link): what the floor was.
package main

import (
	"context"
	"encoding/json"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/pushdeploy/pushdeploy/internal/app/awsconfig/chain"
)

func main() {
	cfg, err := chain.Load(context.Background(), chain.Options{})
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
