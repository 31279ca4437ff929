package ecs

import (
	"context"
	"math"
	"time"
)

// shift moves a blue/green, linear or canary deployment through its
// lifecycle stages on the clock, as the Amazon ECS Developer Guide describes
// them ("Amazon ECS blue/green service deployments workflow",
// blue-green-deployment-how-it-works.html; "Amazon ECS linear deployments",
// deployment-type-linear.html; "Amazon ECS canary deployments",
// canary-deployment.html; the lifecycle stages of ServiceDeployment):
//
//	(RECONCILE_SERVICE, when more than one revision is active) →
//	PRE_SCALE_UP → SCALE_UP (green starts every task; blue keeps 100% of the
//	traffic) → TEST_TRAFFIC_SHIFT → PRODUCTION_TRAFFIC_SHIFT (BLUE_GREEN: 100%
//	at once; LINEAR: stepPercent every stepBakeTimeInMinutes; CANARY:
//	canaryPercent for canaryBakeTimeInMinutes, then the rest) → BAKE_TIME
//	(bakeTimeInMinutes; blue still runs) → CLEAN_UP (blue scales in) →
//	SUCCESSFUL.
//
// The blue tasks run until CLEAN_UP, so a rollback before it only moves the
// traffic back (rollBack): that is what makes it fast. maximumPercent does
// not apply: green starts its whole desired count beside blue. Failing green
// tasks count toward the circuit breaker as they fail; deployment alarms
// are watched at every stage (onTick).
func (s *Service) shift(ctx context.Context, svc *service, p *deployment) {
	now := s.clk.Now()
	sd := p.sd
	c := svc.config()
	p.updated, sd.updated = now, now
	switch sd.stage {
	case "RECONCILE_SERVICE":
		// The newest source takes its whole desired count; the older
		// ones scale in: one source revision to shift traffic from.
		blue := sd.sources[0]
		var stopped int
		for _, old := range svc.deployments[1:] {
			if old != blue {
				stopped += old.running
				old.running = 0
			}
		}
		if stopped > 0 {
			s.serviceEvent(svc, "(service %s) has stopped %d running tasks: %s.", svc.name, stopped, taskList(taskIDs(stopped)))
		}
		if n := blue.desired - blue.running; n > 0 {
			s.serviceEvent(svc, "(service %s) has started %d tasks: %s.", svc.name, n, taskList(taskIDs(n)))
		}
		blue.running, blue.pending, blue.updated = blue.desired, 0, now
		var kept []*deployment
		for _, d := range svc.deployments {
			if d == p || d == blue {
				kept = append(kept, d)
			}
		}
		svc.deployments = kept
		sd.sources, sd.stage = []*deployment{blue}, "PRE_SCALE_UP"
		if len(sd.sourceRevs) > 1 {
			sd.sourceRevs, sd.sourceCounts = sd.sourceRevs[:1], sd.sourceCounts[:1]
		}
	case "PRE_SCALE_UP":
		sd.stage = "SCALE_UP"
		fallthrough
	case "SCALE_UP":
		if fault, ok := s.faults.imageFault(p.td.images); ok && p.desired > 0 {
			failed := p.desired
			if fault.Mode == FailHealthCheck {
				failed = p.running
				p.running = p.desired
			} else {
				p.running = 0
			}
			if failed > 0 {
				p.failed += failed
				s.serviceEvent(svc, "(service %s) has stopped %d running tasks: %s. Reason: %s (exit code %d).",
					svc.name, failed, taskList(taskIDs(failed)), fault.Reason, fault.ExitCode)
			}
			p.pending = p.desired - p.running
			s.countFailures(p)
			if p.failed >= circuitBreakerThreshold(p.desired) {
				s.tripBreaker(ctx, svc, p)
			}
			return
		}
		frac := 1.0
		if p.duration > 0 {
			frac = min(float64(now.Sub(p.created))/float64(p.duration), 1)
		}
		if target := int(float64(p.desired) * frac); target > p.running {
			s.serviceEvent(svc, "(service %s) has started %d tasks: %s.", svc.name, target-p.running, taskList(taskIDs(target-p.running)))
			p.running = target
		}
		p.pending = p.desired - p.running
		if p.running < p.desired {
			return
		}
		sd.stage, sd.testWeight = "TEST_TRAFFIC_SHIFT", 100
	case "TEST_TRAFFIC_SHIFT":
		sd.stage = "PRODUCTION_TRAFFIC_SHIFT"
		switch sd.strategy {
		case strategyLinear:
			pct, bake := c.linearStep()
			sd.weight, sd.stageUntil = math.Min(pct, 100), now.Add(bake)
		case strategyCanary:
			pct, bake := c.canary()
			sd.weight, sd.stageUntil = math.Min(pct, 100), now.Add(bake)
		default:
			sd.weight = 100
		}
		s.serviceEvent(svc, "(service %s) (deployment %s) shifted %.1f%% of production traffic.", svc.name, p.id, sd.weight)
		s.endShift(svc, p, c, now)
	case "PRODUCTION_TRAFFIC_SHIFT":
		if now.Before(sd.stageUntil) {
			return
		}
		switch sd.strategy {
		case strategyLinear:
			pct, bake := c.linearStep()
			sd.weight, sd.stageUntil = math.Min(sd.weight+pct, 100), now.Add(bake)
		default:
			sd.weight = 100
		}
		s.serviceEvent(svc, "(service %s) (deployment %s) shifted %.1f%% of production traffic.", svc.name, p.id, sd.weight)
		s.endShift(svc, p, c, now)
	case "BAKE_TIME":
		if now.Before(sd.stageUntil) {
			return
		}
		sd.stage = "CLEAN_UP"
		var stopped int
		for _, old := range svc.deployments[1:] {
			stopped += old.running
			old.running = 0
		}
		if stopped > 0 {
			s.serviceEvent(svc, "(service %s) has stopped %d running tasks: %s.", svc.name, stopped, taskList(taskIDs(stopped)))
		}
		s.complete(ctx, svc, p)
	}
}

// endShift starts the bake once all production traffic is on green. A
// deployment bake (bakeTimeInMinutes) of zero still takes a tick.
func (s *Service) endShift(svc *service, p *deployment, c depConfig, now time.Time) {
	if p.sd.weight < 100 {
		return
	}
	p.sd.stage = "BAKE_TIME"
	bake := time.Duration(0)
	if c.BakeTimeInMinutes != nil {
		bake = time.Duration(*c.BakeTimeInMinutes) * time.Minute
	}
	p.sd.stageUntil = now.Add(bake)
}
