package ecs

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/pushdeploy/pushdeploy/internal/local/localcloud/awsproto"
)

// circuitBreakerThreshold is AWS's: half the desired count, rounded up, at
// least 3 and at most 200 failed tasks.
func circuitBreakerThreshold(desired int) int {
	return min(max(int(math.Ceil(float64(desired)/2)), 3), 200)
}

// startDeployment makes a new PRIMARY deployment of td; the ones before it
// become ACTIVE and drain as it rolls out (or, with a shifting strategy,
// keep serving until traffic has moved). reason, when set, is the
// in-progress reason of a rollback, which belongs to the service deployment
// that failed; any other deployment is a new service deployment.
func (s *Service) startDeployment(ctx context.Context, svc *service, td *revision, reason string) *deployment {
	rollback := reason != ""
	now := s.clk.Now()
	sources := append([]*deployment(nil), svc.deployments...)
	for _, d := range svc.deployments {
		d.status = "ACTIVE"
		d.pending = 0
		d.updated = now
	}
	d := &deployment{id: deploymentID(), status: "PRIMARY", td: td, desired: svc.desired,
		created: now, updated: now, rollout: "IN_PROGRESS", rollback: rollback,
		duration: s.faults.rolloutDuration(svc.name, svc.arn, s.rollout), cfg: map[string]json.RawMessage{}}
	if reason == "" {
		reason = fmt.Sprintf("ECS deployment %s in progress.", d.id)
	}
	d.reason = reason
	for _, k := range deploymentCopied {
		if v, ok := svc.cfg[k]; ok {
			d.cfg[k] = v
		}
	}
	d.rev = s.newRevision(svc, d)
	if !rollback {
		d.sd = s.newServiceDeployment(ctx, svc, d, sources)
	}
	svc.deployments = append([]*deployment{d}, svc.deployments...)
	svc.taskDef = td
	s.emit(ctx, s.deploymentEvent(svc, "INFO", "SERVICE_DEPLOYMENT_IN_PROGRESS", d.id, reason))
	s.ensureTicking(svc)
	return d
}

func (s *Service) ensureTicking(svc *service) {
	if s.closed || svc.timer != nil || !needsTick(svc) {
		return
	}
	svc.timer = s.clk.AfterFunc(s.tick, func() { s.onTick(svc) })
}

func needsTick(svc *service) bool {
	if svc.status == "DRAINING" {
		return true
	}
	p := svc.primary()
	switch {
	case p == nil || svc.status != "ACTIVE":
		return false
	case p.rollout == "IN_PROGRESS":
		return true
	case p.rollout == "COMPLETED":
		return p.running != p.desired || p.pending != 0
	}
	return false
}

// onTick moves one service's rollout forward by a tick of the clock.
func (s *Service) onTick(svc *service) {
	var pending pendingEvents
	ctx := awsproto.WithRequest(context.Background(), &awsproto.Request{Service: "ecs", Region: svc.region.name, Account: s.account})
	ctx = context.WithValue(ctx, pendingKey{}, &pending)

	s.mu.Lock()
	svc.timer = nil
	var watch []string
	var watched *deployment
	alarms := s.alarms
	// A rollback is not watched: the alarms that caused it may well still be
	// in ALARM, and ECS does not roll back a rollback.
	if p := svc.primary(); p != nil && p.rollout == "IN_PROGRESS" && !p.rollback && svc.status == "ACTIVE" && alarms != nil {
		if c := svc.config(); c.Alarms != nil && c.Alarms.Enable {
			watch, watched = c.Alarms.AlarmNames, p
		}
	}
	s.mu.Unlock()

	// Alarm states come from another service: read them without our lock.
	var firing []string
	for _, name := range watch {
		if state, ok := alarms.AlarmState(ctx, name); ok && state == "ALARM" {
			firing = append(firing, name)
		}
	}

	s.mu.Lock()
	s.advance(ctx, svc, watched, firing)
	s.ensureTicking(svc)
	s.mu.Unlock()
	s.publish(ctx, pending.events)
}

