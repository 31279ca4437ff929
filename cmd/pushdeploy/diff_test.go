package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// TestDiffStrategyEffect: diff says what the service's strategy does to a
// deploy: ECS's bake and waits, and what is left of pushdeploy's bake.
func TestDiffStrategyEffect(t *testing.T) {
	for _, tc := range []struct {
		name string
		svc  ecstypes.Service
		want string
	}{
		{"rolling, no settings", ecstypes.Service{}, "strategy ROLLING\n"},
		{"blue/green with a longer pushdeploy bake", ecstypes.Service{
			DeploymentConfiguration: &ecstypes.DeploymentConfiguration{Strategy: ecstypes.DeploymentStrategyBlueGreen, BakeTimeInMinutes: aws.Int32(5)},
			Tags:                    []ecstypes.Tag{{Key: aws.String("pushdeploy:bake"), Value: aws.String("10m")}},
		}, "strategy BLUE_GREEN: ECS waits 5m0s inside its deployment (a bake of 5m0s with the old revision still running); pushdeploy bakes 5m0s after it (pushdeploy:bake less ECS's bake)\n"},
		{"canary: ECS's waits, no bake", ecstypes.Service{
			DeploymentConfiguration: &ecstypes.DeploymentConfiguration{Strategy: ecstypes.DeploymentStrategyCanary, BakeTimeInMinutes: aws.Int32(0)},
			Tags:                    []ecstypes.Tag{{Key: aws.String("pushdeploy:bake"), Value: aws.String("2m")}},
		}, "strategy CANARY: ECS waits 10m0s inside its deployment; pushdeploy bakes 2m0s after it (pushdeploy:bake less ECS's bake)\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			writeDiff(&out, &diffResult{Service: "web", Cluster: "prod", TaskDefinition: "arn:aws:ecs:us-east-1:1:task-definition/web:3",
				Image: "img", Containers: []string{"app"}, Strategy: strategyOf(tc.svc)})
			lines := strings.SplitAfter(out.String(), "\n")
			if len(lines) < 3 || lines[2] != tc.want {
				t.Errorf("diff:\n%s\nwant its third line %q", out.String(), tc.want)
			}
		})
	}
}
