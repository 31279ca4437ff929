package target

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// TestECSWaits: the bake ECS runs inside a deployment (which pushdeploy's
// bake composes with) and the time ECS waits by design (which the rollout's
// timeout is counted on top of), per strategy.
func TestECSWaits(t *testing.T) {
	alarms := &ecstypes.DeploymentAlarms{Enable: true, AlarmNames: []string{"a"}}
	tests := []struct {
		name        string
		dc          ecstypes.DeploymentConfiguration
		bake, waits time.Duration
	}{
		{"rolling, no alarms: bakeTimeInMinutes unused", ecstypes.DeploymentConfiguration{BakeTimeInMinutes: aws.Int32(5)}, 0, 0},
		{"rolling with deployment alarms", ecstypes.DeploymentConfiguration{Strategy: ecstypes.DeploymentStrategyRolling, BakeTimeInMinutes: aws.Int32(5), Alarms: alarms}, 5 * time.Minute, 5 * time.Minute},
		{"blue/green", ecstypes.DeploymentConfiguration{Strategy: ecstypes.DeploymentStrategyBlueGreen, BakeTimeInMinutes: aws.Int32(3)}, 3 * time.Minute, 3 * time.Minute},
		{"blue/green without a bake", ecstypes.DeploymentConfiguration{Strategy: ecstypes.DeploymentStrategyBlueGreen}, 0, 0},
		{"linear, AWS's defaults: 9 waits of 6m", ecstypes.DeploymentConfiguration{Strategy: ecstypes.DeploymentStrategyLinear}, 0, 54 * time.Minute},
		{"linear 50% a minute, bake 3", ecstypes.DeploymentConfiguration{Strategy: ecstypes.DeploymentStrategyLinear, BakeTimeInMinutes: aws.Int32(3),
			LinearConfiguration: &ecstypes.LinearConfiguration{StepPercent: aws.Float64(50), StepBakeTimeInMinutes: aws.Int32(1)}}, 3 * time.Minute, 4 * time.Minute},
		{"linear 30%: four shifts, three waits", ecstypes.DeploymentConfiguration{Strategy: ecstypes.DeploymentStrategyLinear,
			LinearConfiguration: &ecstypes.LinearConfiguration{StepPercent: aws.Float64(30), StepBakeTimeInMinutes: aws.Int32(2)}}, 0, 6 * time.Minute},
		{"canary, AWS's default 10m", ecstypes.DeploymentConfiguration{Strategy: ecstypes.DeploymentStrategyCanary, BakeTimeInMinutes: aws.Int32(1)}, time.Minute, 11 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ecsBake(&tt.dc); got != tt.bake {
				t.Errorf("ecsBake = %s, want %s", got, tt.bake)
			}
			if got := ecsBake(&tt.dc) + ecsShiftWaits(&tt.dc); got != tt.waits {
				t.Errorf("waits = %s, want %s", got, tt.waits)
			}
		})
	}
}
