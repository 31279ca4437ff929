package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/smithy-go"

	"github.com/pushdeploy/pushdeploy/internal/app/contract"
	"github.com/pushdeploy/pushdeploy/internal/app/handler"
	"github.com/pushdeploy/pushdeploy/internal/app/target"
	"github.com/pushdeploy/pushdeploy/internal/app/taskdef"
)

// precheck refuses, before anything is started, the manual input the
// state machine's plan would refuse and the CLI can see for itself, with
// plan's named errors (exit 2, nothing started, no record written): a
// service that is missing or not opted in, an image from a registry the
// installation does not allow or that the repository does not hold, a
// container the task definition lacks, a revision of another family. It
// reuses the product's checks (target.Parse, taskdef.Policy,
// taskdef.ReplaceImages, taskdef.ResolveRevision); plan keeps them all for
// callers that start the state machine themselves. in.Image, when set, is
// already qualified.
func precheck(ctx context.Context, cfg aws.Config, stateMachine string, in contract.ExecutionInput) error {
	ecsc := ecs.NewFromConfig(cfg)
	svc, err := describeService(ctx, ecsc, in.Cluster, in.Service)
	if err != nil {
		return err
	}
	conf, err := target.Parse(aws.ToString(svc.ServiceName), serviceTags(svc), target.Defaults{})
	var notIn *target.NotOptedInError
	var cfgErr *target.ConfigError
	switch {
	case errors.As(err, &notIn):
		return &contract.BadInput{Field: "service", Reason: notIn.Error()}
	case errors.As(err, &cfgErr):
		return &contract.BadInput{Field: "service tags", Reason: cfgErr.Error()}
	}
	current := aws.ToString(svc.TaskDefinition)
	switch in.Action {
	case contract.ActionRollback:
		if in.Revision == "" {
			return nil
		}
		_, err := taskdef.ResolveRevision(in.Revision, current)
		var family *taskdef.WrongFamilyError
		var rev *taskdef.RevisionError
		switch {
		case errors.As(err, &family):
			return &contract.WrongFamily{Revision: family.Revision, Family: family.Family}
		case errors.As(err, &rev):
			return &contract.BadInput{Field: "revision", Reason: rev.Error()}
		}
		return err
	case contract.ActionDeploy:
		return precheckDeploy(ctx, cfg, ecsc, stateMachine, in, conf, current)
	}
	return nil
}

func precheckDeploy(ctx context.Context, cfg aws.Config, ecsc *ecs.Client, stateMachine string, in contract.ExecutionInput, conf target.Config, current string) error {
	settings, known := installedSettings(ctx, cfg, stateMachine)
	var img taskdef.Image
	if in.Image != "" {
		var err error
		if img, err = taskdef.ParseImage(in.Image); err != nil {
			return &contract.BadInput{Field: "image", Reason: err.Error()}
		}
	} else {
		// A digest of the followed repository, in the installation's ECR.
		img = taskdef.Image{Repository: conf.Repository, Digest: in.Digest}
		if known {
			img.Registry = taskdef.ECRRegistry(settings.Account, settings.Region)
		} else {
			var err error
			if img, err = qualifyImage(ctx, cfg, img); err != nil {
				return err
			}
		}
	}
	if known && !settings.Policy.Allows(img) {
		reg := img.Registry
		if reg == "" {
			reg = "docker.io"
		}
		return &contract.RegistryNotAllowed{Image: img.String(), Registry: reg}
	}
	if img.Account() != "" && img.Region() == cfg.Region {
		var err error
		if img, err = findImage(ctx, ecr.NewFromConfig(cfg), img); err != nil {
			return err
		}
	}
	if img.Digest == "" {
		return nil // plan says why a tag outside this region's ECR cannot be resolved
	}
	containers := in.Containers
	if len(containers) == 0 {
		containers = conf.Containers
	}
	td, err := ecsc.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(current)})
	if err != nil {
		return fmt.Errorf("describe task definition %s: %w", shortRevision(current), err)
	}
	_, err = taskdef.ReplaceImages(taskdef.RegisterInput(td.TaskDefinition, nil), img, containers, taskdef.Policy{})
	var unknown *taskdef.UnknownContainerError
	var none *taskdef.NoContainerForRepositoryError
	switch {
	case errors.As(err, &unknown):
		return &contract.ContainerNotFound{TaskDefinition: shortRevision(current), Container: unknown.Container}
	case errors.As(err, &none):
		return &contract.ContainerNotFound{TaskDefinition: shortRevision(current), Container: "(any using " + none.Repository + ")"}
	case err != nil:
		return &contract.BadInput{Field: "image", Reason: err.Error()}
	}
	return nil
}

// findImage looks an ECR image up by digest or tag and pins it.
func findImage(ctx context.Context, ecrc *ecr.Client, img taskdef.Image) (taskdef.Image, error) {
	id := ecrtypes.ImageIdentifier{}
	switch {
	case img.Digest != "":
		id.ImageDigest = aws.String(img.Digest)
	case img.Tag != "":
		id.ImageTag = aws.String(img.Tag)
	default:
		id.ImageTag = aws.String("latest")
	}
	out, err := ecrc.DescribeImages(ctx, &ecr.DescribeImagesInput{
		RegistryId: aws.String(img.Account()), RepositoryName: aws.String(img.Repository), ImageIds: []ecrtypes.ImageIdentifier{id},
	})
	var api smithy.APIError
	if errors.As(err, &api) && (api.ErrorCode() == "ImageNotFoundException" || api.ErrorCode() == "RepositoryNotFoundException") {
		return img, &contract.ImageNotFound{Image: img.String(), Err: errors.New(api.ErrorCode())}
	}
	if err != nil {
		return img, fmt.Errorf("describe image %s: %w", img, err)
	}
	if len(out.ImageDetails) == 0 || aws.ToString(out.ImageDetails[0].ImageDigest) == "" {
		return img, &contract.ImageNotFound{Image: img.String()}
	}
	img.Digest = aws.ToString(out.ImageDetails[0].ImageDigest)
	return img, nil
}

// installedSettings reads the installation's settings (the registry
// allow-list, its account and region) from its plan function's
// environment, found through the state machine's definition. It is best
// effort: without states:DescribeStateMachine or
// lambda:GetFunctionConfiguration, known is false and plan alone checks the
// registry.
func installedSettings(ctx context.Context, cfg aws.Config, stateMachine string) (s handler.Settings, known bool) {
	sm, err := sfn.NewFromConfig(cfg).DescribeStateMachine(ctx, &sfn.DescribeStateMachineInput{StateMachineArn: aws.String(stateMachine)})
	if err != nil {
		return s, false
	}
	var def struct {
		States map[string]struct {
			Parameters struct {
				FunctionName string `json:"FunctionName"`
			} `json:"Parameters"`
		} `json:"States"`
	}
	if json.Unmarshal([]byte(aws.ToString(sm.Definition)), &def) != nil || def.States["Plan"].Parameters.FunctionName == "" {
		return s, false
	}
	fn, err := lambda.NewFromConfig(cfg).GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{
		FunctionName: aws.String(def.States["Plan"].Parameters.FunctionName),
	})
	if err != nil || fn.Environment == nil {
		return s, false
	}
	env := fn.Environment.Variables
	s, err = handler.SettingsFromEnv(func(k string) string { return env[k] })
	return s, err == nil
}
