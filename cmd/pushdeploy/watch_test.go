package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/google/go-cmp/cmp"
)

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// hist builds an execution history: each step adds one event a few
// seconds after the previous one.
type hist struct {
	t0     time.Time
	events []sfntypes.HistoryEvent
}

func (h *hist) add(after time.Duration, typ sfntypes.HistoryEventType, set func(*sfntypes.HistoryEvent)) *hist {
	at := h.t0
	if n := len(h.events); n > 0 {
		at = aws.ToTime(h.events[n-1].Timestamp)
	}
	e := sfntypes.HistoryEvent{Id: int64(len(h.events) + 1), Type: typ, Timestamp: aws.Time(at.Add(after))}
	if set != nil {
		set(&e)
	}
	h.events = append(h.events, e)
	return h
}

func js(v any) *string {
	b, _ := json.Marshal(v)
	return aws.String(string(b))
}

func (h *hist) started(input string) *hist {
	return h.add(0, sfntypes.HistoryEventTypeExecutionStarted, func(e *sfntypes.HistoryEvent) {
		e.ExecutionStartedEventDetails = &sfntypes.ExecutionStartedEventDetails{Input: aws.String(input)}
	})
}

func (h *hist) enter(typ, name string, input any) *hist {
	return h.add(time.Second, sfntypes.HistoryEventType(typ+"StateEntered"), func(e *sfntypes.HistoryEvent) {
		e.StateEnteredEventDetails = &sfntypes.StateEnteredEventDetails{Name: aws.String(name), Input: js(input)}
	})
}

func (h *hist) exit(name string, output any) *hist {
	return h.add(0, "TaskStateExited", func(e *sfntypes.HistoryEvent) {
		e.StateExitedEventDetails = &sfntypes.StateExitedEventDetails{Name: aws.String(name), Output: js(output)}
	})
}

func (h *hist) task(resource string, params any, timeout int64) *hist {
	return h.add(0, sfntypes.HistoryEventTypeTaskScheduled, func(e *sfntypes.HistoryEvent) {
		e.TaskScheduledEventDetails = &sfntypes.TaskScheduledEventDetails{Resource: aws.String(resource), ResourceType: aws.String("lambda"),
			Parameters: js(params), Region: aws.String("us-east-1"), TimeoutInSeconds: aws.Int64(timeout)}
	})
}

func (h *hist) ok(after time.Duration, payload any) *hist {
	return h.add(after, sfntypes.HistoryEventTypeTaskSucceeded, func(e *sfntypes.HistoryEvent) {
		e.TaskSucceededEventDetails = &sfntypes.TaskSucceededEventDetails{Output: js(map[string]any{"Payload": payload})}
	})
}

func (h *hist) failed(name, cause string) *hist {
	return h.add(time.Second, sfntypes.HistoryEventTypeTaskFailed, func(e *sfntypes.HistoryEvent) {
		e.TaskFailedEventDetails = &sfntypes.TaskFailedEventDetails{Error: aws.String(name), Cause: aws.String(cause)}
	})
}

func (h *hist) timedOut(after time.Duration) *hist {
	return h.add(after, sfntypes.HistoryEventTypeTaskTimedOut, func(e *sfntypes.HistoryEvent) {
		e.TaskTimedOutEventDetails = &sfntypes.TaskTimedOutEventDetails{Error: aws.String("States.Timeout")}
	})
}

// finish runs the Finish state with the document's error and the finish result.
func (h *hist) finish(firstErr string, status string, reason string) *hist {
	doc := map[string]any{}
	if firstErr != "" {
		doc["error"] = map[string]string{"Error": firstErr, "Cause": "{\"errorMessage\":\"bad input: revision: wrong\",\"errorType\":\"" + firstErr + "\"}"}
	}
	fr := map[string]any{"status": status, "reason": reason, "fromTaskDefinitionArn": "arn:aws:ecs:us-east-1:123456789012:task-definition/web:1",
		"toTaskDefinitionArn": "arn:aws:ecs:us-east-1:123456789012:task-definition/web:2", "notified": true, "leaseReleased": true}
	h.enter("Task", "Finish", doc).task("invoke", map[string]any{"FunctionName": "finish"}, 0).ok(time.Second, fr)
	doc["finish"] = map[string]any{"Payload": fr}
	return h.exit("Finish", doc)
}

