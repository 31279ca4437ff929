package clock

import (
	"context"
	"sync"
	"testing"
	"time"
)

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func TestAdvanceFiresTimersInOrder(t *testing.T) {
	v := NewVirtual(epoch)
	var mu sync.Mutex
	var got []int
	var wg sync.WaitGroup
	for _, n := range []int{3, 1, 2} {
		wg.Add(1)
		v.AfterFunc(time.Duration(n)*time.Minute, func() {
			defer wg.Done()
			mu.Lock()
			got = append(got, n)
			mu.Unlock()
		})
	}
	timer := v.NewTimer(90 * time.Second)
	v.Advance(2 * time.Minute)
	if now := v.Now(); !now.Equal(epoch.Add(2 * time.Minute)) {
		t.Fatalf("now = %v, want +2m", now)
	}
	select {
	case at := <-timer.C():
		if !at.Equal(epoch.Add(90 * time.Second)) {
			t.Fatalf("timer fired at %v, want +90s", at)
		}
	default:
		t.Fatal("timer due at +90s did not fire")
	}
	if v.Pending() != 1 {
		t.Fatalf("pending = %d, want 1", v.Pending())
	}
	v.Advance(time.Minute)
	wg.Wait()
	if len(got) != 3 {
		t.Fatalf("fired %v, want three", got)
	}
}

func TestStopPreventsFiring(t *testing.T) {
	v := NewVirtual(epoch)
	fired := make(chan struct{}, 1)
	tm := v.AfterFunc(time.Second, func() { fired <- struct{}{} })
	if !tm.Stop() {
		t.Fatal("Stop of a pending timer reported false")
	}
	if tm.Stop() {
		t.Fatal("second Stop reported true")
	}
	v.Advance(time.Hour)
	select {
	case <-fired:
		t.Fatal("stopped timer fired")
	default:
	}
}

func TestAutoAdvanceRunsLongSleepsInstantly(t *testing.T) {
	v := NewVirtual(epoch)
	stop := v.AutoAdvance(0)
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := v.Sleep(ctx, 10*time.Minute); err != nil {
		t.Fatalf("sleep: %v", err)
	}
	if got := v.Now().Sub(epoch); got != 10*time.Minute {
		t.Fatalf("virtual time passed = %v, want 10m", got)
	}
}

func TestAutoAdvanceWaitsWhileBusy(t *testing.T) {
	v := NewVirtual(epoch)
	done := v.Busy()
	woke := make(chan time.Time, 1)
	v.AfterFunc(time.Minute, func() { woke <- v.Now() })
	stop := v.AutoAdvance(time.Millisecond)
	defer stop()
	// Give the loop many chances to move; it must not while work is in progress.
	for i := 0; i < 20; i++ {
		time.Sleep(time.Millisecond)
		if !v.Now().Equal(epoch) {
			t.Fatalf("clock moved to %v while busy", v.Now())
		}
	}
	done()
	select {
	case at := <-woke:
		if !at.Equal(epoch.Add(time.Minute)) {
			t.Fatalf("woke at %v, want +1m", at)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("clock never advanced after work finished")
	}
}

func TestSleepReturnsOnCancel(t *testing.T) {
	v := NewVirtual(epoch)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := v.Sleep(ctx, time.Hour); err == nil {
		t.Fatal("sleep on a cancelled context returned nil")
	}
	if v.Pending() != 0 {
		t.Fatalf("cancelled sleep left %d timers", v.Pending())
	}
}

// A ticker that reschedules itself from its own callback moves on every
// tick that falls within the run, and none after it.
func TestRunFiresRescheduledTimersUpToTarget(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	v := NewVirtual(start)
	var mu sync.Mutex
	ticks := 0
	var tick func()
	tick = func() {
		mu.Lock()
		ticks++
		mu.Unlock()
		v.AfterFunc(15*time.Second, tick)
	}
	v.AfterFunc(15*time.Second, tick)
	now, err := v.Run(context.Background(), 10*time.Minute, 0)
	if err != nil || !now.Equal(start.Add(10*time.Minute)) || !v.Now().Equal(now) {
		t.Fatalf("Run = %v, %v; clock at %v", now, err, v.Now())
	}
	mu.Lock()
	defer mu.Unlock()
	if ticks != 40 {
		t.Errorf("%d ticks in 10 minutes of 15s ticks, want 40", ticks)
	}
}

func TestRunStopsOnCancel(t *testing.T) {
	v := NewVirtual(time.Unix(0, 0))
	done := v.Busy() // work that never ends
	defer done()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := v.Run(ctx, time.Minute, 0); err == nil {
		t.Error("Run returned with work in progress")
	}
}
