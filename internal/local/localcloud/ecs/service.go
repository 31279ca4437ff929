package ecs

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/pushdeploy/pushdeploy/internal/app/clock"
	"github.com/pushdeploy/pushdeploy/internal/local/localcloud/awsproto"
)

type service struct {
	name, arn string
	cluster   *cluster
	region    *regionState
	status    string // ACTIVE, DRAINING, INACTIVE
	desired   int
	taskDef   *revision
	// cfg holds the settings ECS stores and returns as given (launchType,
	// networkConfiguration, placement, ...), keyed by their JSON member.
	cfg         map[string]json.RawMessage
	depCfg      map[string]json.RawMessage // deploymentConfiguration
	deployments []*deployment              // the PRIMARY one first
	events      []serviceEvent             // newest first
	tags        tagSet
	created     time.Time
	createdBy   string
	lastGood    *deployment // the last deployment that reached COMPLETED
	timer       clock.Timer
	// serviceDeployments are newest first.
	serviceDeployments []*svcDeployment
}

type deployment struct {
	id, status       string // PRIMARY, ACTIVE
	td               *revision
	desired          int
	pending, running int
	failed           int
	created, updated time.Time
	rollout, reason  string // rolloutState: IN_PROGRESS, COMPLETED, FAILED
	duration         time.Duration
	cfg              map[string]json.RawMessage // launchType, networkConfiguration... at creation
	impaired         bool                       // SERVICE_TASK_START_IMPAIRED sent
	rollback         bool                       // started by a rollback: never rolled back itself
	bakeUntil        time.Time                  // end of the alarm bake, once the tasks all run
	rev              *svcRevision               // the service revision it runs
	sd               *svcDeployment             // the service deployment it is the target (or the rollback) of
}

type serviceEvent struct {
	ID        string  `json:"id"`
	CreatedAt float64 `json:"createdAt"`
	Message   string  `json:"message"`
}

// passthrough are the service settings kept and returned as given.
var passthrough = []string{
	"launchType", "capacityProviderStrategy", "platformVersion", "platformFamily", "loadBalancers",
	"serviceRegistries", "networkConfiguration", "placementConstraints", "placementStrategy",
	"healthCheckGracePeriodSeconds", "schedulingStrategy", "deploymentController", "enableECSManagedTags",
	"propagateTags", "enableExecuteCommand", "availabilityZoneRebalancing", "role",
	"serviceConnectConfiguration", "volumeConfigurations", "vpcLatticeConfigurations",
}

// redeploying are the settings whose change starts a new deployment.
var redeploying = []string{"capacityProviderStrategy", "platformVersion", "loadBalancers", "serviceRegistries",
	"networkConfiguration", "serviceConnectConfiguration", "volumeConfigurations", "vpcLatticeConfigurations"}

// deploymentCopied are the settings each deployment records.
var deploymentCopied = []string{"launchType", "platformVersion", "platformFamily", "networkConfiguration", "capacityProviderStrategy"}

type depConfig struct {
	Strategy            string `json:"strategy"`
	LinearConfiguration *struct {
		StepPercent           *float64 `json:"stepPercent"`
		StepBakeTimeInMinutes *int     `json:"stepBakeTimeInMinutes"`
	} `json:"linearConfiguration"`
	CanaryConfiguration *struct {
		CanaryPercent           *float64 `json:"canaryPercent"`
		CanaryBakeTimeInMinutes *int     `json:"canaryBakeTimeInMinutes"`
	} `json:"canaryConfiguration"`
	BakeTimeInMinutes        *int `json:"bakeTimeInMinutes"`
	MaximumPercent           *int `json:"maximumPercent"`
	MinimumHealthyPercent    *int `json:"minimumHealthyPercent"`
	DeploymentCircuitBreaker *struct {
		Enable   bool `json:"enable"`
		Rollback bool `json:"rollback"`
	} `json:"deploymentCircuitBreaker"`
	Alarms *struct {
		AlarmNames []string `json:"alarmNames"`
		Enable     bool     `json:"enable"`
		Rollback   bool     `json:"rollback"`
	} `json:"alarms"`
}

func (svc *service) config() depConfig {
	var c depConfig
	json.Unmarshal(mustJSON(svc.depCfg), &c)
	return c
}

