package contract

import (
	"encoding/json"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// Event is the EventBridge envelope the dispatch and events functions receive
// (aws-lambda-go's type; Detail stays raw and is decoded by detail-type).
type Event = events.EventBridgeEvent

// Detail types and sources of the events pushdeploy consumes.
const (
	SourceECR                 = "aws.ecr"
	DetailTypeECRImageAction  = "ECR Image Action"
	SourceCloudWatch          = "aws.cloudwatch"
	DetailTypeAlarmState      = "CloudWatch Alarm State Change"
	SourceECS                 = "aws.ecs"
	DetailTypeECSDeployment   = "ECS Deployment State Change"
	SourcePushdeploy          = "pushdeploy"
	DetailTypeDeploymentState = "Deployment State Change"
)

// ECRImageActionDetail is the detail of an ECR Image Action event.
type ECRImageActionDetail = events.ECRImageActionEventDetailType

// AlarmStateChangeDetail is the detail of a CloudWatch Alarm State Change
// event (aws-lambda-go has no type for it). Decoded leniently: AWS adds fields.
type AlarmStateChangeDetail struct {
	AlarmName     string          `json:"alarmName"`
	State         AlarmState      `json:"state"`
	PreviousState AlarmState      `json:"previousState"`
	Configuration json.RawMessage `json:"configuration,omitempty"`
}

// AlarmState is one side of an alarm state change.
type AlarmState struct {
	Value     string `json:"value"` // OK, ALARM, INSUFFICIENT_DATA
	Reason    string `json:"reason"`
	Timestamp string `json:"timestamp"`
}

// ECSDeploymentDetail is the detail of an ECS Deployment State Change event;
// the service ARN is the event's first resource.
type ECSDeploymentDetail struct {
	EventType    string    `json:"eventType"` // INFO, ERROR
	EventName    string    `json:"eventName"` // SERVICE_DEPLOYMENT_IN_PROGRESS|COMPLETED|FAILED
	DeploymentID string    `json:"deploymentId"`
	UpdatedAt    time.Time `json:"updatedAt"`
	Reason       string    `json:"reason"`
}

// DispatchResult is the dispatch function's result.
type DispatchResult struct {
	Started []StartedExecution `json:"started"`
	Skipped []SkippedTarget    `json:"skipped"`
	// Woken are the executions in flight whose wait the alarm decided and
	// woke (they are also in Skipped, as deploy-in-flight).
	Woken []string `json:"woken,omitempty"`
	// Waiting counts executions in flight whose wait was already being
	// woken.
	Waiting int `json:"waiting,omitempty"`
	// Parked counts executions in flight whose wait the alarm does not
	// decide (an undo ignores alarms): left parked.
	Parked int `json:"parked,omitempty"`
}

// StartedExecution is one StartExecution call made by dispatch.
type StartedExecution struct {
	Cluster      string `json:"cluster"`
	Service      string `json:"service"`
	Name         string `json:"name"`
	ExecutionArn string `json:"executionArn"`
	// Existing: an execution with that name and input already existed (a
	// duplicated event); nothing new started.
	Existing bool `json:"existing"`
}

// SkippedTarget is a service dispatch considered and did not start.
type SkippedTarget struct {
	Cluster string `json:"cluster"`
	Service string `json:"service"`
	Reason  string `json:"reason"`
}

// EventsResult is the events function's result.
type EventsResult struct {
	// Woken are the execution ARNs whose wait the event decided: they got
	// the judged outcome (SendTaskSuccess).
	Woken []string `json:"woken"`
	// Waiting counts waits another waker was already waking.
	Waiting int `json:"waiting"`
	// Parked counts waits the event did not decide: left parked, their
	// token in the lease.
	Parked int `json:"parked,omitempty"`
}