func (h *hist) succeeded(status string) *hist {
	return h.add(0, sfntypes.HistoryEventTypeExecutionSucceeded, func(e *sfntypes.HistoryEvent) {
		e.ExecutionSucceededEventDetails = &sfntypes.ExecutionSucceededEventDetails{Output: js(map[string]any{"status": status, "reason": "r"})}
	})
}

func (h *hist) execFailed(name string) *hist {
	return h.add(0, sfntypes.HistoryEventTypeExecutionFailed, func(e *sfntypes.HistoryEvent) {
		e.ExecutionFailedEventDetails = &sfntypes.ExecutionFailedEventDetails{Error: aws.String(name), Cause: aws.String("see the record")}
	})
}

const manualInput = `{"action":"deploy","cluster":"prod","service":"web","image":"123456789012.dkr.ecr.us-east-1.amazonaws.com/web:v2","requestedBy":"alice"}`

func deployHistory(t *testing.T) *hist {
	h := &hist{t0: mustTime(t, "2026-11-22T03:00:00Z")}
	plan := map[string]any{"action": "deploy", "targetTaskDefinitionArn": "", "image": map[string]any{"repository": "123456789012.dkr.ecr.us-east-1.amazonaws.com/web", "tag": "v2", "digest": "sha256:aa"}}
	return h.started(manualInput).
		enter("Pass", "Init", nil).
		enter("Task", "Plan", nil).task("invoke", nil, 0).failed("Throttled", "slow down").task("invoke", nil, 0).ok(time.Second, plan).
		enter("Choice", "Route", nil).
		enter("Task", "Register", nil).task("invoke", nil, 0).ok(time.Second, map[string]any{"taskDefinitionArn": "arn:aws:ecs:us-east-1:123456789012:task-definition/web:2", "registered": true}).
		enter("Task", "Update", nil).task("invoke", nil, 0).ok(time.Second, map[string]any{"previousTaskDefinitionArn": "arn:aws:ecs:us-east-1:123456789012:task-definition/web:1", "taskDefinitionArn": "arn:aws:ecs:us-east-1:123456789012:task-definition/web:2", "startedAt": "2026-11-22T03:00:10Z"}).
		enter("Task", "WaitRollout", nil).task("invoke.waitForTaskToken", map[string]any{"FunctionName": "watch", "Payload": map[string]any{"token": "AAAAKgAAAAIAAAAAAAAAAQ-long-token", "phase": "rollout"}}, 600).
		ok(3*time.Minute, map[string]any{"status": "COMPLETED", "cause": "steady-state", "reason": "3/3 tasks running web:2"}).
		enter("Choice", "RolloutDecision", nil).
		enter("Task", "Bake", nil).task("invoke.waitForTaskToken", map[string]any{"Payload": map[string]any{"token": "T2", "phase": "bake"}}, 300).
		timedOut(5*time.Minute).
		enter("Task", "CheckBake", nil).task("invoke", nil, 0).ok(time.Second, map[string]any{"status": "COMPLETED", "cause": "baked", "reason": "no alarm in 5m0s"})
}

