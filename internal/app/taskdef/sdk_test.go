package taskdef_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/pushdeploy/pushdeploy/internal/app/clock"
	"github.com/pushdeploy/pushdeploy/internal/app/taskdef"
	"github.com/pushdeploy/pushdeploy/internal/local/localcloud"
	ecslocal "github.com/pushdeploy/pushdeploy/internal/local/localcloud/ecs"
	"github.com/pushdeploy/pushdeploy/internal/local/localtest"
)

const (
	reg    = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
	digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
)

// TestRegisterCopyLocalCloud registers a rich task definition, copies it
// back through Describe -> RegisterInput -> ReplaceImages -> Register, and
// checks that only the named container's image changed.
func TestRegisterCopyLocalCloud(t *testing.T) {
	c := localtest.New(t, func(clk *clock.Virtual) []localcloud.RPCService {
		e, err := ecslocal.New(ecslocal.Options{Clock: clk, Account: localtest.Account, Region: localtest.Region})
		if err != nil {
			t.Fatal(err)
		}
		return []localcloud.RPCService{e}
	})
	e := ecs.NewFromConfig(c.Config())
	ctx := context.Background()
	orig := &ecs.RegisterTaskDefinitionInput{
		Family:                  aws.String("shop"),
		Cpu:                     aws.String("512"),
		Memory:                  aws.String("1024"),
		NetworkMode:             ecstypes.NetworkModeAwsvpc,
		RequiresCompatibilities: []ecstypes.Compatibility{ecstypes.CompatibilityFargate},
		ExecutionRoleArn:        aws.String("arn:aws:iam::123456789012:role/exec"),
		TaskRoleArn:             aws.String("arn:aws:iam::123456789012:role/task"),
		RuntimePlatform:         &ecstypes.RuntimePlatform{CpuArchitecture: ecstypes.CPUArchitectureArm64, OperatingSystemFamily: ecstypes.OSFamilyLinux},
		EphemeralStorage:        &ecstypes.EphemeralStorage{SizeInGiB: 30},
		Volumes:                 []ecstypes.Volume{{Name: aws.String("scratch")}},
		Tags:                    []ecstypes.Tag{{Key: aws.String("team"), Value: aws.String("shop")}},
		ContainerDefinitions: []ecstypes.ContainerDefinition{
			{
				Name: aws.String("app"), Image: aws.String(reg + "/shop:latest"), Essential: aws.Bool(true),
				PortMappings: []ecstypes.PortMapping{{ContainerPort: aws.Int32(8080), Protocol: ecstypes.TransportProtocolTcp}},
				Environment:  []ecstypes.KeyValuePair{{Name: aws.String("MODE"), Value: aws.String("prod")}},
				Secrets:      []ecstypes.Secret{{Name: aws.String("DB"), ValueFrom: aws.String("arn:aws:ssm:us-east-1:123456789012:parameter/db")}},
				MountPoints:  []ecstypes.MountPoint{{SourceVolume: aws.String("scratch"), ContainerPath: aws.String("/tmp/x")}},
				HealthCheck:  &ecstypes.HealthCheck{Command: []string{"CMD-SHELL", "curl -f localhost:8080/health"}, Interval: aws.Int32(10)},
				LogConfiguration: &ecstypes.LogConfiguration{LogDriver: ecstypes.LogDriverAwslogs, Options: map[string]string{
					"awslogs-group": "/shop", "awslogs-region": "us-east-1", "awslogs-stream-prefix": "app"}},
			},
			{Name: aws.String("envoy"), Image: aws.String("public.ecr.aws/appmesh/aws-appmesh-envoy:v1.29"), Essential: aws.Bool(false), Cpu: 64},
		},
	}
	if _, err := e.RegisterTaskDefinition(ctx, orig); err != nil {
		t.Fatal(err)
	}
	desc, err := e.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("shop"), Include: []ecstypes.TaskDefinitionField{ecstypes.TaskDefinitionFieldTags}})
	if err != nil {
		t.Fatal(err)
	}
	in := taskdef.RegisterInput(desc.TaskDefinition, desc.Tags)
	img := taskdef.Image{Registry: reg, Repository: "shop", Tag: "v2", Digest: digest}
	changes, err := taskdef.ReplaceImages(in, img, nil, taskdef.Policy{Accounts: []string{"123456789012"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != 1 || changes[0].Container != "app" {
		t.Fatalf("changes = %+v", changes)
	}
	out, err := e.RegisterTaskDefinition(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if out.TaskDefinition.Revision != 2 {
		t.Fatalf("revision %d", out.TaskDefinition.Revision)
	}
	desc2, err := e.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("shop:2"), Include: []ecstypes.TaskDefinitionField{ecstypes.TaskDefinitionFieldTags}})
	if err != nil {
		t.Fatal(err)
	}
	// Everything but the app image, the revision and registration facts is equal.
	want := *desc.TaskDefinition
	want.ContainerDefinitions = append([]ecstypes.ContainerDefinition(nil), want.ContainerDefinitions...)
	want.ContainerDefinitions[0].Image = aws.String(reg + "/shop@" + digest)
	ignore := cmpopts.IgnoreFields(ecstypes.TaskDefinition{}, "Revision", "TaskDefinitionArn", "RegisteredAt", "RegisteredBy")
	if diff := cmp.Diff(want, *desc2.TaskDefinition, ignore, cmpopts.IgnoreUnexported(allTypes...)); diff != "" {
		t.Errorf("re-registered task definition (-want +got)\n%s", diff)
	}
	if diff := cmp.Diff(desc.Tags, desc2.Tags, cmpopts.IgnoreUnexported(ecstypes.Tag{})); diff != "" {
		t.Errorf("tags (-want +got)\n%s", diff)
	}

	// Diff shows exactly the image change.
	d, err := taskdef.Diff(taskdef.RegisterInput(desc.TaskDefinition, desc.Tags), taskdef.RegisterInput(desc2.TaskDefinition, desc2.Tags))
	if err != nil {
		t.Fatal(err)
	}
	if len(d) != 1 || d[0].Path != "ContainerDefinitions[app].Image" {
		t.Errorf("diff = %+v", d)
	}
}

var allTypes = []any{
	ecstypes.TaskDefinition{}, ecstypes.ContainerDefinition{}, ecstypes.PortMapping{}, ecstypes.KeyValuePair{},
	ecstypes.Secret{}, ecstypes.MountPoint{}, ecstypes.HealthCheck{}, ecstypes.LogConfiguration{}, ecstypes.Volume{},
	ecstypes.RuntimePlatform{}, ecstypes.EphemeralStorage{}, ecstypes.Tag{}, ecstypes.Attribute{},
}
