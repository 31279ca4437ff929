package ecs

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/pushdeploy/pushdeploy/internal/local/localcloud/awsproto"
)

// Service deployments and service revisions, as the Amazon ECS Developer
// Guide describes them ("View service history using Amazon ECS service
// deployments", service-deployment.html; "Properties included in an Amazon
// ECS service deployment", service-deployment-property.html; "Stopping
// Amazon ECS service deployments", stop-service-deployment.html) and the
// shapes of aws-sdk-go-v2's ecs types (ServiceDeployment,
// ServiceDeploymentBrief, ServiceRevision, ServiceRevisionSummary).
//
// Every deployment the service starts (CreateService, an UpdateService that
// redeploys) is one service deployment from the running revisions (source)
// to a new service revision (target). ECS's own rollback (circuit breaker,
// alarms, StopServiceDeployment ROLLBACK) is not a new service deployment:
// the one that failed goes ROLLBACK_IN_PROGRESS, then ROLLBACK_SUCCESSFUL.

// Service deployment statuses (ServiceDeploymentStatus).
const (
	sdPending            = "PENDING"
	sdInProgress         = "IN_PROGRESS"
	sdSuccessful         = "SUCCESSFUL"
	sdStopped            = "STOPPED"
	sdRollbackInProgress = "ROLLBACK_IN_PROGRESS"
	sdRollbackSuccessful = "ROLLBACK_SUCCESSFUL"
	sdRollbackFailed     = "ROLLBACK_FAILED"
)

// Deployment strategies (deploymentConfiguration.strategy).
const (
	strategyRolling   = "ROLLING"
	strategyBlueGreen = "BLUE_GREEN"
	strategyLinear    = "LINEAR"
	strategyCanary    = "CANARY"
)

// Rollback monitor statuses (ServiceDeploymentRollbackMonitorsStatus).
const (
	monitorTriggered = "TRIGGERED"
	monitoring       = "MONITORING"
	monitorComplete  = "MONITORING_COMPLETE"
	monitorDisabled  = "DISABLED"
)

type svcRevision struct {
	arn     string
	svc     *service
	td      *revision
	created time.Time
	cfg     map[string]json.RawMessage // launchType, networkConfiguration... at creation
}

type svcDeployment struct {
	arn      string
	svc      *service
	strategy string
	cfg      map[string]json.RawMessage // deploymentConfiguration at creation
	target   *deployment                // the deployment of the target revision
	sources  []*deployment              // the deployments running when it started
	status   string
	stage    string // lifecycleStage
	reason   string // statusReason
	// weight is the production traffic on the target revision, in percent;
	// testWeight its test traffic.
	weight, testWeight float64
	// stageUntil ends a timed stage: a linear step, the canary phase, the bake.
	stageUntil                time.Time
	created, started, updated time.Time
	finished, stopped         time.Time
	rollback                  *sdRollback
	cbStatus                  string
	cbFailures, cbThreshold   int
	alarmStatus               string
	alarmNames, triggered     []string
	sourceRevs                []*svcRevision
	sourceCounts              []int // requested task counts of the sources at the start
}

type sdRollback struct {
	reason, revision string
	started          time.Time
}

func (s *Service) newRevision(svc *service, d *deployment) *svcRevision {
	rev := &svcRevision{arn: s.arn(svc.region, fmt.Sprintf("service-revision/%s/%s/%s", svc.cluster.name, svc.name, digits(19))),
		svc: svc, td: d.td, created: d.created, cfg: d.cfg}
	svc.region.revisions[rev.arn] = rev
	return rev
}