func TestTimelineText(t *testing.T) {
	h := deployHistory(t).finish("", "SUCCEEDED", "deployed web:v2").enter("Succeed", "Succeeded", nil).succeeded("SUCCEEDED")
	var out bytes.Buffer
	f := &follower{api: &fakeSFN{events: h.events}, out: &out, interval: time.Millisecond}
	res, err := f.follow(context.Background(), "arn:exec")
	if err != nil {
		t.Fatal(err)
	}
	want := `03:00:00 +00:00:00  started: deploy web in prod image 123456789012.dkr.ecr.us-east-1.amazonaws.com/web:v2 (manual by alice)
03:00:01 +00:00:01  -> Init (Pass)
03:00:02 +00:00:02  -> Plan (Task)
03:00:03 +00:00:03       failed: Throttled: slow down
03:00:03 +00:00:03       retry: attempt 2
03:00:04 +00:00:04       result: plan: deploy image 123456789012.dkr.ecr.us-east-1.amazonaws.com/web:v2
03:00:05 +00:00:05  -> Route (Choice)
03:00:06 +00:00:06  -> Register (Task)
03:00:07 +00:00:07       result: registered web:2
03:00:08 +00:00:08  -> Update (Task)
03:00:09 +00:00:09       result: updated web:1 -> web:2
03:00:10 +00:00:10  -> WaitRollout (Task)
03:00:10 +00:00:10       wait: waiting for the rollout outcome (task token AAAAKgAAAAIA…), timeout 10m0s
03:03:10 +00:03:10       result: woken: COMPLETED (steady-state): 3/3 tasks running web:2
03:03:11 +00:03:11  -> RolloutDecision (Choice)
03:03:12 +00:03:12  -> Bake (Task)
03:03:12 +00:03:12       wait: waiting for the bake outcome (task token T2), timeout 5m0s
03:08:12 +00:08:12       timeout: States.Timeout
03:08:13 +00:08:13  -> CheckBake (Task)
03:08:14 +00:08:14       result: COMPLETED (baked): no alarm in 5m0s
03:08:15 +00:08:15  -> Finish (Task)
03:08:16 +00:08:16       result: recorded SUCCEEDED: deployed web:v2
03:08:17 +00:08:17  -> Succeeded (Succeed)
03:08:17 +00:08:17  == SUCCEEDED: deployed web:v2 [web:1 -> web:2]
`
	if d := cmp.Diff(want, out.String()); d != "" {
		t.Errorf("timeline (-want +got):\n%s", d)
	}
	if res.ExitCode != exitOK || res.Status != "SUCCEEDED" || res.To != "arn:aws:ecs:us-east-1:123456789012:task-definition/web:2" {
		t.Errorf("result %+v", res)
	}
}

func TestTimelineOutcomes(t *testing.T) {
	base := func() *hist { return (&hist{t0: mustTime(t, "2026-11-22T03:00:00Z")}).started(manualInput) }
	cases := []struct {
		name   string
		h      *hist
		status string
		code   int
	}{
		{"succeeded", base().finish("", "SUCCEEDED", "ok").succeeded("SUCCEEDED"), "SUCCEEDED", exitOK},
		{"skipped", base().finish("", "SKIPPED", "service already runs it").succeeded("SKIPPED"), "SKIPPED", exitOK},
		{"superseded", base().finish("Superseded", "SUPERSEDED", "newer push").succeeded("SUPERSEDED"), "SUPERSEDED", exitSuperseded},
		{"rolled back", base().finish("", "ROLLED_BACK", "alarm").execFailed("RolledBack"), "ROLLED_BACK", exitRolledBack},
		{"rollback execution rolled back", (&hist{t0: mustTime(t, "2026-11-22T03:00:00Z")}).started(`{"action":"rollback","cluster":"prod","service":"web"}`).
			finish("", "ROLLED_BACK", "rolled back to web:1").execFailed("RolledBack"), "ROLLED_BACK", exitOK},
		{"bad input", base().enter("Task", "Plan", nil).task("invoke", nil, 0).failed("WrongFamily", "x").finish("WrongFamily", "FAILED", "wrong family").execFailed("DeploymentFailed"), "FAILED", exitBadInput},
		{"failed after update", base().enter("Task", "Update", nil).task("invoke", nil, 0).ok(time.Second, map[string]any{"previousTaskDefinitionArn": "a", "taskDefinitionArn": "b"}).finish("ContainerNotFound", "FAILED", "x").execFailed("DeploymentFailed"), "FAILED", exitFailed},
		{"internal failure", base().finish("Internal", "FAILED", "boom").execFailed("DeploymentFailed"), "FAILED", exitFailed},
		{"finish failed", base().enter("Task", "Finish", map[string]any{}).execFailed("FinishFailed"), "FAILED", exitFailed},
		{"aborted", base().add(time.Second, sfntypes.HistoryEventTypeExecutionAborted, func(e *sfntypes.HistoryEvent) {
			e.ExecutionAbortedEventDetails = &sfntypes.ExecutionAbortedEventDetails{}
		}), "ABORTED", exitFailed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			f := &follower{api: &fakeSFN{events: tc.h.events}, out: &out, json: true, interval: time.Millisecond}
			res, err := f.follow(context.Background(), "arn:exec")
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != tc.status || res.ExitCode != tc.code {
				t.Errorf("status %s exit %d, want %s %d", res.Status, res.ExitCode, tc.status, tc.code)
			}
			// JSON lines: every line an object, the last the result.
			lines := strings.Split(strings.TrimSpace(out.String()), "\n")
			var last struct {
				Kind     string `json:"kind"`
				Status   string `json:"status"`
				ExitCode int    `json:"exitCode"`
			}
			for i, l := range lines {
				if err := json.Unmarshal([]byte(l), &last); err != nil {
					t.Fatalf("line %d not JSON: %q", i+1, l)
				}
			}
			if last.Kind != "result" || last.Status != tc.status || last.ExitCode != tc.code {
				t.Errorf("last line %+v", last)
			}
		})
	}
}

