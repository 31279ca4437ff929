package ecs_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/pushdeploy/pushdeploy/internal/local/localcloud/localtest"
)

// TestAWSCLI drives the local ECS with the machine's AWS CLI, an
// independent client, through what issue 2 asks of it: register a task
// definition, create and update a service, describe it.
func TestAWSCLI(t *testing.T) {
	localtest.NeedAWSCLI(t)
	e := newEnv(t)
	run := localtest.CLI(t, e.url, "ecs")
	run("create-cluster", "--cluster-name", "default")
	containers := `[{"name":"app","image":"web:1","memory":128,"portMappings":[{"containerPort":80}]}]`
	var reg struct{ TaskDefinition map[string]any }
	if err := json.Unmarshal(run("register-task-definition", "--family", "web", "--container-definitions", containers), &reg); err != nil {
		t.Fatal(err)
	}
	if reg.TaskDefinition["status"] != "ACTIVE" || reg.TaskDefinition["revision"] != 1.0 {
		t.Fatalf("registered %v", reg.TaskDefinition)
	}
	run("create-service", "--service-name", "web", "--task-definition", "web", "--desired-count", "2",
		"--deployment-configuration", "deploymentCircuitBreaker={enable=true,rollback=true}")
	run("register-task-definition", "--family", "web", "--container-definitions", strings.Replace(containers, "web:1", "web:2", 1))
	var up struct {
		Service struct {
			Deployments []struct{ Status, TaskDefinition, RolloutState string }
		}
	}
	if err := json.Unmarshal(run("update-service", "--service", "web", "--task-definition", "web:2"), &up); err != nil {
		t.Fatal(err)
	}
	if len(up.Service.Deployments) != 2 || up.Service.Deployments[0].Status != "PRIMARY" || !strings.HasSuffix(up.Service.Deployments[0].TaskDefinition, "web:2") {
		t.Fatalf("update-service: %+v", up.Service.Deployments)
	}
	e.waitFor("rollout", func() bool { return len(e.service("default", "web").Deployments) == 1 })
	var d struct {
		Services []struct {
			RunningCount   int
			TaskDefinition string
			Deployments    []struct{ RolloutState string }
		}
		Failures []struct{ Reason string }
	}
	if err := json.Unmarshal(run("describe-services", "--services", "web", "nope"), &d); err != nil {
		t.Fatal(err)
	}
	if len(d.Services) != 1 || d.Services[0].RunningCount != 2 || !strings.HasSuffix(d.Services[0].TaskDefinition, "web:2") ||
		d.Services[0].Deployments[0].RolloutState != "COMPLETED" || len(d.Failures) != 1 || d.Failures[0].Reason != "MISSING" {
		t.Errorf("describe-services: %+v", d)
	}
}
