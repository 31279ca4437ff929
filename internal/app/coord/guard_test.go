package coord

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
)

// oldRetryer is an aws.Retryer without GetAttemptToken (not a RetryerV2).
type oldRetryer struct{ aws.Retryer }

// TestGuardAttemptsAlwaysChecks: the attempt guard is the guarded update's
// only lease check (Intend), so it runs whatever retryer the client has:
// one it can wrap keeps its retries, any other gives a single attempt.
func TestGuardAttemptsAlwaysChecks(t *testing.T) {
	lost := errors.New("lease lost")
	for _, tc := range []struct {
		name    string
		retryer aws.Retryer
		single  bool
	}{
		{"standard retryer", retry.NewStandard(), false},
		{"no retryer", nil, true},
		{"retryer without attempt tokens", oldRetryer{retry.NewStandard()}, true},
	} {
		o := ecs.Options{Retryer: tc.retryer}
		guardAttempts(func(context.Context) error { return lost })(&o)
		r, ok := o.Retryer.(aws.RetryerV2)
		if !ok {
			t.Fatalf("%s: retryer %T is not guarded", tc.name, o.Retryer)
		}
		if _, err := r.GetAttemptToken(context.Background()); !errors.Is(err, lost) {
			t.Errorf("%s: attempt token %v, want the guard's error", tc.name, err)
		}
		if tc.single && o.RetryMaxAttempts != 1 {
			t.Errorf("%s: RetryMaxAttempts %d, want a single attempt", tc.name, o.RetryMaxAttempts)
		}
	}
}
