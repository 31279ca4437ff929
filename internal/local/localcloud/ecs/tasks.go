package ecs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/pushdeploy/pushdeploy/internal/local/localcloud/awsproto"
)

// Tasks are not stored one by one: a deployment holds counts of pending and
// running tasks. ListTasks and DescribeTasks show those counts as tasks
// whose IDs are derived from the deployment and the task's place in it, so
// that the same task keeps its ARN while it runs. Stopped tasks (the failed
// count) are not kept: desiredStatus STOPPED lists none.

// task is one modelled task of a deployment.
type task struct {
	arn, id    string
	lastStatus string // PENDING or RUNNING
	svc        *service
	dep        *deployment
}

// tasksOf lists a service's modelled tasks, running first, in a stable order.
func (s *Service) tasksOf(r *regionState, svc *service) []task {
	var out []task
	for _, d := range svc.deployments {
		for i := 0; i < d.running+d.pending; i++ {
			status := "RUNNING"
			if i >= d.running {
				status = "PENDING"
			}
			sum := sha256.Sum256([]byte(fmt.Sprintf("%s/%s/%d", svc.arn, d.id, i)))
			id := hex.EncodeToString(sum[:16])
			out = append(out, task{arn: s.arn(r, "task/"+svc.cluster.name+"/"+id), id: id, lastStatus: status, svc: svc, dep: d})
		}
	}
	return out
}

func (s *Service) listTasks(ctx context.Context, r *regionState, raw json.RawMessage) (any, error) {
	var in struct {
		Cluster       string `json:"cluster"`
		ServiceName   string `json:"serviceName"`
		Family        string `json:"family"`
		DesiredStatus string `json:"desiredStatus"`
		StartedBy     string `json:"startedBy"`
		NextToken     string `json:"nextToken"`
		MaxResults    int    `json:"maxResults"`
	}
	if err := decode(raw, &in); err != nil {
		return nil, err
	}
	awsproto.Note(ctx, "cluster", clusterName(in.Cluster))
	c, err := s.activeCluster(r, in.Cluster)
	if err != nil {
		return nil, err
	}
	switch in.DesiredStatus {
	case "", "RUNNING", "PENDING", "STOPPED":
	default:
		return nil, awsproto.Errorf("InvalidParameterException", "desiredStatus must be RUNNING, PENDING or STOPPED.")
	}
	var services []*service
	if in.ServiceName != "" {
		awsproto.Note(ctx, "service", serviceName(in.ServiceName))
		svc, ok := c.services[serviceName(in.ServiceName)]
		if !ok {
			return nil, awsproto.Errorf("ServiceNotFoundException", "Service not found.")
		}
		services = []*service{svc}
	} else {
		for _, svc := range c.services {
			services = append(services, svc)
		}
		sort.Slice(services, func(i, j int) bool { return services[i].name < services[j].name })
	}
	arns := []string{}
	if in.DesiredStatus != "STOPPED" {
		for _, svc := range services {
			for _, t := range s.tasksOf(r, svc) {
				if in.Family != "" && t.dep.td.family != in.Family {
					continue
				}
				if in.StartedBy != "" && in.StartedBy != t.dep.id {
					continue
				}
				arns = append(arns, t.arn)
			}
		}
	}
	items, next, err := page(arns, in.NextToken, in.MaxResults, 100, 100)
	if err != nil {
		return nil, err
	}
	return listOut{key: "taskArns", items: items, next: next}, nil
}

type taskContainer struct {
	ContainerArn string `json:"containerArn"`
	TaskArn      string `json:"taskArn"`
	Name         string `json:"name"`
	Image        string `json:"image"`
	LastStatus   string `json:"lastStatus"`
	HealthStatus string `json:"healthStatus"`
}

type taskOut struct {
	TaskArn           string          `json:"taskArn"`
	ClusterArn        string          `json:"clusterArn"`
	TaskDefinitionArn string          `json:"taskDefinitionArn"`
	LastStatus        string          `json:"lastStatus"`
	DesiredStatus     string          `json:"desiredStatus"`
	Group             string          `json:"group"`
	StartedBy         string          `json:"startedBy"`
	LaunchType        string          `json:"launchType,omitempty"`
	CreatedAt         float64         `json:"createdAt"`
	StartedAt         float64         `json:"startedAt,omitempty"`
	Containers        []taskContainer `json:"containers"`
	Tags              []tag           `json:"tags,omitempty"`
}

func (s *Service) describeTasks(ctx context.Context, r *regionState, raw json.RawMessage) (any, error) {
	var in struct {
		Cluster string   `json:"cluster"`
		Tasks   []string `json:"tasks"`
		Include []string `json:"include"`
	}
	if err := decode(raw, &in); err != nil {
		return nil, err
	}
	awsproto.Note(ctx, "cluster", clusterName(in.Cluster))
	if len(in.Tasks) == 0 || len(in.Tasks) > 100 {
		return nil, awsproto.Errorf("InvalidParameterException", "tasks must contain between 1 and 100 elements.")
	}
	c, err := s.activeCluster(r, in.Cluster)
	if err != nil {
		return nil, err
	}
	byID := map[string]task{}
	for _, svc := range c.services {
		for _, t := range s.tasksOf(r, svc) {
			byID[t.id] = t
		}
	}
	out := []taskOut{}
	failures := []failure{}
	for _, ref := range in.Tasks {
		id := ref[strings.LastIndex(ref, "/")+1:]
		t, ok := byID[id]
		if !ok {
			arn := ref
			if !strings.HasPrefix(ref, "arn:") {
				arn = s.arn(r, "task/"+c.name+"/"+ref)
			}
			failures = append(failures, failure{Arn: arn, Reason: "MISSING"})
			continue
		}
		o := taskOut{TaskArn: t.arn, ClusterArn: c.arn, TaskDefinitionArn: t.dep.td.arn, LastStatus: t.lastStatus,
			DesiredStatus: "RUNNING", Group: "service:" + t.svc.name, StartedBy: t.dep.id,
			CreatedAt: epoch(t.dep.created), Containers: []taskContainer{}}
		if lt, ok := t.dep.cfg["launchType"]; ok {
			_ = json.Unmarshal(lt, &o.LaunchType)
		}
		if t.lastStatus == "RUNNING" {
			o.StartedAt = epoch(t.dep.created)
		}
		var defs []struct{ Name, Image string }
		_ = json.Unmarshal(t.dep.td.body["containerDefinitions"], &defs)
		for i, d := range defs {
			o.Containers = append(o.Containers, taskContainer{
				ContainerArn: s.arn(r, fmt.Sprintf("container/%s/%s/%d", c.name, t.id, i)), TaskArn: t.arn,
				Name: d.Name, Image: d.Image, LastStatus: t.lastStatus, HealthStatus: "UNKNOWN"})
		}
		if includes(in.Include, "TAGS") && t.svc.cfg["propagateTags"] != nil {
			o.Tags = t.svc.tags.list()
		}
		out = append(out, o)
	}
	return map[string]any{"tasks": out, "failures": failures}, nil
}
