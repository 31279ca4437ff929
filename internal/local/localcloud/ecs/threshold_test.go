package ecs

import "testing"

func TestCircuitBreakerThreshold(t *testing.T) {
	for desired, want := range map[int]int{0: 3, 1: 3, 2: 3, 6: 3, 7: 4, 10: 5, 11: 6, 399: 200, 400: 200, 1000: 200} {
		if got := circuitBreakerThreshold(desired); got != want {
			t.Errorf("threshold(%d) = %d, want %d", desired, got, want)
		}
	}
}
