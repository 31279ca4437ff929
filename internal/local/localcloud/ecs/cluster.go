package ecs

import (
	"context"
	"encoding/json"
	"sort"
	"strings"
	"time"

	"github.com/pushdeploy/pushdeploy/internal/local/localcloud/awsproto"
)

type cluster struct {
	name, arn string
	status    string // ACTIVE, INACTIVE
	tags      tagSet
	settings  json.RawMessage
	created   time.Time
	services  map[string]*service // by name, INACTIVE ones included
}

type clusterOut struct {
	ClusterArn                        string          `json:"clusterArn"`
	ClusterName                       string          `json:"clusterName"`
	Status                            string          `json:"status"`
	RegisteredContainerInstancesCount int             `json:"registeredContainerInstancesCount"`
	RunningTasksCount                 int             `json:"runningTasksCount"`
	PendingTasksCount                 int             `json:"pendingTasksCount"`
	ActiveServicesCount               int             `json:"activeServicesCount"`
	Statistics                        []any           `json:"statistics"`
	Tags                              []tag           `json:"tags"`
	Settings                          json.RawMessage `json:"settings"`
	CapacityProviders                 []string        `json:"capacityProviders"`
	DefaultCapacityProviderStrategy   []any           `json:"defaultCapacityProviderStrategy"`
}

func (c *cluster) out(withTags bool) clusterOut {
	o := clusterOut{ClusterArn: c.arn, ClusterName: c.name, Status: c.status, Statistics: []any{},
		Settings: c.settings, CapacityProviders: []string{}, DefaultCapacityProviderStrategy: []any{}, Tags: []tag{}}
	for _, svc := range c.services {
		if svc.status == "INACTIVE" {
			continue
		}
		o.ActiveServicesCount++
		for _, d := range svc.deployments {
			o.RunningTasksCount += d.running
			o.PendingTasksCount += d.pending
		}
	}
	if withTags {
		o.Tags = c.tags.list()
	}
	return o
}

// clusterName turns a cluster name or ARN into its name; "" is "default".
func clusterName(ref string) string {
	if ref == "" {
		return "default"
	}
	if strings.HasPrefix(ref, "arn:") {
		if _, name, ok := strings.Cut(ref, ":cluster/"); ok {
			return name
		}
	}
	return ref
}

// activeCluster finds an ACTIVE cluster by name or ARN.
func (s *Service) activeCluster(r *regionState, ref string) (*cluster, error) {
	c, ok := r.clusters[clusterName(ref)]
	if !ok || c.status != "ACTIVE" {
		return nil, awsproto.Errorf("ClusterNotFoundException", "Cluster not found.")
	}
	return c, nil
}

func (s *Service) createCluster(ctx context.Context, r *regionState, raw json.RawMessage) (any, error) {
	var in struct {
		ClusterName string          `json:"clusterName"`
		Tags        []tag           `json:"tags"`
		Settings    json.RawMessage `json:"settings"`
	}
	if err := decode(raw, &in); err != nil {
		return nil, err
	}
	name := clusterName(in.ClusterName)
	awsproto.Note(ctx, "cluster", name)
	if !validName(name) {
		return nil, awsproto.Errorf("InvalidParameterException", "Cluster name can have up to 255 characters: letters (uppercase and lowercase), numbers, underscores and hyphens.")
	}
	tags, err := validTags(in.Tags)
	if err != nil {
		return nil, err
	}
	if err := s.deny(ctx, "CreateCluster", s.arn(r, "cluster/"+name)); err != nil {
		return nil, err
	}
	c, ok := r.clusters[name]
	if ok && c.status == "ACTIVE" {
		// CreateCluster is idempotent for an active cluster.
		return map[string]any{"cluster": c.out(true)}, nil
	}
	settings := in.Settings
	if len(settings) == 0 {
		settings = json.RawMessage(`[{"name":"containerInsights","value":"disabled"}]`)
	}
	c = &cluster{name: name, arn: s.arn(r, "cluster/"+name), status: "ACTIVE", tags: tagSet{},
		settings: settings, created: s.clk.Now(), services: map[string]*service{}}
	c.tags.set(tags)
	r.clusters[name] = c
	return map[string]any{"cluster": c.out(true)}, nil
}

func (s *Service) describeClusters(ctx context.Context, r *regionState, raw json.RawMessage) (any, error) {
	var in struct {
		Clusters []string `json:"clusters"`
		Include  []string `json:"include"`
	}
	if err := decode(raw, &in); err != nil {
		return nil, err
	}
	if len(in.Clusters) == 0 {
		in.Clusters = []string{"default"}
	}
	if len(in.Clusters) > 100 {
		return nil, awsproto.Errorf("InvalidParameterException", "Clusters cannot have more than 100 elements")
	}
	withTags := includes(in.Include, "TAGS")
	out := []clusterOut{}
	failures := []failure{}
	for _, ref := range in.Clusters {
		c, ok := r.clusters[clusterName(ref)]
		if !ok {
			arn := ref
			if !strings.HasPrefix(ref, "arn:") {
				arn = s.arn(r, "cluster/"+ref)
			}
			failures = append(failures, failure{Arn: arn, Reason: "MISSING"})
			continue
		}
		out = append(out, c.out(withTags))
	}
	return map[string]any{"clusters": out, "failures": failures}, nil
}

func (s *Service) listClusters(ctx context.Context, r *regionState, raw json.RawMessage) (any, error) {
	var in struct {
		NextToken  string `json:"nextToken"`
		MaxResults int    `json:"maxResults"`
	}
	if err := decode(raw, &in); err != nil {
		return nil, err
	}
	arns := []string{}
	for _, c := range r.clusters {
		if c.status == "ACTIVE" {
			arns = append(arns, c.arn)
		}
	}
	sort.Strings(arns)
	items, next, err := page(arns, in.NextToken, in.MaxResults, 100, 100)
	if err != nil {
		return nil, err
	}
	return listOut{"clusterArns", items, next}, nil
}

func (s *Service) deleteCluster(ctx context.Context, r *regionState, raw json.RawMessage) (any, error) {
	var in struct {
		Cluster string `json:"cluster"`
	}
	if err := decode(raw, &in); err != nil {
		return nil, err
	}
	awsproto.Note(ctx, "cluster", clusterName(in.Cluster))
	c, err := s.activeCluster(r, in.Cluster)
	if err != nil {
		return nil, err
	}
	if err := s.deny(ctx, "DeleteCluster", c.arn); err != nil {
		return nil, err
	}
	for _, svc := range c.services {
		if svc.status != "INACTIVE" {
			return nil, awsproto.Errorf("ClusterContainsServicesException", "The Cluster cannot be deleted while Services are active.")
		}
	}
	c.status = "INACTIVE"
	return map[string]any{"cluster": c.out(true)}, nil
}

type failure struct {
	Arn    string `json:"arn"`
	Reason string `json:"reason"`
	Detail string `json:"detail,omitempty"`
}

// listOut is a List* answer: the items under their key, and nextToken only
// when there is a next page.
type listOut struct {
	key   string
	items []string
	next  string
}

func (l listOut) MarshalJSON() ([]byte, error) {
	m := map[string]any{l.key: l.items}
	if l.next != "" {
		m["nextToken"] = l.next
	}
	return json.Marshal(m)
}

func includes(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// validName checks names of clusters, services and families: 1 to 255
// letters, digits, hyphens and underscores.
func validName(n string) bool {
	if len(n) == 0 || len(n) > 255 {
		return false
	}
	for _, c := range n {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
