package main

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	lcecs "github.com/pushdeploy/pushdeploy/internal/local/localcloud/ecs"
)

// TestStatusShowsServiceDeployment: status shows the service's deployment
// strategy and its ECS service deployment's lifecycle stage and traffic
// split, here a blue/green deployment in its bake.
func TestStatusShowsServiceDeployment(t *testing.T) {
	e := newE2E(t)
	client := ecs.NewFromConfig(e.Config)
	e.waitStage("SUCCESSFUL", func(sd lcecsState) bool { return sd.Status == "SUCCESSFUL" })
	if _, err := client.UpdateService(e.ctx, &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("web"),
		DeploymentConfiguration: &ecstypes.DeploymentConfiguration{Strategy: ecstypes.DeploymentStrategyBlueGreen, BakeTimeInMinutes: aws.Int32(30)}}); err != nil {
		t.Fatal(err)
	}
	// A new revision of the same image, deployed outside pushdeploy.
	if _, err := client.UpdateService(e.ctx, &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("web"), ForceNewDeployment: true}); err != nil {
		t.Fatal(err)
	}
	e.waitStage("BAKE_TIME", func(sd lcecsState) bool { return sd.LifecycleStage == "BAKE_TIME" })
	hold := e.clk.Busy()
	defer hold()
	st := e.status()
	sd := st.ServiceDeployment
	if st.Strategy != "BLUE_GREEN" || sd == nil || sd.Status != "IN_PROGRESS" || sd.LifecycleStage != "BAKE_TIME" ||
		aws.ToFloat64(sd.TargetTraffic) != 100 || aws.ToFloat64(sd.SourceTraffic) != 0 {
		t.Fatalf("status: strategy %q, service deployment %+v", st.Strategy, sd)
	}
	code, out, errs := e.cli(runStatus, "--cluster", "prod", "--service", "web")
	if code != exitOK {
		t.Fatalf("status: exit %d: %s", code, errs)
	}
	words := strings.Join(strings.Fields(out), " ")
	for _, want := range []string{"strategy BLUE_GREEN", "ecs deploy IN_PROGRESS BAKE_TIME, production traffic 100% new / 0% old"} {
		if !strings.Contains(words, want) {
			t.Errorf("status does not show %q:\n%s", want, out)
		}
	}
}

type lcecsState = lcecs.ServiceDeploymentState

// waitStage sleeps on the virtual clock until the service's newest service
// deployment satisfies ok.
func (e *e2e) waitStage(what string, ok func(lcecsState) bool) {
	e.t.Helper()
	for range 200 {
		if sds := e.Cloud.ECS().ServiceDeployments("", "prod", "web"); len(sds) > 0 && ok(sds[0]) {
			return
		}
		if err := e.clk.Sleep(e.ctx, 15*time.Second); err != nil {
			e.t.Fatal(err)
		}
	}
	e.t.Fatalf("the service deployment never reached %s", what)
}
