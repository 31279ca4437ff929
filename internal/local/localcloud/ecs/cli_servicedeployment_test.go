package ecs_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/pushdeploy/pushdeploy/internal/local/localcloud/localtest"
)

// TestAWSCLIServiceDeployments drives the strategies and the service
// deployment API with the AWS CLI, whose botocore checks every parameter
// against ECS's model before sending it and parses every answer by it.
// Debian's awscli 2.9.19 predates these operations: there the test skips,
// and the JavaScript client (jsclient_test.go) checks the same shapes.
func TestAWSCLIServiceDeployments(t *testing.T) {
	localtest.NeedAWSCLI(t)
	probe := exec.Command("aws", "ecs", "stop-service-deployment", "help")
	probe.Env = append(os.Environ(), "AWS_PAGER=", "PAGER=cat", "MANPAGER=cat")
	if err := probe.Run(); err != nil {
		t.Skip("the AWS CLI on PATH predates the ECS service deployment API (Debian's awscli 2.9.19 does); jsclient_test.go covers it")
	}
	e := newEnv(t)
	// Time stands still while the CLI runs: the deployment it stops is
	// still in progress when it asks.
	hold := e.clk.Busy()
	defer hold()
	run := localtest.CLI(t, e.url, "ecs")
	run("create-cluster", "--cluster-name", "default")
	containers := `[{"name":"app","image":"repo/web@sha256:good","memory":128}]`
	run("register-task-definition", "--family", "web", "--container-definitions", containers)
	run("create-service", "--service-name", "web", "--task-definition", "web:1", "--desired-count", "2", "--deployment-configuration",
		`{"strategy":"LINEAR","bakeTimeInMinutes":5,"linearConfiguration":{"stepPercent":25.0,"stepBakeTimeInMinutes":2},"deploymentCircuitBreaker":{"enable":true,"rollback":true}}`)
	run("register-task-definition", "--family", "web", "--container-definitions", strings.Replace(containers, "good", "next", 1))
	var up struct {
		Service struct {
			CurrentServiceDeployment string
			DeploymentConfiguration  struct {
				Strategy            string
				LinearConfiguration struct{ StepPercent float64 }
			}
		}
	}
	mustJSON(t, run("update-service", "--service", "web", "--task-definition", "web:2"), &up)
	arn := up.Service.CurrentServiceDeployment
	if arn == "" || up.Service.DeploymentConfiguration.Strategy != "LINEAR" || up.Service.DeploymentConfiguration.LinearConfiguration.StepPercent != 25 {
		t.Fatalf("update-service: %+v", up.Service)
	}
	var list struct {
		ServiceDeployments []struct{ ServiceDeploymentArn, Status string }
	}
	mustJSON(t, run("list-service-deployments", "--service", "web", "--status", "IN_PROGRESS"), &list)
	if len(list.ServiceDeployments) != 1 || list.ServiceDeployments[0].ServiceDeploymentArn != arn {
		t.Fatalf("list-service-deployments: %+v", list)
	}
	var desc struct {
		ServiceDeployments []struct {
			Status, LifecycleStage string
			TargetServiceRevision  struct {
				Arn                              string
				RequestedProductionTrafficWeight float64
			}
			SourceServiceRevisions   []struct{ Arn string }
			DeploymentCircuitBreaker struct {
				Status    string
				Threshold int
			}
		}
	}
	mustJSON(t, run("describe-service-deployments", "--service-deployment-arns", arn), &desc)
	if len(desc.ServiceDeployments) != 1 {
		t.Fatalf("describe-service-deployments: %+v", desc)
	}
	sd := desc.ServiceDeployments[0]
	if sd.Status != "IN_PROGRESS" || sd.DeploymentCircuitBreaker.Status != "MONITORING" || sd.DeploymentCircuitBreaker.Threshold != 3 || len(sd.SourceServiceRevisions) != 1 {
		t.Errorf("service deployment: %+v", sd)
	}
	var revs struct {
		ServiceRevisions []struct {
			TaskDefinition  string
			ContainerImages []struct{ ContainerName, ImageDigest string }
		}
	}
	mustJSON(t, run("describe-service-revisions", "--service-revision-arns", sd.TargetServiceRevision.Arn), &revs)
	if len(revs.ServiceRevisions) != 1 || !strings.HasSuffix(revs.ServiceRevisions[0].TaskDefinition, "web:2") || revs.ServiceRevisions[0].ContainerImages[0].ImageDigest != "sha256:next" {
		t.Errorf("describe-service-revisions: %+v", revs)
	}
	var stop struct{ ServiceDeploymentArn string }
	mustJSON(t, run("stop-service-deployment", "--service-deployment-arn", arn, "--stop-type", "ROLLBACK"), &stop)
	if stop.ServiceDeploymentArn != arn {
		t.Errorf("stop-service-deployment: %+v", stop)
	}
	mustJSON(t, run("describe-service-deployments", "--service-deployment-arns", arn), &desc)
	if desc.ServiceDeployments[0].Status != "ROLLBACK_IN_PROGRESS" {
		t.Errorf("after the stop: %s", desc.ServiceDeployments[0].Status)
	}
	out, err := localtest.TryAWSCLI(t, e.url, "ecs", "continue-service-deployment", "--service-deployment-arn", arn, "--hook-id", "h", "--action", "CONTINUE")
	if err == nil || !strings.Contains(string(out), "ConflictException") {
		t.Errorf("continue-service-deployment: %v\n%s", err, out)
	}
}

func mustJSON(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
}
