package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/pushdeploy/pushdeploy/internal/app/target"
	"github.com/pushdeploy/pushdeploy/internal/app/taskdef"
)

// diffResult is what `pushdeploy diff` reports.
type diffResult struct {
	Cluster        string         `json:"cluster"`
	Service        string         `json:"service"`
	TaskDefinition string         `json:"taskDefinitionArn"`
	Image          string         `json:"image"` // pinned by digest
	Containers     []string       `json:"containers"`
	Changes        []changeOutput `json:"changes"`
	Strategy       strategyEffect `json:"strategy"`
}

// strategyEffect is what the service's ECS deployment strategy does to a
// deploy: how long ECS bakes and waits inside its deployment, and what is
// left of pushdeploy's bake after ECS's (the two compose, never double).
type strategyEffect struct {
	Name            string `json:"name"`
	ECSBakeSeconds  int    `json:"ecsBakeSeconds"`
	ECSWaitsSeconds int    `json:"ecsWaitsSeconds"`
	// PushdeployBakeSeconds is pushdeploy:bake minus ECS's bake; nil when
	// the service sets no pushdeploy:bake (the function's default applies).
	PushdeployBakeSeconds *int `json:"pushdeployBakeSeconds,omitempty"`
}

type changeOutput struct {
	Path string `json:"path"`
	Old  string `json:"old,omitempty"` // JSON values; empty when absent
	New  string `json:"new,omitempty"`
}

// runDiff is `pushdeploy diff`.
func runDiff(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newCLICommand("diff", "--cluster C --service S --image URI [--containers a,b] [--output json]",
		"Shows what a deploy of an image would change in the service's task definition: the\n"+
			"current revision copied with the image pinned by digest, as the deploy registers it.\n"+
			"Changes nothing. A tag is resolved to its digest in ECR.",
		stdout, stderr)
	var af awsFlags
	af.register(c.fs)
	var out outputFlag
	out.register(c.fs)
	cluster := c.fs.String("cluster", "", "ECS cluster name or ARN")
	service := c.fs.String("service", "", "ECS service name or ARN")
	image := c.fs.String("image", "", "image: <registry>/<repository>:<tag> or @sha256:<digest>")
	containers := c.fs.String("containers", "", "comma-separated containers that get the image (default: the service's pushdeploy:containers tag, else every container of the image's repository)")
	if _, code, done := c.parse(args, 0); done {
		return code
	}
	if err := required("cluster", *cluster, "service", *service, "image", *image); err != nil {
		return c.usageError("%v", err)
	}
	img, err := taskdef.ParseImage(*image)
	if err != nil {
		return c.usageError("--image: %v", err)
	}
	cfg, err := af.config(ctx)
	if err != nil {
		return c.fail(err)
	}
	if img, err = qualifyImage(ctx, cfg, img); err != nil {
		return c.fail(err)
	}
	res, err := diffService(ctx, ecs.NewFromConfig(cfg), ecr.NewFromConfig(cfg), *cluster, *service, img, splitList(*containers))
	if err != nil {
		return c.fail(err)
	}
	if out.json() {
		if err := writeJSON(stdout, res); err != nil {
			return c.fail(err)
		}
		return exitOK
	}
	writeDiff(stdout, res)
	return exitOK
}

func diffService(ctx context.Context, ecsc *ecs.Client, ecrc *ecr.Client, cluster, service string, img taskdef.Image, containers []string) (*diffResult, error) {
	svc, err := describeService(ctx, ecsc, cluster, service)
	if err != nil {
		return nil, err
	}
	if len(containers) == 0 {
		containers = splitList(serviceTags(svc)[target.TagContainers])
	}
	if img.Digest == "" {
		if img, err = resolveDigest(ctx, ecrc, img); err != nil {
			return nil, err
		}
	}
	arn := aws.ToString(svc.TaskDefinition)
	td, err := ecsc.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{
		TaskDefinition: aws.String(arn),
		Include:        []ecstypes.TaskDefinitionField{ecstypes.TaskDefinitionFieldTags},
	})
	if err != nil {
		return nil, fmt.Errorf("describe task definition %s: %w", arn, err)
	}
	old := taskdef.RegisterInput(td.TaskDefinition, td.Tags)
	next := taskdef.RegisterInput(td.TaskDefinition, td.Tags)
	// The deploy's registry policy is the state machine's business; diff
	// shows the change for any registry.
	changed, err := taskdef.ReplaceImages(next, img, containers, taskdef.Policy{})
	if err != nil {
		var uc *taskdef.UnknownContainerError
		var nc *taskdef.NoContainerForRepositoryError
		if errors.As(err, &uc) || errors.As(err, &nc) {
			return nil, &exitError{code: exitBadInput, err: err}
		}
		return nil, err
	}
	fc, err := taskdef.Diff(old, next)
	if err != nil {
		return nil, err
	}
	res := &diffResult{Cluster: shortName(aws.ToString(svc.ClusterArn)), Service: aws.ToString(svc.ServiceName),
		TaskDefinition: arn, Image: img.Pinned(), Changes: []changeOutput{}, Strategy: strategyOf(svc)}
	for _, ch := range changed {
		res.Containers = append(res.Containers, ch.Container)
	}
	for _, f := range fc {
		res.Changes = append(res.Changes, changeOutput{Path: f.Path, Old: f.Old, New: f.New})
	}
	return res, nil
}