// newServiceDeployment records d as a service deployment from the
// deployments already running; a deployment still in progress among them
// is STOPPED, superseded by d.
func (s *Service) newServiceDeployment(ctx context.Context, svc *service, d *deployment, sources []*deployment) *svcDeployment {
	now := s.clk.Now()
	c := svc.config()
	sd := &svcDeployment{
		arn: s.arn(svc.region, fmt.Sprintf("service-deployment/%s/%s/%s", svc.cluster.name, svc.name, randomToken(22))),
		svc: svc, strategy: c.strategy(), cfg: cloneRaw(svc.depCfg), target: d, sources: sources,
		status: sdInProgress, stage: "SCALE_UP", created: now, started: now, updated: now,
		cbStatus: monitorDisabled, alarmStatus: monitorDisabled, cbThreshold: circuitBreakerThreshold(d.desired),
	}
	if len(sources) > 0 && sd.strategy != strategyRolling {
		sd.stage = "PRE_SCALE_UP"
		if len(sources) > 1 || sources[0].rollout != "COMPLETED" {
			// More than one revision active, or one still rolling out:
			// ECS reconciles them into one source first.
			sd.stage = "RECONCILE_SERVICE"
		}
	}
	if c.DeploymentCircuitBreaker != nil && c.DeploymentCircuitBreaker.Enable {
		sd.cbStatus = monitoring
	}
	if c.Alarms != nil && c.Alarms.Enable {
		sd.alarmStatus, sd.alarmNames = monitoring, c.Alarms.AlarmNames
	}
	for _, src := range sources {
		if src.sd != nil && src.sd.ongoing() {
			src.sd.status, src.sd.reason = sdStopped, "Service deployment stopped: a newer service deployment started."
			src.sd.stopped, src.sd.finished, src.sd.updated = now, now, now
		}
		if src.rev != nil {
			sd.sourceRevs = append(sd.sourceRevs, src.rev)
			sd.sourceCounts = append(sd.sourceCounts, src.desired)
		}
	}
	svc.serviceDeployments = append([]*svcDeployment{sd}, svc.serviceDeployments...)
	svc.region.serviceDeployments[sd.arn] = sd
	return sd
}

func (sd *svcDeployment) ongoing() bool {
	switch sd.status {
	case sdPending, sdInProgress, "STOP_REQUESTED", "ROLLBACK_REQUESTED", sdRollbackInProgress:
		return true
	}
	return false
}

// shifting: the strategy moves traffic between a full source and a full
// target (blue/green, linear, canary) instead of replacing tasks.
func (sd *svcDeployment) shifting() bool {
	return sd != nil && sd.strategy != strategyRolling && len(sd.sources) > 0
}

// succeed ends sd on its target revision.
func (s *Service) succeedServiceDeployment(sd *svcDeployment) {
	now := s.clk.Now()
	if sd.status == sdRollbackInProgress {
		sd.status, sd.reason = sdRollbackSuccessful, "Service deployment rolled back successfully."
	} else {
		sd.status, sd.weight, sd.testWeight = sdSuccessful, 100, 100
	}
	sd.stage, sd.finished, sd.updated = "CLEAN_UP", now, now
	if sd.cbStatus == monitoring {
		sd.cbStatus = monitorComplete
	}
	if sd.alarmStatus == monitoring {
		sd.alarmStatus = monitorComplete
	}
}

// rollbackServiceDeployment marks sd rolling back to revision for reason.
func (s *Service) rollbackServiceDeployment(sd *svcDeployment, reason string, to *svcRevision) {
	now := s.clk.Now()
	sd.status, sd.reason, sd.updated = sdRollbackInProgress, reason, now
	sd.rollback = &sdRollback{reason: reason, started: now}
	if to != nil {
		sd.rollback.revision = to.arn
	}
}