func (c depConfig) strategy() string {
	if c.Strategy == "" {
		return strategyRolling
	}
	return c.Strategy
}

// linearStep is the linear strategy's step: AWS's defaults are 10 percent
// every 6 minutes (API_LinearConfiguration).
func (c depConfig) linearStep() (float64, time.Duration) {
	pct, bake := 10.0, 6
	if l := c.LinearConfiguration; l != nil {
		if l.StepPercent != nil {
			pct = *l.StepPercent
		}
		if l.StepBakeTimeInMinutes != nil {
			bake = *l.StepBakeTimeInMinutes
		}
	}
	return pct, time.Duration(bake) * time.Minute
}

// canary is the canary strategy's first shift: AWS's defaults are 5
// percent for 10 minutes (API_CanaryConfiguration).
func (c depConfig) canary() (float64, time.Duration) {
	pct, bake := 5.0, 10
	if k := c.CanaryConfiguration; k != nil {
		if k.CanaryPercent != nil {
			pct = *k.CanaryPercent
		}
		if k.CanaryBakeTimeInMinutes != nil {
			bake = *k.CanaryBakeTimeInMinutes
		}
	}
	return pct, time.Duration(bake) * time.Minute
}

func (svc *service) primary() *deployment {
	if len(svc.deployments) == 0 {
		return nil
	}
	return svc.deployments[0]
}

// serviceName turns a service name or ARN into its name.
func serviceName(ref string) string {
	if strings.HasPrefix(ref, "arn:") {
		if i := strings.LastIndex(ref, "/"); i >= 0 {
			return ref[i+1:]
		}
	}
	return ref
}

func (s *Service) findService(r *regionState, clusterRef, ref string) (*cluster, *service, error) {
	c, err := s.activeCluster(r, clusterRef)
	if err != nil {
		return nil, nil, err
	}
	svc, ok := c.services[serviceName(ref)]
	if !ok {
		return nil, nil, awsproto.Errorf("ServiceNotFoundException", "Service not found.")
	}
	return c, svc, nil
}

