package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/pushdeploy/pushdeploy/internal/app/history"
	"github.com/pushdeploy/pushdeploy/internal/local/localcloud"
)

// TestLateUpdateOfSupersededPush: the first push's UpdateService is slow
// (as a call the SDK retried for a while): it reaches ECS 50 s after the
// first execution checked its lease. Ten seconds in, a second push takes
// the lease, registers its revision and updates the service. Then the late
// update lands over it. The first execution finds it lost the lease, ends
// SUPERSEDED and wakes the second, which finds the service on a revision
// that is not its own, re-applies its revision and succeeds: the second
// image runs.
func TestLateUpdateOfSupersededPush(t *testing.T) {
	w := newWorld(t)
	svc := w.service("prod", "web", nil)
	before, _ := w.running("prod", "web")
	const lateBy = 50 * time.Second
	w.Cloud.Faults().AddLatency(localcloud.Latency{Service: "ecs", Operation: "UpdateService", Delay: lateBy})
	start := w.clock.Now()

	// Still held by the cloud's clock when the timer fires: the first
	// execution's UpdateService, which arrived at once, sleeps until
	// start+lateBy. The latency of a call is fixed when it arrives, so
	// clearing the fault now only spares the second push's calls.
	type pushed struct {
		digest string
		err    error
	}
	second := make(chan pushed, 1)
	w.clock.AfterFunc(10*time.Second, func() {
		w.Cloud.Faults().Clear()
		d, err := w.Push(w.ctx, "web", "latest", "web v2")
		second <- pushed{d, err}
	})
	first := w.push("latest", "web v1")
	w.wait(2)
	p := <-second
	if p.err != nil {
		t.Fatal(p.err)
	}

	// The scenario happened: the first UpdateService to land is the
	// second push's, then the late one, then the re-apply.
	var updates []localcloud.Call
	for _, c := range w.Cloud.Log().Calls() {
		if c.Service == "ecs" && c.Operation == "UpdateService" && c.Error == "" {
			updates = append(updates, c)
		}
	}
	if len(updates) != 3 {
		w.dump()
		t.Fatalf("%d UpdateService calls, want 3 (second push, late first push, re-apply): %+v", len(updates), updates)
	}
	if late := updates[1].Time.Sub(start); late < lateBy || !updates[0].Time.Before(updates[1].Time) {
		t.Errorf("UpdateService at %s and %s after the first push: the late update did not land after the second push's",
			updates[0].Time.Sub(start), late)
	}

	recs := w.expectOutcomes(svc, history.Superseded, history.Succeeded)
	for _, r := range recs {
		want := map[string]history.Outcome{first: history.Superseded, p.digest: history.Succeeded}[digestOfRecord(r)]
		if r.Outcome != want {
			t.Errorf("deploy of %s ended %s (%s), want %s", digestOfRecord(r), r.Outcome, r.Reason, want)
		}
	}
	td, images := w.running("prod", "web")
	if images["app"] != w.repo+"@"+p.digest {
		w.dump()
		t.Fatalf("app runs %s, want the second push %s", images["app"], p.digest)
	}
	if td == before {
		t.Errorf("service still on %s", td)
	}
	// Settled on the second push's revision: no deployment of the first
	// push's left in flight.
	out, err := ecs.NewFromConfig(w.Config).DescribeServices(w.ctx, &ecs.DescribeServicesInput{Cluster: aws.String("prod"), Services: []string{"web"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range out.Services[0].Deployments {
		if aws.ToString(d.Status) == "PRIMARY" && aws.ToString(d.TaskDefinition) != td {
			t.Errorf("primary deployment on %s, service on %s", aws.ToString(d.TaskDefinition), td)
		}
	}
	for _, r := range recs {
		if r.Outcome == history.Succeeded && !strings.HasSuffix(r.ToRevision, td[strings.LastIndex(td, "/"):]) {
			t.Errorf("succeeded record ends on %s, service runs %s", r.ToRevision, td)
		}
	}
}
