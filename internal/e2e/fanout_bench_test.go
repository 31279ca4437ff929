package e2e

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
	"time"
)

// BenchmarkFanOut measures one push followed by N services in realism
// mode (AWS's documented throttling, localcloud.DocumentedRealism): real
// time until every execution ended, pushdeploy's AWS calls per service,
// the calls throttled, the most UpdateService calls served in one second
// of the virtual clock, and the executions that did not succeed (which
// fail the benchmark: there must be none). make bench-fanout runs it and
// prints a table; make bench skips it (500 services take a minute or two).
func BenchmarkFanOut(b *testing.B) {
	if os.Getenv("PUSHDEPLOY_BENCH_FANOUT") == "" {
		b.Skip("make bench-fanout runs it (PUSHDEPLOY_BENCH_FANOUT=1)")
	}
	var rows []fanout
	for _, n := range []int{1, 10, 100, 500} {
		b.Run(fmt.Sprintf("services=%d", n), func(b *testing.B) {
			var f fanout
			for range b.N {
				f = runFanout(b, n, 15*time.Minute)
			}
			b.ReportMetric(f.wall.Seconds(), "wall-s")
			b.ReportMetric(f.virtual.Minutes(), "virtual-min")
			b.ReportMetric(float64(f.calls)/float64(n), "calls/service")
			b.ReportMetric(float64(f.throttled), "throttled")
			b.ReportMetric(float64(f.peakUpdate), "peak-UpdateService/s")
			b.ReportMetric(float64(len(f.failures)), "failures")
			if len(f.failures) > 0 {
				b.Errorf("%d failures: %s", len(f.failures), strings.Join(f.failures[:min(10, len(f.failures))], "; "))
			}
			rows = append(rows, f)
		})
	}
	fmt.Println()
	fmt.Println("| services | wall time to all terminal | virtual time | calls per service | throttled calls | peak UpdateService/s (virtual) | outcomes | failures |")
	fmt.Println("|---|---|---|---|---|---|---|---|")
	for _, f := range rows {
		fmt.Printf("| %d | %s | %s | %.1f | %d | %d | %s | %d |\n", f.n, f.wall.Round(10*time.Millisecond), f.virtual.Round(time.Second),
			float64(f.calls)/float64(f.n), f.throttled, f.peakUpdate, outcomes(f.outcomes), len(f.failures))
	}
	if len(rows) == 0 {
		return
	}
	last := rows[len(rows)-1]
	ops := make([]string, 0, len(last.throttleOp))
	for op := range last.throttleOp {
		ops = append(ops, op)
	}
	sort.Slice(ops, func(i, j int) bool { return last.throttleOp[ops[i]] > last.throttleOp[ops[j]] })
	fmt.Printf("\nthrottled calls by operation at %d services (of all its calls):\n", last.n)
	for _, op := range ops {
		fmt.Printf("  %-36s %6d of %6d\n", op, last.throttleOp[op], last.byOp[op])
	}
}

func outcomes(m map[string]int) string {
	var parts []string
	for _, o := range []string{"SUCCEEDED", "ROLLED_BACK", "FAILED", "SUPERSEDED", "SKIPPED"} {
		if m[o] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", m[o], o))
		}
	}
	return strings.Join(parts, ", ")
}
