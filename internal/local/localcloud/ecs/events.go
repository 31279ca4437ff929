package ecs

import (
	"context"
	"encoding/json"

	"github.com/pushdeploy/pushdeploy/internal/local/localcloud/bus"
)

// The ECS events on EventBridge, in the shapes AWS documents
// (testdata/*.json holds AWS's examples; events_test.go compares them).

type pendingKey struct{}

// pendingEvents collects the events of one call or tick, published once the
// service's lock is released.
type pendingEvents struct{ events []bus.Event }

func (s *Service) emit(ctx context.Context, e bus.Event) {
	if p, ok := ctx.Value(pendingKey{}).(*pendingEvents); ok {
		p.events = append(p.events, e)
	}
}

func (s *Service) publish(ctx context.Context, events []bus.Event) {
	if len(events) == 0 {
		return
	}
	s.mu.Lock()
	b := s.bus
	s.mu.Unlock()
	ctx = context.WithoutCancel(ctx)
	for _, e := range events {
		b.Publish(ctx, e)
	}
}

// DeploymentStateChange is the detail of "ECS Deployment State Change".
type DeploymentStateChange struct {
	EventType    string `json:"eventType"` // INFO, ERROR
	EventName    string `json:"eventName"` // SERVICE_DEPLOYMENT_IN_PROGRESS, _COMPLETED, _FAILED
	DeploymentID string `json:"deploymentId"`
	UpdatedAt    string `json:"updatedAt"`
	Reason       string `json:"reason"`
}

// ServiceAction is the detail of "ECS Service Action".
type ServiceAction struct {
	EventType  string `json:"eventType"` // INFO, WARN, ERROR
	EventName  string `json:"eventName"` // SERVICE_STEADY_STATE, SERVICE_TASK_START_IMPAIRED
	ClusterArn string `json:"clusterArn"`
	CreatedAt  string `json:"createdAt"`
}

func (s *Service) envelope(svc *service, detailType string, detail any) bus.Event {
	return bus.Event{
		Version: "0", ID: uuid(), DetailType: detailType, Source: "aws.ecs",
		Account: s.account, Time: bus.FormatTime(s.clk.Now()), Region: svc.region.name,
		Resources: []string{svc.arn}, Detail: json.RawMessage(mustJSON(detail)),
	}
}

func (s *Service) deploymentEvent(svc *service, typ, name, id, reason string) bus.Event {
	return s.envelope(svc, "ECS Deployment State Change", DeploymentStateChange{
		EventType: typ, EventName: name, DeploymentID: id,
		UpdatedAt: s.clk.Now().UTC().Format("2006-01-02T15:04:05Z"), Reason: reason,
	})
}

func (s *Service) serviceActionEvent(svc *service, typ, name string) bus.Event {
	return s.envelope(svc, "ECS Service Action", ServiceAction{
		EventType: typ, EventName: name, ClusterArn: svc.cluster.arn,
		CreatedAt: s.clk.Now().UTC().Format("2006-01-02T15:04:05.000Z"),
	})
}
