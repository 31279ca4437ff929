package states

import (
	"encoding/json"
	"time"
)

// HistoryEvent mirrors the Step Functions GetExecutionHistory event: the JSON
// it marshals to is what the sfn API returns (timestamp in epoch seconds).
type HistoryEvent struct {
	Timestamp       time.Time `json:"-"`
	Type            string    `json:"type"`
	ID              int64     `json:"id"`
	PreviousEventID int64     `json:"previousEventId"`

	ExecutionStartedEventDetails   *ExecutionStartedEventDetails `json:"executionStartedEventDetails,omitempty"`
	ExecutionSucceededEventDetails *OutputEventDetails           `json:"executionSucceededEventDetails,omitempty"`
	ExecutionFailedEventDetails    *ErrorEventDetails            `json:"executionFailedEventDetails,omitempty"`
	ExecutionAbortedEventDetails   *ErrorEventDetails            `json:"executionAbortedEventDetails,omitempty"`
	ExecutionTimedOutEventDetails  *ErrorEventDetails            `json:"executionTimedOutEventDetails,omitempty"`

	StateEnteredEventDetails *StateEnteredEventDetails `json:"stateEnteredEventDetails,omitempty"`
	StateExitedEventDetails  *StateExitedEventDetails  `json:"stateExitedEventDetails,omitempty"`

	TaskScheduledEventDetails *TaskScheduledEventDetails `json:"taskScheduledEventDetails,omitempty"`
	TaskStartedEventDetails   *TaskEventDetails          `json:"taskStartedEventDetails,omitempty"`
	TaskSubmittedEventDetails *TaskEventDetails          `json:"taskSubmittedEventDetails,omitempty"`
	TaskSucceededEventDetails *TaskEventDetails          `json:"taskSucceededEventDetails,omitempty"`
	TaskFailedEventDetails    *TaskEventDetails          `json:"taskFailedEventDetails,omitempty"`
	TaskTimedOutEventDetails  *TaskEventDetails          `json:"taskTimedOutEventDetails,omitempty"`

	LambdaFunctionScheduledEventDetails *LambdaFunctionScheduledEventDetails `json:"lambdaFunctionScheduledEventDetails,omitempty"`
	LambdaFunctionSucceededEventDetails *OutputEventDetails                  `json:"lambdaFunctionSucceededEventDetails,omitempty"`
	LambdaFunctionFailedEventDetails    *ErrorEventDetails                   `json:"lambdaFunctionFailedEventDetails,omitempty"`
	LambdaFunctionTimedOutEventDetails  *ErrorEventDetails                   `json:"lambdaFunctionTimedOutEventDetails,omitempty"`

	MapStateStartedEventDetails       *MapStateStartedEventDetails `json:"mapStateStartedEventDetails,omitempty"`
	MapIterationStartedEventDetails   *MapIterationEventDetails    `json:"mapIterationStartedEventDetails,omitempty"`
	MapIterationSucceededEventDetails *MapIterationEventDetails    `json:"mapIterationSucceededEventDetails,omitempty"`
	MapIterationFailedEventDetails    *MapIterationEventDetails    `json:"mapIterationFailedEventDetails,omitempty"`
	MapIterationAbortedEventDetails   *MapIterationEventDetails    `json:"mapIterationAbortedEventDetails,omitempty"`
}

// MarshalJSON writes the timestamp as epoch seconds, the AWS JSON protocol's
// timestamp format, so the sfn API can pass events through unchanged.
func (h HistoryEvent) MarshalJSON() ([]byte, error) {
	type plain HistoryEvent
	return json.Marshal(struct {
		Timestamp json.Number `json:"timestamp"`
		plain
	}{epochSeconds(h.Timestamp), plain(h)})
}

func epochSeconds(t time.Time) json.Number {
	ms := t.UnixMilli()
	s := ms / 1000
	frac := ms % 1000
	if frac < 0 {
		s--
		frac += 1000
	}
	if frac == 0 {
		return json.Number(itoa(s))
	}
	f := itoa(1000 + frac)[1:]
	for f[len(f)-1] == '0' {
		f = f[:len(f)-1]
	}
	return json.Number(itoa(s) + "." + f)
}

// HistoryDetails says whether a payload was truncated; ours never are.
type HistoryDetails struct {
	Truncated bool `json:"truncated"`
}

type ExecutionStartedEventDetails struct {
	Input        string          `json:"input"`
	InputDetails *HistoryDetails `json:"inputDetails,omitempty"`
	RoleArn      string          `json:"roleArn,omitempty"`
}

type OutputEventDetails struct {
	Output        string          `json:"output"`
	OutputDetails *HistoryDetails `json:"outputDetails,omitempty"`
}

type ErrorEventDetails struct {
	Error string `json:"error,omitempty"`
	Cause string `json:"cause,omitempty"`
}

type StateEnteredEventDetails struct {
	Name         string          `json:"name"`
	Input        string          `json:"input"`
	InputDetails *HistoryDetails `json:"inputDetails,omitempty"`
}

type StateExitedEventDetails struct {
	Name          string          `json:"name"`
	Output        string          `json:"output"`
	OutputDetails *HistoryDetails `json:"outputDetails,omitempty"`
}

type TaskScheduledEventDetails struct {
	ResourceType       string `json:"resourceType"`
	Resource           string `json:"resource"`
	Region             string `json:"region"`
	Parameters         string `json:"parameters"`
	TimeoutInSeconds   int64  `json:"timeoutInSeconds,omitempty"`
	HeartbeatInSeconds int64  `json:"heartbeatInSeconds,omitempty"`
}

// TaskEventDetails serves the started, submitted, succeeded, failed and timed
// out task events, which share resourceType/resource.
type TaskEventDetails struct {
	ResourceType  string          `json:"resourceType"`
	Resource      string          `json:"resource"`
	Output        string          `json:"output,omitempty"`
	OutputDetails *HistoryDetails `json:"outputDetails,omitempty"`
	Error         string          `json:"error,omitempty"`
	Cause         string          `json:"cause,omitempty"`
}

type LambdaFunctionScheduledEventDetails struct {
	Resource         string          `json:"resource"`
	Input            string          `json:"input"`
	InputDetails     *HistoryDetails `json:"inputDetails,omitempty"`
	TimeoutInSeconds int64           `json:"timeoutInSeconds,omitempty"`
}

type MapStateStartedEventDetails struct {
	Length int `json:"length"`
}

type MapIterationEventDetails struct {
	Name  string `json:"name"`
	Index int    `json:"index"`
}
