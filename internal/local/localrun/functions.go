package localrun

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	awslambda "github.com/aws/aws-lambda-go/lambda"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/pushdeploy/pushdeploy/internal/app/handler"
	lclambda "github.com/pushdeploy/pushdeploy/internal/local/localcloud/lambda"
	"github.com/pushdeploy/pushdeploy/internal/local/samlocal"
)

// CodeURITag names, on a locally created function, the template's CodeUri,
// from which the in-process factory knows which handler to build.
const CodeURITag = "localcloud:code-uri"

// lambdaFunctions creates the template's functions through the Lambda API,
// each pointing at its built bootstrap (build/<LogicalId>/bootstrap, what
// `make build` and `sam build` produce).
type lambdaFunctions struct {
	client *lambda.Client
	binDir string // "" when the handlers run in-process: no binary is needed
}

var _ samlocal.FunctionInstaller = (*lambdaFunctions)(nil)

func (f *lambdaFunctions) InstallFunction(ctx context.Context, fn samlocal.Function) error {
	env := map[string]string{}
	if f.binDir != "" {
		env[lclambda.BinaryEnv] = filepath.Join(f.binDir, fn.LogicalID, "bootstrap")
	}
	for k, v := range fn.Env {
		env[k] = v
	}
	_, err := f.client.CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String(fn.Name),
		Role:         aws.String("arn:aws:iam::123456789012:role/" + fn.Name),
		Runtime:      types.Runtime(fn.Runtime),
		Handler:      aws.String(fn.Handler),
		Timeout:      aws.Int32(int32(fn.Timeout)),
		MemorySize:   aws.Int32(int32(fn.Memory)),
		Code:         &types.FunctionCode{},
		Environment:  &types.Environment{Variables: env},
		Tags:         map[string]string{CodeURITag: fn.CodeURI},
	})
	if err != nil {
		return fmt.Errorf("create function %s: %w", fn.Name, err)
	}
	return nil
}

// newHandler builds functions/<name>'s handler in-process, with the clients
// of c it calls: the one registry of the functions by name. It lives here,
// out of the bootstraps' reach: each functions/<name>/main.go calls its own
// constructor, so the linker keeps one handler and its clients per binary.
func newHandler(name string, c handler.Clients, w handler.Wiring) (awslambda.Handler, error) {
	switch name {
	case "dispatch":
		return handler.DispatchFunction(w, c.ECS, c.CloudWatch, c.Tagging, c.DynamoDB, c.SFN, c.ECR)
	case "plan":
		return handler.PlanFunction(w, c.ECS, c.CloudWatch, c.Tagging, c.DynamoDB, c.SFN, c.ECR)
	case "register":
		return handler.RegisterFunction(w, c.ECS, c.DynamoDB)
	case "update":
		return handler.UpdateFunction(w, c.ECS, c.CloudWatch, c.DynamoDB, c.SFN)
	case "watch":
		return handler.WatchFunction(w, c.ECS, c.CloudWatch, c.DynamoDB, c.SFN, c.EventBridge)
	case "check":
		return handler.CheckFunction(w, c.ECS, c.CloudWatch, c.DynamoDB)
	case "events":
		return handler.EventsFunction(w, c.ECS, c.CloudWatch, c.DynamoDB, c.SFN)
	case "finish":
		return handler.FinishFunction(w, c.ECS, c.Tagging, c.DynamoDB, c.SFN, c.EventBridge)
	}
	return nil, fmt.Errorf("unknown function %q (have %s)", name, strings.Join(handler.Names, ", "))
}