// stopServiceDeployment answers StopServiceDeployment: ROLLBACK goes back
// to the source revision (rolling: a deployment of it; blue/green, linear,
// canary: production traffic returns to the source, which still runs, at
// once); ABORT leaves the service where it is.
func (s *Service) stopServiceDeployment(ctx context.Context, r *regionState, raw json.RawMessage) (any, error) {
	var in struct {
		ServiceDeploymentArn string `json:"serviceDeploymentArn"`
		StopType             string `json:"stopType"`
	}
	if err := decode(raw, &in); err != nil {
		return nil, err
	}
	if in.ServiceDeploymentArn == "" {
		return nil, awsproto.Errorf("InvalidParameterException", "serviceDeploymentArn is required.")
	}
	if in.StopType == "" {
		in.StopType = "ROLLBACK"
	}
	if in.StopType != "ROLLBACK" && in.StopType != "ABORT" {
		return nil, awsproto.Errorf("InvalidParameterException", "stopType must be ROLLBACK or ABORT.")
	}
	sd, ok := r.serviceDeployments[in.ServiceDeploymentArn]
	if !ok {
		return nil, awsproto.Errorf("ServiceDeploymentNotFoundException", "The service deployment does not exist.")
	}
	awsproto.Note(ctx, "service", sd.svc.name)
	if err := s.deny(ctx, "StopServiceDeployment", sd.arn, sd.svc.arn); err != nil {
		return nil, err
	}
	p := sd.target
	if sd.status != sdInProgress || p.rollout != "IN_PROGRESS" || sd.svc.primary() != p {
		return nil, awsproto.Errorf("ConflictException", "The service deployment is in %s status and can't be stopped.", sd.status)
	}
	svc := sd.svc
	if in.StopType == "ABORT" {
		now := s.clk.Now()
		p.rollout, p.reason, p.pending, p.updated = "FAILED", "ECS deployment stopped.", 0, now
		sd.status, sd.reason, sd.stopped, sd.finished, sd.updated = sdStopped, "Service deployment stopped by a user.", now, now, now
		s.emit(ctx, s.deploymentEvent(svc, "ERROR", "SERVICE_DEPLOYMENT_FAILED", p.id, "ECS deployment stopped."))
		return map[string]any{"serviceDeploymentArn": sd.arn}, nil
	}
	s.rollBack(ctx, svc, p, "Service deployment rolled back because of a stop request.", "stopped with rollback", "StopServiceDeployment")
	return map[string]any{"serviceDeploymentArn": sd.arn}, nil
}

// rollBack fails p and returns the service to its service deployment's
// source: a shifting strategy moves production traffic back to the source
// tasks, which never stopped; rolling deploys the source again (or, with
// no source, the last deployment that completed).
func (s *Service) rollBack(ctx context.Context, svc *service, p *deployment, reason, why, mechanism string) {
	now := s.clk.Now()
	sd := p.sd
	p.rollout, p.reason, p.pending, p.updated = "FAILED", reason, 0, now
	s.serviceEvent(svc, "(service %s) (deployment %s) deployment failed: %s.", svc.name, p.id, why)
	s.emit(ctx, s.deploymentEvent(svc, "ERROR", "SERVICE_DEPLOYMENT_FAILED", p.id, reason))
	if sd.shifting() {
		blue := sd.sources[0]
		s.rollbackServiceDeployment(sd, reason, blue.rev)
		sd.weight, sd.testWeight = 0, 0
		// Blue takes all traffic again at once; green is scaled in.
		var rest []*deployment
		for _, d := range svc.deployments {
			if d != blue {
				d.status, d.updated = "ACTIVE", now
				rest = append(rest, d)
			}
		}
		blue.status, blue.rollout, blue.rollback, blue.sd, blue.updated = "PRIMARY", "IN_PROGRESS", true, sd, now
		blue.reason = fmt.Sprintf("%s: rolling back to deploymentId %s.", mechanism, blue.id)
		svc.deployments = append([]*deployment{blue}, rest...)
		svc.taskDef = blue.td
		s.serviceEvent(svc, "(service %s) (deployment %s) production traffic shifted back to deployment %s.", svc.name, p.id, blue.id)
		s.emit(ctx, s.deploymentEvent(svc, "INFO", "SERVICE_DEPLOYMENT_IN_PROGRESS", blue.id, blue.reason))
		s.ensureTicking(svc)
		return
	}
	// Back to the source; if it never completed (superseded mid-rollout),
	// to the last deployment that did.
	to := svc.lastGood
	if len(sd.sources) > 0 && (sd.sources[0].rollout == "COMPLETED" || to == nil) {
		to = sd.sources[0]
	}
	if to == nil || to.td == p.td {
		sd.status, sd.reason, sd.stopped, sd.finished, sd.updated = sdStopped, reason, now, now, now
		return
	}
	s.rollbackServiceDeployment(sd, reason, to.rev)
	s.serviceEvent(svc, "(service %s) (deployment %s) rolling back to deployment %s.", svc.name, p.id, to.id)
	nd := s.startDeployment(ctx, svc, to.td, fmt.Sprintf("%s: rolling back to deploymentId %s.", mechanism, to.id))
	nd.sd = sd
}

