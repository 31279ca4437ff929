package eventbridge

import "context"

// Invoker delivers an event to a Lambda function, asynchronously as
// EventBridge does (InvocationType Event). The local Lambda service
// implements it. payload is the event (or the target's transformed input).
type Invoker interface {
	InvokeEvent(ctx context.Context, functionARN string, payload []byte) error
}

// ExecutionStarter starts a Step Functions execution for an event. The local
// Step Functions service implements it. input is the event (or the target's
// transformed input).
type ExecutionStarter interface {
	StartExecutionFromEvent(ctx context.Context, stateMachineARN string, input []byte) error
}
