// Package clock gives every part of pushdeploy's local world one notion of
// time. Production code uses Real; the local cloud, the Step Functions engine
// and the tests use Virtual, on which a ten-minute rollout passes in
// milliseconds.
package clock

import (
	"context"
	"time"
)

// Clock is the time source. Code that waits must wait through it, never
// through the time package, so that a virtual clock can move time forward.
type Clock interface {
	Now() time.Time
	// NewTimer returns a timer whose channel receives the clock's time once d
	// has passed on this clock.
	NewTimer(d time.Duration) Timer
	// AfterFunc calls f in its own goroutine once d has passed on this clock.
	// A virtual clock counts f as work in progress until it returns.
	AfterFunc(d time.Duration, f func()) Timer
	// Sleep waits for d on this clock, or until ctx is done.
	Sleep(ctx context.Context, d time.Duration) error
	// Busy marks work in progress until the returned func is called: a virtual
	// clock does not move time forward while any work is in progress. Never
	// hold it across a wait on this clock, or time stops for good.
	Busy() (done func())
}

// Timer is a pending wake-up on a Clock.
type Timer interface {
	// C is nil for timers made by AfterFunc.
	C() <-chan time.Time
	// Stop reports whether it stopped the timer before it fired.
	Stop() bool
}

// Real is the wall clock.
type Real struct{}

var _ Clock = Real{}

func (Real) Now() time.Time { return time.Now() }

func (Real) NewTimer(d time.Duration) Timer { return realTimer{t: time.NewTimer(d)} }

func (Real) AfterFunc(d time.Duration, f func()) Timer {
	return realTimer{t: time.AfterFunc(d, f)}
}

func (Real) Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (Real) Busy() func() { return func() {} }

type realTimer struct{ t *time.Timer }

func (r realTimer) C() <-chan time.Time { return r.t.C }
func (r realTimer) Stop() bool          { return r.t.Stop() }
