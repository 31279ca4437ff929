package notify_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/google/go-cmp/cmp"

	"github.com/pushdeploy/pushdeploy/internal/app/clock"
	"github.com/pushdeploy/pushdeploy/internal/app/history"
	"github.com/pushdeploy/pushdeploy/internal/app/notify"
	"github.com/pushdeploy/pushdeploy/internal/local/localcloud"
	eblocal "github.com/pushdeploy/pushdeploy/internal/local/localcloud/eventbridge"
	"github.com/pushdeploy/pushdeploy/internal/local/localtest"
)

// inbox is a Lambda target that keeps what it receives, by function ARN.
type inbox struct {
	mu  sync.Mutex
	got map[string][][]byte
}

func (i *inbox) InvokeEvent(_ context.Context, fn string, payload []byte) error {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.got[fn] = append(i.got[fn], payload)
	return nil
}

func rec(outcome history.Outcome) history.Record {
	return history.Record{
		Service: "arn:aws:ecs:us-east-1:123456789012:service/prod/web", Cluster: "prod", ServiceName: "web",
		ExecutionARN: "arn:aws:states:us-east-1:123456789012:execution:pushdeploy:e1", Action: "deploy", Trigger: "push",
		Images:       []history.Image{{Container: "app", Image: "r/web@sha256:00", Digest: "sha256:00"}},
		FromRevision: "web:1", ToRevision: "web:2", Outcome: outcome, Reason: "because",
		StartedAt: localtest.Start, FinishedAt: localtest.Start.Add(5 * time.Minute),
	}
}

func TestPublishThroughEventBridge(t *testing.T) {
	in := &inbox{got: map[string][][]byte{}}
	var eb *eblocal.Service
	c := localtest.New(t, func(clk *clock.Virtual) []localcloud.RPCService {
		eb = eblocal.New(clk, localtest.Account, localtest.Region, in, nil)
		return []localcloud.RPCService{eb}
	})
	client := eventbridge.NewFromConfig(c.Config())
	ctx := context.Background()
	rules := map[string]string{
		"all":        `{"source":["pushdeploy"],"detail-type":["Deployment State Change"]}`,
		"rolledback": `{"source":["pushdeploy"],"detail":{"outcome":["ROLLED_BACK"],"cluster":["prod"]}}`,
	}
	for name, pattern := range rules {
		if _, err := client.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String(name), EventPattern: aws.String(pattern)}); err != nil {
			t.Fatal(err)
		}
		if _, err := client.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String(name), Targets: []ebtypes.Target{{
			Id: aws.String("1"), Arn: aws.String("arn:aws:lambda:us-east-1:123456789012:function:" + name),
		}}}); err != nil {
			t.Fatal(err)
		}
	}
	p, err := notify.New(client, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range []history.Outcome{history.Succeeded, history.RolledBack} {
		if err := p.Publish(ctx, rec(o)); err != nil {
			t.Fatal(err)
		}
	}
	eb.Flush()

	all := in.got["arn:aws:lambda:us-east-1:123456789012:function:all"]
	rb := in.got["arn:aws:lambda:us-east-1:123456789012:function:rolledback"]
	if len(all) != 2 || len(rb) != 1 {
		t.Fatalf("delivered: all %d, rolledback %d; want 2 and 1", len(all), len(rb))
	}
	var ev struct {
		Source     string         `json:"source"`
		DetailType string         `json:"detail-type"`
		Time       string         `json:"time"`
		Resources  []string       `json:"resources"`
		Detail     history.Record `json:"detail"`
	}
	if err := json.Unmarshal(rb[0], &ev); err != nil {
		t.Fatal(err)
	}
	want := rec(history.RolledBack)
	if ev.Source != notify.Source || ev.DetailType != notify.DetailType {
		t.Errorf("source %q detail-type %q", ev.Source, ev.DetailType)
	}
	if diff := cmp.Diff([]string{want.Service, want.ExecutionARN}, ev.Resources); diff != "" {
		t.Errorf("resources (-want +got)\n%s", diff)
	}
	if diff := cmp.Diff(want, ev.Detail); diff != "" {
		t.Errorf("detail (-want +got)\n%s", diff)
	}
	if ev.Time != "2026-11-22T03:05:00Z" {
		t.Errorf("time = %s, want the finish time", ev.Time)
	}
}

// failing answers PutEvents with a failed entry, as EventBridge does for
// per-entry errors.
type failing struct{}

func (failing) PutEvents(context.Context, *eventbridge.PutEventsInput, ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error) {
	return &eventbridge.PutEventsOutput{FailedEntryCount: 1, Entries: []ebtypes.PutEventsResultEntry{{ErrorCode: aws.String("InternalFailure"), ErrorMessage: aws.String("try again")}}}, nil
}

type broken struct{}

func (broken) PutEvents(context.Context, *eventbridge.PutEventsInput, ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error) {
	return nil, errors.New("connection reset")
}

func TestPublishErrors(t *testing.T) {
	p, _ := notify.New(failing{}, "custom")
	var pe *notify.PublishError
	if err := p.Publish(context.Background(), rec(history.Failed)); !errors.As(err, &pe) || pe.Code != "InternalFailure" {
		t.Errorf("failed entry: err = %v", err)
	}
	p, _ = notify.New(broken{}, "")
	if err := p.Publish(context.Background(), rec(history.Failed)); err == nil || errors.As(err, &pe) {
		t.Errorf("transport error: err = %v", err)
	}
	if _, err := notify.New(nil, ""); err == nil {
		t.Error("nil client accepted")
	}
}