func (s *Service) listServiceDeployments(ctx context.Context, r *regionState, raw json.RawMessage) (any, error) {
	var in struct {
		Cluster   string   `json:"cluster"`
		Service   string   `json:"service"`
		Status    []string `json:"status"`
		CreatedAt *struct {
			After  *float64 `json:"after"`
			Before *float64 `json:"before"`
		} `json:"createdAt"`
		NextToken  string `json:"nextToken"`
		MaxResults int    `json:"maxResults"`
	}
	if err := decode(raw, &in); err != nil {
		return nil, err
	}
	if in.Service == "" {
		return nil, awsproto.Errorf("InvalidParameterException", "service is required.")
	}
	awsproto.Note(ctx, "cluster", clusterName(in.Cluster))
	awsproto.Note(ctx, "service", serviceName(in.Service))
	_, svc, err := s.findService(r, in.Cluster, in.Service)
	if err != nil {
		return nil, err
	}
	if err := s.deny(ctx, "ListServiceDeployments", svc.arn); err != nil {
		return nil, err
	}
	var briefs []map[string]any
	for _, sd := range svc.serviceDeployments {
		if len(in.Status) > 0 && !includes(in.Status, sd.status) {
			continue
		}
		at := epoch(sd.created)
		if in.CreatedAt != nil && (in.CreatedAt.After != nil && at < *in.CreatedAt.After || in.CreatedAt.Before != nil && at > *in.CreatedAt.Before) {
			continue
		}
		briefs = append(briefs, sd.brief())
	}
	items, next, err := page(briefs, in.NextToken, in.MaxResults, 20, 100)
	if err != nil {
		return nil, err
	}
	out := map[string]any{"serviceDeployments": items}
	if items == nil {
		out["serviceDeployments"] = []any{}
	}
	if next != "" {
		out["nextToken"] = next
	}
	return out, nil
}

func (s *Service) describeServiceDeployments(ctx context.Context, r *regionState, raw json.RawMessage) (any, error) {
	var in struct {
		ServiceDeploymentArns []string `json:"serviceDeploymentArns"`
	}
	if err := decode(raw, &in); err != nil {
		return nil, err
	}
	if len(in.ServiceDeploymentArns) == 0 || len(in.ServiceDeploymentArns) > 20 {
		return nil, awsproto.Errorf("InvalidParameterException", "serviceDeploymentArns must contain between 1 and 20 elements.")
	}
	out, failures := []map[string]any{}, []failure{}
	for _, arn := range in.ServiceDeploymentArns {
		sd, ok := r.serviceDeployments[arn]
		if !ok {
			failures = append(failures, failure{Arn: arn, Reason: "MISSING"})
			continue
		}
		if len(in.ServiceDeploymentArns) == 1 {
			awsproto.Note(ctx, "service", sd.svc.name)
		}
		if err := s.deny(ctx, "DescribeServiceDeployments", sd.arn, sd.svc.arn); err != nil {
			return nil, err
		}
		out = append(out, sd.out())
	}
	return map[string]any{"serviceDeployments": out, "failures": failures}, nil
}

