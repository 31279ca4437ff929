package ecs_test

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	lecs "github.com/pushdeploy/pushdeploy/internal/local/localcloud/ecs"
)

func TestDeployCompletesOnTheVirtualClock(t *testing.T) {
	e := newEnv(t)
	e.mustCluster("prod")
	td1 := e.register("web", "repo/web:1")
	created, err := e.client.CreateService(e.ctx(), &ecs.CreateServiceInput{
		Cluster: aws.String("prod"), ServiceName: aws.String("web"), TaskDefinition: aws.String("web"), DesiredCount: aws.Int32(4),
	})
	if err != nil {
		t.Fatal(err)
	}
	if d := created.Service.Deployments; len(d) != 1 || aws.ToString(d[0].Status) != "PRIMARY" || d[0].RolloutState != types.DeploymentRolloutStateInProgress {
		t.Fatalf("new service deployments = %+v", d)
	}
	if !strings.HasPrefix(aws.ToString(created.Service.Deployments[0].Id), "ecs-svc/") || len(aws.ToString(created.Service.Deployments[0].Id)) != len("ecs-svc/")+19 {
		t.Errorf("deployment id %q is not ecs-svc/<19 digits>", aws.ToString(created.Service.Deployments[0].Id))
	}
	e.waitFor("first rollout completes", func() bool {
		s := e.service("prod", "web")
		return s.Deployments[0].RolloutState == types.DeploymentRolloutStateCompleted
	})
	s := e.service("prod", "web")
	if s.RunningCount != 4 || s.PendingCount != 0 || aws.ToString(s.TaskDefinition) != aws.ToString(td1.TaskDefinitionArn) {
		t.Fatalf("after rollout: running %d pending %d td %s", s.RunningCount, s.PendingCount, aws.ToString(s.TaskDefinition))
	}

	td2 := e.register("web", "repo/web:2")
	before := e.clk.Now()
	up, err := e.client.UpdateService(e.ctx(), &ecs.UpdateServiceInput{
		Cluster: aws.String("prod"), Service: aws.String("web"), TaskDefinition: td2.TaskDefinitionArn,
	})
	if err != nil {
		t.Fatal(err)
	}
	deps := up.Service.Deployments
	if len(deps) != 2 || aws.ToString(deps[0].Status) != "PRIMARY" || aws.ToString(deps[0].TaskDefinition) != aws.ToString(td2.TaskDefinitionArn) ||
		deps[0].RolloutState != types.DeploymentRolloutStateInProgress || aws.ToString(deps[1].Status) != "ACTIVE" ||
		aws.ToString(deps[1].TaskDefinition) != aws.ToString(td1.TaskDefinitionArn) || deps[1].RunningCount != 4 {
		t.Fatalf("after update: %+v", deps)
	}
	newID := aws.ToString(deps[0].Id)
	sawProgress := false
	e.waitFor("second rollout completes", func() bool {
		s := e.service("prod", "web")
		p := s.Deployments[0]
		if p.RunningCount > 0 && p.RunningCount < 4 && p.PendingCount > 0 {
			sawProgress = true
		}
		return p.RolloutState == types.DeploymentRolloutStateCompleted
	})
	if took := e.clk.Now().Sub(before); took < 2*time.Minute {
		t.Errorf("rollout took %s of virtual time, want at least the 2m default", took)
	}
	if !sawProgress {
		t.Error("never saw the rollout part way (some running, some pending)")
	}
	s = e.service("prod", "web")
	if len(s.Deployments) != 1 || aws.ToString(s.Deployments[0].Id) != newID || s.RunningCount != 4 ||
		aws.ToString(s.TaskDefinition) != aws.ToString(td2.TaskDefinitionArn) {
		t.Fatalf("after second rollout: %+v", s.Deployments)
	}
	if msg := aws.ToString(s.Events[0].Message); msg != "(service web) has reached a steady state." {
		t.Errorf("latest event %q", msg)
	}
	var names []string
	for _, ev := range e.bus.Events() {
		if ev.DetailType == "ECS Deployment State Change" && strings.Contains(string(ev.Detail), newID) {
			names = append(names, detailField(t, ev.Detail, "eventName"))
		}
	}
	if strings.Join(names, ",") != "SERVICE_DEPLOYMENT_IN_PROGRESS,SERVICE_DEPLOYMENT_COMPLETED" {
		t.Errorf("deployment events for %s: %v", newID, names)
	}
	st, err := e.ecs.State("", "prod", "web")
	if err != nil || st.RunningCount != 4 || st.Deployments[0].RolloutState != "COMPLETED" {
		t.Errorf("State() = %+v, %v", st, err)
	}
	_ = lecs.TargetPrefix
}

