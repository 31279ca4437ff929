package e2e

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
)

// deployCost is what one deploy cost, from the local cloud's call log
// (each call knows the function that made it) and the execution's history.
type deployCost struct {
	// Calls made by pushdeploy's functions (dispatch and events included),
	// by "function operation" and in all.
	calls   int
	byCall  map[string]int
	invokes int // Step Functions' Lambda invokes (lambda:Invoke from the state machine)
	// Invocations of every function, however they came (EventBridge, Step
	// Functions); states entered by the execution, of every type.
	invocations, states int
}

func (c *deployCost) add(o deployCost) {
	if c.byCall == nil {
		c.byCall = map[string]int{}
	}
	c.calls += o.calls
	c.invokes += o.invokes
	c.invocations += o.invocations
	c.states += o.states
	for k, v := range o.byCall {
		c.byCall[k] += v
	}
}

// BenchmarkDeployCost compares what one deploy costs with pushdeploy and
// with the usual approach (UpdateService, then the services-stable waiter
// polling DescribeServices every 15 seconds), for rollouts of 2, 10 and 30
// minutes (5-minute bake) on the virtual clock, and prints, per deploy,
// pushdeploy's calls by function and operation beside the waiter's calls in
// the same run. pushdeploy's figures must not grow with the rollout's
// length; the waiter's grow linearly.
func BenchmarkDeployCost(b *testing.B) {
	rollouts := []time.Duration{2 * time.Minute, 10 * time.Minute, 30 * time.Minute}
	costs := map[time.Duration]deployCost{}
	waiter := map[time.Duration]float64{}
	for _, rollout := range rollouts {
		b.Run(fmt.Sprintf("pushdeploy/rollout=%s", rollout), func(b *testing.B) {
			var sum deployCost
			for i := 0; i < b.N; i++ {
				sum.add(pushdeployDeploy(b, rollout))
			}
			n := float64(b.N)
			b.ReportMetric(float64(sum.calls)/n, "fn-calls/deploy")
			b.ReportMetric(float64(sum.calls+sum.invokes)/n, "api-calls/deploy")
			b.ReportMetric(float64(sum.invocations)/n, "lambda-invocations/deploy")
			b.ReportMetric(float64(sum.states)/n, "states/deploy")
			sum.calls, sum.invokes, sum.invocations, sum.states = sum.calls/b.N, sum.invokes/b.N, sum.invocations/b.N, sum.states/b.N
			for k, v := range sum.byCall {
				sum.byCall[k] = v / b.N
			}
			costs[rollout] = sum
		})
		b.Run(fmt.Sprintf("waiter/rollout=%s", rollout), func(b *testing.B) {
			var calls int
			for i := 0; i < b.N; i++ {
				calls += waiterDeploy(b, rollout)
			}
			waiter[rollout] = float64(calls) / float64(b.N)
			b.ReportMetric(waiter[rollout], "api-calls/deploy")
		})
	}
	if len(costs) == len(rollouts) {
		printCost(rollouts, costs, waiter)
	}
}

// printCost prints the per-deploy table: one row per function and
// operation, a column per rollout, the totals and the waiter's calls last.
func printCost(rollouts []time.Duration, costs map[time.Duration]deployCost, waiter map[time.Duration]float64) {
	keys := map[string]bool{}
	for _, c := range costs {
		for k := range c.byCall {
			keys[k] = true
		}
	}
	rows := make([]string, 0, len(keys))
	for k := range keys {
		rows = append(rows, k)
	}
	order := map[string]int{}
	for i, f := range []string{"Dispatch", "Plan", "Register", "Update", "Watch", "Events", "Check", "Finish"} {
		order[f] = i
	}
	sort.Slice(rows, func(i, j int) bool {
		fi, _, _ := strings.Cut(rows[i], " ")
		fj, _, _ := strings.Cut(rows[j], " ")
		if order[fi] != order[fj] {
			return order[fi] < order[fj]
		}
		return rows[i] < rows[j]
	})
	out := os.Stdout
	fmt.Fprintf(out, "\nper deploy (5-minute bake), calls made by the functions:\n%-44s", "function operation")
	for _, r := range rollouts {
		fmt.Fprintf(out, " %8s", r)
	}
	fmt.Fprintln(out)
	line := func(name string, v func(time.Duration) string) {
		fmt.Fprintf(out, "%-44s", name)
		for _, r := range rollouts {
			fmt.Fprintf(out, " %8s", v(r))
		}
		fmt.Fprintln(out)
	}
	byFn := map[string]map[time.Duration]int{}
	for _, k := range rows {
		line(k, func(r time.Duration) string { return fmt.Sprint(costs[r].byCall[k]) })
		fn, _, _ := strings.Cut(k, " ")
		if byFn[fn] == nil {
			byFn[fn] = map[time.Duration]int{}
		}
		for _, r := range rollouts {
			byFn[fn][r] += costs[r].byCall[k]
		}
	}
	fmt.Fprintln(out, "by function:")
	for _, fn := range []string{"Dispatch", "Plan", "Register", "Update", "Watch", "Events", "Check", "Finish"} {
		if byFn[fn] != nil {
			line("  "+fn, func(r time.Duration) string { return fmt.Sprint(byFn[fn][r]) })
		}
	}
	line("calls made by the functions", func(r time.Duration) string { return fmt.Sprint(costs[r].calls) })
	line("Step Functions' Lambda invokes", func(r time.Duration) string { return fmt.Sprint(costs[r].invokes) })
	line("API calls in all", func(r time.Duration) string { return fmt.Sprint(costs[r].calls + costs[r].invokes) })
	line("Lambda invocations", func(r time.Duration) string { return fmt.Sprint(costs[r].invocations) })
	line("states entered", func(r time.Duration) string { return fmt.Sprint(costs[r].states) })
	line("waiter baseline: API calls", func(r time.Duration) string { return fmt.Sprintf("%g", waiter[r]) })
}