func (s *Service) describeServiceRevisions(ctx context.Context, r *regionState, raw json.RawMessage) (any, error) {
	var in struct {
		ServiceRevisionArns []string `json:"serviceRevisionArns"`
	}
	if err := decode(raw, &in); err != nil {
		return nil, err
	}
	if len(in.ServiceRevisionArns) == 0 || len(in.ServiceRevisionArns) > 20 {
		return nil, awsproto.Errorf("InvalidParameterException", "serviceRevisionArns must contain between 1 and 20 elements.")
	}
	out, failures := []map[string]any{}, []failure{}
	for _, arn := range in.ServiceRevisionArns {
		rev, ok := r.revisions[arn]
		if !ok {
			failures = append(failures, failure{Arn: arn, Reason: "MISSING"})
			continue
		}
		out = append(out, rev.out())
	}
	return map[string]any{"serviceRevisions": out, "failures": failures}, nil
}

// continueServiceDeployment answers ContinueServiceDeployment. The local
// cloud runs no lifecycle hooks, so no deployment ever waits on one: a
// known, ongoing deployment answers that it has no paused hook.
func (s *Service) continueServiceDeployment(ctx context.Context, r *regionState, raw json.RawMessage) (any, error) {
	var in struct {
		ServiceDeploymentArn string `json:"serviceDeploymentArn"`
		HookID               string `json:"hookId"`
		Action               string `json:"action"`
	}
	if err := decode(raw, &in); err != nil {
		return nil, err
	}
	sd, ok := r.serviceDeployments[in.ServiceDeploymentArn]
	if !ok {
		return nil, awsproto.Errorf("ServiceDeploymentNotFoundException", "The service deployment does not exist.")
	}
	switch in.Action {
	case "", "CONTINUE", "ROLLBACK":
	default:
		return nil, awsproto.Errorf("InvalidParameterException", "action must be CONTINUE or ROLLBACK.")
	}
	return nil, awsproto.Errorf("ConflictException", "The service deployment %s has no lifecycle hook awaiting a response (status %s).", sd.arn, sd.status)
}

func (sd *svcDeployment) brief() map[string]any {
	b := map[string]any{
		"serviceDeploymentArn": sd.arn, "serviceArn": sd.svc.arn, "clusterArn": sd.svc.cluster.arn,
		"status": sd.status, "createdAt": epoch(sd.created), "startedAt": epoch(sd.started),
		"targetServiceRevisionArn": sd.target.rev.arn,
	}
	if sd.reason != "" {
		b["statusReason"] = sd.reason
	}
	if !sd.finished.IsZero() {
		b["finishedAt"] = epoch(sd.finished)
	}
	return b
}

func (sd *svcDeployment) out() map[string]any {
	o := sd.brief()
	delete(o, "targetServiceRevisionArn")
	o["updatedAt"] = epoch(sd.updated)
	o["lifecycleStage"] = sd.stage
	o["deploymentConfiguration"] = sd.cfg
	t := sd.target
	o["targetServiceRevision"] = map[string]any{
		"arn": t.rev.arn, "requestedTaskCount": t.desired, "runningTaskCount": t.running, "pendingTaskCount": t.pending,
		"requestedProductionTrafficWeight": sd.weight, "requestedTestTrafficWeight": sd.testWeight,
	}
	srcs := []map[string]any{}
	for i, rev := range sd.sourceRevs {
		src := sd.sources[i]
		running, requested := 0, sd.sourceCounts[i]
		if includesDeployment(sd.svc.deployments, src) {
			running = src.running
		}
		srcs = append(srcs, map[string]any{
			"arn": rev.arn, "requestedTaskCount": requested, "runningTaskCount": running, "pendingTaskCount": 0,
			"requestedProductionTrafficWeight": 100 - sd.weight, "requestedTestTrafficWeight": 100 - sd.testWeight,
		})
	}
	o["sourceServiceRevisions"] = srcs
	o["deploymentCircuitBreaker"] = map[string]any{"status": sd.cbStatus, "failureCount": sd.cbFailures, "threshold": sd.cbThreshold}
	alarms := map[string]any{"status": sd.alarmStatus}
	if len(sd.alarmNames) > 0 {
		alarms["alarmNames"] = sd.alarmNames
	}
	if len(sd.triggered) > 0 {
		alarms["triggeredAlarmNames"] = sd.triggered
	}
	o["alarms"] = alarms
	if sd.rollback != nil {
		rb := map[string]any{"reason": sd.rollback.reason, "startedAt": epoch(sd.rollback.started)}
		if sd.rollback.revision != "" {
			rb["serviceRevisionArn"] = sd.rollback.revision
		}
		o["rollback"] = rb
	}
	if !sd.stopped.IsZero() {
		o["stoppedAt"] = epoch(sd.stopped)
	}
	return o
}