// TestFollowPolls: events arrive over several polls and pages; each is
// printed once, and following stops at the terminal event.
func TestFollowPolls(t *testing.T) {
	h := deployHistory(t).finish("", "ROLLED_BACK", "alarm 5xx").execFailed("RolledBack")
	api := &fakeSFN{events: h.events, visible: 5, grow: 4, page: 3}
	var out bytes.Buffer
	f := &follower{api: api, out: &out, interval: time.Millisecond}
	res, err := f.follow(context.Background(), "arn:exec")
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != exitRolledBack {
		t.Errorf("exit %d", res.ExitCode)
	}
	if api.polls < 3 {
		t.Errorf("only %d polls", api.polls)
	}
	if n := strings.Count(out.String(), "-> Plan (Task)"); n != 1 {
		t.Errorf("Plan printed %d times:\n%s", n, out.String())
	}
	if !strings.HasSuffix(out.String(), "== ROLLED_BACK: alarm 5xx [web:1 -> web:2]\n") {
		t.Errorf("bad end:\n%s", out.String())
	}
}

func TestFollowInterrupted(t *testing.T) {
	h := deployHistory(t) // never ends
	ctx, cancel := context.WithCancel(context.Background())
	api := &fakeSFN{events: h.events, onPoll: func(n int) {
		if n == 2 {
			cancel()
		}
	}}
	var out bytes.Buffer
	f := &follower{api: api, out: &out, interval: time.Millisecond}
	_, err := f.follow(ctx, "arn:exec")
	if exitCode(err) != exitInterrupted || !strings.Contains(err.Error(), "the execution goes on") {
		t.Errorf("err %v (exit %d)", err, exitCode(err))
	}
}

// fakeSFN serves a history that grows by grow events per poll (all at
// once when visible is 0), in pages of page events.
type fakeSFN struct {
	sfnAPI
	events  []sfntypes.HistoryEvent
	visible int
	grow    int
	page    int
	polls   int
	onPoll  func(n int)
}

func (f *fakeSFN) GetExecutionHistory(ctx context.Context, in *sfn.GetExecutionHistoryInput, _ ...func(*sfn.Options)) (*sfn.GetExecutionHistoryOutput, error) {
	start := 0
	if in.NextToken != nil {
		start, _ = strconv.Atoi(*in.NextToken)
	} else {
		f.polls++
		if f.onPoll != nil {
			f.onPoll(f.polls)
		}
		if f.visible > 0 && f.polls > 1 {
			f.visible += f.grow
		}
	}
	n := len(f.events)
	if f.visible > 0 && f.visible < n {
		n = f.visible
	}
	end := n
	if f.page > 0 && start+f.page < n {
		end = start + f.page
	}
	out := &sfn.GetExecutionHistoryOutput{Events: f.events[start:end]}
	if end < n {
		out.NextToken = aws.String(strconv.Itoa(end))
	}
	return out, nil
}

