// Package notify publishes each execution's terminal record as an
// EventBridge event (source "pushdeploy", detail type "Deployment State
// Change"), which users route to SNS, chat or anything else with rules.
package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/pushdeploy/pushdeploy/internal/app/awsapi"
	"github.com/pushdeploy/pushdeploy/internal/app/history"
)

// Source and DetailType of the events.
const (
	Source     = "pushdeploy"
	DetailType = "Deployment State Change"
)

// PublishError: EventBridge rejected the event (PutEvents reports failed
// entries in a successful response).
type PublishError struct {
	Code, Message string
}

func (e *PublishError) Error() string {
	return fmt.Sprintf("put event: %s: %s", e.Code, e.Message)
}

// Publisher sends the events to one bus.
type Publisher struct {
	eb  awsapi.EventBridge
	bus string
}

// New returns a Publisher for bus ("" or "default" for the default bus).
func New(eb awsapi.EventBridge, bus string) (*Publisher, error) {
	if eb == nil {
		return nil, errors.New("notify: EventBridge client is required")
	}
	if bus == "" {
		bus = "default"
	}
	return &Publisher{eb: eb, bus: bus}, nil
}

// Publish sends r as the detail of one event whose resources are the
// service and execution ARNs, so rules can match on either.
func (p *Publisher) Publish(ctx context.Context, r history.Record) error {
	detail, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("marshal detail: %w", err)
	}
	var resources []string
	for _, arn := range []string{r.Service, r.ExecutionARN} {
		if arn != "" {
			resources = append(resources, arn)
		}
	}
	entry := ebtypes.PutEventsRequestEntry{
		EventBusName: aws.String(p.bus),
		Source:       aws.String(Source),
		DetailType:   aws.String(DetailType),
		Detail:       aws.String(string(detail)),
		Resources:    resources,
	}
	if !r.FinishedAt.IsZero() {
		// The event's time is when the execution finished, not when the
		// notification happened to be sent (retries).
		entry.Time = aws.Time(r.FinishedAt)
	}
	out, err := p.eb.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{entry}})
	if err != nil {
		return fmt.Errorf("put event: %w", err)
	}
	if out.FailedEntryCount > 0 {
		e := &PublishError{Code: "Unknown", Message: "entry failed"}
		if len(out.Entries) > 0 {
			e.Code, e.Message = aws.ToString(out.Entries[0].ErrorCode), aws.ToString(out.Entries[0].ErrorMessage)
		}
		return e
	}
	return nil
}
