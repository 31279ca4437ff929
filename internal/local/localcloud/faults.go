package localcloud

import (
	"sync"
	"time"
)

// Faults holds the API-level faults injected into the local cloud. Faults
// that belong to one service (tasks that crash, alarms that fire) live with
// that service.
type Faults struct {
	mu        sync.Mutex
	throttles []*throttle
	latencies []Latency
}

// Throttle makes a share of the calls to service:operation fail with
// ThrottlingException. Rate is the share, from 0 to 1, spread evenly and
// deterministically: 0.5 throttles every second call, 1 every call. An empty
// operation matches every operation of the service.
type Throttle struct {
	Service   string
	Operation string
	Rate      float64
	// Limit stops throttling after this many throttled calls; 0 is no limit.
	Limit int
}

// Latency delays every call to service:operation by Delay of the cloud's
// clock before it is served.
type Latency struct {
	Service   string
	Operation string
	Delay     time.Duration
}

type throttle struct {
	Throttle
	seen, thrown int
}

// AddThrottle injects a throttling fault.
func (f *Faults) AddThrottle(t Throttle) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.throttles = append(f.throttles, &throttle{Throttle: t})
}

// AddLatency injects added latency.
func (f *Faults) AddLatency(l Latency) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.latencies = append(f.latencies, l)
}

// Clear removes every API-level fault.
func (f *Faults) Clear() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.throttles, f.latencies = nil, nil
}

func matches(service, operation, s, op string) bool {
	return service == s && (operation == "" || operation == op)
}

// throttled reports whether this call is to be throttled.
func (f *Faults) throttled(service, op string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, t := range f.throttles {
		if !matches(t.Service, t.Operation, service, op) || (t.Limit > 0 && t.thrown >= t.Limit) {
			continue
		}
		t.seen++
		// Throttle when the running quota seen*rate passes a whole number:
		// an even, repeatable spread.
		if int(float64(t.seen)*t.Rate) > int(float64(t.seen-1)*t.Rate) {
			t.thrown++
			return true
		}
	}
	return false
}

func (f *Faults) latency(service, op string) time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	var d time.Duration
	for _, l := range f.latencies {
		if matches(l.Service, l.Operation, service, op) {
			d += l.Delay
		}
	}
	return d
}