func (s *Service) advance(ctx context.Context, svc *service, watched *deployment, firing []string) {
	now := s.clk.Now()
	if svc.status == "DRAINING" {
		var stopped []string
		for _, d := range svc.deployments {
			stopped = append(stopped, taskIDs(d.running+d.pending)...)
			d.running, d.pending, d.updated = 0, 0, now
		}
		if len(stopped) > 0 {
			s.serviceEvent(svc, "(service %s) has stopped %d running tasks: %s.", svc.name, len(stopped), taskList(stopped))
		}
		svc.status = "INACTIVE"
		return
	}
	p := svc.primary()
	if p == nil || svc.status != "ACTIVE" {
		return
	}
	switch p.rollout {
	case "IN_PROGRESS":
		if len(firing) > 0 && watched == p {
			c := svc.config()
			if p.sd != nil {
				p.sd.alarmStatus, p.sd.triggered = monitorTriggered, firing
			}
			reason := fmt.Sprintf("ECS deployment failed: alarm(s) %s in ALARM state.", strings.Join(firing, ", "))
			s.failDeployment(ctx, svc, p, reason, "alarm(s) detected", "ECS deployment alarms", c.Alarms.Rollback)
			return
		}
		if p.rollback && p.sd.shifting() {
			// Traffic went back to the source at the rollback; its tasks
			// never stopped.
			s.complete(ctx, svc, p)
			return
		}
		if p.sd.shifting() && !p.rollback {
			s.shift(ctx, svc, p)
			return
		}
		s.rollForward(ctx, svc, p)
	case "COMPLETED":
		// A desiredCount change on a stable service scales it in one tick.
		if p.running < p.desired {
			s.serviceEvent(svc, "(service %s) has started %d tasks: %s.", svc.name, p.desired-p.running, taskList(taskIDs(p.desired-p.running)))
		} else if p.running > p.desired {
			s.serviceEvent(svc, "(service %s) has stopped %d running tasks: %s.", svc.name, p.running-p.desired, taskList(taskIDs(p.running-p.desired)))
		}
		p.running, p.pending, p.updated = p.desired, 0, now
		s.steady(ctx, svc)
	}
}

