package e2e

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/pushdeploy/pushdeploy/internal/app/history"
	"github.com/pushdeploy/pushdeploy/internal/local/localcloud"
	"github.com/pushdeploy/pushdeploy/internal/local/localrun"
)

// fanout is what one push to n services cost in realism mode.
type fanout struct {
	n          int
	wall       time.Duration // real time from the push to every execution ended
	virtual    time.Duration // the same on the virtual clock
	calls      int           // AWS calls of pushdeploy (the push and the harness's polls left out)
	throttled  int           // of which answered with a throttling error
	peakUpdate int           // most UpdateService calls served in one second of the virtual clock
	outcomes   map[string]int
	byOp       map[string]int // calls by service:operation
	throttleOp map[string]int // throttled calls by service:operation
	failures   []string       // executions not SUCCEEDED, with why
}

// runFanout creates n services following web:latest in one cluster, turns
// on the realism mode (AWS's documented throttling) and pushes web:latest
// once. The harness's own calls (seeding, polling) are observers: they
// take no token.
func runFanout(tb testing.TB, n int, timeout time.Duration) fanout {
	tb.Helper()
	w := startWorld(tb, nil, timeout)
	repo, err := w.CreateRepository(w.ctx, "web")
	if err != nil {
		tb.Fatal(err)
	}
	w.repo = repo
	base := w.push("base", "web v0 fleet")
	arns := make([]string, n)
	for i := range n {
		name := fmt.Sprintf("svc-%03d", i)
		arns[i], err = w.CreateService(w.ctx, localrun.ServiceSpec{Cluster: "fleet", Name: name, Family: name,
			Containers: []localrun.Container{{Name: "app", Image: repo + "@" + base}},
			Tags:       map[string]string{"pushdeploy:repository": "web", "pushdeploy:tags": "latest", "pushdeploy:bake": "5m", "pushdeploy:timeout": "20m"}})
		if err != nil {
			tb.Fatal(err)
		}
	}
	realism := localcloud.DocumentedRealism()
	realism.Observers = []string{localrun.HarnessAccessKey}
	w.Cloud.Server.SetRealism(realism)
	w.Cloud.Log().Reset()
	start, startVirtual := time.Now(), w.clock.Now()
	digest := w.push("latest", "web v1 fleet")
	execs := w.waitFanout(n)
	f := fanout{n: n, wall: time.Since(start), virtual: w.clock.Now().Sub(startVirtual), outcomes: map[string]int{}, byOp: map[string]int{}, throttleOp: map[string]int{}}
	f.count(w.Cloud.Log().Calls())
	for _, e := range execs {
		if e.Status != sfntypes.ExecutionStatusSucceeded {
			_, out, _ := w.Output(w.ctx, aws.ToString(e.ExecutionArn))
			f.failures = append(f.failures, fmt.Sprintf("%s %s: %s %s", aws.ToString(e.Name), e.Status, aws.ToString(out.Error), aws.ToString(out.Cause)))
		}
	}
	for _, arn := range arns {
		recs := w.records(arn)
		if len(recs) != 1 {
			f.failures = append(f.failures, fmt.Sprintf("%s: %d records, want 1", arn, len(recs)))
			continue
		}
		f.outcomes[string(recs[0].Outcome)]++
		if recs[0].Outcome != history.Succeeded {
			f.failures = append(f.failures, fmt.Sprintf("%s: %s (%s)", arn, recs[0].Outcome, recs[0].Reason))
		}
	}
	for i := range n {
		if _, images := w.running("fleet", fmt.Sprintf("svc-%03d", i)); !strings.HasSuffix(images["app"], "@"+digest) {
			f.failures = append(f.failures, fmt.Sprintf("svc-%03d runs %s, want the pushed %s", i, images["app"], digest))
		}
	}
	return f
}

// count reads the call log: pushdeploy's calls, the throttled ones and
// the peak of UpdateService per virtual second.
func (f *fanout) count(calls []localcloud.Call) {
	perSecond := map[int64]int{}
	for _, c := range calls {
		switch {
		case c.Service == "sfn" && c.Operation == "ListExecutions", // the harness waiting
			c.Service == "ecr" && c.Operation == "PutImage": // the push
			continue
		}
		f.calls++
		f.byOp[c.Service+":"+c.Operation]++
		if c.Error == "ThrottlingException" || c.Error == "ThrottledException" {
			f.throttled++
			f.throttleOp[c.Service+":"+c.Operation]++
			continue
		}
		if c.Service == "ecs" && c.Operation == "UpdateService" && c.Error == "" {
			perSecond[c.Time.Unix()]++
		}
	}
	for _, n := range perSecond {
		f.peakUpdate = max(f.peakUpdate, n)
	}
}

// waitFanout waits until n executions exist and none runs, polling less
// often than wait: a list of hundreds of executions is pages of calls.
func (w *world) waitFanout(n int) []sfntypes.ExecutionListItem {
	w.t.Helper()
	for {
		execs, err := w.Executions(w.ctx)
		if err != nil {
			w.t.Fatal(err)
		}
		running := 0
		for _, e := range execs {
			if e.Status == sfntypes.ExecutionStatusRunning {
				running++
			}
		}
		if len(execs) >= n && running == 0 {
			return execs
		}
		select {
		case <-w.ctx.Done():
			w.t.Fatalf("waiting for %d executions: %d, %d running: %v", n, len(execs), running, w.ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// TestFanOutRealism: one push followed by 30 services, with AWS's
// documented throttling enforced (ECS's Task definition modify bucket is
// 20 and 1 per second, so most Register calls are throttled at first):
// every execution SUCCEEDED, each service deployed the pushed image, none
// failed or was rolled back for throttling. Outcomes, not times.
func TestFanOutRealism(t *testing.T) {
	n := 30
	if s := os.Getenv("FANOUT_N"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	f := runFanout(t, n, 5*time.Minute)
	t.Logf("N=%d: %s real, %s virtual, %d calls (%d throttled), peak %d UpdateService/s, outcomes %v",
		f.n, f.wall.Round(time.Millisecond), f.virtual.Round(time.Second), f.calls, f.throttled, f.peakUpdate, f.outcomes)
	t.Logf("calls by operation: %v", f.byOp)
	if len(f.failures) > 0 {
		sort.Strings(f.failures)
		t.Fatalf("%d failures:\n%s", len(f.failures), strings.Join(f.failures, "\n"))
	}
	if f.outcomes[string(history.Succeeded)] != n {
		t.Fatalf("outcomes %v, want %d SUCCEEDED", f.outcomes, n)
	}
	if f.throttled == 0 {
		t.Fatalf("no call was throttled: the scenario does not exercise the buckets")
	}
}