// strategyOf reads the service's strategy and its effect on a deploy.
func strategyOf(svc ecstypes.Service) strategyEffect {
	e := strategyEffect{Name: string(ecstypes.DeploymentStrategyRolling)}
	var ecsBake time.Duration
	if dc := svc.DeploymentConfiguration; dc != nil {
		if dc.Strategy != "" {
			e.Name = string(dc.Strategy)
		}
		var waits time.Duration
		ecsBake, waits = target.ECSTiming(dc)
		e.ECSBakeSeconds, e.ECSWaitsSeconds = int(ecsBake.Seconds()), int(waits.Seconds())
	}
	if v, ok := serviceTags(svc)[target.TagBake]; ok {
		if d, err := time.ParseDuration(strings.TrimSpace(v)); err == nil {
			left := int(target.BakeAfterECS(d, ecsBake).Seconds())
			e.PushdeployBakeSeconds = &left
		}
	}
	return e
}

// resolveDigest looks a tag up in ECR.
func resolveDigest(ctx context.Context, ecrc *ecr.Client, img taskdef.Image) (taskdef.Image, error) {
	acct := img.Account()
	if acct == "" {
		return img, badInput("image %s: a tag can only be resolved in ECR; give the image by digest", img)
	}
	tag := img.Tag
	if tag == "" {
		tag = "latest"
	}
	out, err := ecrc.DescribeImages(ctx, &ecr.DescribeImagesInput{
		RegistryId: aws.String(acct), RepositoryName: aws.String(img.Repository),
		ImageIds: []ecrtypes.ImageIdentifier{{ImageTag: aws.String(tag)}},
	})
	if err != nil {
		return img, fmt.Errorf("describe image %s: %w", img, err)
	}
	if len(out.ImageDetails) == 0 || aws.ToString(out.ImageDetails[0].ImageDigest) == "" {
		return img, badInput("image %s not found", img)
	}
	img.Digest = aws.ToString(out.ImageDetails[0].ImageDigest)
	return img, nil
}

func writeDiff(w io.Writer, r *diffResult) {
	fmt.Fprintf(w, "service %s (cluster %s), task definition %s\n", r.Service, r.Cluster, shortRevision(r.TaskDefinition))
	fmt.Fprintf(w, "deploying %s to %s\n", r.Image, strings.Join(r.Containers, ", "))
	st := r.Strategy
	fmt.Fprintf(w, "strategy %s", st.Name)
	if st.ECSWaitsSeconds > 0 {
		fmt.Fprintf(w, ": ECS waits %s inside its deployment", time.Duration(st.ECSWaitsSeconds)*time.Second)
		if st.ECSBakeSeconds > 0 {
			fmt.Fprintf(w, " (a bake of %s with the old revision still running)", time.Duration(st.ECSBakeSeconds)*time.Second)
		}
	}
	if b := st.PushdeployBakeSeconds; b != nil {
		fmt.Fprintf(w, "; pushdeploy bakes %s after it (pushdeploy:bake less ECS's bake)", time.Duration(*b)*time.Second)
	}
	fmt.Fprintln(w)
	if len(r.Changes) == 0 {
		fmt.Fprintln(w, "no change: the service already runs this image")
		return
	}
	fmt.Fprintf(w, "%d change(s) in the new revision:\n", len(r.Changes))
	for _, ch := range r.Changes {
		fmt.Fprintf(w, "  %s\n", ch.Path)
		if ch.Old != "" {
			fmt.Fprintf(w, "    - %s\n", ch.Old)
		}
		if ch.New != "" {
			fmt.Fprintf(w, "    + %s\n", ch.New)
		}
	}
}

// splitList splits a comma-separated list, dropping blanks.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