// rollForward starts, fails and drains tasks of an in-progress rolling
// deployment. The new tasks come up at the pace of the rollout duration,
// never more than maximumPercent of the desired count running at once, old
// and new together; old tasks stop once new ones run, or earlier to make
// room, never below minimumHealthyPercent (rolling-update: "Deployment
// configuration", deployment-type-ecs.html). Failing tasks fail as they are
// launched, so the circuit breaker counts them a batch at a time.
func (s *Service) rollForward(ctx context.Context, svc *service, p *deployment) {
	now := s.clk.Now()
	p.updated = now
	c := svc.config()
	maxPct, minPct := 200, 100
	if c.MaximumPercent != nil {
		maxPct = *c.MaximumPercent
	}
	if c.MinimumHealthyPercent != nil {
		minPct = *c.MinimumHealthyPercent
	}
	maxTotal := max(p.desired*maxPct/100, 1)
	minHealthy := int(math.Ceil(float64(p.desired) * float64(minPct) / 100))
	oldRunning := func() int {
		n := 0
		for _, old := range svc.deployments[1:] {
			n += old.running
		}
		return n
	}
	// stopOld stops n old tasks, oldest deployments first.
	stopOld := func(n int) {
		if n <= 0 {
			return
		}
		stopped := 0
		for i := len(svc.deployments) - 1; i >= 1 && n > 0; i-- {
			old := svc.deployments[i]
			k := min(old.running, n)
			old.running -= k
			old.updated = now
			n -= k
			stopped += k
		}
		if stopped > 0 {
			s.serviceEvent(svc, "(service %s) has stopped %d running tasks: %s.", svc.name, stopped, taskList(taskIDs(stopped)))
		}
	}
	// makeRoom stops old tasks so that want new ones fit under maxTotal,
	// keeping minHealthy running; it returns how many may start.
	makeRoom := func(want int) int {
		if want <= 0 {
			return 0
		}
		room := maxTotal - p.running - p.pending - oldRunning()
		if room < want {
			stopOld(min(want-room, oldRunning()-max(minHealthy-p.running, 0)))
			room = maxTotal - p.running - p.pending - oldRunning()
		}
		return max(min(want, room), 0)
	}
	// The tasks launched a tick ago are up now (or have failed).
	starting := p.pending
	p.pending = 0
	if fault, ok := s.faults.imageFault(p.td.images); ok && p.desired > 0 {
		var failed []string
		switch fault.Mode {
		case FailHealthCheck:
			// Started tasks run a tick, then fail their health checks.
			failed = taskIDs(p.running)
			for _, id := range failed[:min(len(failed), 5)] {
				s.serviceEvent(svc, "(service %s) (task %s) failed container health checks.", svc.name, id)
			}
			p.running = min(starting, p.desired)
		default:
			failed = taskIDs(starting)
		}
		if len(failed) > 0 {
			p.failed += len(failed)
			s.serviceEvent(svc, "(service %s) has stopped %d running tasks: %s. Reason: %s (exit code %d).",
				svc.name, len(failed), taskList(failed), fault.Reason, fault.ExitCode)
		}
		s.countFailures(p)
		if p.failed >= circuitBreakerThreshold(p.desired) {
			s.tripBreaker(ctx, svc, p)
			if p.rollout != "IN_PROGRESS" {
				return
			}
		}
		if n := makeRoom(p.desired - p.running); n > 0 {
			s.serviceEvent(svc, "(service %s) has started %d tasks: %s.", svc.name, n, taskList(taskIDs(n)))
			p.pending = n
		}
		return
	}
	p.running += starting
	if p.running > p.desired { // desiredCount dropped during the rollout
		s.serviceEvent(svc, "(service %s) has stopped %d running tasks: %s.", svc.name, p.running-p.desired, taskList(taskIDs(p.running-p.desired)))
		p.running = p.desired
	}
	// The old tasks the new ones replace stop.
	stopOld(oldRunning() - max(p.desired-p.running, 0))

	// Tasks launched now run a tick later: the last ones launch a tick
	// before the rollout's duration is up, so that it ends on time.
	frac := 1.0
	if launch := p.duration - s.tick; launch > 0 {
		frac = min(float64(now.Sub(p.created))/float64(launch), 1)
	}
	target := p.desired
	if frac < 1 {
		target = int(float64(p.desired) * frac)
	}
	if n := makeRoom(target - p.running); n > 0 {
		s.serviceEvent(svc, "(service %s) has started %d tasks: %s.", svc.name, n, taskList(taskIDs(n)))
		p.pending = n
	}
	if p.running < p.desired || p.pending > 0 || oldRunning() > 0 {
		return
	}
	if bake := s.bakeTime(svc, p); bake > 0 {
		if p.bakeUntil.IsZero() {
			// Steady: the old tasks are gone; the alarms are watched a while longer.
			p.bakeUntil = now.Add(bake)
			if p.sd != nil {
				p.sd.stage, p.sd.updated = "BAKE_TIME", now
			}
			s.steady(ctx, svc)
		}
		if now.Before(p.bakeUntil) {
			return
		}
	}
	s.complete(ctx, svc, p)
}

// countFailures copies the failed task count into the service deployment's
// circuit breaker details.
func (s *Service) countFailures(p *deployment) {
	if p.sd != nil && p.sd.target == p {
		p.sd.cbFailures, p.sd.cbThreshold, p.sd.updated = p.failed, circuitBreakerThreshold(p.desired), s.clk.Now()
	}
}

