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
// become ACTIVE and drain as it rolls out. reason, when set, is the
// in-progress reason (a rollback's).
func (s *Service) startDeployment(ctx context.Context, svc *service, td *revision, reason string) *deployment {
	rollback := reason != ""
	now := s.clk.Now()
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
			reason := fmt.Sprintf("ECS deployment failed: alarm(s) %s in ALARM state.", strings.Join(firing, ", "))
			s.failDeployment(ctx, svc, p, reason, "alarm(s) detected", "ECS deployment alarms", c.Alarms.Rollback)
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

// rollForward starts, fails and drains tasks of an in-progress deployment.
func (s *Service) rollForward(ctx context.Context, svc *service, p *deployment) {
	now := s.clk.Now()
	p.updated = now
	if fault, ok := s.faults.imageFault(p.td.images); ok && p.desired > 0 {
		var failed []string
		switch fault.Mode {
		case FailHealthCheck:
			failed = taskIDs(p.running)
			for _, id := range failed[:min(len(failed), 5)] {
				s.serviceEvent(svc, "(service %s) (task %s) failed container health checks.", svc.name, id)
			}
			if p.pending > 0 {
				s.serviceEvent(svc, "(service %s) has started %d tasks: %s.", svc.name, p.pending, taskList(taskIDs(p.pending)))
			}
			p.running = p.pending
		default:
			failed = taskIDs(p.pending)
			p.running = 0
		}
		if len(failed) > 0 {
			p.failed += len(failed)
			s.serviceEvent(svc, "(service %s) has stopped %d running tasks: %s. Reason: %s (exit code %d).",
				svc.name, len(failed), taskList(failed), fault.Reason, fault.ExitCode)
		}
		p.running = min(p.running, p.desired) // desiredCount may have dropped
		p.pending = p.desired - p.running
		threshold := circuitBreakerThreshold(p.desired)
		if p.failed < threshold {
			return
		}
		if c := svc.config(); c.DeploymentCircuitBreaker != nil && c.DeploymentCircuitBreaker.Enable {
			s.failDeployment(ctx, svc, p, "ECS deployment circuit breaker: task failed to start.", "tasks failed to start",
				"ECS deployment circuit breaker", c.DeploymentCircuitBreaker.Rollback)
			return
		}
		if !p.impaired {
			p.impaired = true
			s.serviceEvent(svc, "(service %s) is unable to consistently start tasks successfully.", svc.name)
			s.emit(ctx, s.serviceActionEvent(svc, "WARN", "SERVICE_TASK_START_IMPAIRED"))
		}
		return
	}

	frac := 1.0
	if p.duration > 0 {
		frac = min(float64(now.Sub(p.created))/float64(p.duration), 1)
	}
	target := p.desired
	if frac < 1 {
		target = int(float64(p.desired) * frac)
	}
	if target > p.running {
		s.serviceEvent(svc, "(service %s) has started %d tasks: %s.", svc.name, target-p.running, taskList(taskIDs(target-p.running)))
		p.running = target
	}
	if p.running > p.desired { // desiredCount dropped during the rollout
		s.serviceEvent(svc, "(service %s) has stopped %d running tasks: %s.", svc.name, p.running-p.desired, taskList(taskIDs(p.running-p.desired)))
		p.running = p.desired
	}
	p.pending = p.desired - p.running
	var stopped int
	for _, old := range svc.deployments[1:] {
		keep := int(math.Ceil(float64(old.desired) * (1 - frac)))
		if old.running > keep {
			stopped += old.running - keep
			old.running, old.updated = keep, now
		}
	}
	if stopped > 0 {
		s.serviceEvent(svc, "(service %s) has stopped %d running tasks: %s.", svc.name, stopped, taskList(taskIDs(stopped)))
	}
	if frac < 1 {
		return
	}
	if bake := s.bakeTime(svc, p); bake > 0 {
		if p.bakeUntil.IsZero() {
			// Steady: the old tasks are gone; the alarms are watched a while longer.
			p.bakeUntil = now.Add(bake)
			s.steady(ctx, svc)
		}
		if now.Before(p.bakeUntil) {
			return
		}
	}
	s.complete(ctx, svc, p)
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

// failDeployment marks p FAILED and, with rollback on and a COMPLETED
// deployment to return to, starts a deployment of that task definition.
func (s *Service) failDeployment(ctx context.Context, svc *service, p *deployment, reason, why, mechanism string, rollback bool) {
	p.rollout, p.reason = "FAILED", reason
	p.pending, p.updated = 0, s.clk.Now()
	s.serviceEvent(svc, "(service %s) (deployment %s) deployment failed: %s.", svc.name, p.id, why)
	s.emit(ctx, s.deploymentEvent(svc, "ERROR", "SERVICE_DEPLOYMENT_FAILED", p.id, reason))
	good := svc.lastGood
	if !rollback || p.rollback || good == nil || good == p || good.td == p.td {
		return
	}
	s.serviceEvent(svc, "(service %s) (deployment %s) rolling back to deployment %s.", svc.name, p.id, good.id)
	s.startDeployment(ctx, svc, good.td, fmt.Sprintf("%s: rolling back to deploymentId %s.", mechanism, good.id))
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