// TestFollowProgress: on a terminal a spinner line shows the current state
// between polls; it is erased before each timeline line, so removing the
// progress writes leaves exactly the piped output.
func TestFollowProgress(t *testing.T) {
	h := deployHistory(t).finish("", "SUCCEEDED", "ok").succeeded("SUCCEEDED")
	var tty, piped bytes.Buffer
	f := &follower{api: &fakeSFN{events: h.events, visible: 3, grow: 3}, out: &tty, tty: true, interval: time.Millisecond}
	if _, err := f.follow(context.Background(), "arn:exec"); err != nil {
		t.Fatal(err)
	}
	f = &follower{api: &fakeSFN{events: h.events}, out: &piped, interval: time.Millisecond}
	if _, err := f.follow(context.Background(), "arn:exec"); err != nil {
		t.Fatal(err)
	}
	out := tty.String()
	if !strings.Contains(out, "\r\033[K"+spinner[0]+" ") || !strings.Contains(out, " Plan") {
		t.Fatalf("no progress line in %q", out)
	}
	if strings.Contains(piped.String(), "\033") {
		t.Fatal("piped output has terminal codes")
	}
	// Strip "\r\033[K<spinner> <state>" segments.
	var clean strings.Builder
	for i, seg := range strings.Split(out, "\r\033[K") {
		if i > 0 {
			for _, s := range spinner {
				if strings.HasPrefix(seg, s+" ") {
					if nl := strings.Index(seg, "\n"); nl >= 0 {
						t.Fatalf("a progress segment holds a newline: %q", seg)
					}
					seg = ""
					break
				}
			}
		}
		clean.WriteString(seg)
	}
	if d := cmp.Diff(piped.String(), clean.String()); d != "" {
		t.Errorf("terminal output minus progress differs from piped (-piped +tty):\n%s", d)
	}
}

// fakeECS answers DescribeServices with the next of its states (the last
// one once they run out), counting the calls.
type fakeECS struct {
	states      []ecstypes.Service
	calls       int
	deployments map[string]ecstypes.ServiceDeployment
}

func (f *fakeECS) DescribeServiceDeployments(ctx context.Context, in *ecs.DescribeServiceDeploymentsInput, _ ...func(*ecs.Options)) (*ecs.DescribeServiceDeploymentsOutput, error) {
	var out ecs.DescribeServiceDeploymentsOutput
	for _, arn := range in.ServiceDeploymentArns {
		if sd, ok := f.deployments[arn]; ok {
			out.ServiceDeployments = append(out.ServiceDeployments, sd)
		}
	}
	return &out, nil
}

func (f *fakeECS) DescribeServices(ctx context.Context, in *ecs.DescribeServicesInput, _ ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error) {
	s := f.states[min(f.calls, len(f.states)-1)]
	f.calls++
	return &ecs.DescribeServicesOutput{Services: []ecstypes.Service{s}}, nil
}

func serviceState(t0 time.Time, running, pending int32, events ...string) ecstypes.Service {
	s := ecstypes.Service{Deployments: []ecstypes.Deployment{{
		Status: aws.String("PRIMARY"), TaskDefinition: aws.String("arn:aws:ecs:us-east-1:1:task-definition/web:2"),
		RunningCount: running, DesiredCount: 3, PendingCount: pending, RolloutState: ecstypes.DeploymentRolloutStateInProgress,
		UpdatedAt: aws.Time(t0.Add(time.Minute)),
	}}}
	for i := len(events) - 1; i >= 0; i-- { // newest first, as ECS lists them
		s.Events = append(s.Events, ecstypes.ServiceEvent{Id: aws.String(events[i]), Message: aws.String(events[i]), CreatedAt: aws.Time(t0.Add(time.Duration(i+1) * time.Second))})
	}
	s.Events = append(s.Events, ecstypes.ServiceEvent{Id: aws.String("old"), Message: aws.String("before the execution"), CreatedAt: aws.Time(t0.Add(-time.Hour))})
	return s
}

