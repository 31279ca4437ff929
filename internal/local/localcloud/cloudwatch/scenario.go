package cloudwatch

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/pushdeploy/pushdeploy/internal/app/clock"
)

// Scenario drives an alarm on the cloud's clock, as a fault to inject: the
// local cloud evaluates no metrics, so this is how an alarm fires.
type Scenario struct {
	Alarm  string        `json:"alarm"`
	Region string        `json:"region,omitempty"` // default: see SetDefaultRegion
	State  string        `json:"state"`            // OK, ALARM or INSUFFICIENT_DATA
	After  time.Duration `json:"after"`            // from when the scenario is applied
	// For, if set, returns the alarm to OK after this long: an alarm
	// window. Zero leaves the alarm in State.
	For    time.Duration `json:"for,omitempty"`
	Reason string        `json:"reason,omitempty"`
}

// ErrNoAlarm is a scenario for an alarm that does not exist.
var ErrNoAlarm = errors.New("no such alarm")

// Apply schedules sc on the clock. The alarm must exist now; if it is
// deleted before the scenario fires, the scenario does nothing. Stop on the
// returned timer cancels what has not fired yet.
func (s *Service) Apply(ctx context.Context, sc Scenario) (clock.Timer, error) {
	if !validState(sc.State) {
		return nil, fmt.Errorf("alarm scenario: invalid state %q", sc.State)
	}
	if sc.After < 0 || sc.For < 0 {
		return nil, fmt.Errorf("alarm scenario: negative duration")
	}
	region := sc.Region
	if region == "" {
		region = s.regions.Default()
	}
	s.mu.Lock()
	_, ok := s.alarms[alarmKey{region, sc.Alarm}]
	s.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("alarm scenario: %w: %q in %s", ErrNoAlarm, sc.Alarm, region)
	}
	reason := sc.Reason
	if reason == "" {
		reason = fmt.Sprintf("Scenario: set to %s by the local cloud's fault injection", sc.State)
	}
	// Both ends are scheduled now so that the window's length is exact
	// whenever the first callback gets to run.
	timers := multiTimer{s.clk.AfterFunc(sc.After, func() { s.scenarioSet(region, sc.Alarm, sc.State, reason) })}
	if sc.For > 0 {
		timers = append(timers, s.clk.AfterFunc(sc.After+sc.For, func() {
			s.scenarioSet(region, sc.Alarm, StateOK, "Scenario: alarm window ended")
		}))
	}
	return timers, nil
}

// multiTimer stops all of a scenario's timers.
type multiTimer []clock.Timer

func (m multiTimer) C() <-chan time.Time { return nil }

func (m multiTimer) Stop() bool {
	stopped := false
	for _, t := range m {
		stopped = t.Stop() || stopped
	}
	return stopped
}

// SetStateAt sets alarm name (default region) to state at time at of the
// cloud's clock (at once if at has passed).
func (s *Service) SetStateAt(ctx context.Context, name, state string, at time.Time) (clock.Timer, error) {
	return s.Apply(ctx, Scenario{Alarm: name, State: state, After: max(at.Sub(s.clk.Now()), 0)})
}

// AlarmWindow puts alarm name (default region) in ALARM from start to end
// of the cloud's clock, then back to OK.
func (s *Service) AlarmWindow(ctx context.Context, name string, start, end time.Time) (clock.Timer, error) {
	if !end.After(start) {
		return nil, fmt.Errorf("alarm window: end %s is not after start %s", end, start)
	}
	return s.Apply(ctx, Scenario{Alarm: name, State: StateAlarm, After: max(start.Sub(s.clk.Now()), 0), For: end.Sub(start)})
}

func (s *Service) scenarioSet(region, name, state, reason string) {
	s.mu.Lock()
	a, ok := s.alarms[alarmKey{region, name}]
	if !ok {
		s.mu.Unlock()
		return
	}
	evs := s.moveState(a, state, reason, "")
	s.mu.Unlock()
	for _, ev := range evs {
		s.pub.Publish(context.Background(), ev)
	}
}
