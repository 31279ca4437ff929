package target

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/resourcegroupstaggingapi"
	tagtypes "github.com/aws/aws-sdk-go-v2/service/resourcegroupstaggingapi/types"

	"github.com/pushdeploy/pushdeploy/internal/app/awsapi"
)

// Target is one ECS service that follows a repository.
type Target struct {
	ClusterARN  string
	ClusterName string
	ServiceARN  string
	ServiceName string
	// TaskDefinition is the service's task definition ARN when described.
	TaskDefinition string
	Config         Config
	// Controller is the service's deployment controller (ECS, CODE_DEPLOY,
	// EXTERNAL; "" when ECS reports none, which means ECS); Strategy its
	// deployment strategy ("" is ROLLING); ECSBake the bake ECS itself
	// runs inside each deployment (bakeTimeInMinutes).
	Controller string
	Strategy   string
	ECSBake    time.Duration
	// ECSWaits is how long ECS waits by design inside a deployment: its
	// bake, plus linear steps' and the canary's bake times. The rollout's
	// timeout is counted on top of it.
	ECSWaits time.Duration
}

// Skipped is a service that was considered and left alone, with why.
type Skipped struct {
	ServiceARN string
	Reason     string
	// Err is the named error behind Reason (*ConfigError, *ServiceNotFoundError...).
	Err error
}

// Discovery is the result of Discover and ForAlarm. Targets are sorted by
// service ARN, so fan-out order is stable.
type Discovery struct {
	Targets []Target
	Skipped []Skipped
}

// ServiceNotFoundError: the cluster or service does not exist or is not
// ACTIVE (deleted, draining).
type ServiceNotFoundError struct {
	Cluster, Service string
	Reason           string
}

func (e *ServiceNotFoundError) Error() string {
	return fmt.Sprintf("service %s in cluster %s: %s", e.Service, e.Cluster, e.Reason)
}

// InvalidARNError: a tagged resource whose ARN is not a service ARN with a
// cluster (old-format ARNs carry no cluster; re-create or migrate the service).
type InvalidARNError struct{ ARN string }

func (e *InvalidARNError) Error() string {
	return fmt.Sprintf("not a service ARN with a cluster: %s", e.ARN)
}

// Resolver finds the services that follow a repository or an alarm.
type Resolver struct {
	ecs      awsapi.ECS
	tagging  awsapi.Tagging
	defaults Defaults
	index    *AlarmIndex // nil: ForAlarm scans every time
}

// NewResolver returns a Resolver. Defaults must have a positive Timeout.
func NewResolver(ecsAPI awsapi.ECS, tagging awsapi.Tagging, d Defaults) (*Resolver, error) {
	if ecsAPI == nil || tagging == nil {
		return nil, errors.New("target: ECS and tagging clients are required")
	}
	if d.Timeout <= 0 || d.Bake < 0 || d.RollbackWindow < 0 {
		return nil, fmt.Errorf("target: bad defaults %+v", d)
	}
	return &Resolver{ecs: ecsAPI, tagging: tagging, defaults: d}, nil
}

// describeBatch is DescribeServices' limit on services per call.
const describeBatch = 10

// resourcesPerPage is GetResources' largest page (its default is 50): a
// scan of 500 services is 5 calls, not 10.
const resourcesPerPage = 100

// Discover returns every ACTIVE service tagged pushdeploy:repository=repo
// whose tag patterns match tag. Services whose patterns do not match are not
// reported; services with a bad configuration are in Skipped.
func (r *Resolver) Discover(ctx context.Context, repo, tag string) (Discovery, error) {
	if repo == "" {
		return Discovery{}, errors.New("discover: empty repository")
	}
	// Every opted-in service, not only those tagged exactly repo: a
	// service whose tag means repo but is not a valid name ("Web", the
	// repository URI, "web:latest") is reported as skipped with the reason,
	// not silently left out.
	return r.find(ctx, query{
		filter:  tagtypes.TagFilter{Key: aws.String(TagRepository)},
		want:    func(c Config) bool { return c.Repository == repo && c.MatchesTag(tag) },
		related: func(tags map[string]string, _ []string) bool { return resembles(tags[TagRepository], repo) },
	})
}