// tripBreaker: enough tasks failed. With the circuit breaker on, the
// deployment fails (and rolls back with rollback on); without it, the
// service keeps trying and says it cannot start tasks.
func (s *Service) tripBreaker(ctx context.Context, svc *service, p *deployment) {
	if c := svc.config(); c.DeploymentCircuitBreaker != nil && c.DeploymentCircuitBreaker.Enable {
		if p.sd != nil {
			p.sd.cbStatus = monitorTriggered
		}
		s.failDeployment(ctx, svc, p, "ECS deployment circuit breaker: task failed to start.", "tasks failed to start",
			"ECS deployment circuit breaker", c.DeploymentCircuitBreaker.Rollback)
		return
	}
	if !p.impaired {
		p.impaired = true
		s.serviceEvent(svc, "(service %s) is unable to consistently start tasks successfully.", svc.name)
		s.emit(ctx, s.serviceActionEvent(svc, "WARN", "SERVICE_TASK_START_IMPAIRED"))
	}
}

// bakeTime is how long a deployment's alarms are watched once its tasks all
// run; zero without deployment alarms.
func (s *Service) bakeTime(svc *service, p *deployment) time.Duration {
	c := svc.config()
	if p.rollback || c.Alarms == nil || !c.Alarms.Enable {
		return 0
	}
	if c.BakeTimeInMinutes != nil {
		return time.Duration(*c.BakeTimeInMinutes) * time.Minute
	}
	return s.bake
}

func (s *Service) complete(ctx context.Context, svc *service, p *deployment) {
	baked := !p.bakeUntil.IsZero()
	if p.sd != nil && p.sd.ongoing() {
		s.succeedServiceDeployment(p.sd)
	}
	svc.deployments = []*deployment{p}
	p.rollout = "COMPLETED"
	p.reason = fmt.Sprintf("ECS deployment %s completed.", p.id)
	p.updated = s.clk.Now()
	svc.lastGood = p
	s.serviceEvent(svc, "(service %s) (deployment %s) deployment completed.", svc.name, p.id)
	s.emit(ctx, s.deploymentEvent(svc, "INFO", "SERVICE_DEPLOYMENT_COMPLETED", p.id, p.reason))
	if !baked {
		s.steady(ctx, svc)
	}
}

func (s *Service) steady(ctx context.Context, svc *service) {
	s.serviceEvent(svc, "(service %s) has reached a steady state.", svc.name)
	s.emit(ctx, s.serviceActionEvent(svc, "INFO", "SERVICE_STEADY_STATE"))
}

// failDeployment marks p FAILED and, with rollback on, returns the service
// to where its service deployment started (rollBack); without rollback the
// service deployment is STOPPED where it is.
func (s *Service) failDeployment(ctx context.Context, svc *service, p *deployment, reason, why, mechanism string, rollback bool) {
	if rollback && !p.rollback && p.sd != nil {
		s.rollBack(ctx, svc, p, reason, why, mechanism)
		return
	}
	now := s.clk.Now()
	p.rollout, p.reason = "FAILED", reason
	p.pending, p.updated = 0, now
	s.serviceEvent(svc, "(service %s) (deployment %s) deployment failed: %s.", svc.name, p.id, why)
	s.emit(ctx, s.deploymentEvent(svc, "ERROR", "SERVICE_DEPLOYMENT_FAILED", p.id, reason))
	if sd := p.sd; sd != nil && sd.ongoing() {
		if sd.status == sdRollbackInProgress {
			sd.status = sdRollbackFailed
		} else {
			sd.status = sdStopped
			sd.stopped = now
		}
		sd.reason, sd.finished, sd.updated = reason, now, now
	}
}

func (s *Service) serviceEvent(svc *service, format string, args ...any) {
	e := serviceEvent{ID: uuid(), CreatedAt: epoch(s.clk.Now()), Message: fmt.Sprintf(format, args...)}
	svc.events = append([]serviceEvent{e}, svc.events...)
	if len(svc.events) > maxServiceEvent {
		svc.events = svc.events[:maxServiceEvent]
	}
}

func taskIDs(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = randomHex(32)
	}
	return ids
}

// taskList renders task ids as ECS does in service events, at most ten.
func taskList(ids []string) string {
	parts := make([]string, 0, min(len(ids), 10))
	for _, id := range ids[:min(len(ids), 10)] {
		parts = append(parts, "(task "+id+")")
	}
	return strings.Join(parts, " ")
}
