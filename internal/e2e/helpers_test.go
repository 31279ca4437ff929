// Package e2e runs pushdeploy end to end: the real statemachine/ definition
// on the local Step Functions engine, the real handlers (in-process), the
// local cloud, the application installed from template.yaml, a virtual clock.
package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/pushdeploy/pushdeploy/internal/app/clock"
	"github.com/pushdeploy/pushdeploy/internal/app/history"
	lcecr "github.com/pushdeploy/pushdeploy/internal/local/localcloud/ecr"
	"github.com/pushdeploy/pushdeploy/internal/local/localrun"
)

var epoch = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

// world is one scenario's local world.
type world struct {
	*localrun.World
	t     testing.TB
	ctx   context.Context
	clock *clock.Virtual
	repo  string // repository URI
	held  func() // the scenario's hold on the clock (holdClock), let go by wait
}

func newWorld(t testing.TB) *world {
	t.Helper()
	return newWorldWith(t, nil)
}

// newWorldWith starts a world with template parameters overridden, and
// the repository "web".
func newWorldWith(t testing.TB, params map[string]string) *world {
	t.Helper()
	w := startWorld(t, params, 2*time.Minute)
	repo, err := w.CreateRepository(w.ctx, "web")
	if err != nil {
		t.Fatal(err)
	}
	w.repo = repo
	return w
}

// startWorld starts a world, virtual clock and in-process handlers, that
// lives at most timeout.
func startWorld(t testing.TB, params map[string]string, timeout time.Duration) *world {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	clk := clock.NewVirtual(epoch)
	stop := clk.AutoAdvance(0)
	t.Cleanup(stop)
	opts := localrun.Options{Clock: clk, InProcess: true, Parameters: params}
	if os.Getenv("E2E_VERBOSE") != "" {
		opts.Log, opts.FunctionLogs = os.Stderr, os.Stderr
	}
	w, err := localrun.Start(ctx, opts)
	if err != nil {
		t.Fatalf("start local world: %v", err)
	}
	t.Cleanup(func() { w.Close() })
	return &world{World: w, t: t, ctx: ctx, clock: clk}
}

// service creates a service following "web" with the given extra tags and
// returns its ARN. Its first revision runs the image pushed as "web v0".
func (w *world) service(cluster, name string, tags map[string]string, containers ...localrun.Container) string {
	w.t.Helper()
	// Under a tag no test's service follows ("v*" would): whether this
	// push's event is dispatched before the service exists is a race that
	// must not decide whether the service starts with a deploy.
	first, err := w.Push(w.ctx, "web", "base-"+cluster+"-"+name, "web v0 "+cluster+"/"+name)
	if err != nil {
		w.t.Fatal(err)
	}
	if len(containers) == 0 {
		containers = []localrun.Container{{Name: "app", Image: w.repo + "@" + first}}
	}
	all := map[string]string{"pushdeploy:repository": "web", "pushdeploy:tags": "latest", "pushdeploy:bake": "5m", "pushdeploy:timeout": "20m"}
	for k, v := range tags {
		if v == "" {
			delete(all, k)
		} else {
			all[k] = v
		}
	}
	arn, err := w.CreateService(w.ctx, localrun.ServiceSpec{Cluster: cluster, Name: name, Family: name, Containers: containers, Tags: all})
	if err != nil {
		w.t.Fatal(err)
	}
	return arn
}

// push pushes an image under a tag and returns its digest.
func (w *world) push(tag, seed string) string {
	w.t.Helper()
	d, err := w.Push(w.ctx, "web", tag, seed)
	if err != nil {
		w.t.Fatal(err)
	}
	return d
}

func digestOf(seed string) string { return lcecr.Digest(lcecr.Manifest(seed)) }

// holdClock keeps the virtual clock still until the next wait.
func (w *world) holdClock() {
	if w.held == nil {
		w.held = w.clock.Busy()
	}
}