// resembles reports whether a pushdeploy:repository value looks meant for
// repo: the name itself, in another case, as an image URI, or with a tag or
// digest.
func resembles(value, repo string) bool {
	v := strings.ToLower(strings.TrimSpace(value))
	if i := strings.Index(v, ".amazonaws.com/"); i >= 0 {
		v = v[i+len(".amazonaws.com/"):]
	}
	if i := strings.IndexAny(v, ":@"); i >= 0 {
		v = v[:i]
	}
	return v == repo
}

// query says which services find looks at and keeps.
type query struct {
	filter tagtypes.TagFilter
	want   func(Config) bool
	// related decides, from the raw tags and linked alarms, whether a
	// service whose configuration does not parse is reported as Skipped.
	related func(tags map[string]string, linked []string) bool
}

// ForAlarm returns every ACTIVE opted-in service whose pushdeploy:alarms
// lists alarm, or that the alarm's pushdeploy:service tag names. With an
// index (WithIndex) it describes the indexed services only, and scans
// (then records the scan) when the index has no fresh scan of the alarm:
// see AlarmIndex for what a stale index means.
func (r *Resolver) ForAlarm(ctx context.Context, alarm string) (Discovery, error) {
	if alarm == "" {
		return Discovery{}, errors.New("for alarm: empty alarm name")
	}
	q := alarmQuery(alarm)
	if r.index == nil {
		return r.find(ctx, q)
	}
	e, err := r.index.Get(ctx, alarm)
	if err != nil {
		return Discovery{}, err
	}
	if e.Fresh(r.index.clk.Now()) {
		return r.forAlarmIndexed(ctx, alarm, e, q)
	}
	disc, err := r.find(ctx, q)
	if err != nil {
		return Discovery{}, err
	}
	services := make([]string, 0, len(disc.Targets))
	for _, t := range disc.Targets {
		services = append(services, t.ServiceARN)
	}
	for _, s := range disc.Skipped {
		if !isNotFound(s.Err) {
			services = append(services, s.ServiceARN) // listed, with a bad tag: still the alarm's
		}
	}
	if err := r.index.Replace(ctx, alarm, services); err != nil {
		return Discovery{}, err
	}
	return disc, nil
}

func alarmQuery(alarm string) query {
	return query{
		filter: tagtypes.TagFilter{Key: aws.String(TagRepository)},
		want:   func(c Config) bool { return c.HasAlarm(alarm) },
		related: func(tags map[string]string, linked []string) bool {
			if slices.Contains(linked, alarm) {
				return true
			}
			for _, a := range strings.Split(tags[TagAlarms], ",") {
				if strings.TrimSpace(a) == alarm {
					return true
				}
			}
			return false
		},
	}
}

// find lists tagged services, pre-filters on the tagging API's copy of the
// tags, then describes the candidates (with tags: the authoritative copy,
// since the tagging API is eventually consistent) and filters again. The
// alarms that name a service by tag are merged into its Config first.
func (r *Resolver) find(ctx context.Context, q query) (Discovery, error) {
	linked, err := r.linkedAlarms(ctx)
	if err != nil {
		return Discovery{}, err
	}
	var out Discovery
	byCluster := map[string][]string{}
	in := &resourcegroupstaggingapi.GetResourcesInput{
		ResourceTypeFilters: []string{"ecs:service"},
		TagFilters:          []tagtypes.TagFilter{q.filter},
		ResourcesPerPage:    aws.Int32(resourcesPerPage),
	}
	for {
		page, err := r.tagging.GetResources(ctx, in)
		if err != nil {
			return Discovery{}, fmt.Errorf("get tagged services: %w", err)
		}
		for _, m := range page.ResourceTagMappingList {
			arn := aws.ToString(m.ResourceARN)
			cluster, _, ok := SplitServiceARN(arn)
			if !ok {
				out.Skipped = append(out.Skipped, Skipped{ServiceARN: arn, Reason: (&InvalidARNError{arn}).Error(), Err: &InvalidARNError{arn}})
				continue
			}
			// A config error here is reported after describing, from the
			// authoritative tags.
			tags := tagMap(m.Tags)
			c, err := Parse(arn, tags, r.defaults)
			if err == nil && !q.want(withLinked(c, linked, arn)) || err != nil && !q.related(tags, linked[serviceKey(arn)]) {
				continue
			}
			byCluster[cluster] = append(byCluster[cluster], arn)
		}
		if aws.ToString(page.PaginationToken) == "" {
			break
		}
		in.PaginationToken = page.PaginationToken
	}
	targets, err := r.describeAll(ctx, byCluster, linked, q, &out)
	if err != nil {
		return Discovery{}, err
	}
	out.Targets = targets
	sort.Slice(out.Targets, func(i, j int) bool { return out.Targets[i].ServiceARN < out.Targets[j].ServiceARN })
	return out, nil
}

