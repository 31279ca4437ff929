package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/pushdeploy/pushdeploy/internal/app/history"
)

// TestOperatorChangeDuringDeployIsLeftAlone: a push's 10-minute rollout is
// in progress when an operator registers a revision by hand (the old image
// with an extra environment variable) and updates the service to it, as
// with `aws ecs update-service --task-definition web:N` at 3 a.m. pushdeploy
// must not fight them: no re-apply, no rollback. The execution ends FAILED
// naming the outside change, releases the lease, and the service stays on
// the operator's revision.
func TestOperatorChangeDuringDeployIsLeftAlone(t *testing.T) {
	w := newWorld(t)
	svc := w.service("prod", "web", nil)
	w.Cloud.ECS().Faults().SetRolloutDuration("", 10*time.Minute)
	before, _ := w.running("prod", "web")
	api := ecs.NewFromConfig(w.Config)

	// Hold the virtual clock while the operator acts mid-rollout.
	hold := w.clock.Busy()
	digest := w.push("latest", "web v1")
	w.waitUntil(hold, "the deploy updates the service", func() bool {
		td, _ := w.running("prod", "web")
		return td != before
	})
	deployed, _ := w.running("prod", "web")

	// The operator: the revision that ran before, with a fix of their own.
	old, err := api.DescribeTaskDefinition(w.ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(before)})
	if err != nil {
		hold()
		t.Fatal(err)
	}
	containers := old.TaskDefinition.ContainerDefinitions
	containers[0].Environment = append(containers[0].Environment, ecstypes.KeyValuePair{Name: aws.String("HOTFIX"), Value: aws.String("1")})
	o := old.TaskDefinition
	reg, err := api.RegisterTaskDefinition(w.ctx, &ecs.RegisterTaskDefinitionInput{
		Family: o.Family, ContainerDefinitions: containers,
		RequiresCompatibilities: o.RequiresCompatibilities, NetworkMode: o.NetworkMode,
		Cpu: o.Cpu, Memory: o.Memory, ExecutionRoleArn: o.ExecutionRoleArn, TaskRoleArn: o.TaskRoleArn,
	})
	if err != nil {
		hold()
		t.Fatal(err)
	}
	manual := aws.ToString(reg.TaskDefinition.TaskDefinitionArn)
	if _, err := api.UpdateService(w.ctx, &ecs.UpdateServiceInput{
		Cluster: aws.String("prod"), Service: aws.String("web"), TaskDefinition: aws.String(manual),
	}); err != nil {
		hold()
		t.Fatal(err)
	}
	hold()
	w.wait(1)

	// UpdateService calls that changed the service: pushdeploy's deploy and
	// the operator's, nothing more. The call log appends a call when it
	// returns, so the two may be logged in either order.
	var updates []string
	for _, c := range w.Cloud.Log().Calls() {
		if c.Service == "ecs" && c.Operation == "UpdateService" && c.Error == "" {
			updates = append(updates, c.Fields["taskDefinition"])
		}
	}
	if len(updates) == 2 && sameRev(updates[0], manual) {
		updates[0], updates[1] = updates[1], updates[0]
	}
	if len(updates) != 2 || !sameRev(updates[0], deployed) || !sameRev(updates[1], manual) {
		w.dump()
		t.Fatalf("UpdateService calls to %v, want the deploy's %s then only the operator's %s", updates, deployed, manual)
	}

	if td, images := w.running("prod", "web"); td != manual {
		w.dump()
		t.Fatalf("service runs %s (%v), want the operator's %s", td, images, manual)
	}
	recs := w.expectOutcomes(svc, history.Failed) // and no lease held
	r := recs[0]
	short := manual[strings.LastIndex(manual, "/")+1:]
	if !strings.Contains(r.Reason, "changed outside pushdeploy to "+short) || !strings.Contains(r.Reason, "left it as it is") {
		t.Errorf("record reason %q does not name the outside change to %s", r.Reason, short)
	}
	if strings.Contains(r.Reason, "rolled back") || strings.Contains(r.Reason, "rollback") {
		t.Errorf("record reason %q mentions a rollback", r.Reason)
	}
	if digestOfRecord(r) != digest {
		t.Errorf("record of %s, want the push %s", digestOfRecord(r), digest)
	}
	lease, err := w.Lease(w.ctx, svc)
	if err != nil {
		t.Fatal(err)
	}
	if lease.Holder != "" {
		t.Errorf("lease not released: %+v", lease)
	}
}

// sameRev compares a call's noted task definition (ARN or family:N) with an ARN.
func sameRev(noted, arn string) bool {
	return noted == arn || strings.HasSuffix(arn, "/"+noted)
}
