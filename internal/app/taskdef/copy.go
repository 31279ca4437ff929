// Package taskdef turns a service's current task definition into the one a
// deploy registers: an exact copy of every field RegisterTaskDefinition
// accepts, with the images of the named containers pinned to a digest.
package taskdef

//lint:file-ignore SA1019 InferenceAccelerators is deprecated, but this is an exact copy of every field RegisterTaskDefinition accepts, deprecated ones included

import (
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// RegisterInput copies a described task definition into the input that
// registers it again, with every field the API accepts back, and the task
// definition's tags (from DescribeTaskDefinition with Include TAGS). Fields
// that only describe a registration (ARN, revision, status, timestamps,
// compatibilities, requiresAttributes) are left out, as the API computes
// them. Container definitions are copied so that changing an image in the
// result leaves td alone; nested values are shared.
//
// A test fails when RegisterTaskDefinitionInput gains a field this does not
// handle, so an SDK upgrade cannot silently drop configuration.
func RegisterInput(td *ecstypes.TaskDefinition, tags []ecstypes.Tag) *ecs.RegisterTaskDefinitionInput {
	return &ecs.RegisterTaskDefinitionInput{
		ContainerDefinitions:    append([]ecstypes.ContainerDefinition(nil), td.ContainerDefinitions...),
		Family:                  td.Family,
		Cpu:                     td.Cpu,
		EnableFaultInjection:    td.EnableFaultInjection,
		EphemeralStorage:        td.EphemeralStorage,
		ExecutionRoleArn:        td.ExecutionRoleArn,
		InferenceAccelerators:   td.InferenceAccelerators,
		IpcMode:                 td.IpcMode,
		Memory:                  td.Memory,
		NetworkMode:             td.NetworkMode,
		PidMode:                 td.PidMode,
		PlacementConstraints:    td.PlacementConstraints,
		ProxyConfiguration:      td.ProxyConfiguration,
		RequiresCompatibilities: td.RequiresCompatibilities,
		RuntimePlatform:         td.RuntimePlatform,
		Tags:                    tags,
		TaskRoleArn:             td.TaskRoleArn,
		Volumes:                 td.Volumes,
	}
}