// describeAll describes the candidates (service names or ARNs, by
// cluster) with their tags, 10 a call, and returns those q wants; the
// missing and the related misconfigured go to out.Skipped.
func (r *Resolver) describeAll(ctx context.Context, byCluster map[string][]string, linked map[string][]string, q query, out *Discovery) ([]Target, error) {
	clusters := make([]string, 0, len(byCluster))
	for c := range byCluster {
		clusters = append(clusters, c)
	}
	sort.Strings(clusters)
	var targets []Target
	for _, cluster := range clusters {
		arns := byCluster[cluster]
		for i := 0; i < len(arns); i += describeBatch {
			batch := arns[i:min(i+describeBatch, len(arns))]
			svcs, failures, err := r.describe(ctx, cluster, batch)
			if err != nil {
				return nil, err
			}
			out.Skipped = append(out.Skipped, failures...)
			for _, s := range svcs {
				t, err := r.target(s, linked)
				if err != nil {
					if q.related(serviceTags(s), linked[serviceKey(t.ServiceARN)]) {
						out.Skipped = append(out.Skipped, Skipped{ServiceARN: t.ServiceARN, Reason: err.Error(), Err: err})
					}
					continue
				}
				if q.want(t.Config) {
					targets = append(targets, t)
				}
			}
		}
	}
	return targets, nil
}

// Get describes one service and reads its configuration (for manual
// executions). It returns *ServiceNotFoundError when the service is missing
// or not ACTIVE. On a configuration error (*NotOptedInError, *ConfigError)
// the Target is still filled in, with the defaults as its Config.
func (r *Resolver) Get(ctx context.Context, cluster, service string) (Target, error) {
	svcs, failures, err := r.describe(ctx, cluster, []string{service})
	if err != nil {
		return Target{}, err
	}
	if len(failures) > 0 {
		return Target{}, failures[0].Err
	}
	if len(svcs) == 0 {
		return Target{}, &ServiceNotFoundError{Cluster: cluster, Service: service, Reason: "not returned by DescribeServices"}
	}
	linked, err := r.linkedAlarms(ctx)
	if err != nil {
		return Target{}, err
	}
	return r.target(svcs[0], linked)
}

func (r *Resolver) target(s ecstypes.Service, linked map[string][]string) (Target, error) {
	clusterARN := aws.ToString(s.ClusterArn)
	t := Target{
		ClusterARN:     clusterARN,
		ClusterName:    clusterARN[strings.LastIndex(clusterARN, "/")+1:],
		ServiceARN:     aws.ToString(s.ServiceArn),
		ServiceName:    aws.ToString(s.ServiceName),
		TaskDefinition: aws.ToString(s.TaskDefinition),
		Config:         Config{Bake: r.defaults.Bake, Timeout: r.defaults.Timeout, RollbackWindow: r.defaults.RollbackWindow},
	}
	if s.DeploymentController != nil {
		t.Controller = string(s.DeploymentController.Type)
	}
	if dc := s.DeploymentConfiguration; dc != nil {
		t.Strategy = string(dc.Strategy)
		t.ECSBake, t.ECSWaits = ECSTiming(dc)
	}
	c, err := Parse(t.ServiceARN, serviceTags(s), r.defaults)
	if err != nil {
		return t, err
	}
	t.Config = withLinked(c, linked, t.ServiceARN)
	return t, nil
}

// BakeAfterECS is what pushdeploy bakes after ECS's own bake: the two
// compose, so pushdeploy:bake counts ECS's bake in, never bakes twice.
func BakeAfterECS(bake, ecsBake time.Duration) time.Duration { return max(0, bake-ecsBake) }

// ECSTiming is how a deployment configuration spends time inside ECS's
// deployment: its bake (bakeTimeInMinutes, where it applies) and all it
// waits by design (the bake, a linear or canary deployment's steps).
func ECSTiming(dc *ecstypes.DeploymentConfiguration) (bake, waits time.Duration) {
	bake = ecsBake(dc)
	return bake, bake + ecsShiftWaits(dc)
}