func (s *Service) createService(ctx context.Context, r *regionState, raw json.RawMessage) (any, error) {
	var in struct {
		Cluster                 string          `json:"cluster"`
		ServiceName             string          `json:"serviceName"`
		TaskDefinition          string          `json:"taskDefinition"`
		DesiredCount            *int            `json:"desiredCount"`
		DeploymentConfiguration json.RawMessage `json:"deploymentConfiguration"`
		Tags                    []tag           `json:"tags"`
	}
	if err := decode(raw, &in); err != nil {
		return nil, err
	}
	var fields map[string]json.RawMessage
	decode(raw, &fields)
	awsproto.Note(ctx, "cluster", clusterName(in.Cluster))
	awsproto.Note(ctx, "service", in.ServiceName)
	awsproto.Note(ctx, "taskDefinition", in.TaskDefinition)
	c, err := s.activeCluster(r, in.Cluster)
	if err != nil {
		return nil, err
	}
	if !validName(in.ServiceName) {
		return nil, awsproto.Errorf("InvalidParameterException", "Service name can have up to 255 characters: letters (uppercase and lowercase), numbers, underscores and hyphens.")
	}
	arn := s.arn(r, "service/"+c.name+"/"+in.ServiceName)
	if err := s.deny(ctx, "CreateService", arn); err != nil {
		return nil, err
	}
	if old, ok := c.services[in.ServiceName]; ok {
		switch old.status {
		case "ACTIVE":
			return nil, awsproto.Errorf("InvalidParameterException", "Creation of service was not idempotent.")
		case "DRAINING":
			return nil, awsproto.Errorf("InvalidParameterException", "Unable to Start a service that is still Draining.")
		}
	}
	if in.TaskDefinition == "" {
		return nil, awsproto.Errorf("InvalidParameterException", "TaskDefinition must be specified for a service using the ECS deployment controller.")
	}
	desired := 0
	if in.DesiredCount != nil {
		desired = *in.DesiredCount
	}
	if desired < 0 {
		return nil, awsproto.Errorf("InvalidParameterException", "DesiredCount cannot be negative.")
	}
	tags, err := validTags(in.Tags)
	if err != nil {
		return nil, err
	}
	cfg := map[string]json.RawMessage{
		"schedulingStrategy":   json.RawMessage(`"REPLICA"`),
		"deploymentController": json.RawMessage(`{"type":"ECS"}`),
		"enableECSManagedTags": json.RawMessage(`false`),
		"propagateTags":        json.RawMessage(`"NONE"`),
		"enableExecuteCommand": json.RawMessage(`false`),
		"loadBalancers":        json.RawMessage(`[]`),
		"serviceRegistries":    json.RawMessage(`[]`),
		"placementConstraints": json.RawMessage(`[]`),
		"placementStrategy":    json.RawMessage(`[]`),
	}
	for _, k := range passthrough {
		if v, ok := fields[k]; ok && string(v) != "null" {
			cfg[k] = v
		}
	}
	_, hasLT := fields["launchType"]
	_, hasCP := fields["capacityProviderStrategy"]
	if hasLT && hasCP {
		return nil, awsproto.Errorf("InvalidParameterException", "Specifying both a launch type and capacity provider strategy is not supported. Remove one and try again.")
	}
	if !hasLT && !hasCP {
		cfg["launchType"] = json.RawMessage(`"EC2"`)
	}
	if string(cfg["launchType"]) == `"FARGATE"` {
		if _, ok := cfg["platformVersion"]; !ok {
			cfg["platformVersion"] = json.RawMessage(`"LATEST"`)
		}
		if _, ok := cfg["platformFamily"]; !ok {
			cfg["platformFamily"] = json.RawMessage(`"Linux"`)
		}
	}
	td, err := s.serviceTaskDef(r, in.TaskDefinition, cfg)
	if err != nil {
		return nil, err
	}
	depCfg := map[string]json.RawMessage{
		"maximumPercent":           json.RawMessage(`200`),
		"minimumHealthyPercent":    json.RawMessage(`100`),
		"deploymentCircuitBreaker": json.RawMessage(`{"enable":false,"rollback":false}`),
		"strategy":                 json.RawMessage(`"ROLLING"`),
	}
	if err := mergeDeploymentConfig(depCfg, in.DeploymentConfiguration); err != nil {
		return nil, err
	}
	now := s.clk.Now()
	svc := &service{name: in.ServiceName, arn: arn, cluster: c, region: r, status: "ACTIVE", desired: desired,
		taskDef: td, cfg: cfg, depCfg: depCfg, tags: tagSet{}, created: now,
		createdBy: fmt.Sprintf("arn:aws:iam::%s:root", s.account)}
	svc.tags.set(tags)
	c.services[svc.name] = svc
	s.startDeployment(ctx, svc, td, "")
	return map[string]any{"service": s.serviceOut(svc, true)}, nil
}

// serviceTaskDef resolves the task definition a service is to run and
// checks that it can.
func (s *Service) serviceTaskDef(r *regionState, ref string, cfg map[string]json.RawMessage) (*revision, error) {
	td, err := s.findRevision(r, ref)
	if err != nil {
		return nil, awsproto.Errorf("ClientException", "TaskDefinition not found.")
	}
	if td.status != "ACTIVE" {
		return nil, awsproto.Errorf("ClientException", "TaskDefinition is inactive")
	}
	if string(cfg["launchType"]) == `"FARGATE"` {
		var compat []string
		json.Unmarshal(td.body["compatibilities"], &compat)
		if !includes(compat, "FARGATE") {
			return nil, awsproto.Errorf("InvalidParameterException", "Task definition does not support launch_type FARGATE.")
		}
	}
	if string(td.body["networkMode"]) == `"awsvpc"` {
		if _, ok := cfg["networkConfiguration"]; !ok {
			return nil, awsproto.Errorf("InvalidParameterException", "Network Configuration must be provided when networkMode 'awsvpc' is specified.")
		}
	}
	return td, nil
}

