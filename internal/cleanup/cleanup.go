// Package cleanup deregisters old task definition revisions of a family,
// keeping the newest ones, the service's current revision and its last good
// revision.
package cleanup

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/pushdeploy/pushdeploy/internal/awsapi"
	"github.com/pushdeploy/pushdeploy/internal/taskdef"
)

// Plan returns which of the ACTIVE revisions (ARNs or family:N, any order)
// to deregister: all but the keep newest, never one in protect.
func Plan(active []string, keep int, protect ...string) ([]string, error) {
	if keep < 1 {
		return nil, fmt.Errorf("cleanup: keep must be at least 1, got %d", keep)
	}
	type rev struct {
		arn string
		r   taskdef.Revision
	}
	var revs []rev
	for _, a := range active {
		r, err := taskdef.ParseRevision(a)
		if err != nil {
			return nil, err
		}
		revs = append(revs, rev{a, r})
	}
	sort.Slice(revs, func(i, j int) bool { return revs[i].r.Revision > revs[j].r.Revision })
	keepSet := map[taskdef.Revision]bool{}
	for _, p := range protect {
		if p == "" {
			continue
		}
		r, err := taskdef.ParseRevision(p)
		if err != nil {
			return nil, err
		}
		keepSet[r] = true
	}
	var out []string
	for i, r := range revs {
		if i < keep || keepSet[r.r] {
			continue
		}
		out = append(out, r.arn)
	}
	return out, nil
}

// Cleaner deregisters revisions through the ECS API.
type Cleaner struct{ ecs awsapi.ECS }

// New returns a Cleaner.
func New(ecsAPI awsapi.ECS) (*Cleaner, error) {
	if ecsAPI == nil {
		return nil, errors.New("cleanup: ECS client is required")
	}
	return &Cleaner{ecs: ecsAPI}, nil
}

// Run deregisters the ACTIVE revisions of family beyond the keep newest,
// never current nor lastGood (ARNs or family:N; lastGood may be empty). It
// returns the ARNs it deregistered; on error, those deregistered so far.
func (c *Cleaner) Run(ctx context.Context, family string, keep int, current, lastGood string) ([]string, error) {
	if current == "" {
		return nil, errors.New("cleanup: current revision is required")
	}
	var active []string
	in := &ecs.ListTaskDefinitionsInput{
		FamilyPrefix: aws.String(family),
		Status:       ecstypes.TaskDefinitionStatusActive,
		Sort:         ecstypes.SortOrderDesc,
	}
	for {
		out, err := c.ecs.ListTaskDefinitions(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("list revisions of %s: %w", family, err)
		}
		for _, arn := range out.TaskDefinitionArns {
			// FamilyPrefix matches "web" and "web-worker": keep the exact family.
			if r, err := taskdef.ParseRevision(arn); err == nil && r.Family == family {
				active = append(active, arn)
			}
		}
		if aws.ToString(out.NextToken) == "" {
			break
		}
		in.NextToken = out.NextToken
	}
	drop, err := Plan(active, keep, current, lastGood)
	if err != nil {
		return nil, err
	}
	var done []string
	for _, arn := range drop {
		if _, err := c.ecs.DeregisterTaskDefinition(ctx, &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String(arn)}); err != nil {
			return done, fmt.Errorf("deregister %s: %w", arn, err)
		}
		done = append(done, arn)
	}
	return done, nil
}
