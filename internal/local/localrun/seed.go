package localrun

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	lcecr "github.com/pushdeploy/pushdeploy/internal/local/localcloud/ecr"
)

// Container is one container of a seeded task definition.
type Container struct {
	Name  string
	Image string
}

// ServiceSpec describes an ECS service to create, opted in to pushdeploy by
// its tags.
type ServiceSpec struct {
	Cluster      string
	Name         string
	Family       string
	Containers   []Container
	DesiredCount int32
	Tags         map[string]string
	// Alarms are ECS deployment alarms (deploymentConfiguration.alarms).
	Alarms []string
}

// CreateService registers the first task definition and creates the service
// with the circuit breaker on (rollback enabled), as a careful team would.
func (w *World) CreateService(ctx context.Context, s ServiceSpec) (serviceARN string, err error) {
	client := ecs.NewFromConfig(w.Config)
	if _, err := client.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String(s.Cluster)}); err != nil {
		return "", fmt.Errorf("create cluster: %w", err)
	}
	var defs []ecstypes.ContainerDefinition
	for _, c := range s.Containers {
		defs = append(defs, ecstypes.ContainerDefinition{
			Name: aws.String(c.Name), Image: aws.String(c.Image), Essential: aws.Bool(true), Memory: aws.Int32(256),
			PortMappings: []ecstypes.PortMapping{{ContainerPort: aws.Int32(8080)}},
		})
	}
	td, err := client.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family: aws.String(s.Family), ContainerDefinitions: defs,
		Cpu: aws.String("256"), Memory: aws.String("512"), NetworkMode: ecstypes.NetworkModeAwsvpc,
		RequiresCompatibilities: []ecstypes.Compatibility{ecstypes.CompatibilityFargate},
		ExecutionRoleArn:        aws.String("arn:aws:iam::123456789012:role/ecsTaskExecutionRole"),
	})
	if err != nil {
		return "", fmt.Errorf("register task definition: %w", err)
	}
	var tags []ecstypes.Tag
	for k, v := range s.Tags {
		tags = append(tags, ecstypes.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	desired := s.DesiredCount
	if desired == 0 {
		desired = 3
	}
	cfg := &ecstypes.DeploymentConfiguration{
		DeploymentCircuitBreaker: &ecstypes.DeploymentCircuitBreaker{Enable: true, Rollback: true},
		MaximumPercent:           aws.Int32(200), MinimumHealthyPercent: aws.Int32(100),
	}
	if len(s.Alarms) > 0 {
		cfg.Alarms = &ecstypes.DeploymentAlarms{AlarmNames: s.Alarms, Enable: true, Rollback: true}
	}
	out, err := client.CreateService(ctx, &ecs.CreateServiceInput{
		Cluster: aws.String(s.Cluster), ServiceName: aws.String(s.Name),
		TaskDefinition: td.TaskDefinition.TaskDefinitionArn, DesiredCount: aws.Int32(desired),
		LaunchType: ecstypes.LaunchTypeFargate, DeploymentConfiguration: cfg, Tags: tags,
		PropagateTags: ecstypes.PropagateTagsService,
		NetworkConfiguration: &ecstypes.NetworkConfiguration{AwsvpcConfiguration: &ecstypes.AwsVpcConfiguration{
			Subnets: []string{"subnet-0a1b2c3d"}, SecurityGroups: []string{"sg-0a1b2c3d"},
		}},
	})
	if err != nil {
		return "", fmt.Errorf("create service: %w", err)
	}
	return aws.ToString(out.Service.ServiceArn), nil
}

// CreateRepository creates an ECR repository and returns its URI.
func (w *World) CreateRepository(ctx context.Context, name string) (string, error) {
	out, err := ecr.NewFromConfig(w.Config).CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String(name)})
	if err != nil {
		return "", fmt.Errorf("create repository: %w", err)
	}
	return aws.ToString(out.Repository.RepositoryUri), nil
}

// Push puts an image into a repository under a tag and returns its digest.
// Different seeds make different images. Its blobs are recorded as
// uploaded through the local ECR's Go shortcut (SeedLayers), and the
// manifest is put through the API: one call, so a burst of pushes lands in
// one instant and the scenarios keep their timing. PushImage uploads the
// blobs as docker push does.
func (w *World) Push(ctx context.Context, repo, tag, seed string) (string, error) {
	manifest := lcecr.Manifest(seed)
	if err := w.Cloud.ECR().SeedLayers(ctx, repo, manifest); err != nil {
		return "", fmt.Errorf("push %s:%s: %w", repo, tag, err)
	}
	out, err := ecr.NewFromConfig(w.Config).PutImage(ctx, &ecr.PutImageInput{
		RepositoryName: aws.String(repo), ImageTag: aws.String(tag), ImageManifest: aws.String(string(manifest)),
	})
	if err != nil {
		return "", fmt.Errorf("push %s:%s: %w", repo, tag, err)
	}
	return aws.ToString(out.Image.ImageId.ImageDigest), nil
}

