package clock

import (
	"container/heap"
	"context"
	"sync"
	"time"
)

// DefaultGrace is how long, in real time, the virtual clock waits with no
// work in progress before it jumps to the next timer. It covers the moment a
// woken goroutine needs to call Busy; it is not a correctness knob.
const DefaultGrace = 2 * time.Millisecond

// Virtual is a clock that moves only when told to (Advance) or, with
// AutoAdvance, whenever nothing is busy: it then jumps straight to the next
// timer. Everything in the local world that waits does so on timers of this
// clock, so a deployment's ten minutes cost no real time.
type Virtual struct {
	mu           sync.Mutex
	cond         *sync.Cond
	now          time.Time
	timers       timerHeap
	seq          uint64
	busy         int
	lastActivity time.Time // real time of the last change that may precede new work
	auto         bool
}

var _ Clock = (*Virtual)(nil)

// NewVirtual returns a virtual clock standing at start.
func NewVirtual(start time.Time) *Virtual {
	v := &Virtual{now: start, lastActivity: time.Now()}
	v.cond = sync.NewCond(&v.mu)
	return v
}

func (v *Virtual) Now() time.Time {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.now
}

func (v *Virtual) NewTimer(d time.Duration) Timer {
	t := &virtualTimer{clock: v, ch: make(chan time.Time, 1)}
	v.add(t, d)
	return t
}

func (v *Virtual) AfterFunc(d time.Duration, f func()) Timer {
	t := &virtualTimer{clock: v, fn: f}
	v.add(t, d)
	return t
}

func (v *Virtual) Sleep(ctx context.Context, d time.Duration) error {
	t := v.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C():
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (v *Virtual) Busy() func() {
	v.mu.Lock()
	v.busy++
	v.touch()
	v.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			v.mu.Lock()
			v.busy--
			v.touch()
			v.mu.Unlock()
		})
	}
}

// Advance moves the clock forward by d, firing every timer that falls due on
// the way, in order.
func (v *Virtual) Advance(d time.Duration) {
	v.mu.Lock()
	defer v.mu.Unlock()
	target := v.now.Add(d)
	for len(v.timers) > 0 && !v.timers[0].when.After(target) {
		v.fireNextLocked()
	}
	v.now = target
}

// Pending reports how many timers are waiting.
func (v *Virtual) Pending() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return len(v.timers)
}

// AutoAdvance starts moving the clock by itself: whenever no work is in
// progress for grace of real time, it jumps to the next timer and fires it.
// The returned func stops it.
func (v *Virtual) AutoAdvance(grace time.Duration) (stop func()) {
	if grace <= 0 {
		grace = DefaultGrace
	}
	v.mu.Lock()
	v.auto = true
	v.mu.Unlock()
	done := make(chan struct{})
	go v.autoLoop(grace, done)
	return func() {
		v.mu.Lock()
		v.auto = false
		v.cond.Broadcast()
		v.mu.Unlock()
		<-done
	}
}

func (v *Virtual) autoLoop(grace time.Duration, done chan struct{}) {
	defer close(done)
	v.mu.Lock()
	defer v.mu.Unlock()
	for v.auto {
		if v.busy > 0 || len(v.timers) == 0 {
			v.cond.Wait()
			continue
		}
		if idle := time.Since(v.lastActivity); idle < grace {
			v.mu.Unlock()
			time.Sleep(grace - idle)
			v.mu.Lock()
			continue
		}
		v.fireNextLocked()
	}
}

// fireNextLocked moves the clock to the earliest timer and fires it.
func (v *Virtual) fireNextLocked() {
	t := heap.Pop(&v.timers).(*virtualTimer)
	t.index = -1
	if t.when.After(v.now) {
		v.now = t.when
	}
	v.touch()
	if t.fn != nil {
		v.busy++
		go func() {
			defer func() {
				v.mu.Lock()
				v.busy--
				v.touch()
				v.mu.Unlock()
			}()
			t.fn()
		}()
		return
	}
	select {
	case t.ch <- v.now:
	default:
	}
}

func (v *Virtual) add(t *virtualTimer, d time.Duration) {
	if d < 0 {
		d = 0
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	v.seq++
	t.when = v.now.Add(d)
	t.seq = v.seq
	heap.Push(&v.timers, t)
	v.touch()
}

func (v *Virtual) stop(t *virtualTimer) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	if t.index < 0 {
		return false
	}
	heap.Remove(&v.timers, t.index)
	t.index = -1
	v.touch()
	return true
}

func (v *Virtual) touch() {
	v.lastActivity = time.Now()
	v.cond.Broadcast()
}

type virtualTimer struct {
	clock *Virtual
	when  time.Time
	seq   uint64
	index int
	ch    chan time.Time
	fn    func()
}

func (t *virtualTimer) C() <-chan time.Time { return t.ch }
func (t *virtualTimer) Stop() bool          { return t.clock.stop(t) }

// timerHeap orders timers by due time, then by creation so that timers due
// at the same instant fire in the order they were set.
type timerHeap []*virtualTimer

func (h timerHeap) Len() int { return len(h) }
func (h timerHeap) Less(i, j int) bool {
	if h[i].when.Equal(h[j].when) {
		return h[i].seq < h[j].seq
	}
	return h[i].when.Before(h[j].when)
}
func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}
func (h *timerHeap) Push(x any) {
	t := x.(*virtualTimer)
	t.index = len(*h)
	*h = append(*h, t)
}
func (h *timerHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return t
}

// Run moves the clock forward by d as AutoAdvance would, but no further: it
// fires the timers due on the way one at a time, each once no work has been
// in progress for grace of real time (DefaultGrace when zero), so that the
// work a timer wakes can schedule the next timers before the clock passes
// them. It then stands at now+d and waits for the work in progress to end.
// It returns the new time, or ctx's error with the clock wherever it got to.
// Do not mix it with AutoAdvance.
func (v *Virtual) Run(ctx context.Context, d time.Duration, grace time.Duration) (time.Time, error) {
	if grace <= 0 {
		grace = DefaultGrace
	}
	v.mu.Lock()
	target := v.now.Add(d)
	v.mu.Unlock()
	for {
		if err := v.settle(ctx, grace); err != nil {
			return v.Now(), err
		}
		v.mu.Lock()
		if len(v.timers) == 0 || v.timers[0].when.After(target) {
			if v.now.Before(target) {
				v.now = target
				v.touch()
			}
			v.mu.Unlock()
			return target, v.settle(ctx, grace)
		}
		v.fireNextLocked()
		v.mu.Unlock()
	}
}

// settle waits until no work has been in progress for grace of real time.
func (v *Virtual) settle(ctx context.Context, grace time.Duration) error {
	for {
		v.mu.Lock()
		busy, idle := v.busy, time.Since(v.lastActivity)
		v.mu.Unlock()
		if busy == 0 && idle >= grace {
			return nil
		}
		wait := grace - idle
		if busy > 0 || wait <= 0 {
			wait = time.Millisecond
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
}