// TestFollowService: the service's new ECS events are shown once each (none
// from before the execution), and its deployment counts: piped as a line
// each time they change, on a terminal in the progress line with the
// elapsed time.
func TestFollowService(t *testing.T) {
	t0 := mustTime(t, "2026-11-22T03:00:00Z")
	states := func() *fakeECS {
		return &fakeECS{states: []ecstypes.Service{
			serviceState(t0, 1, 2, "has started 1 tasks"),
			serviceState(t0, 1, 2, "has started 1 tasks"),
			serviceState(t0, 3, 0, "has started 1 tasks", "has started 2 tasks", "has reached a steady state."),
		}}
	}
	h := deployHistory(t).finish("", "SUCCEEDED", "ok").succeeded("SUCCEEDED")
	var piped, tty bytes.Buffer
	fe := states()
	f := &follower{api: &fakeSFN{events: h.events, visible: 3, grow: 3}, ecs: fe, out: &piped, interval: time.Millisecond}
	if _, err := f.follow(context.Background(), "arn:exec"); err != nil {
		t.Fatal(err)
	}
	out := piped.String()
	if strings.Contains(out, "\033") || strings.Contains(out, "\r") {
		t.Errorf("piped output has terminal codes: %q", out)
	}
	for _, want := range []string{
		"03:00:01 +00:00:01       ecs: has started 1 tasks\n",
		"03:00:02 +00:00:02       ecs: has started 2 tasks\n",
		"deployments: PRIMARY web:2 1/3 running, 2 pending (IN_PROGRESS)\n",
		"deployments: PRIMARY web:2 3/3 running (IN_PROGRESS)\n",
		"ecs: has reached a steady state.\n",
	} {
		if strings.Count(out, want) != 1 {
			t.Errorf("piped output has %q %d times, want once:\n%s", want, strings.Count(out, want), out)
		}
	}
	if strings.Contains(out, "before the execution") {
		t.Errorf("an event from before the execution is shown:\n%s", out)
	}
	if fe.calls < 2 {
		t.Errorf("the service was described %d times", fe.calls)
	}

	f = &follower{api: &fakeSFN{events: h.events, visible: 3, grow: 3}, ecs: states(), out: &tty, tty: true, interval: time.Millisecond}
	if _, err := f.follow(context.Background(), "arn:exec"); err != nil {
		t.Fatal(err)
	}
	if got := tty.String(); !regexp.MustCompile(`\r\033\[K. \d\d:\d\d:\d\d \S+.*  PRIMARY web:2 1/3 running, 2 pending`).MatchString(got) ||
		strings.Contains(got, "deployments:") || !strings.Contains(got, "ecs: has started 2 tasks\n") {
		t.Errorf("terminal output lacks a progress line with elapsed time and counts, or prints counts as lines:\n%q", got)
	}
}

// TestLatestExecution: the newest execution whose input names the service
// (in the cluster, when given); none is bad input.
func TestLatestExecution(t *testing.T) {
	t0 := mustTime(t, "2026-11-22T03:00:00Z")
	api := &listSFN{inputs: map[string]string{
		"e4": `{"action":"deploy","cluster":"prod","service":"api"}`,
		"e3": `{"action":"deploy","cluster":"staging","service":"web"}`,
		"e2": `{"action":"rollback","cluster":"arn:aws:ecs:us-east-1:1:cluster/prod","service":"arn:aws:ecs:us-east-1:1:service/prod/web","trigger":"alarm"}`,
		"e1": `{"action":"deploy","cluster":"prod","service":"web"}`,
	}, t0: t0}
	for _, tc := range []struct{ cluster, service, want string }{
		{"", "web", "e3"}, {"prod", "web", "e2"}, {"prod", "arn:aws:ecs:us-east-1:1:service/prod/web", "e2"}, {"prod", "api", "e4"},
	} {
		got, err := latestExecution(context.Background(), api, "arn:sm", tc.cluster, tc.service)
		if err != nil || got != tc.want {
			t.Errorf("latest of %s in %q: %q, %v; want %s", tc.service, tc.cluster, got, err, tc.want)
		}
	}
	if _, err := latestExecution(context.Background(), api, "arn:sm", "prod", "db"); exitCode(err) != exitBadInput || !strings.Contains(err.Error(), "no execution of service db in cluster prod") {
		t.Errorf("no execution: %v (exit %d)", err, exitCode(err))
	}
}

// listSFN lists executions e4..e1, newest first, with their inputs.
type listSFN struct {
	sfnAPI
	inputs map[string]string
	t0     time.Time
}

