// Package awsconfig builds the aws.Config of the functions from Lambda's
// environment (FromLambda) and holds the retryer tuned for ECS throttling
// that every pushdeploy process uses. The CLI's standard chain (shared
// config, SSO, STS...) is package chain: kept out of here, so that no
// function links the config package and its credential providers (their
// package init is a cold start's cost).
package awsconfig

import (
	"math"
	"math/rand/v2"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
)

// Retry holds the retry settings. The zero value means DefaultRetry.
//
// The delay before retry n (n = 1 for the first retry) is full jitter:
// rand[0,1) * min(base * 2^n, MaxBackoff), where base is ThrottleBase for
// throttling errors and Base for other retryable errors.
type Retry struct {
	MaxAttempts  int
	Base         time.Duration
	ThrottleBase time.Duration
	MaxBackoff   time.Duration
}

// DefaultRetry is tuned for ECS, whose control-plane APIs throttle per
// account and region with token buckets that refill in about a second
// (UpdateService and RegisterTaskDefinition have the smallest buckets).
//
// Arithmetic, with 6 attempts (5 retries):
//   - throttling, base 500ms: caps 1s, 2s, 4s, 8s, 10s -> at most 25s of
//     waiting, 12.5s on average, spread over ~25s so a burst of executions
//     hitting the same bucket drains rather than stampedes;
//   - other retryable errors (5xx, connection resets), base 100ms: caps
//     0.2s, 0.4s, 0.8s, 1.6s, 3.2s -> at most 6.2s.
//
// The SDK default (3 attempts, 20s cap, 1s base) gives up after two
// retries, which a deploy fan-out to many services exhausts quickly. Keep
// MaxAttempts*MaxBackoff well under the Lambda timeout: the Step Functions
// Retry on top covers longer throttling.
var DefaultRetry = Retry{MaxAttempts: 6, Base: 100 * time.Millisecond, ThrottleBase: 500 * time.Millisecond, MaxBackoff: 10 * time.Second}

// WorstCaseBackoff is the longest total time the retryer can wait between
// the attempts of one call.
func (r Retry) WorstCaseBackoff(throttled bool) time.Duration {
	r = r.withDefaults()
	base := r.Base
	if throttled {
		base = r.ThrottleBase
	}
	var total time.Duration
	for n := 1; n < r.MaxAttempts; n++ {
		total += cap(base, n, r.MaxBackoff)
	}
	return total
}

func (r Retry) withDefaults() Retry {
	d := DefaultRetry
	if r.MaxAttempts > 0 {
		d.MaxAttempts = r.MaxAttempts
	}
	if r.Base > 0 {
		d.Base = r.Base
	}
	if r.ThrottleBase > 0 {
		d.ThrottleBase = r.ThrottleBase
	}
	if r.MaxBackoff > 0 {
		d.MaxBackoff = r.MaxBackoff
	}
	return d
}

// cap returns min(base*2^n, max) without overflowing.
func cap(base time.Duration, n int, max time.Duration) time.Duration {
	f := float64(base) * math.Pow(2, float64(n))
	if f >= float64(max) {
		return max
	}
	return time.Duration(f)
}

// backoff implements retry.BackoffDelayer with the formula documented on Retry.
type backoff struct {
	r        Retry
	throttle retry.IsErrorThrottle
	rand     func() float64
}

func (b backoff) BackoffDelay(attempt int, err error) (time.Duration, error) {
	base := b.r.Base
	if b.throttle.IsErrorThrottle(err) == aws.TrueTernary {
		base = b.r.ThrottleBase
	}
	return time.Duration(b.rand() * float64(cap(base, attempt, b.r.MaxBackoff))), nil
}

// NewRetryer returns the SDK's standard retryer (its retryable, throttle and
// timeout classification and its client-side retry quota) with the attempts
// and backoff of r.
func NewRetryer(r Retry) aws.Retryer {
	r = r.withDefaults()
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = r.MaxAttempts
		o.MaxBackoff = r.MaxBackoff
		o.Backoff = backoff{r: r, throttle: retry.IsErrorThrottles(o.Throttles), rand: rand.Float64}
	})
}
