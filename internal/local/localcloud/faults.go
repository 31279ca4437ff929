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
	cancels   []*cancel
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

// Cancel makes calls to DynamoDB's TransactWriteItems fail as a
// transaction that DynamoDB cancelled for a reason other than a condition:
// TransactionCanceledException whose every cancellation reason is Code
// ("TransactionConflict": another request was writing one of its items;
// "ThrottlingError": an item's partition was throttled). Nothing is
// written. Limit stops it after that many cancelled calls; 0 is no limit.
type Cancel struct {
	Code  string
	Limit int
}

type cancel struct {
	Cancel
	thrown int
}

// AddCancel injects cancelled transactions.
func (f *Faults) AddCancel(c Cancel) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cancels = append(f.cancels, &cancel{Cancel: c})
}

// cancelled returns the reason code this transaction is cancelled with, or "".
func (f *Faults) cancelled(service, op string) string {
	if service != "dynamodb" || op != "TransactWriteItems" {
		return ""
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.cancels {
		if c.Limit > 0 && c.thrown >= c.Limit {
			continue
		}
		c.thrown++
		return c.Code
	}
	return ""
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
	f.throttles, f.latencies, f.cancels = nil, nil, nil
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
