package clock

import (
	"context"
	"time"
)

// Scaled is real time sped up by a factor, for interactive local runs where a
// person watches a ten-minute rollout pass in a minute.
type Scaled struct {
	start  time.Time // virtual and real origin
	factor float64
}

var _ Clock = (*Scaled)(nil)

// NewScaled returns a clock that runs factor times faster than real time.
func NewScaled(factor float64) *Scaled {
	if factor <= 0 {
		factor = 1
	}
	return &Scaled{start: time.Now(), factor: factor}
}

func (s *Scaled) Now() time.Time {
	return s.start.Add(time.Duration(float64(time.Since(s.start)) * s.factor))
}

func (s *Scaled) real(d time.Duration) time.Duration {
	return time.Duration(float64(d) / s.factor)
}

func (s *Scaled) NewTimer(d time.Duration) Timer {
	t := &scaledTimer{ch: make(chan time.Time, 1)}
	t.t = time.AfterFunc(s.real(d), func() { t.ch <- s.Now() })
	return t
}

func (s *Scaled) AfterFunc(d time.Duration, f func()) Timer {
	return realTimer{t: time.AfterFunc(s.real(d), f)}
}

func (s *Scaled) Sleep(ctx context.Context, d time.Duration) error {
	return Real{}.Sleep(ctx, s.real(d))
}

func (s *Scaled) Busy() func() { return func() {} }

type scaledTimer struct {
	t  *time.Timer
	ch chan time.Time
}

func (t *scaledTimer) C() <-chan time.Time { return t.ch }
func (t *scaledTimer) Stop() bool          { return t.t.Stop() }
