package eventbridge

import "context"

// Invoker delivers an event to a Lambda function, asynchronously as
// EventBridge does (InvocationType Event). The local Lambda service
// implements it. payload is the event (or the target's transformed input).
//
// EventBridge holds the clock busy while InvokeEvent runs, so InvokeEvent
// must hand the event over (queue the invocation) and return without waiting
// on the clock; an error means the hand-over failed.
type Invoker interface {
	InvokeEvent(ctx context.Context, functionARN string, payload []byte) error
}

// ExecutionStarter starts a Step Functions execution for an event. The local
// Step Functions service implements it. input is the event (or the target's
// transformed input). As with Invoker, it must start the execution and
// return without waiting on the clock.
type ExecutionStarter interface {
	StartExecutionFromEvent(ctx context.Context, stateMachineARN string, input []byte) error
}