func (rev *svcRevision) out() map[string]any {
	o := map[string]any{
		"serviceRevisionArn": rev.arn, "serviceArn": rev.svc.arn, "clusterArn": rev.svc.cluster.arn,
		"taskDefinition": rev.td.arn, "createdAt": epoch(rev.created),
	}
	for k, v := range rev.cfg {
		o[k] = v
	}
	images := []map[string]any{}
	var defs []struct{ Name, Image string }
	_ = json.Unmarshal(rev.td.body["containerDefinitions"], &defs)
	for _, d := range defs {
		img := map[string]any{"containerName": d.Name, "image": d.Image}
		if _, digest, ok := strings.Cut(d.Image, "@"); ok {
			img["imageDigest"] = digest
		}
		images = append(images, img)
	}
	o["containerImages"] = images
	return o
}

func includesDeployment(ds []*deployment, d *deployment) bool {
	for _, x := range ds {
		if x == d {
			return true
		}
	}
	return false
}

// currentRevisions is the service's currentServiceRevisions.
func (svc *service) currentRevisions() []map[string]any {
	out := []map[string]any{}
	for _, d := range svc.deployments {
		if d.rev == nil {
			continue
		}
		out = append(out, map[string]any{"arn": d.rev.arn, "requestedTaskCount": d.desired, "runningTaskCount": d.running, "pendingTaskCount": d.pending})
	}
	return out
}

// ServiceDeploymentState is a snapshot of a service deployment, for tests.
type ServiceDeploymentState struct {
	ARN, Status, LifecycleStage, Strategy, Reason string
	// RollbackReason is why ECS rolled back, if it did.
	RollbackReason string
	// Weight is the production traffic on the target revision, in percent.
	Weight float64
}

// ServiceDeployments returns the service deployments of a service, newest
// first.
func (s *Service) ServiceDeployments(region, cluster, name string) []ServiceDeploymentState {
	if region == "" {
		region = s.region
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.regions[region]
	if !ok {
		return nil
	}
	c, ok := r.clusters[clusterName(cluster)]
	if !ok {
		return nil
	}
	svc, ok := c.services[serviceName(name)]
	if !ok {
		return nil
	}
	var out []ServiceDeploymentState
	for _, sd := range svc.serviceDeployments {
		st := ServiceDeploymentState{ARN: sd.arn, Status: sd.status, LifecycleStage: sd.stage, Strategy: sd.strategy, Reason: sd.reason, Weight: sd.weight}
		if sd.rollback != nil {
			st.RollbackReason = sd.rollback.reason
		}
		out = append(out, st)
	}
	return out
}

func cloneRaw(m map[string]json.RawMessage) map[string]json.RawMessage {
	out := make(map[string]json.RawMessage, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func digits(n int) string {
	h := randomHex(n * 2)
	var b strings.Builder
	for i := 0; i < n; i++ {
		b.WriteByte('0' + h[i]%10)
	}
	return b.String()
}

// randomToken is letters and digits, as AWS forms service deployment IDs.
func randomToken(n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	h := randomHex(n * 2)
	var b strings.Builder
	for i := 0; i < n; i++ {
		b.WriteByte(alphabet[(int(h[2*i])*16+int(h[2*i+1]))%len(alphabet)])
	}
	return b.String()
}
