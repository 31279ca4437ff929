package states

import (
	"fmt"
	"math"
	mrand "math/rand/v2"
	"time"
)

// retrier is one entry of a state's Retry field.
type retrier struct {
	errorEquals []string
	interval    time.Duration
	maxAttempts int64
	backoff     float64
	maxDelay    time.Duration // 0: no cap
	fullJitter  bool
}

// catcher is one entry of a state's Catch field.
type catcher struct {
	errorEquals []string
	next        string
	resultPath  *resultPath
}

// matches reports whether a retrier or catcher's ErrorEquals covers name.
// States.ALL covers every error except the terminal States.Runtime and
// States.DataLimitExceeded, which only an explicit name matches.
func matchesError(errorEquals []string, name string) bool {
	for _, e := range errorEquals {
		if e == name {
			return true
		}
		if e == ErrALL && name != ErrRuntime && name != ErrDataLimitExceeded {
			return true
		}
		if e == ErrTaskFailed && name != ErrTimeout && name != ErrHeartbeatTimeout && name != ErrRuntime && name != ErrDataLimitExceeded {
			// AWS: in Retry and Catch, States.TaskFailed is a wildcard for
			// every error except States.Timeout.
			return true
		}
		if e == ErrTimeout && name == ErrHeartbeatTimeout {
			// The spec: States.Timeout is also reported for a missed heartbeat.
			return true
		}
	}
	return false
}

// delay is the wait before retry number attempt (1-based):
// IntervalSeconds * BackoffRate^(attempt-1), capped by MaxDelaySeconds, then
// with FULL jitter a uniform draw in [0, delay].
func (r *retrier) delay(attempt int64, rnd *mrand.Rand) time.Duration {
	d := float64(r.interval) * math.Pow(r.backoff, float64(attempt-1))
	if r.maxDelay > 0 && d > float64(r.maxDelay) {
		d = float64(r.maxDelay)
	}
	if d > float64(math.MaxInt64/2) {
		d = float64(math.MaxInt64 / 2)
	}
	if r.fullJitter {
		d = rnd.Float64() * d
	}
	return time.Duration(d)
}

func (c *checker) errorEquals(obj map[string]any, where string) []string {
	v, ok := obj["ErrorEquals"]
	if !ok {
		c.addf("%s: missing required field ErrorEquals", where)
		return nil
	}
	arr, ok := v.([]any)
	if !ok || len(arr) == 0 {
		c.addf("%s: ErrorEquals must be a non-empty array of strings", where)
		return nil
	}
	var out []string
	for _, x := range arr {
		s, ok := x.(string)
		if !ok {
			c.addf("%s: ErrorEquals must contain only strings", where)
			continue
		}
		out = append(out, s)
	}
	for _, s := range out {
		if s == ErrALL && len(out) > 1 {
			c.addf("%s: States.ALL must appear alone in ErrorEquals", where)
		}
	}
	return out
}

// checkALLLast enforces that a States.ALL entry comes last.
func (c *checker) checkALLLast(lists [][]string, where, field string) {
	for i, l := range lists {
		for _, s := range l {
			if s == ErrALL && i != len(lists)-1 {
				c.addf("%s: the %s entry with States.ALL must be the last one", where, field)
			}
		}
	}
}

func (c *checker) retriers(obj map[string]any, where string) []*retrier {
	v, ok := obj["Retry"]
	if !ok {
		return nil
	}
	arr, ok := v.([]any)
	if !ok {
		c.addf("%s: Retry must be an array", where)
		return nil
	}
	var out []*retrier
	var lists [][]string
	for i, x := range arr {
		rw := fmt.Sprintf("%s Retry[%d]", where, i)
		ro, ok := x.(map[string]any)
		if !ok {
			c.addf("%s: must be an object", rw)
			continue
		}
		c.fields(ro, rw, "ErrorEquals", "IntervalSeconds", "MaxAttempts", "BackoffRate", "MaxDelaySeconds", "JitterStrategy", "Comment")
		r := &retrier{interval: time.Second, maxAttempts: 3, backoff: 2.0}
		r.errorEquals = c.errorEquals(ro, rw)
		lists = append(lists, r.errorEquals)
		if _, ok := ro["IntervalSeconds"]; ok {
			r.interval = time.Duration(c.positiveInt(ro, "IntervalSeconds", rw)) * time.Second
		}
		if _, ok := ro["MaxAttempts"]; ok {
			r.maxAttempts = c.integer(ro, "MaxAttempts", rw, 0)
		}
		if bv, ok := ro["BackoffRate"]; ok {
			br, ok := toRat(bv)
			if !ok {
				c.addf("%s: BackoffRate must be a number", rw)
			} else {
				r.backoff, _ = br.Float64()
				if r.backoff < 1 {
					c.addf("%s: BackoffRate must be at least 1.0", rw)
				}
			}
		}
		if _, ok := ro["MaxDelaySeconds"]; ok {
			r.maxDelay = time.Duration(c.positiveInt(ro, "MaxDelaySeconds", rw)) * time.Second
		}
		if jv, ok := ro["JitterStrategy"]; ok {
			switch jv {
			case "FULL":
				r.fullJitter = true
			case "NONE":
			default:
				c.addf("%s: JitterStrategy must be FULL or NONE, not %s", rw, mustJSON(jv))
			}
		}
		out = append(out, r)
	}
	c.checkALLLast(lists, where, "Retry")
	return out
}

func (c *checker) catchers(obj map[string]any, where string) []*catcher {
	v, ok := obj["Catch"]
	if !ok {
		return nil
	}
	arr, ok := v.([]any)
	if !ok {
		c.addf("%s: Catch must be an array", where)
		return nil
	}
	var out []*catcher
	var lists [][]string
	for i, x := range arr {
		cw := fmt.Sprintf("%s Catch[%d]", where, i)
		co, ok := x.(map[string]any)
		if !ok {
			c.addf("%s: must be an object", cw)
			continue
		}
		c.fields(co, cw, "ErrorEquals", "Next", "ResultPath", "Comment")
		k := &catcher{}
		k.errorEquals = c.errorEquals(co, cw)
		lists = append(lists, k.errorEquals)
		k.next = c.reqString(co, "Next", cw)
		k.resultPath = c.resultPathField(co, cw)
		out = append(out, k)
	}
	c.checkALLLast(lists, where, "Catch")
	return out
}
