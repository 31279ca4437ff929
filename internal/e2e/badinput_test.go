package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/pushdeploy/pushdeploy/internal/history"
)

// untouched asserts the service still runs what it ran before.
func (w *world) untouched(cluster, service, before string) {
	w.t.Helper()
	if after, _ := w.running(cluster, service); after != before {
		w.t.Fatalf("%s/%s changed from %s to %s", cluster, service, before, after)
	}
}

// failedWith asserts the service's only record is FAILED with a reason
// naming the error.
func (w *world) failedWith(serviceARN, errorName string) {
	w.t.Helper()
	rec := w.expectOutcomes(serviceARN, history.Failed)[0]
	if !strings.Contains(rec.Reason, errorName) {
		w.t.Fatalf("reason %q does not name %s", rec.Reason, errorName)
	}
}

func TestMalformedEventIsRejected(t *testing.T) {
	w := newWorld(t)
	w.service("prod", "web", nil)
	for _, payload := range []string{
		`{"detail-type":"ECR Image Action","source":"aws.ecr","detail":"not an object"}`,
		`{"version":"0","detail-type":"ECR Image Action","source":"aws.ecr","detail":{"action-type":"PUSH","result":"SUCCESS","repository-name":"web","image-tag":"latest","image-digest":"sha256:zz"}}`,
		`[1,2,3]`,
	} {
		out := w.invokeDispatch([]byte(payload))
		if out.FunctionError == nil || !strings.Contains(string(out.Payload), "BadInput") {
			t.Errorf("dispatch(%s) = %s (function error %v), want a BadInput error", payload, out.Payload, aws.ToString(out.FunctionError))
		}
	}
	if execs, _ := w.Executions(w.ctx); len(execs) != 0 {
		t.Fatalf("%d executions started from malformed events", len(execs))
	}
}

func TestRepositoryNoServiceFollowsStartsNothing(t *testing.T) {
	w := newWorld(t)
	w.service("prod", "web", nil)
	if _, err := w.CreateRepository(w.ctx, "other"); err != nil {
		t.Fatal(err)
	}
	digest, err := w.Push(w.ctx, "other", "latest", "other v1")
	if err != nil {
		t.Fatal(err)
	}
	// Deliver the event synchronously to see dispatch's answer.
	out := w.invokeDispatch(w.ecrPushEvent("e-other", "other", "latest", digest))
	if out.FunctionError != nil {
		t.Fatalf("dispatch failed: %s", out.Payload)
	}
	w.Cloud.EventBridge().Flush() // and the push's own event
	if execs, _ := w.Executions(w.ctx); len(execs) != 0 {
		t.Fatalf("%d executions for a repository no service follows", len(execs))
	}
}

func TestUnknownContainerFailsUntouched(t *testing.T) {
	w := newWorld(t)
	svc := w.service("prod", "web", map[string]string{"pushdeploy:containers": "nope"})
	before, _ := w.running("prod", "web")
	w.push("latest", "web v1")
	w.wait(1)
	w.failedWith(svc, "ContainerNotFound")
	w.untouched("prod", "web", before)
}

func TestManualBadInputFailsUntouched(t *testing.T) {
	cases := []struct {
		name  string
		input map[string]any
		error string
	}{
		{"registry-not-allowed", map[string]any{"action": "deploy", "cluster": "prod", "service": "web", "image": "docker.io/library/nginx:latest"}, "RegistryNotAllowed"},
		{"unknown-action", map[string]any{"action": "explode", "cluster": "prod", "service": "web"}, "BadInput"},
		{"missing-service", map[string]any{"action": "deploy", "cluster": "prod", "image": "x"}, "BadInput"},
		{"unknown-field", map[string]any{"action": "redeploy", "cluster": "prod", "service": "web", "colour": "blue"}, "BadInput"},
		{"wrong-family", map[string]any{"action": "rollback", "cluster": "prod", "service": "web", "revision": "api:1"}, "WrongFamily"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			svc := w.service("prod", "web", nil)
			w.service("prod", "api", nil)
			before, _ := w.running("prod", "web")
			arn := w.start("manual-"+tc.name, tc.input)
			w.wait(1)
			_, desc, err := w.Output(w.ctx, arn)
			if err != nil {
				t.Fatal(err)
			}
			if desc.Status != sfntypes.ExecutionStatusFailed || !strings.Contains(aws.ToString(desc.Cause), tc.error) {
				t.Fatalf("status %s, cause %q: want FAILED naming %s", desc.Status, aws.ToString(desc.Cause), tc.error)
			}
			if tc.input["service"] != nil {
				// The record lives with the service; an input naming none has
				// only the execution's failure to say why.
				w.failedWith(svc, tc.error)
			}
			w.untouched("prod", "web", before)
		})
	}
}