// PushImage pushes the image of seed (lcecr.Manifest and lcecr.Blobs) as
// `docker push` does, through the ECR API: it uploads each blob the
// repository lacks (BatchCheckLayerAvailability, InitiateLayerUpload,
// UploadLayerPart, CompleteLayerUpload), then puts the manifest under tag.
func PushImage(ctx context.Context, client *ecr.Client, repo, tag, seed string) (string, error) {
	blobs := lcecr.Blobs(seed)
	digests := make([]string, len(blobs))
	for i, b := range blobs {
		digests[i] = lcecr.Digest(b)
	}
	check, err := client.BatchCheckLayerAvailability(ctx, &ecr.BatchCheckLayerAvailabilityInput{RepositoryName: aws.String(repo), LayerDigests: digests})
	if err != nil {
		return "", fmt.Errorf("push %s:%s: check layers: %w", repo, tag, err)
	}
	missing := map[string]bool{}
	for _, f := range check.Failures {
		missing[aws.ToString(f.LayerDigest)] = true
	}
	for i, b := range blobs {
		if !missing[digests[i]] {
			continue
		}
		up, err := client.InitiateLayerUpload(ctx, &ecr.InitiateLayerUploadInput{RepositoryName: aws.String(repo)})
		if err != nil {
			return "", fmt.Errorf("push %s:%s: upload layer: %w", repo, tag, err)
		}
		if _, err := client.UploadLayerPart(ctx, &ecr.UploadLayerPartInput{RepositoryName: aws.String(repo), UploadId: up.UploadId,
			PartFirstByte: aws.Int64(0), PartLastByte: aws.Int64(int64(len(b) - 1)), LayerPartBlob: b}); err != nil {
			return "", fmt.Errorf("push %s:%s: upload layer: %w", repo, tag, err)
		}
		if _, err := client.CompleteLayerUpload(ctx, &ecr.CompleteLayerUploadInput{RepositoryName: aws.String(repo), UploadId: up.UploadId,
			LayerDigests: []string{digests[i]}}); err != nil {
			return "", fmt.Errorf("push %s:%s: complete layer: %w", repo, tag, err)
		}
	}
	out, err := client.PutImage(ctx, &ecr.PutImageInput{
		RepositoryName: aws.String(repo), ImageTag: aws.String(tag), ImageManifest: aws.String(string(lcecr.Manifest(seed))),
	})
	if err != nil {
		return "", fmt.Errorf("push %s:%s: %w", repo, tag, err)
	}
	return aws.ToString(out.Image.ImageId.ImageDigest), nil
}

// CreateAlarm creates a CloudWatch alarm in state OK.
func (w *World) CreateAlarm(ctx context.Context, name string, tags map[string]string) error {
	var t []cwtypes.Tag
	for k, v := range tags {
		t = append(t, cwtypes.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	client := cloudwatch.NewFromConfig(w.Config)
	_, err := client.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{
		AlarmName: aws.String(name), Namespace: aws.String("App"), MetricName: aws.String("5xx"),
		Statistic: cwtypes.StatisticSum, Period: aws.Int32(60), EvaluationPeriods: aws.Int32(1),
		Threshold: aws.Float64(1), ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanOrEqualToThreshold,
		Tags: t,
	})
	if err != nil {
		return fmt.Errorf("create alarm %s: %w", name, err)
	}
	return w.SetAlarm(ctx, name, cwtypes.StateValueOk)
}

// CreateCompositeAlarm creates a composite alarm whose state follows rule
// (AWS's AlarmRule syntax, e.g. `ALARM(web-5xx) OR ALARM(web-latency)`);
// the alarms it names must exist.
func (w *World) CreateCompositeAlarm(ctx context.Context, name, rule string, tags map[string]string) error {
	var t []cwtypes.Tag
	for k, v := range tags {
		t = append(t, cwtypes.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	_, err := cloudwatch.NewFromConfig(w.Config).PutCompositeAlarm(ctx, &cloudwatch.PutCompositeAlarmInput{
		AlarmName: aws.String(name), AlarmRule: aws.String(rule), Tags: t,
	})
	if err != nil {
		return fmt.Errorf("create composite alarm %s: %w", name, err)
	}
	return nil
}

// SetAlarm sets an alarm's state, as CloudWatch would when its metric moves.
func (w *World) SetAlarm(ctx context.Context, name string, state cwtypes.StateValue) error {
	_, err := cloudwatch.NewFromConfig(w.Config).SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{
		AlarmName: aws.String(name), StateValue: state, StateReason: aws.String("scenario: " + strings.ToLower(string(state))),
	})
	if err != nil {
		return fmt.Errorf("set alarm %s: %w", name, err)
	}
	return nil
}
