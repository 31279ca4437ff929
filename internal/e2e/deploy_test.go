package e2e

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/google/go-cmp/cmp"

	"github.com/pushdeploy/pushdeploy/internal/app/history"
	"github.com/pushdeploy/pushdeploy/internal/local/localcloud"
	lcecs "github.com/pushdeploy/pushdeploy/internal/local/localcloud/ecs"
	"github.com/pushdeploy/pushdeploy/internal/local/localrun"
)

func TestPushDeploys(t *testing.T) {
	w := newWorld(t)
	svc := w.service("prod", "web", nil)
	digest := w.push("latest", "web v1")
	w.wait(1)
	rec := w.expectOutcomes(svc, history.Succeeded)[0]
	td, images := w.running("prod", "web")
	if want := w.repo + "@" + digest; images["app"] != want {
		t.Fatalf("app runs %s, want %s", images["app"], want)
	}
	if rec.ToRevision != td || rec.FromRevision == td {
		t.Fatalf("record from %s to %s, service runs %s", rec.FromRevision, rec.ToRevision, td)
	}
}

func TestOnlyTheNamedContainerChanges(t *testing.T) {
	w := newWorld(t)
	first := w.push("v0", "web v0")
	sidecar := w.repo + ":sidecar-1" // same repository, not named: must stay
	svc := w.service("prod", "web", map[string]string{"pushdeploy:containers": "app"},
		localrun.Container{Name: "app", Image: w.repo + "@" + first},
		localrun.Container{Name: "envoy", Image: "public.ecr.aws/envoy:v1.31"},
		localrun.Container{Name: "sidecar", Image: sidecar})
	client := ecs.NewFromConfig(w.Config)
	beforeArn, _ := w.running("prod", "web")
	before, err := client.DescribeTaskDefinition(w.ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(beforeArn)})
	if err != nil {
		t.Fatal(err)
	}
	digest := w.push("latest", "web v1")
	w.wait(1)
	w.expectOutcomes(svc, history.Succeeded)
	afterArn, images := w.running("prod", "web")
	after, err := client.DescribeTaskDefinition(w.ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(afterArn)})
	if err != nil {
		t.Fatal(err)
	}
	if images["app"] != w.repo+"@"+digest || images["envoy"] != "public.ecr.aws/envoy:v1.31" || images["sidecar"] != sidecar {
		t.Fatalf("images after deploy: %v", images)
	}
	// Everything but the app image, the ARN, the revision and the
	// registration stamps is copied exactly.
	b, a := asJSON(t, before.TaskDefinition), asJSON(t, after.TaskDefinition)
	for _, m := range []map[string]any{a, b} {
		for _, k := range []string{"TaskDefinitionArn", "Revision", "RegisteredAt", "RegisteredBy"} {
			delete(m, k)
		}
	}
	a["ContainerDefinitions"].([]any)[0].(map[string]any)["Image"] = "app"
	b["ContainerDefinitions"].([]any)[0].(map[string]any)["Image"] = "app"
	if diff := cmp.Diff(b, a); diff != "" {
		t.Fatalf("the new revision is not an exact copy (-before +after):\n%s", diff)
	}
}

func TestOnePushDeploysThreeServices(t *testing.T) {
	w := newWorld(t)
	svcs := []string{w.service("prod", "web", nil), w.service("prod", "api", nil), w.service("staging", "web", nil)}
	// A service following another repository stays put.
	other := w.service("prod", "worker", map[string]string{"pushdeploy:repository": "worker"})
	digest := w.push("latest", "web v1")
	w.wait(3)
	for _, svc := range svcs {
		w.expectOutcomes(svc, history.Succeeded)
	}
	for _, s := range [][2]string{{"prod", "web"}, {"prod", "api"}, {"staging", "web"}} {
		if _, images := w.running(s[0], s[1]); !strings.HasSuffix(images["app"], digest) {
			t.Errorf("%s/%s runs %s, want digest %s", s[0], s[1], images["app"], digest)
		}
	}
	w.expectOutcomes(other)
}

