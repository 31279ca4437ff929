// Package bus is the event envelope the local cloud's services publish to
// EventBridge, in the shape AWS delivers to rule targets.
package bus

import (
	"context"
	"encoding/json"
	"time"
)

// Event is an EventBridge event envelope.
type Event struct {
	Version    string          `json:"version"`
	ID         string          `json:"id"`
	DetailType string          `json:"detail-type"`
	Source     string          `json:"source"`
	Account    string          `json:"account"`
	Time       string          `json:"time"` // RFC 3339, whole seconds, UTC: see FormatTime
	Region     string          `json:"region"`
	Resources  []string        `json:"resources"`
	Detail     json.RawMessage `json:"detail"`
}

// Publisher takes events for the default event bus. Delivery to targets is
// asynchronous, as on AWS.
type Publisher interface {
	Publish(ctx context.Context, e Event)
}

// Discard drops every event; for services used on their own.
type Discard struct{}

func (Discard) Publish(context.Context, Event) {}

// FormatTime renders t as EventBridge does in the envelope's time field.
func FormatTime(t time.Time) string { return t.UTC().Truncate(time.Second).Format(time.RFC3339) }
