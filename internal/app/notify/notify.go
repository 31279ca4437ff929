// Package notify publishes each execution's terminal record as an
// EventBridge event (source "pushdeploy", detail type "Deployment State
// Change"), and each deploy that waits for a person as a "Deployment
// Approval Requested" event, which users route to SNS, chat or anything
// else with rules.
package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/pushdeploy/pushdeploy/internal/app/awsapi"
	"github.com/pushdeploy/pushdeploy/internal/app/contract"
	"github.com/pushdeploy/pushdeploy/internal/app/history"
)

// Source and detail types of the events.
const (
	Source             = "pushdeploy"
	DetailType         = "Deployment State Change"
	ApprovalDetailType = "Deployment Approval Requested"
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
	resources := []string{r.Service, r.ExecutionARN}
	// The event's time is when the execution finished, not when the
	// notification happened to be sent (retries).
	return p.put(ctx, DetailType, detail, resources, r.FinishedAt)
}

// ApprovalRequest is the detail of a Deployment Approval Requested event:
// what would change, and how to answer before the deadline.
type ApprovalRequest struct {
	ExecutionARN string `json:"executionArn"`
	Cluster      string `json:"cluster"`
	Service      string `json:"service"`
	ServiceARN   string `json:"serviceArn"`
	// Image is the image waiting to be deployed, pinned by digest.
	Image string `json:"image"`
	Tag   string `json:"tag,omitempty"`
	// From is the service's task definition now; Changes are the
	// containers' images before and after (the diff).
	From    string                 `json:"fromTaskDefinitionArn"`
	Changes []contract.ImageChange `json:"changes"`
	// RequestedBy is what started the deploy (a push, a promotion).
	RequestedBy string    `json:"requestedBy,omitempty"`
	RequestedAt time.Time `json:"requestedAt"`
	// Deadline: unanswered by then, the deploy is SKIPPED.
	Deadline time.Time `json:"deadline"`
	// Approve and Reject are the commands that answer it.
	Approve string `json:"approve"`
	Reject  string `json:"reject"`
}

// RequestApproval publishes a Deployment Approval Requested event for a
// deploy parked on its approval wait.
func (p *Publisher) RequestApproval(ctx context.Context, r ApprovalRequest) error {
	detail, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("marshal detail: %w", err)
	}
	return p.put(ctx, ApprovalDetailType, detail, []string{r.ServiceARN, r.ExecutionARN}, r.RequestedAt)
}

// put sends one event; at, when set, is the event's time.
func (p *Publisher) put(ctx context.Context, detailType string, detail []byte, resources []string, at time.Time) error {
	resources = slices.DeleteFunc(resources, func(s string) bool { return s == "" })
	entry := ebtypes.PutEventsRequestEntry{
		EventBusName: aws.String(p.bus),
		Source:       aws.String(Source),
		DetailType:   aws.String(detailType),
		Detail:       aws.String(string(detail)),
		Resources:    resources,
	}
	if !at.IsZero() {
		entry.Time = aws.Time(at)
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
