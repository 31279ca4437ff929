package handler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/pushdeploy/pushdeploy/internal/awsapi"
	"github.com/pushdeploy/pushdeploy/internal/contract"
)

// The state machine keeps the execution input out of its state document:
// StartExecution accepts 256 KiB of input, and a state's whole payload may
// not exceed that, so an input copied into any state could fail the
// execution with States.DataLimitExceeded, which no Catch handles. Plan and
// finish read it from Step Functions instead.

// errNoInput: DescribeExecution answered without the input (it is left out
// when the caller may not decrypt it).
var errNoInput = errors.New("the execution's input was not returned")

// executionInput returns an execution's input as Step Functions holds it.
func executionInput(ctx context.Context, api awsapi.SFN, executionARN string) (json.RawMessage, error) {
	out, err := api.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(executionARN)})
	if err != nil {
		return nil, boundary("describe execution "+executionARN, err)
	}
	if out.Input == nil {
		return nil, &contract.Internal{Op: "describe execution " + executionARN, Err: errNoInput}
	}
	return json.RawMessage(aws.ToString(out.Input)), nil
}

// planFunc is the plan handler's Handle.
type planFunc = func(context.Context, contract.PlanInput) (contract.Plan, error)

// withExecutionInput gives plan the execution's input when its payload
// does not carry it (the state machine's payload never does).
func withExecutionInput(api awsapi.SFN, next planFunc) (planFunc, error) {
	if api == nil || next == nil {
		return nil, fmt.Errorf("plan input: %w", errMissing)
	}
	return func(ctx context.Context, req contract.PlanInput) (contract.Plan, error) {
		if len(req.Input) == 0 {
			if req.Execution.ID == "" {
				return contract.Plan{}, &contract.BadInput{Field: "execution", Reason: "id is required"}
			}
			raw, err := executionInput(ctx, api, req.Execution.ID)
			if err != nil {
				return contract.Plan{}, err
			}
			req.Input = raw
		}
		return next(ctx, req)
	}, nil
}
