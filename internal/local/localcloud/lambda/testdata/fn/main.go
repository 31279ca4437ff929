// Command fn is a tiny Lambda function for the local Lambda's tests: it is
// built with aws-lambda-go and run through the Runtime API.
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/config"
	awsl "github.com/aws/aws-sdk-go-v2/service/lambda"
)

type request struct {
	Op  string `json:"op"`
	Key string `json:"key"`
	Ms  int    `json:"ms"`
}

type response struct {
	Op        string `json:"op"`
	Value     string `json:"value,omitempty"`
	PID       int    `json:"pid"`
	RequestID string `json:"requestId"`
	ARN       string `json:"arn"`
	Trace     string `json:"trace"`
	DeadlineS int    `json:"deadlineS"`
}

// DeployError is a named error type: its name is the errorType.
type DeployError struct{ Reason string }

func (e *DeployError) Error() string { return "deploy failed: " + e.Reason }

func handle(ctx context.Context, req request) (response, error) {
	lc, _ := lambdacontext.FromContext(ctx)
	dl, _ := ctx.Deadline()
	out := response{Op: req.Op, PID: os.Getpid(), RequestID: lc.AwsRequestID, ARN: lc.InvokedFunctionArn,
		Trace: os.Getenv("_X_AMZN_TRACE_ID"), DeadlineS: int(time.Until(dl).Round(time.Second).Seconds())}
	switch req.Op {
	case "env":
		out.Value = os.Getenv(req.Key)
	case "fail":
		return response{}, &DeployError{Reason: req.Key}
	case "panic":
		panic("boom " + req.Key)
	case "exit":
		os.Exit(3)
	case "sleep":
		time.Sleep(time.Duration(req.Ms) * time.Millisecond)
	case "list": // a call back to the local cloud, configured from the environment
		cfg, err := config.LoadDefaultConfig(ctx)
		if err != nil {
			return response{}, err
		}
		list, err := awsl.NewFromConfig(cfg).ListFunctions(ctx, &awsl.ListFunctionsInput{})
		if err != nil {
			return response{}, err
		}
		out.Value = fmt.Sprint(len(list.Functions))
	case "echo", "":
	default:
		return response{}, fmt.Errorf("unknown op %q", req.Op)
	}
	return out, nil
}

func main() {
	lambda.StartHandlerFunc(handle, lambda.WithDisallowUnknownFields(true))
}