func TestTagMatchingNoPatternDeploysNothing(t *testing.T) {
	w := newWorld(t)
	svc := w.service("prod", "web", map[string]string{"pushdeploy:tags": "release-*,stable"})
	before, _ := w.running("prod", "web")
	w.push("feature-x", "web feature")
	w.push("release-candidate", "web rc") // matches release-*: this one deploys
	w.Cloud.EventBridge().Flush()         // both pushes have reached dispatch
	w.wait(1)
	w.expectOutcomes(svc, history.Succeeded)
	after, images := w.running("prod", "web")
	if after == before || !strings.HasSuffix(images["app"], digestOf("web rc")) {
		t.Fatalf("service runs %s (%v): want the release-candidate image", after, images)
	}
}

func TestCrashLoopingImageRolledBack(t *testing.T) {
	w := newWorld(t)
	svc := w.service("prod", "web", nil)
	before, _ := w.running("prod", "web")
	w.Cloud.ECS().Faults().FailImage(lcecs.ImageFault{Image: digestOf("web crash"), Mode: lcecs.FailToStart})
	w.push("latest", "web crash")
	w.wait(1)
	rec := w.expectOutcomes(svc, history.RolledBack)[0]
	if after, _ := w.running("prod", "web"); after != before {
		t.Fatalf("service runs %s after the rollback, want %s", after, before)
	}
	if rec.ToRevision != before {
		t.Fatalf("record says it runs %s, want %s", rec.ToRevision, before)
	}
}

// ECS's own deployment alarms roll the service back: the service is stable
// again, on the old revision. That is not a success.
func TestECSRollbackIsNotSuccess(t *testing.T) {
	w := newWorld(t)
	if err := w.CreateAlarm(w.ctx, "ecs-guard", nil); err != nil {
		t.Fatal(err)
	}
	first := w.push("v0", "web v0")
	svc, err := w.CreateService(w.ctx, localrun.ServiceSpec{
		Cluster: "prod", Name: "web", Family: "web", Alarms: []string{"ecs-guard"},
		Containers: []localrun.Container{{Name: "app", Image: w.repo + "@" + first}},
		Tags:       map[string]string{"pushdeploy:repository": "web", "pushdeploy:tags": "latest", "pushdeploy:bake": "5m"},
	})
	if err != nil {
		t.Fatal(err)
	}
	before, _ := w.running("prod", "web")
	w.Cloud.ECS().Faults().SetRolloutDuration("", 10*time.Minute)
	w.setAlarmAt("ecs-guard", "ALARM", w.clock.Now().Add(2*time.Minute))
	w.push("latest", "web v1")
	w.wait(1)
	rec := w.records(svc)
	if len(rec) != 1 || rec[0].Outcome == history.Succeeded {
		t.Fatalf("outcomes %s: an ECS rollback must not be reported as a success", reasons(rec))
	}
	if after, _ := w.running("prod", "web"); after != before {
		t.Fatalf("service runs %s, want %s", after, before)
	}
	w.expectNoLease(svc)
}

func TestThrottledECSRetriedToSuccess(t *testing.T) {
	w := newWorld(t)
	svc := w.service("prod", "web", nil)
	w.Cloud.Faults().AddThrottle(localcloud.Throttle{Service: "ecs", Rate: 0.5})
	digest := w.push("latest", "web v1")
	w.wait(1)
	w.expectOutcomes(svc, history.Succeeded)
	if _, images := w.running("prod", "web"); !strings.HasSuffix(images["app"], digest) {
		t.Fatalf("app runs %s", images["app"])
	}
	throttled := 0
	for _, c := range w.Cloud.Log().Calls() {
		if c.Service == "ecs" && c.Error == "ThrottlingException" {
			throttled++
		}
	}
	if throttled == 0 {
		t.Fatal("no ECS call was throttled: the fault did not apply")
	}
}

// asJSON is v as a JSON object, for comparing SDK types field by field.
func asJSON(t *testing.T, v any) map[string]any {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	return m
}