// mergeDeploymentConfig applies the members of a deploymentConfiguration
// update: each member given replaces the one held.
func mergeDeploymentConfig(held map[string]json.RawMessage, raw json.RawMessage) error {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var upd map[string]json.RawMessage
	if err := json.Unmarshal(raw, &upd); err != nil {
		return awsproto.Errorf("SerializationException", "deploymentConfiguration: %v", err)
	}
	merged := map[string]json.RawMessage{}
	for k, v := range held {
		merged[k] = v
	}
	for k, v := range upd {
		if string(v) != "null" {
			merged[k] = v
		}
	}
	var c depConfig
	if err := json.Unmarshal(mustJSON(merged), &c); err != nil {
		return awsproto.Errorf("SerializationException", "deploymentConfiguration: %v", err)
	}
	if c.MaximumPercent != nil && (*c.MaximumPercent < 100 || *c.MaximumPercent > 2000) {
		return awsproto.Errorf("InvalidParameterException", "maximumPercent must be between 100 and 2000.")
	}
	if c.MinimumHealthyPercent != nil && (*c.MinimumHealthyPercent < 0 || *c.MinimumHealthyPercent > 100) {
		return awsproto.Errorf("InvalidParameterException", "minimumHealthyPercent must be between 0 and 100.")
	}
	if c.BakeTimeInMinutes != nil && (*c.BakeTimeInMinutes < 0 || *c.BakeTimeInMinutes > 1440) {
		return awsproto.Errorf("InvalidParameterException", "bakeTimeInMinutes must be between 0 and 1440.")
	}
	switch c.Strategy {
	case "", strategyRolling, strategyBlueGreen, strategyLinear, strategyCanary:
	default:
		return awsproto.Errorf("InvalidParameterException", "strategy must be one of ROLLING, BLUE_GREEN, LINEAR, CANARY.")
	}
	if l := c.LinearConfiguration; l != nil {
		if l.StepPercent != nil && (*l.StepPercent < 3 || *l.StepPercent > 100) {
			return awsproto.Errorf("InvalidParameterException", "linearConfiguration.stepPercent must be between 3.0 and 100.0.")
		}
		if l.StepBakeTimeInMinutes != nil && (*l.StepBakeTimeInMinutes < 0 || *l.StepBakeTimeInMinutes > 1440) {
			return awsproto.Errorf("InvalidParameterException", "linearConfiguration.stepBakeTimeInMinutes must be between 0 and 1440.")
		}
	}
	if k := c.CanaryConfiguration; k != nil {
		if k.CanaryPercent != nil && (*k.CanaryPercent < 0.1 || *k.CanaryPercent > 100) {
			return awsproto.Errorf("InvalidParameterException", "canaryConfiguration.canaryPercent must be between 0.1 and 100.0.")
		}
		if k.CanaryBakeTimeInMinutes != nil && (*k.CanaryBakeTimeInMinutes < 0 || *k.CanaryBakeTimeInMinutes > 1440) {
			return awsproto.Errorf("InvalidParameterException", "canaryConfiguration.canaryBakeTimeInMinutes must be between 0 and 1440.")
		}
	}
	if c.Alarms != nil && c.Alarms.Enable && len(c.Alarms.AlarmNames) == 0 {
		return awsproto.Errorf("InvalidParameterException", "alarmNames must contain at least one alarm when alarms are enabled.")
	}
	if c.Alarms != nil && len(c.Alarms.AlarmNames) > 10 {
		return awsproto.Errorf("InvalidParameterException", "alarmNames can contain at most 10 alarms.")
	}
	for k, v := range merged {
		held[k] = v
	}
	return nil
}

