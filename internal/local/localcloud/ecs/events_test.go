package ecs_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/pushdeploy/pushdeploy/internal/local/localcloud/bus"
	lecs "github.com/pushdeploy/pushdeploy/internal/local/localcloud/ecs"
)

// skeleton reduces a JSON value to its shape: objects keep their keys,
// strings become the format of their digits (timestamps keep their
// layout), numbers and booleans their type.
func skeleton(v any, key string) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, val := range x {
			out[k] = skeleton(val, k)
		}
		return out
	case []any:
		out := []any{}
		for _, val := range x {
			out = append(out, skeleton(val, key))
		}
		return out
	case string:
		switch key {
		case "time", "updatedAt", "createdAt":
			return regexp.MustCompile(`\d`).ReplaceAllString(x, "9")
		case "resources", "clusterArn":
			return arnShape(x)
		}
		return "string"
	case float64:
		return "number"
	case bool:
		return "bool"
	}
	return "null"
}

// arnShape keeps an ARN's service and resource type.
func arnShape(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 {
		return "not an ARN: " + arn
	}
	kind, _, _ := strings.Cut(parts[5], "/")
	return strings.Join([]string{parts[0], parts[1], parts[2], "REGION", "ACCOUNT", kind}, ":") + strings.Repeat("/x", strings.Count(parts[5], "/"))
}

func TestEventShapesMatchAWSDocumentedExamples(t *testing.T) {
	e := newEnv(t)
	// A scenario that sends every event: a rollout, a circuit breaker
	// failure with rollback, and an impaired start without circuit breaker.
	e.stableService(2, &types.DeploymentConfiguration{DeploymentCircuitBreaker: &types.DeploymentCircuitBreaker{Enable: true, Rollback: true}})
	e.ecs.Faults().FailImage(lecs.ImageFault{Image: "sha256:bad"})
	e.deployBad()
	e.waitFor("rolled back", func() bool {
		s := e.service("default", "web")
		return len(s.Deployments) == 1 && s.Deployments[0].RolloutState == types.DeploymentRolloutStateCompleted
	})
	e.register("api", "repo/api:broken")
	e.ecs.Faults().FailImage(lecs.ImageFault{Image: "repo/api:broken"})
	if _, err := e.client.CreateService(e.ctx(), createInput("api", 1)); err != nil {
		t.Fatal(err)
	}
	e.waitFor("impaired", func() bool { return findEvent(e.bus.Events(), "SERVICE_TASK_START_IMPAIRED", "") != nil })

	files, _ := filepath.Glob("testdata/*.json")
	if len(files) != 6 {
		t.Fatalf("testdata holds %d examples, want 6", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var example map[string]any
			if err := json.Unmarshal(raw, &example); err != nil {
				t.Fatal(err)
			}
			detail := example["detail"].(map[string]any)
			name := detail["eventName"].(string)
			reason, _ := detail["reason"].(string)
			rollback := strings.Contains(reason, "rolling back")
			wantReason := ""
			if rollback {
				wantReason = "rolling back"
			}
			ev := findEvent(e.bus.Events(), name, wantReason)
			if ev == nil {
				t.Fatalf("no %s event was sent", name)
			}
			got := map[string]any{}
			b, _ := json.Marshal(ev)
			json.Unmarshal(b, &got)
			if diff := cmpDiff(skeleton(example, ""), skeleton(got, "")); diff != "" {
				t.Errorf("shape differs from AWS's example (-aws +local):\n%s\nlocal event: %s", diff, b)
			}
			if got["source"] != example["source"] || got["detail-type"] != example["detail-type"] || got["version"] != example["version"] {
				t.Errorf("envelope: %s", b)
			}
			gd := got["detail"].(map[string]any)
			if gd["eventType"] != detail["eventType"] {
				t.Errorf("eventType %v, want %v", gd["eventType"], detail["eventType"])
			}
			if reason != "" {
				// The example writes the deployment id as a placeholder.
				id := gd["deploymentId"].(string)
				if rollback {
					id = strings.TrimSuffix(strings.TrimPrefix(gd["reason"].(string), "ECS deployment circuit breaker: rolling back to deploymentId "), ".")
				}
				want := regexp.MustCompile(`deploymentI[dD]`).ReplaceAllString(reason, id)
				if rollback { // "rolling back to deploymentId deploymentID."
					want = strings.TrimSuffix(reason, "deploymentID.") + id + "."
				}
				if !regexp.MustCompile(`^ecs-svc/\d{19}$`).MatchString(id) || gd["reason"] != want {
					t.Errorf("reason %q, want %q", gd["reason"], want)
				}
			}
		})
	}
}

func findEvent(events []bus.Event, name, reasonPart string) *bus.Event {
	for i := range events {
		var d map[string]any
		json.Unmarshal(events[i].Detail, &d)
		r, _ := d["reason"].(string)
		if d["eventName"] == name && (reasonPart == "" && !strings.Contains(r, "rolling back") || reasonPart != "" && strings.Contains(r, reasonPart)) {
			return &events[i]
		}
	}
	return nil
}
