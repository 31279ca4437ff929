// Package eventbridge is the local cloud's Amazon EventBridge: event buses,
// rules with event patterns, targets (local Lambda functions and Step
// Functions state machines) and PutEvents, on AWS JSON 1.1 (AWSEvents).
package eventbridge