func (s *Service) updateService(ctx context.Context, r *regionState, raw json.RawMessage) (any, error) {
	var in struct {
		Cluster                 string          `json:"cluster"`
		Service                 string          `json:"service"`
		TaskDefinition          string          `json:"taskDefinition"`
		DesiredCount            *int            `json:"desiredCount"`
		ForceNewDeployment      bool            `json:"forceNewDeployment"`
		DeploymentConfiguration json.RawMessage `json:"deploymentConfiguration"`
	}
	if err := decode(raw, &in); err != nil {
		return nil, err
	}
	var fields map[string]json.RawMessage
	decode(raw, &fields)
	awsproto.Note(ctx, "cluster", clusterName(in.Cluster))
	awsproto.Note(ctx, "service", serviceName(in.Service))
	if in.TaskDefinition != "" {
		awsproto.Note(ctx, "taskDefinition", in.TaskDefinition)
	}
	_, svc, err := s.findService(r, in.Cluster, in.Service)
	if err != nil {
		return nil, err
	}
	if err := s.deny(ctx, "UpdateService", svc.arn); err != nil {
		return nil, err
	}
	if svc.status != "ACTIVE" {
		return nil, awsproto.Errorf("ServiceNotActiveException", "Service was not ACTIVE.")
	}
	if in.DesiredCount != nil && *in.DesiredCount < 0 {
		return nil, awsproto.Errorf("InvalidParameterException", "DesiredCount cannot be negative.")
	}
	cfg := map[string]json.RawMessage{}
	for k, v := range svc.cfg {
		cfg[k] = v
	}
	redeploy := in.ForceNewDeployment
	for _, k := range passthrough {
		v, ok := fields[k]
		if !ok || string(v) == "null" {
			continue
		}
		if includes(redeploying, k) && !jsonEqual(cfg[k], v) {
			redeploy = true
		}
		cfg[k] = v
	}
	td := svc.taskDef
	if in.TaskDefinition != "" {
		if td, err = s.serviceTaskDef(r, in.TaskDefinition, cfg); err != nil {
			return nil, err
		}
		if td != svc.taskDef {
			redeploy = true
		}
	}
	if ctl := controllerType(cfg); ctl != "ECS" && redeploy {
		// UpdateService changes only desiredCount and a few settings of a
		// service that another controller deploys (deployment-types.html).
		return nil, awsproto.Errorf("InvalidParameterException", "Unable to update task definition on services with a %s deployment controller. Use AWS CodeDeploy to trigger a new deployment.", ctl)
	}
	depCfg := map[string]json.RawMessage{}
	for k, v := range svc.depCfg {
		depCfg[k] = v
	}
	if err := mergeDeploymentConfig(depCfg, in.DeploymentConfiguration); err != nil {
		return nil, err
	}
	svc.cfg, svc.depCfg = cfg, depCfg
	if in.DesiredCount != nil {
		svc.desired = *in.DesiredCount
		if p := svc.primary(); p != nil {
			p.desired = svc.desired
			p.updated = s.clk.Now()
		}
	}
	if redeploy {
		s.startDeployment(ctx, svc, td, "")
	} else {
		s.ensureTicking(svc)
	}
	return map[string]any{"service": s.serviceOut(svc, false)}, nil
}

// controllerType is the service's deploymentController type.
func controllerType(cfg map[string]json.RawMessage) string {
	var c struct{ Type string }
	json.Unmarshal(cfg["deploymentController"], &c)
	if c.Type == "" {
		return "ECS"
	}
	return c.Type
}

func jsonEqual(a, b json.RawMessage) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return bytes.Equal(a, b)
	}
	return bytes.Equal(mustJSON(x), mustJSON(y))
}

func (s *Service) describeServices(ctx context.Context, r *regionState, raw json.RawMessage) (any, error) {
	var in struct {
		Cluster  string   `json:"cluster"`
		Services []string `json:"services"`
		Include  []string `json:"include"`
	}
	if err := decode(raw, &in); err != nil {
		return nil, err
	}
	awsproto.Note(ctx, "cluster", clusterName(in.Cluster))
	if len(in.Services) == 1 {
		awsproto.Note(ctx, "service", serviceName(in.Services[0]))
	}
	if len(in.Services) == 0 || len(in.Services) > 10 {
		return nil, awsproto.Errorf("InvalidParameterException", "services must contain between 1 and 10 elements.")
	}
	c, err := s.activeCluster(r, in.Cluster)
	if err != nil {
		return nil, err
	}
	out := []map[string]any{}
	failures := []failure{}
	for _, ref := range in.Services {
		svc, ok := c.services[serviceName(ref)]
		if !ok {
			arn := ref
			if !strings.HasPrefix(ref, "arn:") {
				arn = s.arn(r, "service/"+c.name+"/"+ref)
			}
			failures = append(failures, failure{Arn: arn, Reason: "MISSING"})
			continue
		}
		if err := s.deny(ctx, "DescribeServices", svc.arn); err != nil {
			return nil, err
		}
		out = append(out, s.serviceOut(svc, includes(in.Include, "TAGS")))
	}
	return map[string]any{"services": out, "failures": failures}, nil
}

