package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/pushdeploy/pushdeploy/internal/app/history"
)

// TestSemverPolicy: a service following "semver:>=1.4.0 <2" over a
// sequence of pushes deploys 1.4.0 and 1.6.0, starts nothing for the tags
// outside the range (1.3.0, 2.0.0, latest) nor for a pre-release
// (1.7.0-rc.1: the range names none), and records 1.5.0, pushed after 1.6.0
// runs, SKIPPED as a lower version, leaving 1.6.0 running.
func TestSemverPolicy(t *testing.T) {
	w := newWorld(t)
	svc := w.service("prod", "web", map[string]string{"pushdeploy:tags": "semver:>=1.4.0 <2", "pushdeploy:bake": "0s"})

	w.push("1.3.0", "web 1.3.0")
	w.push("2.0.0", "web 2.0.0")
	v140 := w.push("1.4.0", "web 1.4.0")
	w.wait(1)
	w.expectRunning("prod", "web", v140)

	w.clock.Advance(time.Minute)
	w.push("1.7.0-rc.1", "web 1.7.0-rc.1")
	w.push("latest", "web latest")
	v160 := w.push("v1.6.0", "web 1.6.0")
	w.wait(2)
	w.expectRunning("prod", "web", v160)

	w.clock.Advance(time.Minute)
	w.push("1.5.0", "web 1.5.0")
	w.wait(3)
	recs := w.expectOutcomes(svc, history.Succeeded, history.Succeeded, history.Skipped)
	if want := "lower-version: 1.5.0 is lower than v1.6.0, the version running"; recs[0].Reason != want {
		t.Errorf("skip reason %q, want %q", recs[0].Reason, want)
	}
	w.expectRunning("prod", "web", v160)

	// A manual deploy of the lower version is the operator's call: it runs.
	w.clock.Advance(time.Minute)
	w.start("manual-downgrade", map[string]any{"action": "deploy", "cluster": "prod", "service": "web", "image": w.repo + ":1.5.0"})
	w.wait(4)
	w.expectOutcomes(svc, history.Succeeded, history.Succeeded, history.Skipped, history.Succeeded)
	w.expectRunning("prod", "web", digestOf("web 1.5.0"))
}

// expectRunning checks the service's app container runs the digest.
func (w *world) expectRunning(cluster, service, digest string) {
	w.t.Helper()
	if _, images := w.running(cluster, service); images["app"] != w.repo+"@"+digest {
		w.dump()
		w.t.Fatalf("%s/%s runs %s, want %s", cluster, service, images["app"], strings.TrimPrefix(digest, w.repo+"@"))
	}
}
