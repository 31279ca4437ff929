package ecs

import (
	"context"
	"fmt"
	"sort"

	"github.com/pushdeploy/pushdeploy/internal/local/localcloud/awsproto"
	"github.com/pushdeploy/pushdeploy/internal/local/localcloud/tagging"
)

var _ tagging.Source = (*Service)(nil)

// TaggedResources lists the clusters, services and task definitions of the
// request's region (the default region without one), for GetResources.
// INACTIVE resources are left out, as AWS leaves them out.
func (s *Service) TaggedResources(ctx context.Context) []tagging.Resource {
	region := awsproto.RequestFrom(ctx).Region
	if region == "" {
		region = s.region
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.regions[region]
	if !ok {
		return nil
	}
	var out []tagging.Resource
	for _, c := range r.clusters {
		if c.status != "ACTIVE" {
			continue
		}
		out = append(out, tagging.Resource{ARN: c.arn, Type: "ecs:cluster", Tags: c.tags.clone()})
		for _, svc := range c.services {
			if svc.status == "ACTIVE" || svc.status == "DRAINING" {
				out = append(out, tagging.Resource{ARN: svc.arn, Type: "ecs:service", Tags: svc.tags.clone()})
			}
		}
	}
	for _, f := range r.families {
		for _, td := range f.revisions {
			if td.status == "ACTIVE" {
				out = append(out, tagging.Resource{ARN: td.arn, Type: "ecs:task-definition", Tags: td.tags.clone()})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ARN < out[j].ARN })
	return out
}

// ServiceState is a snapshot of a service, for tests and scenarios.
type ServiceState struct {
	ARN            string
	Status         string // ACTIVE, DRAINING, INACTIVE
	TaskDefinition string // ARN
	DesiredCount   int
	RunningCount   int
	PendingCount   int
	Deployments    []DeploymentState // PRIMARY first
	Events         []string          // messages, newest first
	Tags           map[string]string
}

// DeploymentState is a snapshot of one deployment.
type DeploymentState struct {
	ID, Status, TaskDefinition string
	RolloutState, Reason       string
	Desired, Running, Pending  int
	Failed                     int
}

// State returns a snapshot of the service in region ("" for the default),
// cluster ("" for default) and name.
func (s *Service) State(region, cluster, name string) (ServiceState, error) {
	if region == "" {
		region = s.region
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.regions[region]
	if !ok {
		return ServiceState{}, fmt.Errorf("ecs state: no service %s in %s", name, region)
	}
	c, ok := r.clusters[clusterName(cluster)]
	if !ok {
		return ServiceState{}, fmt.Errorf("ecs state: no cluster %s in %s", clusterName(cluster), region)
	}
	svc, ok := c.services[serviceName(name)]
	if !ok {
		return ServiceState{}, fmt.Errorf("ecs state: no service %s in cluster %s", name, c.name)
	}
	st := ServiceState{ARN: svc.arn, Status: svc.status, TaskDefinition: svc.taskDef.arn,
		DesiredCount: svc.desired, Tags: svc.tags.clone()}
	for _, d := range svc.deployments {
		st.RunningCount += d.running
		st.PendingCount += d.pending
		st.Deployments = append(st.Deployments, DeploymentState{ID: d.id, Status: d.status, TaskDefinition: d.td.arn,
			RolloutState: d.rollout, Reason: d.reason, Desired: d.desired, Running: d.running, Pending: d.pending, Failed: d.failed})
	}
	for _, e := range svc.events {
		st.Events = append(st.Events, e.Message)
	}
	return st, nil
}