// wait lets go of the scenario's hold on the clock and waits until n
// executions have finished.
func (w *world) wait(n int) []sfntypes.ExecutionListItem {
	w.t.Helper()
	if w.held != nil {
		w.held()
		w.held = nil
	}
	execs, err := w.WaitIdle(w.ctx, n)
	if err != nil {
		w.dump()
		w.t.Fatal(err)
	}
	if len(execs) != n {
		w.dump()
		w.t.Fatalf("%d executions, want %d", len(execs), n)
	}
	return execs
}

// start starts a manual execution with input and returns its ARN.
func (w *world) start(name string, input any) string {
	w.t.Helper()
	data, err := json.Marshal(input)
	if err != nil {
		w.t.Fatal(err)
	}
	out, err := sfn.NewFromConfig(w.Config).StartExecution(w.ctx, &sfn.StartExecutionInput{
		StateMachineArn: aws.String(w.StateMachineARN), Name: aws.String(name), Input: aws.String(string(data)),
	})
	if err != nil {
		w.t.Fatalf("start execution: %v", err)
	}
	return aws.ToString(out.ExecutionArn)
}

// records returns the service's history, newest first.
func (w *world) records(serviceARN string) []history.Record {
	w.t.Helper()
	recs, err := w.History(w.ctx, serviceARN)
	if err != nil {
		w.t.Fatal(err)
	}
	return recs
}

// outcome returns the one terminal record of an execution.
func (w *world) outcome(serviceARN, executionARN string) history.Record {
	w.t.Helper()
	var found []history.Record
	for _, r := range w.records(serviceARN) {
		if r.ExecutionARN == executionARN {
			found = append(found, r)
		}
	}
	if len(found) != 1 {
		w.dump()
		w.t.Fatalf("execution %s has %d terminal records, want exactly 1", executionARN, len(found))
	}
	return found[0]
}

// expectOutcomes checks, for a service, that every finished execution has
// exactly one terminal record, that the outcomes are as wanted (oldest
// first), and that no lease is left held.
func (w *world) expectOutcomes(serviceARN string, want ...history.Outcome) []history.Record {
	w.t.Helper()
	recs := w.records(serviceARN)
	seen := map[string]int{}
	var got []history.Outcome
	for i := len(recs) - 1; i >= 0; i-- {
		seen[recs[i].ExecutionARN]++
		got = append(got, recs[i].Outcome)
	}
	for arn, n := range seen {
		if n != 1 {
			w.t.Errorf("execution %s has %d terminal records, want 1", arn, n)
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		w.dump()
		w.t.Fatalf("outcomes of %s = %v, want %v (reasons: %s)", serviceARN, got, want, reasons(recs))
	}
	w.expectNoLease(serviceARN)
	return recs
}

func (w *world) expectNoLease(serviceARN string) {
	w.t.Helper()
	l, err := w.Lease(w.ctx, serviceARN)
	if err != nil {
		w.t.Fatal(err)
	}
	if l.Held(w.clock.Now()) {
		w.t.Errorf("lease of %s still held by %s", serviceARN, l.Holder)
	}
}

// running returns the revision and the images of the service.
func (w *world) running(cluster, service string) (string, map[string]string) {
	w.t.Helper()
	td, images, err := w.Running(w.ctx, cluster, service)
	if err != nil {
		w.t.Fatal(err)
	}
	return td, images
}

func reasons(recs []history.Record) string {
	var b strings.Builder
	for i := len(recs) - 1; i >= 0; i-- {
		fmt.Fprintf(&b, "[%s: %s] ", recs[i].Outcome, recs[i].Reason)
	}
	return b.String()
}

// dump prints every execution's timeline, for a failing test.
func (w *world) dump() {
	execs, err := w.Executions(w.ctx)
	if err != nil {
		w.t.Logf("list executions: %v", err)
		return
	}
	var b strings.Builder
	for _, e := range execs {
		fmt.Fprintf(&b, "execution %s %s\n", aws.ToString(e.Name), e.Status)
		w.PrintTimeline(w.ctx, &b, aws.ToString(e.ExecutionArn))
		if _, out, err := w.Output(w.ctx, aws.ToString(e.ExecutionArn)); err == nil {
			fmt.Fprintf(&b, "  error=%s cause=%s\n", aws.ToString(out.Error), aws.ToString(out.Cause))
		}
	}
	w.t.Log("\n" + b.String())
}
