package main

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
)

// serviceDeploymentAPI is what status and watch read of ECS's service
// deployments.
type serviceDeploymentAPI interface {
	DescribeServiceDeployments(ctx context.Context, in *ecs.DescribeServiceDeploymentsInput, optFns ...func(*ecs.Options)) (*ecs.DescribeServiceDeploymentsOutput, error)
}

// readServiceDeployment describes the service deployment arn: its status,
// lifecycle stage and production traffic split; nil when ECS knows none.
func readServiceDeployment(ctx context.Context, api serviceDeploymentAPI, arn string) (*serviceDeploymentState, error) {
	out, err := api.DescribeServiceDeployments(ctx, &ecs.DescribeServiceDeploymentsInput{ServiceDeploymentArns: []string{arn}})
	if err != nil {
		return nil, fmt.Errorf("describe service deployment %s: %w", arn, err)
	}
	if len(out.ServiceDeployments) == 0 {
		return nil, nil
	}
	sd := out.ServiceDeployments[0]
	st := &serviceDeploymentState{Arn: arn, Status: string(sd.Status),
		LifecycleStage: string(sd.LifecycleStage), StatusReason: aws.ToString(sd.StatusReason)}
	if t := sd.TargetServiceRevision; t != nil {
		st.TargetTraffic = t.RequestedProductionTrafficWeight
	}
	if len(sd.SourceServiceRevisions) > 0 {
		st.SourceTraffic = sd.SourceServiceRevisions[0].RequestedProductionTrafficWeight
	}
	return st, nil
}

// text is "IN_PROGRESS BAKE_TIME, production traffic 100% new / 0% old";
// rolling moves no traffic between revisions, so it shows no split.
func (sd *serviceDeploymentState) text(strategy string) string {
	s := sd.Status + " " + dash(sd.LifecycleStage)
	if sd.TargetTraffic != nil && strategy != "" && strategy != "ROLLING" {
		s += fmt.Sprintf(", production traffic %g%% new", *sd.TargetTraffic)
		if sd.SourceTraffic != nil {
			s += fmt.Sprintf(" / %g%% old", *sd.SourceTraffic)
		}
	}
	return s
}
