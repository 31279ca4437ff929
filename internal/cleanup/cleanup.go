// Package cleanup deregisters old task definition revisions of a family,
// keeping the newest ones and every revision the caller protects: what any
// service of the family runs, may roll back to or is about to deploy.
package cleanup

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/pushdeploy/pushdeploy/internal/awsapi"
	"github.com/pushdeploy/pushdeploy/internal/taskdef"
)

// Plan returns which of the ACTIVE revisions (ARNs or family:N, any order)
// to deregister: all but the keep newest, never one in protect (empty
// entries are ignored).
func Plan(active []string, keep int, protect ...string) ([]string, error) {
	if keep < 0 {
		return nil, fmt.Errorf("cleanup: keep must not be negative, got %d", keep)
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
// never one in protect: Candidates, then Deregister.
func (c *Cleaner) Run(ctx context.Context, family string, keep int, protect ...string) ([]string, error) {
	candidates, err := c.Candidates(ctx, family, keep)
	if err != nil || len(candidates) == 0 {
		return nil, err
	}
	return c.Deregister(ctx, candidates, protect)
}

// Candidates returns the ACTIVE revisions of family beyond the keep newest:
// what Run may deregister, before protection. Empty means nothing to do,
// and the caller need not gather what to protect.
func (c *Cleaner) Candidates(ctx context.Context, family string, keep int) ([]string, error) {
	if keep < 1 {
		return nil, fmt.Errorf("cleanup: keep must be at least 1, got %d", keep)
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
	return Plan(active, keep)
}

// Deregister deregisters the candidates that are not protected (ARNs or
// family:N). It returns the ARNs it deregistered; on error, those
// deregistered so far.
func (c *Cleaner) Deregister(ctx context.Context, candidates, protect []string) ([]string, error) {
	drop, err := Plan(candidates, 0, protect...)
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

// InUse returns the revisions the services (ARNs) run or are deploying:
// every deployment's task definition. A service that no longer exists
// runs nothing.
func (c *Cleaner) InUse(ctx context.Context, services []string) ([]string, error) {
	byCluster := map[string][]string{}
	var clusters []string
	for _, arn := range services {
		cluster, ok := clusterOf(arn)
		if !ok {
			return nil, fmt.Errorf("cleanup: %q is not a service ARN with a cluster", arn)
		}
		if _, seen := byCluster[cluster]; !seen {
			clusters = append(clusters, cluster)
		}
		byCluster[cluster] = append(byCluster[cluster], arn)
	}
	sort.Strings(clusters)
	var out []string
	for _, cluster := range clusters {
		arns := byCluster[cluster]
		for i := 0; i < len(arns); i += describeBatch {
			res, err := c.ecs.DescribeServices(ctx, &ecs.DescribeServicesInput{
				Cluster: aws.String(cluster), Services: arns[i:min(i+describeBatch, len(arns))],
			})
			if err != nil {
				return nil, fmt.Errorf("describe services of %s: %w", cluster, err)
			}
			for _, s := range res.Services {
				out = append(out, aws.ToString(s.TaskDefinition))
				for _, d := range s.Deployments {
					out = append(out, aws.ToString(d.TaskDefinition))
				}
			}
		}
	}
	return out, nil
}

// describeBatch is DescribeServices' limit on services per call.
const describeBatch = 10

// clusterOf reads the cluster of arn:aws:ecs:region:account:service/cluster/name.
func clusterOf(serviceARN string) (string, bool) {
	_, rest, ok := strings.Cut(serviceARN, ":service/")
	if !ok {
		return "", false
	}
	cluster, name, ok := strings.Cut(rest, "/")
	return cluster, ok && cluster != "" && name != ""
}