func TestServiceGoneFails(t *testing.T) {
	w := newWorld(t)
	w.service("prod", "web", nil)
	arn := w.start("manual-ghost", map[string]any{"action": "redeploy", "cluster": "prod", "service": "ghost"})
	w.wait(1)
	_, desc, err := w.Output(w.ctx, arn)
	if err != nil {
		t.Fatal(err)
	}
	if desc.Status != sfntypes.ExecutionStatusFailed {
		t.Fatalf("status %s, want FAILED", desc.Status)
	}
	w.failedWith("arn:aws:ecs:us-east-1:123456789012:service/prod/ghost", "ServiceNotFound")
}

func TestDeletedServiceFailsUntouched(t *testing.T) {
	w := newWorld(t)
	svc := w.service("prod", "web", nil)
	client := ecs.NewFromConfig(w.Config)
	if _, err := client.UpdateService(w.ctx, &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("web"), DesiredCount: aws.Int32(0)}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.DeleteService(w.ctx, &ecs.DeleteServiceInput{Cluster: aws.String("prod"), Service: aws.String("web")}); err != nil {
		t.Fatal(err)
	}
	// A push finds no live service to follow it; a manual deploy names the
	// service and fails as ServiceNotFound.
	w.push("latest", "web v1")
	w.Cloud.EventBridge().Flush() // the push's event has reached dispatch
	arn := w.start("manual-deleted", map[string]any{"action": "redeploy", "cluster": "prod", "service": "web"})
	execs := w.wait(1)
	if aws.ToString(execs[0].ExecutionArn) != arn {
		t.Fatalf("the push of a deleted service started %s", aws.ToString(execs[0].Name))
	}
	w.failedWith(svc, "ServiceNotFound")
}

// startRaw starts a manual execution with input exactly as given.
func (w *world) startRaw(name, input string) string {
	w.t.Helper()
	out, err := sfn.NewFromConfig(w.Config).StartExecution(w.ctx, &sfn.StartExecutionInput{
		StateMachineArn: aws.String(w.StateMachineARN), Name: aws.String(name), Input: aws.String(input),
	})
	if err != nil {
		w.t.Fatalf("start execution: %v", err)
	}
	return aws.ToString(out.ExecutionArn)
}

// padded returns a redeploy input of exactly size bytes, its reason filled.
func padded(size int) string {
	head, tail := `{"action":"redeploy","cluster":"prod","service":"web","reason":"`, `"}`
	return head + strings.Repeat("x", size-len(head)-len(tail)) + tail
}

