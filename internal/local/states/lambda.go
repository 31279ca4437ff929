package states

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Helpers for task runners that implement Lambda resources, so that the
// local cloud and the CLI wrap payloads the same way Step Functions does.

// IsLambdaInvoke reports whether resource is the optimized Lambda
// integration (arn:aws:states:::lambda:invoke, with or without
// .waitForTaskToken), whose input carries FunctionName and Payload and
// whose result wraps the function's response.
func IsLambdaInvoke(resource string) bool {
	return resource == statesARNPrefix+"lambda:invoke" || resource == statesARNPrefix+"lambda:invoke.waitForTaskToken"
}

// IsLambdaFunction reports whether resource is a bare Lambda function ARN:
// the state's input is the event and the function's response is the result.
func IsLambdaFunction(resource string) bool { return isLambdaARN(resource) }

// LambdaRequest reads the FunctionName and Payload of a lambda:invoke
// task's input. A missing Payload is the JSON null the service sends.
func LambdaRequest(input json.RawMessage) (functionName string, payload json.RawMessage, err error) {
	var in struct {
		FunctionName string
		Payload      json.RawMessage
	}
	if err := json.Unmarshal(input, &in); err != nil {
		return "", nil, fmt.Errorf("lambda:invoke parameters: %w", err)
	}
	if in.FunctionName == "" {
		return "", nil, fmt.Errorf("lambda:invoke parameters: FunctionName is required")
	}
	if len(in.Payload) == 0 {
		in.Payload = json.RawMessage("null")
	}
	return in.FunctionName, in.Payload, nil
}

// LambdaResult wraps a function's response as lambda:invoke returns it.
func LambdaResult(response json.RawMessage) json.RawMessage {
	if len(strings.TrimSpace(string(response))) == 0 {
		response = json.RawMessage("null")
	}
	return json.RawMessage(`{"ExecutedVersion":"$LATEST","Payload":` + string(response) + `,"StatusCode":200}`)
}

// LambdaFunctionError is the failure Step Functions reports when a function
// returns an error: the error's type names it, and the cause is the
// function's error document.
func LambdaFunctionError(errorType, errorMessage string) *TaskFailure {
	name := errorType
	if name == "" {
		name = "Lambda.Unknown"
	}
	cause, _ := json.Marshal(struct {
		ErrorMessage string `json:"errorMessage"`
		ErrorType    string `json:"errorType"`
	}{errorMessage, errorType})
	return &TaskFailure{ErrorName: name, Cause: string(cause)}
}
