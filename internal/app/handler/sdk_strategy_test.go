package handler

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/pushdeploy/pushdeploy/internal/app/contract"
)

// TestSDKNativeUndo: on a blue/green service, the deploy's update records
// ECS's service deployment; an undo while it bakes stops it with
// StopServiceDeployment (ROLLBACK) instead of updating the service, and the
// undo's wait ends on ROLLBACK_SUCCESSFUL. Every call is one template.yaml
// allows the function.
func TestSDKNativeUndo(t *testing.T) {
	if testing.Short() {
		t.Skip("local cloud")
	}
	st := newSDKTier(t)
	ctx, clk, cloud, invoke := st.ctx, st.clk, st.cloud, st.invoke
	api := ecs.NewFromConfig(st.cfg)
	// until advances the clock a tick at a time until done; a call over
	// HTTP between ticks lets the tick's work run before the next.
	until := func(what string, done func() bool) {
		t.Helper()
		for i := 0; i < 120 && !done(); i++ {
			clk.Advance(15 * time.Second)
			if _, err := api.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String("prod"), Services: []string{"web"}}); err != nil {
				t.Fatal(err)
			}
		}
		if !done() {
			t.Fatalf("%s: not reached", what)
		}
	}
	successful := func() bool { return cloud.ECS().ServiceDeployments("", "prod", "web")[0].Status == "SUCCESSFUL" }
	// Stable on web:1 first, then blue/green with a 10-minute bake.
	until("the first deployment", successful)
	if _, err := api.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("web"),
		DeploymentConfiguration: &ecstypes.DeploymentConfiguration{Strategy: ecstypes.DeploymentStrategyBlueGreen, BakeTimeInMinutes: aws.Int32(10)}}); err != nil {
		t.Fatal(err)
	}
	exec := contract.Execution{ID: execArn, Name: "run-1", StartTime: clk.Now()}
	var p contract.Plan
	if err := invoke("plan", contract.PlanInput{Execution: exec, Input: json.RawMessage(`{"action":"deploy","cluster":"prod","service":"web","image":"` + registry + `/web:v42"}`)}, &p); err != nil {
		t.Fatal(err)
	}
	if p.Strategy != "BLUE_GREEN" || p.ECSBakeSeconds != 600 {
		t.Fatalf("plan strategy %q, ECS bake %ds", p.Strategy, p.ECSBakeSeconds)
	}
	var reg contract.RegisterResult
	if err := invoke("register", contract.RegisterInput{Plan: p}, &reg); err != nil {
		t.Fatal(err)
	}
	var upd contract.UpdateResult
	if err := invoke("update", contract.UpdateInput{Plan: p, TaskDefinitionArn: reg.TaskDefinitionArn, Purpose: contract.PurposeDeploy}, &upd); err != nil {
		t.Fatal(err)
	}
	if upd.ServiceDeploymentArn == "" || upd.NativeRollback {
		t.Fatalf("update %+v", upd)
	}
	// Into ECS's bake: the rollout is not done, whatever the tasks say.
	var o contract.Outcome
	for i := 0; i < 40 && o.LifecycleStage != "BAKE_TIME"; i++ {
		clk.Advance(15 * time.Second)
		if err := invoke("check", contract.CheckInput{Phase: contract.PhaseRollout, Plan: p, Update: upd, Since: upd.StartedAt}, &o); err != nil {
			t.Fatal(err)
		}
	}
	if o.Status != contract.StatusInProgress || o.LifecycleStage != "BAKE_TIME" || o.ServiceDeploymentStatus != "IN_PROGRESS" {
		t.Fatalf("in ECS's bake: %+v", o)
	}
	updates := cloud.Log().Count("ecs", "UpdateService")
	var undo contract.UpdateResult
	if err := invoke("update", contract.UpdateInput{Plan: p, TaskDefinitionArn: td(1), Purpose: contract.PurposeUndo}, &undo); err != nil {
		t.Fatal(err)
	}
	if !undo.NativeRollback || undo.ServiceDeploymentArn != upd.ServiceDeploymentArn || undo.TaskDefinitionArn != td(1) {
		t.Fatalf("undo %+v", undo)
	}
	if n := cloud.Log().Count("ecs", "StopServiceDeployment"); n != 1 || cloud.Log().Count("ecs", "UpdateService") != updates {
		t.Errorf("%d StopServiceDeployment and %d more UpdateService calls, want 1 and 0", n, cloud.Log().Count("ecs", "UpdateService")-updates)
	}
	o = contract.Outcome{}
	for i := 0; i < 8 && o.Status != contract.StatusCompleted; i++ {
		if err := invoke("check", contract.CheckInput{Phase: contract.PhaseUndo, Plan: p, Update: undo, Since: undo.StartedAt}, &o); err != nil {
			t.Fatal(err)
		}
		clk.Advance(15 * time.Second)
	}
	if o.Status != contract.StatusCompleted || o.ServiceDeploymentStatus != "ROLLBACK_SUCCESSFUL" || o.TaskDefinitionArn != td(1) {
		t.Fatalf("undo's wait: %+v", o)
	}
	// An undo after ECS's deployment finished updates the service as before.
	var again contract.UpdateResult
	if err := invoke("update", contract.UpdateInput{Plan: p, TaskDefinitionArn: reg.TaskDefinitionArn, Purpose: contract.PurposeDeploy}, &again); err != nil {
		t.Fatal(err)
	}
	until("the second deployment", successful)
	var late contract.UpdateResult
	if err := invoke("update", contract.UpdateInput{Plan: p, TaskDefinitionArn: td(1), Purpose: contract.PurposeUndo}, &late); err != nil {
		t.Fatal(err)
	}
	if late.NativeRollback || late.ServiceDeploymentArn == again.ServiceDeploymentArn || late.DeploymentID == "" {
		t.Errorf("undo after completion: %+v", late)
	}
}