func (s *Service) listServices(ctx context.Context, r *regionState, raw json.RawMessage) (any, error) {
	var in struct {
		Cluster            string `json:"cluster"`
		LaunchType         string `json:"launchType"`
		SchedulingStrategy string `json:"schedulingStrategy"`
		NextToken          string `json:"nextToken"`
		MaxResults         int    `json:"maxResults"`
	}
	if err := decode(raw, &in); err != nil {
		return nil, err
	}
	awsproto.Note(ctx, "cluster", clusterName(in.Cluster))
	c, err := s.activeCluster(r, in.Cluster)
	if err != nil {
		return nil, err
	}
	arns := []string{}
	for _, svc := range c.services {
		if svc.status == "INACTIVE" {
			continue
		}
		if in.LaunchType != "" && string(svc.cfg["launchType"]) != `"`+in.LaunchType+`"` {
			continue
		}
		if in.SchedulingStrategy != "" && string(svc.cfg["schedulingStrategy"]) != `"`+in.SchedulingStrategy+`"` {
			continue
		}
		arns = append(arns, svc.arn)
	}
	sort.Strings(arns)
	items, next, err := page(arns, in.NextToken, in.MaxResults, 10, 100)
	if err != nil {
		return nil, err
	}
	return listOut{"serviceArns", items, next}, nil
}

func (s *Service) deleteService(ctx context.Context, r *regionState, raw json.RawMessage) (any, error) {
	var in struct {
		Cluster string `json:"cluster"`
		Service string `json:"service"`
		Force   bool   `json:"force"`
	}
	if err := decode(raw, &in); err != nil {
		return nil, err
	}
	awsproto.Note(ctx, "cluster", clusterName(in.Cluster))
	awsproto.Note(ctx, "service", serviceName(in.Service))
	_, svc, err := s.findService(r, in.Cluster, in.Service)
	if err != nil {
		return nil, err
	}
	if err := s.deny(ctx, "DeleteService", svc.arn); err != nil {
		return nil, err
	}
	if svc.status != "ACTIVE" {
		return nil, awsproto.Errorf("ServiceNotActiveException", "Service was not ACTIVE.")
	}
	if svc.desired > 0 && !in.Force {
		return nil, awsproto.Errorf("InvalidParameterException", "The service cannot be stopped while it is scaled above 0.")
	}
	svc.status = "DRAINING"
	svc.desired = 0
	for _, d := range svc.deployments {
		d.desired = 0
		d.updated = s.clk.Now()
	}
	s.ensureTicking(svc)
	return map[string]any{"service": s.serviceOut(svc, false)}, nil
}

func (s *Service) serviceOut(svc *service, withTags bool) map[string]any {
	out := map[string]any{}
	for k, v := range svc.cfg {
		out[k] = v
	}
	if role, ok := out["role"]; ok {
		delete(out, "role")
		out["roleArn"] = role
	}
	running, pending := 0, 0
	deps := []map[string]any{}
	for _, d := range svc.deployments {
		running += d.running
		pending += d.pending
		dep := map[string]any{
			"id": d.id, "status": d.status, "taskDefinition": d.td.arn,
			"desiredCount": d.desired, "pendingCount": d.pending, "runningCount": d.running, "failedTasks": d.failed,
			"createdAt": epoch(d.created), "updatedAt": epoch(d.updated),
			"rolloutState": d.rollout, "rolloutStateReason": d.reason,
		}
		for k, v := range d.cfg {
			dep[k] = v
		}
		deps = append(deps, dep)
	}
	events := svc.events
	if events == nil {
		events = []serviceEvent{}
	}
	out["serviceArn"] = svc.arn
	out["serviceName"] = svc.name
	out["clusterArn"] = svc.cluster.arn
	out["status"] = svc.status
	out["desiredCount"] = svc.desired
	out["runningCount"] = running
	out["pendingCount"] = pending
	out["taskDefinition"] = svc.taskDef.arn
	out["deploymentConfiguration"] = svc.depCfg
	out["deployments"] = deps
	if len(svc.serviceDeployments) > 0 {
		out["currentServiceDeployment"] = svc.serviceDeployments[0].arn
	}
	out["currentServiceRevisions"] = svc.currentRevisions()
	out["events"] = events
	out["createdAt"] = epoch(svc.created)
	out["createdBy"] = svc.createdBy
	if withTags {
		out["tags"] = svc.tags.list()
	}
	return out
}
