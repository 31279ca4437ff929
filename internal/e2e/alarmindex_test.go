package e2e

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/pushdeploy/pushdeploy/internal/app/history"
	"github.com/pushdeploy/pushdeploy/internal/app/target"
)

// scans counts dispatch's scans of the opted-in services (GetResources
// over ecs:service) in the call log.
func (w *world) scans() int {
	n := 0
	for _, c := range w.Cloud.Log().Calls() {
		if c.Service == "tagging" && c.Operation == "GetResources" && strings.Contains(c.Fields["filters"], "ecs:service") {
			n++
		}
	}
	return n
}

// indexed reads the alarm index's services of alarm.
func (w *world) indexed(alarm string) []string {
	w.t.Helper()
	idx, err := target.NewAlarmIndex(dynamodb.NewFromConfig(w.Config), w.Env["PUSHDEPLOY_TABLE"], w.clock)
	if err != nil {
		w.t.Fatal(err)
	}
	e, err := idx.Get(w.ctx, alarm)
	if err != nil {
		w.t.Fatal(err)
	}
	return e.Services
}

// TestAlarmIndexStaleEntry: an alarm is resolved through the alarm index
// once the index has scanned it, and the index is a hint: a service whose
// pushdeploy:alarms no longer lists the alarm (its tag changed after its
// deploy) is not rolled back, and leaves the index, while the service
// that still lists it is rolled back, with no scan of the services.
func TestAlarmIndexStaleEntry(t *testing.T) {
	w := newWorld(t)
	if err := w.CreateAlarm(w.ctx, "web-5xx", nil); err != nil {
		t.Fatal(err)
	}
	tags := map[string]string{"pushdeploy:alarms": "web-5xx", "pushdeploy:rollback-window": "30m"}
	web := w.service("prod", "web", tags)
	api := w.service("prod", "api", tags)
	w.Cloud.ECS().Faults().SetRolloutDuration("", 4*time.Minute)

	// A push: both deploy, and dispatch indexes both under web-5xx.
	w.push("latest", "web v1")
	w.wait(2)
	if got := w.indexed("web-5xx"); !slices.Equal(got, []string{api, web}) {
		t.Fatalf("indexed after the push: %v", got)
	}
	// The alarm's first resolution scans (the index never did), long
	// after the deploys' rollback windows: both rollbacks are SKIPPED.
	w.setAlarmAt("web-5xx", "ALARM", w.clock.Now().Add(time.Hour))
	w.wait(4)
	if err := w.SetAlarm(w.ctx, "web-5xx", cwtypes.StateValueOk); err != nil {
		t.Fatal(err)
	}
	// A minute later (records of one instant sort by execution name), a
	// second push deploys both again; then api's tag drops the alarm.
	w.clock.Advance(time.Minute)
	w.push("latest", "web v2")
	w.wait(6)
	if _, err := ecs.NewFromConfig(w.Config).TagResource(w.ctx, &ecs.TagResourceInput{ResourceArn: aws.String(api),
		Tags: []ecstypes.Tag{{Key: aws.String("pushdeploy:alarms"), Value: aws.String("api-errors")}}}); err != nil {
		t.Fatal(err)
	}
	scansBefore := w.scans()
	// Inside the second deploys' rollback window: web is rolled back,
	// api (a stale entry) is left alone.
	w.setAlarmAt("web-5xx", "ALARM", w.clock.Now().Add(10*time.Minute))
	w.wait(7)
	w.expectOutcomes(web, history.Succeeded, history.Skipped, history.Succeeded, history.RolledBack)
	w.expectOutcomes(api, history.Succeeded, history.Skipped, history.Succeeded)
	if n := w.scans() - scansBefore; n != 0 {
		t.Fatalf("the indexed alarm scanned the services %d times", n)
	}
	if got := w.indexed("web-5xx"); !slices.Equal(got, []string{web}) {
		t.Fatalf("indexed after the stale entry was seen: %v, want only web", got)
	}
}

// TestAlarmIndexManualDeploy: a manual execution does not pass dispatch;
// plan indexes its service under its alarms, so an alarm after it finds
// the service in the index.
func TestAlarmIndexManualDeploy(t *testing.T) {
	w := newWorld(t)
	if err := w.CreateAlarm(w.ctx, "web-5xx", nil); err != nil {
		t.Fatal(err)
	}
	web := w.service("prod", "web", map[string]string{"pushdeploy:alarms": "web-5xx", "pushdeploy:repository": "not-followed"})
	if got := w.indexed("web-5xx"); len(got) != 0 {
		t.Fatalf("indexed before any execution: %v", got)
	}
	w.start("manual-redeploy", map[string]string{"action": "redeploy", "cluster": "prod", "service": "web"})
	w.wait(1)
	w.expectOutcomes(web, history.Succeeded)
	if got := w.indexed("web-5xx"); !slices.Equal(got, []string{web}) {
		t.Fatalf("indexed after a manual redeploy: %v, want web", got)
	}
}