func TestCloseStopsRollouts(t *testing.T) {
	e := newEnv(t)
	e.mustCluster("default")
	e.register("web", "web:1")
	if _, err := e.client.CreateService(e.ctx(), createInput("web", 2)); err != nil {
		t.Fatal(err)
	}
	e.ecs.Close()
	if e.clk.Pending() != 0 {
		t.Errorf("%d timers pending after Close", e.clk.Pending())
	}
	e.clk.Sleep(e.ctx(), 10*time.Minute)
	if s := e.service("default", "web"); s.Deployments[0].RolloutState != types.DeploymentRolloutStateInProgress || s.RunningCount != 0 {
		t.Errorf("the rollout moved after Close: %+v", s.Deployments[0])
	}
}

func TestScaleDownDuringRollout(t *testing.T) {
	e := newEnv(t)
	e.mustCluster("default")
	e.register("web", "web:1")
	if _, err := e.client.CreateService(e.ctx(), createInput("web", 6)); err != nil {
		t.Fatal(err)
	}
	e.waitFor("half way", func() bool { return e.service("default", "web").Deployments[0].RunningCount >= 3 })
	if _, err := e.client.UpdateService(e.ctx(), &ecs.UpdateServiceInput{Service: aws.String("web"), DesiredCount: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	e.waitFor("completed", func() bool {
		d := e.service("default", "web").Deployments[0]
		if d.PendingCount < 0 || d.RunningCount > d.DesiredCount && d.RolloutState == types.DeploymentRolloutStateCompleted {
			t.Fatalf("counts went wrong: %+v", d)
		}
		return d.RolloutState == types.DeploymentRolloutStateCompleted
	})
	if s := e.service("default", "web"); s.RunningCount != 1 || s.PendingCount != 0 {
		t.Errorf("after scale down: running %d pending %d", s.RunningCount, s.PendingCount)
	}
}

func TestNetworkConfigurationChangeRedeploys(t *testing.T) {
	e := newEnv(t)
	e.mustCluster("default")
	_, err := e.client.RegisterTaskDefinition(e.ctx(), &ecs.RegisterTaskDefinitionInput{Family: aws.String("web"), NetworkMode: types.NetworkModeAwsvpc,
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("a"), Image: aws.String("b"), Memory: aws.Int32(1)}}})
	if err != nil {
		t.Fatal(err)
	}
	net := func(subnet string) *types.NetworkConfiguration {
		return &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{Subnets: []string{subnet}}}
	}
	if _, err := e.client.CreateService(e.ctx(), &ecs.CreateServiceInput{ServiceName: aws.String("web"), TaskDefinition: aws.String("web"),
		DesiredCount: aws.Int32(1), NetworkConfiguration: net("subnet-a")}); err != nil {
		t.Fatal(err)
	}
	hold := e.clk.Busy()
	defer hold()
	for _, tt := range []struct {
		subnet string
		want   int
	}{{"subnet-a", 1}, {"subnet-b", 2}} {
		out, err := e.client.UpdateService(e.ctx(), &ecs.UpdateServiceInput{Service: aws.String("web"), NetworkConfiguration: net(tt.subnet)})
		if err != nil {
			t.Fatal(err)
		}
		if n := len(out.Service.Deployments); n != tt.want {
			t.Errorf("%s: %d deployments, want %d", tt.subnet, n, tt.want)
		}
		if got := out.Service.Deployments[0].NetworkConfiguration.AwsvpcConfiguration.Subnets[0]; got != tt.subnet {
			t.Errorf("primary deployment runs in %s", got)
		}
	}
}