// TestOversizedInputFailsUntouched: inputs up to StartExecution's own limit
// (262,144 bytes) end in one FAILED record naming the field, with no value
// echoed, the lease free (an alarm rollback right after is not skipped as
// deploy-in-flight) and the service unchanged.
func TestOversizedInputFailsUntouched(t *testing.T) {
	cases := []struct {
		name, input, field string
	}{
		{"reason-200KB", padded(200 * 1024), "reason"},
		{"reason-at-the-limit", padded(262144), "reason"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			svc, _ := w.alarmedService()
			w.push("latest", "web v1")
			w.wait(1)
			deployed, _ := w.running("prod", "web")
			arn := w.startRaw("manual-"+tc.name, tc.input)
			w.wait(2)
			_, desc, err := w.Output(w.ctx, arn)
			if err != nil {
				t.Fatal(err)
			}
			if desc.Status != sfntypes.ExecutionStatusFailed || aws.ToString(desc.Error) != "DeploymentFailed" {
				t.Fatalf("status %s, error %s (%.300s): want FAILED by DeploymentFailed", desc.Status, aws.ToString(desc.Error), aws.ToString(desc.Cause))
			}
			rec := w.outcome(svc, arn)
			if rec.Outcome != history.Failed || !strings.Contains(rec.Reason, "BadInput") || !strings.Contains(rec.Reason, tc.field) {
				t.Fatalf("record %s %q: want FAILED, BadInput naming %s", rec.Outcome, rec.Reason, tc.field)
			}
			if len(rec.Reason) > 1024 || len(rec.StartedBy) > 1024 {
				t.Fatalf("record echoes the input: reason %d bytes, startedBy %d bytes", len(rec.Reason), len(rec.StartedBy))
			}
			w.expectNoLease(svc)
			w.untouched("prod", "web", deployed)
			// The lease is free: an alarm now rolls the deploy back.
			w.alarmAt("ALARM", w.clock.Now().Add(time.Minute))
			w.wait(3)
			w.expectOutcomes(svc, history.Succeeded, history.Failed, history.RolledBack)
		})
	}
}

// TestUnreadableInputFailsWithRecord: inputs that name no service (or none
// that fits a service's name) still end in exactly one FAILED record, under
// "unknown", however big they are.
func TestUnreadableInputFailsWithRecord(t *testing.T) {
	key := strings.Repeat("k", 262144-len(`{"action":"redeploy","cluster":"prod","service":"web","":1}`))
	cases := []struct {
		name, input, field, record string
	}{
		{"string-at-the-limit", `"` + strings.Repeat("s", 262142) + `"`, "input", "unknown/unknown"},
		{"array", `[1,2,3]`, "input", "unknown/unknown"},
		{"unknown-key-at-the-limit", `{"action":"redeploy","cluster":"prod","service":"web","` + key + `":1}`, "input", "prod/web"},
		{"service-name-too-long", `{"action":"redeploy","cluster":"prod","service":"` + strings.Repeat("w", 300) + `"}`, "service", "prod/unknown"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			svc := w.service("prod", "web", nil)
			before, _ := w.running("prod", "web")
			arn := w.startRaw("manual-"+tc.name, tc.input)
			w.wait(1)
			_, desc, err := w.Output(w.ctx, arn)
			if err != nil {
				t.Fatal(err)
			}
			if desc.Status != sfntypes.ExecutionStatusFailed || aws.ToString(desc.Error) != "DeploymentFailed" {
				t.Fatalf("status %s, error %s (%.300s): want FAILED by DeploymentFailed", desc.Status, aws.ToString(desc.Error), aws.ToString(desc.Cause))
			}
			rec := w.outcome("arn:aws:ecs:us-east-1:123456789012:service/"+tc.record, arn)
			if !strings.Contains(rec.Reason, "BadInput") || !strings.Contains(rec.Reason, "bad input: "+tc.field) || len(rec.Reason) > 1024 {
				t.Fatalf("record reason %.300q (%d bytes): want BadInput naming %s, short", rec.Reason, len(rec.Reason), tc.field)
			}
			if tc.record != "prod/web" {
				w.expectOutcomes(svc)
			}
			w.untouched("prod", "web", before)
		})
	}
}

// TestDuplicateKeysRefused: Go's json keeps the last of duplicate keys; an
// input that says two things is refused, not guessed at.
func TestDuplicateKeysRefused(t *testing.T) {
	w := newWorld(t)
	svc := w.service("prod", "web", nil)
	before, _ := w.running("prod", "web")
	arn := w.startRaw("manual-duplicate", `{"action":"redeploy","cluster":"prod","service":"web","action":"rollback"}`)
	w.wait(1)
	rec := w.outcome(svc, arn)
	if rec.Outcome != history.Failed || !strings.Contains(rec.Reason, "BadInput") || !strings.Contains(rec.Reason, `duplicate key "action"`) {
		t.Fatalf("record %s %q: want FAILED, BadInput naming the duplicate key action", rec.Outcome, rec.Reason)
	}
	w.expectOutcomes(svc, history.Failed)
	w.untouched("prod", "web", before)
}