// ecsBake is the time ECS bakes a deployment with the old revision still
// running: bakeTimeInMinutes, which blue/green, linear and canary always
// apply and rolling applies with deployment alarms on.
func ecsBake(dc *ecstypes.DeploymentConfiguration) time.Duration {
	if dc.BakeTimeInMinutes == nil {
		return 0
	}
	if (dc.Strategy == "" || dc.Strategy == ecstypes.DeploymentStrategyRolling) && (dc.Alarms == nil || !dc.Alarms.Enable) {
		return 0
	}
	return time.Duration(*dc.BakeTimeInMinutes) * time.Minute
}

// ecsShiftWaits is the time a linear or canary deployment waits between
// traffic shifts, with AWS's defaults (API_LinearConfiguration: 10% every 6
// minutes, no wait after the last step; API_CanaryConfiguration: 10 minutes).
func ecsShiftWaits(dc *ecstypes.DeploymentConfiguration) time.Duration {
	switch dc.Strategy {
	case ecstypes.DeploymentStrategyLinear:
		step, bake := 10.0, int32(6)
		if l := dc.LinearConfiguration; l != nil {
			if l.StepPercent != nil && *l.StepPercent > 0 {
				step = *l.StepPercent
			}
			if l.StepBakeTimeInMinutes != nil {
				bake = *l.StepBakeTimeInMinutes
			}
		}
		steps := int(math.Ceil(100/step)) - 1
		return time.Duration(steps) * time.Duration(bake) * time.Minute
	case ecstypes.DeploymentStrategyCanary:
		bake := int32(10)
		if c := dc.CanaryConfiguration; c != nil && c.CanaryBakeTimeInMinutes != nil {
			bake = *c.CanaryBakeTimeInMinutes
		}
		return time.Duration(bake) * time.Minute
	}
	return 0
}

// linkedAlarms maps "cluster/service" to the alarms whose pushdeploy:service
// tag names it (one paginated GetResources over alarms).
func (r *Resolver) linkedAlarms(ctx context.Context) (map[string][]string, error) {
	linked := map[string][]string{}
	in := &resourcegroupstaggingapi.GetResourcesInput{
		ResourceTypeFilters: []string{"cloudwatch:alarm"},
		TagFilters:          []tagtypes.TagFilter{{Key: aws.String(TagService)}},
		ResourcesPerPage:    aws.Int32(resourcesPerPage),
	}
	for {
		page, err := r.tagging.GetResources(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("get tagged alarms: %w", err)
		}
		for _, m := range page.ResourceTagMappingList {
			arn := aws.ToString(m.ResourceARN)
			i := strings.Index(arn, ":alarm:")
			if i < 0 {
				continue
			}
			name := arn[i+len(":alarm:"):]
			for _, s := range strings.Split(tagMap(m.Tags)[TagService], ",") {
				if key := serviceKey(strings.TrimSpace(s)); key != "" {
					linked[key] = append(linked[key], name)
				}
			}
		}
		if aws.ToString(page.PaginationToken) == "" {
			return linked, nil
		}
		in.PaginationToken = page.PaginationToken
	}
}

// serviceKey reads a service ARN or "cluster/service" as "cluster/service".
func serviceKey(s string) string {
	if c, svc, ok := SplitServiceARN(s); ok {
		return c + "/" + svc
	}
	if c, svc, ok := strings.Cut(s, "/"); ok && c != "" && svc != "" && !strings.Contains(svc, "/") {
		return s
	}
	return ""
}

// withLinked adds the alarms linked to the service to c.Alarms.
func withLinked(c Config, linked map[string][]string, serviceARN string) Config {
	extra := linked[serviceKey(serviceARN)]
	if len(extra) == 0 {
		return c
	}
	alarms := append([]string(nil), c.Alarms...)
	for _, a := range extra {
		if !slices.Contains(alarms, a) {
			alarms = append(alarms, a)
		}
	}
	c.Alarms = alarms
	return c
}