func (l *listSFN) ListExecutions(ctx context.Context, in *sfn.ListExecutionsInput, _ ...func(*sfn.Options)) (*sfn.ListExecutionsOutput, error) {
	var out sfn.ListExecutionsOutput
	for i := 4; i >= 1; i-- {
		arn := fmt.Sprintf("e%d", i)
		out.Executions = append(out.Executions, sfntypes.ExecutionListItem{ExecutionArn: aws.String(arn), StartDate: aws.Time(l.t0.Add(time.Duration(i) * time.Minute))})
	}
	return &out, nil
}

func (l *listSFN) DescribeExecution(ctx context.Context, in *sfn.DescribeExecutionInput, _ ...func(*sfn.Options)) (*sfn.DescribeExecutionOutput, error) {
	return &sfn.DescribeExecutionOutput{Input: aws.String(l.inputs[aws.ToString(in.ExecutionArn)])}, nil
}

// TestFollowProgressFitsTerminal: the progress line is cut to $COLUMNS-1,
// so that it never wraps (a wrapped line would not be erased).
func TestFollowProgressFitsTerminal(t *testing.T) {
	t.Setenv("COLUMNS", "40")
	t0 := mustTime(t, "2026-11-22T03:00:00Z")
	h := deployHistory(t).finish("", "SUCCEEDED", "ok").succeeded("SUCCEEDED")
	var tty bytes.Buffer
	f := &follower{api: &fakeSFN{events: h.events, visible: 3, grow: 3}, ecs: &fakeECS{states: []ecstypes.Service{serviceState(t0, 1, 2)}},
		out: &tty, tty: true, interval: time.Millisecond}
	if _, err := f.follow(context.Background(), "arn:exec"); err != nil {
		t.Fatal(err)
	}
	segments := 0
	for _, seg := range strings.Split(tty.String(), "\r\033[K")[1:] {
		if line, _, _ := strings.Cut(seg, "\n"); !strings.Contains(seg, "\n") {
			segments++
			if n := len([]rune(line)); n > 39 {
				t.Errorf("progress line of %d runes: %q", n, line)
			}
		}
	}
	if segments == 0 {
		t.Fatal("no progress line")
	}
}

// TestFollowServiceDeployment: on a blue/green service, watch shows where
// ECS's service deployment is in its lifecycle and the traffic split.
func TestFollowServiceDeployment(t *testing.T) {
	t0 := mustTime(t, "2026-11-22T03:00:00Z")
	const sdArn = "arn:aws:ecs:us-east-1:1:service-deployment/prod/web/abc"
	blueGreen := func(running int32) ecstypes.Service {
		s := serviceState(t0, running, 3-running)
		s.CurrentServiceDeployment = aws.String(sdArn)
		s.DeploymentConfiguration = &ecstypes.DeploymentConfiguration{Strategy: ecstypes.DeploymentStrategyBlueGreen}
		return s
	}
	fe := &fakeECS{states: []ecstypes.Service{blueGreen(1), blueGreen(3)}, deployments: map[string]ecstypes.ServiceDeployment{
		sdArn: {
			ServiceDeploymentArn: aws.String(sdArn), Status: ecstypes.ServiceDeploymentStatusInProgress,
			LifecycleStage:         ecstypes.ServiceDeploymentLifecycleStageBakeTime,
			TargetServiceRevision:  &ecstypes.ServiceRevisionSummary{RequestedProductionTrafficWeight: aws.Float64(100)},
			SourceServiceRevisions: []ecstypes.ServiceRevisionSummary{{RequestedProductionTrafficWeight: aws.Float64(0)}},
		},
	}}
	h := deployHistory(t).finish("", "SUCCEEDED", "ok").succeeded("SUCCEEDED")
	var piped bytes.Buffer
	f := &follower{api: &fakeSFN{events: h.events, visible: 3, grow: 3}, ecs: fe, out: &piped, interval: time.Millisecond}
	if _, err := f.follow(context.Background(), "arn:exec"); err != nil {
		t.Fatal(err)
	}
	want := "PRIMARY web:2 3/3 running (IN_PROGRESS); ecs BLUE_GREEN IN_PROGRESS BAKE_TIME, production traffic 100% new / 0% old\n"
	if !strings.Contains(piped.String(), want) {
		t.Errorf("watch of a blue/green service lacks %q:\n%s", want, piped.String())
	}
}