// pushdeployDeploy runs one push through pushdeploy and counts what the
// deploy cost (the seeding of the world, the push itself and the harness's
// polling for the end are not counted).
func pushdeployDeploy(b *testing.B, rollout time.Duration) deployCost {
	b.StopTimer()
	w := newWorld(b)
	w.service("prod", "web", map[string]string{"pushdeploy:timeout": "1h"})
	w.Cloud.ECS().Faults().SetRolloutDuration("", rollout)
	settle(b, w)
	return measureDeploy(b, w)
}

// measureDeploy pushes once to a world set up (and settled) by the caller
// and counts what the deploy cost, as pushdeployDeploy describes.
func measureDeploy(b *testing.B, w *world) deployCost {
	w.Cloud.Log().Reset()
	invokesBefore := w.Cloud.Lambda().Invocations()
	b.StartTimer()
	w.push("latest", "web v1")
	execs := w.wait(1)
	b.StopTimer()
	c := deployCost{byCall: map[string]int{}, invocations: w.Cloud.Lambda().Invocations() - invokesBefore}
	for _, call := range w.Cloud.Log().Calls() {
		switch {
		case call.Caller != "":
			fn := strings.TrimSuffix(strings.TrimPrefix(call.Caller, "pushdeploy-"), "Function")
			c.byCall[fn+" "+call.Service+":"+call.Operation]++
			c.calls++
		case call.Service == "lambda" && call.Operation == "Invoke":
			c.invokes++ // the state machine's (the harness invokes none)
		}
	}
	history, err := sfn.NewFromConfig(w.Config).GetExecutionHistory(w.ctx, &sfn.GetExecutionHistoryInput{
		ExecutionArn: execs[0].ExecutionArn, MaxResults: 1000,
	})
	if err != nil {
		b.Fatal(err)
	}
	for _, e := range history.Events {
		if e.StateEnteredEventDetails != nil {
			c.states++
		}
	}
	return c
}

// waiterDeploy is the usual approach on the same local cloud: UpdateService,
// then DescribeServices at once and every 15 s until the service is stable,
// exactly as the SDK's ServicesStable waiter decides (its first attempt is
// immediate; one deployment, running == desired), on the virtual clock.
//
// The waiter holds the clock from the update to its last poll, letting go
// only while a poll's timer is set: otherwise the clock may jump to the
// rollout's next tick (15 s after the update) between the update's answer
// and the waiter's first sleep, and the polls fall out of step with the
// ticks. Held, the rollout's last tick (set first) always fires before the
// poll due at the same instant, which sees the service stable: 1 update +
// rollout/15s + 1 polls.
func waiterDeploy(b *testing.B, rollout time.Duration) int {
	b.StopTimer()
	w := newWorld(b)
	w.service("prod", "web", map[string]string{"pushdeploy:repository": "not-followed"})
	w.Cloud.ECS().Faults().SetRolloutDuration("", rollout)
	client := ecs.NewFromConfig(w.Config)
	td, _ := w.running("prod", "web")
	settle(b, w)
	w.Cloud.Log().Reset()
	b.StartTimer()
	hold := w.clock.Busy()
	defer func() { hold() }()
	if _, err := client.UpdateService(w.ctx, &ecs.UpdateServiceInput{
		Cluster: aws.String("prod"), Service: aws.String("web"), TaskDefinition: aws.String(td), ForceNewDeployment: true,
	}); err != nil {
		b.Fatal(err)
	}
	for {
		out, err := client.DescribeServices(w.ctx, &ecs.DescribeServicesInput{Cluster: aws.String("prod"), Services: []string{"web"}})
		if err != nil {
			b.Fatal(err)
		}
		s := out.Services[0]
		if len(s.Deployments) == 1 && s.RunningCount == s.DesiredCount {
			break
		}
		hold = sleepHeld(w, 15*time.Second, hold)
	}
	b.StopTimer()
	calls := 0
	for _, c := range w.Cloud.Log().Calls() {
		if c.Caller == "" && c.Service == "ecs" { // not the events function's, woken by the rollout's events
			calls++
		}
	}
	return calls
}

// sleepHeld waits d on the virtual clock, letting go of hold only once its
// timer is set, and returns the hold taken again when the timer fires.
func sleepHeld(w *world, d time.Duration, hold func()) func() {
	woke := make(chan func(), 1)
	w.clock.AfterFunc(d, func() { woke <- w.clock.Busy() })
	hold()
	select {
	case again := <-woke:
		return again
	case <-w.ctx.Done():
		return func() {}
	}
}

// settle lets the seeding's own work end before the count starts: the
// dispatch of the service's first push runs on its own, holding the clock,
// and the clock moves on only when nothing holds it; the service's first
// deployment rolls out. The service is then steady, its rollout ticks
// stopped: an update starts them afresh, 15 s apart from the update.
func settle(b *testing.B, w *world) {
	client := ecs.NewFromConfig(w.Config)
	for {
		if err := w.clock.Sleep(w.ctx, time.Millisecond); err != nil {
			b.Fatal(err)
		}
		out, err := client.DescribeServices(w.ctx, &ecs.DescribeServicesInput{Cluster: aws.String("prod"), Services: []string{"web"}})
		if err != nil {
			b.Fatal(err)
		}
		if s := out.Services[0]; len(s.Deployments) == 1 && s.RunningCount == s.DesiredCount && s.Deployments[0].RolloutState == ecstypes.DeploymentRolloutStateCompleted {
			return
		}
		if err := w.clock.Sleep(w.ctx, 15*time.Second); err != nil {
			b.Fatal(err)
		}
	}
}