// describe calls DescribeServices with tags for up to 10 services, returning
// ACTIVE services and, as Skipped with *ServiceNotFoundError, the rest.
func (r *Resolver) describe(ctx context.Context, cluster string, services []string) ([]ecstypes.Service, []Skipped, error) {
	out, err := r.ecs.DescribeServices(ctx, &ecs.DescribeServicesInput{
		Cluster:  aws.String(cluster),
		Services: services,
		Include:  []ecstypes.ServiceField{ecstypes.ServiceFieldTags},
	})
	if err != nil {
		var nf *ecstypes.ClusterNotFoundException
		if errors.As(err, &nf) {
			var sk []Skipped
			for _, s := range services {
				e := &ServiceNotFoundError{Cluster: cluster, Service: s, Reason: "cluster not found"}
				sk = append(sk, Skipped{ServiceARN: s, Reason: e.Error(), Err: e})
			}
			return nil, sk, nil
		}
		return nil, nil, fmt.Errorf("describe services in %s: %w", cluster, err)
	}
	var sk []Skipped
	for _, f := range out.Failures {
		e := &ServiceNotFoundError{Cluster: cluster, Service: aws.ToString(f.Arn), Reason: strings.ToLower(aws.ToString(f.Reason))}
		sk = append(sk, Skipped{ServiceARN: aws.ToString(f.Arn), Reason: e.Error(), Err: e})
	}
	var active []ecstypes.Service
	for _, s := range out.Services {
		if st := aws.ToString(s.Status); st != "ACTIVE" {
			e := &ServiceNotFoundError{Cluster: cluster, Service: aws.ToString(s.ServiceName), Reason: "status " + st}
			sk = append(sk, Skipped{ServiceARN: aws.ToString(s.ServiceArn), Reason: e.Error(), Err: e})
			continue
		}
		active = append(active, s)
	}
	return active, sk, nil
}

// SplitServiceARN returns the cluster and service names of a long-format
// service ARN (arn:aws:ecs:region:account:service/cluster/service).
func SplitServiceARN(arn string) (cluster, service string, ok bool) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "ecs" {
		return "", "", false
	}
	res := strings.Split(parts[5], "/")
	if len(res) != 3 || res[0] != "service" || res[1] == "" || res[2] == "" {
		return "", "", false
	}
	return res[1], res[2], true
}

func serviceTags(s ecstypes.Service) map[string]string {
	m := make(map[string]string, len(s.Tags))
	for _, t := range s.Tags {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return m
}

func tagMap(tags []tagtypes.Tag) map[string]string {
	m := make(map[string]string, len(tags))
	for _, t := range tags {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return m
}

// Followers returns every ACTIVE opted-in service whose pushdeploy:after
// names leader (a service ARN): one GetResources filtered on the tag's
// value (none when no service follows it, the common case), then the
// candidates described with their tags, the authoritative copy. Services
// whose configuration does not parse are in Skipped.
func (r *Resolver) Followers(ctx context.Context, leader string) (Discovery, error) {
	cluster, service, ok := SplitServiceARN(leader)
	if !ok {
		return Discovery{}, &InvalidARNError{ARN: leader}
	}
	key := cluster + "/" + service
	var out Discovery
	byCluster := map[string][]string{}
	in := &resourcegroupstaggingapi.GetResourcesInput{
		ResourceTypeFilters: []string{"ecs:service"},
		TagFilters:          []tagtypes.TagFilter{{Key: aws.String(TagAfter), Values: []string{key}}},
		ResourcesPerPage:    aws.Int32(resourcesPerPage),
	}
	for {
		page, err := r.tagging.GetResources(ctx, in)
		if err != nil {
			return Discovery{}, fmt.Errorf("get services after %s: %w", key, err)
		}
		for _, m := range page.ResourceTagMappingList {
			arn := aws.ToString(m.ResourceARN)
			if c, _, ok := SplitServiceARN(arn); ok {
				byCluster[c] = append(byCluster[c], arn)
			}
		}
		if aws.ToString(page.PaginationToken) == "" {
			break
		}
		in.PaginationToken = page.PaginationToken
	}
	if len(byCluster) == 0 {
		return out, nil
	}
	q := query{
		want:    func(c Config) bool { return c.After == key },
		related: func(tags map[string]string, _ []string) bool { return strings.TrimSpace(tags[TagAfter]) == key },
	}
	// No linked alarms: which services follow does not depend on them, and
	// each follower's plan reads its own configuration again.
	targets, err := r.describeAll(ctx, byCluster, nil, q, &out)
	if err != nil {
		return Discovery{}, err
	}
	out.Targets = targets
	sort.Slice(out.Targets, func(i, j int) bool { return out.Targets[i].ServiceARN < out.Targets[j].ServiceARN })
	return out, nil
}
