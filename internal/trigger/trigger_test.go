package trigger_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/pushdeploy/pushdeploy/internal/awsapi/localtest"
	"github.com/pushdeploy/pushdeploy/internal/clock"
	"github.com/pushdeploy/pushdeploy/internal/contract"
	"github.com/pushdeploy/pushdeploy/internal/localcloud"
	ddblocal "github.com/pushdeploy/pushdeploy/internal/localcloud/dynamodb"
	"github.com/pushdeploy/pushdeploy/internal/trigger"
)

const (
	svc    = "arn:aws:ecs:us-east-1:123456789012:service/prod/web"
	digest = "sha256:0f3c6f1b2c1e6f9d3b5f8a2e7c4d1b0a9e8f7c6d5b4a3928171605f4e3d2c1b0"
)

func setup(t *testing.T) (*trigger.Store, *localtest.Cloud) {
	c := localtest.New(t, func(clk *clock.Virtual) []localcloud.RPCService {
		return []localcloud.RPCService{ddblocal.New(clk, localtest.Account)}
	})
	db := c.CreateTable(t, "pushdeploy")
	s, err := trigger.New(db, "pushdeploy", c.Clock)
	if err != nil {
		t.Fatal(err)
	}
	return s, c
}

func push() contract.ExecutionInput {
	return contract.ExecutionInput{Action: contract.ActionDeploy, Cluster: "prod", Service: "web",
		Image: "123456789012.dkr.ecr.us-east-1.amazonaws.com/web@" + digest, Digest: digest, Trigger: contract.TriggerPush,
		Push: &contract.PushTrigger{EventID: "ev-1", Account: "123456789012", Region: "us-east-1", Repository: "web",
			Tag: "latest", Digest: digest, Time: time.Date(2026, 11, 22, 2, 0, 0, 0, time.UTC)}}
}

// reencode is what Step Functions does to an input: plan sees other bytes.
func reencode(t *testing.T, in contract.ExecutionInput) contract.ExecutionInput {
	t.Helper()
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	b, err = json.MarshalIndent(m, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	out, err := contract.DecodeExecutionInput(b)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestVerify(t *testing.T) {
	s, c := setup(t)
	ctx := context.Background()
	in := push()
	if err := s.Issue(ctx, svc, "push-web-1", in, trigger.Ticket{Seq: 1764, Tie: digest}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Verify(ctx, svc, "push-web-1", reencode(t, in))
	if err != nil || got != (trigger.Ticket{Seq: 1764, Tie: digest}) {
		t.Fatalf("verify issued ticket: %+v %v", got, err)
	}
	untrusted := func(name string, svcARN, exec string, in contract.ExecutionInput) {
		t.Helper()
		var u *trigger.UntrustedError
		if _, err := s.Verify(ctx, svcARN, exec, in); !errors.As(err, &u) {
			t.Errorf("%s: %v, want UntrustedError", name, err)
		}
	}
	forged := push()
	forged.Push.Time = time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)
	untrusted("other push time", svc, "push-web-1", forged)
	untrusted("no ticket for the name", svc, "my-deploy", push())
	untrusted("ticket of another service", "arn:aws:ecs:us-east-1:123456789012:service/prod/api", "push-web-1", push())
	alarm := contract.ExecutionInput{Action: contract.ActionRollback, Cluster: "prod", Service: "web", Trigger: contract.TriggerAlarm,
		Alarm: &contract.AlarmTrigger{AlarmName: "web-5xx"}}
	untrusted("alarm without ticket", svc, "rollback-1", alarm)
	if got, err := s.Verify(ctx, svc, "manual", contract.ExecutionInput{Action: contract.ActionRedeploy}); err != nil || got != (trigger.Ticket{}) {
		t.Errorf("manual input: %+v %v, want no ticket needed", got, err)
	}
	c.Clock.Advance(trigger.TTL)
	untrusted("expired", svc, "push-web-1", push())
}

func TestPushTime(t *testing.T) {
	ev := time.Date(2026, 11, 22, 2, 0, 7, 0, time.UTC)
	end := ev.Add(999 * time.Millisecond)
	tests := []struct {
		name     string
		pushedAt time.Time
		want     time.Time
	}{
		{"first push in the event's second", ev.Add(420 * time.Millisecond), ev.Add(420 * time.Millisecond)},
		{"first push stamped into the next second", ev.Add(-30 * time.Millisecond), ev.Add(-30 * time.Millisecond)},
		{"retag of an image pushed an hour ago", ev.Add(-time.Hour), end},
		{"no imagePushedAt", time.Time{}, end},
		{"imagePushedAt after the event", ev.Add(3 * time.Second), end},
	}
	for _, tt := range tests {
		if got := trigger.PushTime(ev, tt.pushedAt); !got.Equal(tt.want) {
			t.Errorf("%s: %s, want %s", tt.name, got.Format(time.RFC3339Nano), tt.want.Format(time.RFC3339Nano))
		}
	}
}
