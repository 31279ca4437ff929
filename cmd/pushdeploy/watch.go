package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/pushdeploy/pushdeploy/internal/app/contract"
)

// runWatch is `pushdeploy watch EXECUTION_ARN | --service S --latest`.
func runWatch(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newCLICommand("watch", "[flags] EXECUTION_ARN | --service S [--cluster C] --latest",
		"Follows an execution of the deploy state machine from its history: states entered,\n"+
			"waits on task tokens (and their timeouts), wake-ups, retries, failures, the outcome,\n"+
			"with the ECS service's new events and its deployments' running/desired/pending\n"+
			"counts. On a terminal a progress line shows the elapsed time, the state and the\n"+
			"counts; piped, every line is plain and timestamped (counts when they change).\n"+
			"A finished execution is replayed with the service's ECS events up to its end\n"+
			"(ECS keeps a service's last 100).\n"+
			"--latest follows the newest execution of --service (of the 100 newest of the\n"+
			"state machine), e.g. the one a push started. --output json writes one JSON object\n"+
			"per line, the last one the outcome. The exit code is the execution's outcome (below).",
		stdout, stderr)
	var af awsFlags
	af.register(c.fs)
	var out outputFlag
	out.register(c.fs)
	interval := c.fs.Duration("interval", 2*time.Second, "how often to poll the execution history")
	latest := c.fs.Bool("latest", false, "follow the newest execution of --service instead of an EXECUTION_ARN")
	service := c.fs.String("service", "", "with --latest: ECS service name or ARN")
	cluster := c.fs.String("cluster", "", "with --latest: ECS cluster name or ARN (default: any cluster)")
	stateMachine := stringFlagEnv(c.fs, "state-machine", envStateMachine, "with --latest: ARN of pushdeploy's deploy state machine")
	pos, code, done := c.parse(args, 1)
	if done {
		return code
	}
	switch {
	case *latest && len(pos) != 0:
		return c.usageError("give an EXECUTION_ARN or --latest, not both")
	case *latest:
		if err := required("service", *service, "state-machine", *stateMachine); err != nil {
			return c.usageError("--latest: %v", err)
		}
	case *service != "" || *cluster != "":
		return c.usageError("--service and --cluster go with --latest")
	case len(pos) != 1:
		return c.usageError("want one EXECUTION_ARN, or --service S --latest")
	}
	if *interval <= 0 {
		return c.usageError("--interval must be positive")
	}
	cfg, err := af.config(ctx)
	if err != nil {
		return c.fail(err)
	}
	api := sfn.NewFromConfig(cfg)
	var arn string
	if *latest {
		if arn, err = latestExecution(ctx, api, *stateMachine, *cluster, *service); err != nil {
			return c.fail(err)
		}
		if !out.json() {
			fmt.Fprintf(stdout, "execution %s\n", arn)
		}
	} else {
		arn = pos[0]
	}
	f := &follower{api: api, ecs: ecs.NewFromConfig(cfg), out: stdout, json: out.json(), tty: !out.json() && isTerminal(stdout), interval: *interval}
	res, err := f.follow(ctx, arn)
	if err != nil {
		return c.fail(err)
	}
	return res.ExitCode
}

// latestExecution is the newest execution, among the state machine's 100
// newest, whose input names the service (and the cluster, when given).
func latestExecution(ctx context.Context, api sfnAPI, stateMachine, cluster, service string) (string, error) {
	out, err := api.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: aws.String(stateMachine), MaxResults: 100})
	if err != nil {
		return "", fmt.Errorf("list executions: %w", err)
	}
	var best *sfntypes.ExecutionListItem
	for i, e := range out.Executions {
		if best != nil && !aws.ToTime(e.StartDate).After(aws.ToTime(best.StartDate)) {
			continue
		}
		d, err := api.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: e.ExecutionArn})
		if err != nil {
			return "", fmt.Errorf("describe execution %s: %w", aws.ToString(e.ExecutionArn), err)
		}
		var in contract.ExecutionInput
		if json.Unmarshal([]byte(aws.ToString(d.Input)), &in) != nil {
			continue
		}
		if shortName(in.Service) == shortName(service) && (cluster == "" || shortName(in.Cluster) == shortName(cluster)) {
			best = &out.Executions[i]
		}
	}
	if best == nil {
		where := ""
		if cluster != "" {
			where = " in cluster " + cluster
		}
		return "", badInput("no execution of service %s%s among the state machine's %d newest", service, where, len(out.Executions))
	}
	return aws.ToString(best.ExecutionArn), nil
}

// sfnAPI is the part of the Step Functions API the CLI uses; *sfn.Client
// satisfies it.
type sfnAPI interface {
	StartExecution(ctx context.Context, in *sfn.StartExecutionInput, optFns ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error)
	DescribeExecution(ctx context.Context, in *sfn.DescribeExecutionInput, optFns ...func(*sfn.Options)) (*sfn.DescribeExecutionOutput, error)
	GetExecutionHistory(ctx context.Context, in *sfn.GetExecutionHistoryInput, optFns ...func(*sfn.Options)) (*sfn.GetExecutionHistoryOutput, error)
	ListExecutions(ctx context.Context, in *sfn.ListExecutionsInput, optFns ...func(*sfn.Options)) (*sfn.ListExecutionsOutput, error)
}

var _ sfnAPI = (*sfn.Client)(nil)

// ecsAPI is what watch reads of the service: its events and deployments.
type ecsAPI interface {
	DescribeServices(ctx context.Context, in *ecs.DescribeServicesInput, optFns ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error)
	serviceDeploymentAPI
}

var _ ecsAPI = (*ecs.Client)(nil)

// entry is one line of a timeline.
type entry struct {
	At      time.Time `json:"at"`
	Elapsed float64   `json:"elapsedSeconds"`
	Kind    string    `json:"kind"` // started, state, wait, result, failed, timeout, retry, ecs-event, deployments, outcome
	State   string    `json:"state,omitempty"`
	Detail  string    `json:"detail,omitempty"`
}

// result is how an execution ended.
type result struct {
	ExecutionArn    string `json:"executionArn"`
	Action          string `json:"action,omitempty"` // deploy, rollback, redeploy`
	ExecutionStatus string `json:"executionStatus"`  // Step Functions' status
	// Status is pushdeploy's outcome: SUCCEEDED, SKIPPED, SUPERSEDED,
	// ROLLED_BACK, FAILED, or the execution status when it ended otherwise.
	Status string `json:"status"`
	Reason string `json:"reason,omitempty"`
	// FirstError is the first failure the state machine caught.
	FirstError string `json:"firstError,omitempty"`
	Error      string `json:"error,omitempty"`
	Cause      string `json:"cause,omitempty"`
	From       string `json:"fromTaskDefinitionArn,omitempty"`
	To         string `json:"toTaskDefinitionArn,omitempty"`
	ExitCode   int    `json:"exitCode"`
}

// timeline turns history events into entries and tracks the outcome.
type timeline struct {
	start     time.Time
	last      int64 // id of the last event seen
	state     string
	attempts  int // tasks scheduled in the current state
	waiting   bool
	finish    *contract.FinishResult
	firstErr  *contract.TaskError
	updated   bool // an Update task succeeded: the service was touched
	res       *result
	arn       string
	action    string // from the execution input
	cluster   string // from the execution input: the service watched
	service   string
	sinceWait time.Time
}

func (t *timeline) add(e sfntypes.HistoryEvent) []entry {
	if e.Id <= t.last {
		return nil
	}
	t.last = e.Id
	at := aws.ToTime(e.Timestamp)
	if t.start.IsZero() {
		t.start = at
	}
	mk := func(kind, detail string) []entry {
		return []entry{{At: at.UTC(), Elapsed: at.Sub(t.start).Seconds(), Kind: kind, State: t.state, Detail: detail}}
	}
	typ := string(e.Type)
	switch {
	case e.ExecutionStartedEventDetails != nil:
		raw := aws.ToString(e.ExecutionStartedEventDetails.Input)
		var in struct {
			Action  string `json:"action"`
			Cluster string `json:"cluster"`
			Service string `json:"service"`
		}
		if json.Unmarshal([]byte(raw), &in) == nil {
			t.action, t.cluster, t.service = in.Action, in.Cluster, in.Service
		}
		return mk("started", describeInput(raw))
	case e.StateEnteredEventDetails != nil:
		d := e.StateEnteredEventDetails
		t.state, t.attempts, t.waiting = aws.ToString(d.Name), 0, false
		if t.state == "Finish" {
			var doc struct {
				Error *contract.TaskError `json:"error"`
			}
			if json.Unmarshal([]byte(aws.ToString(d.Input)), &doc) == nil && doc.Error != nil {
				t.firstErr = doc.Error
			}
		}
		return mk("state", strings.TrimSuffix(typ, "StateEntered"))
	case e.StateExitedEventDetails != nil:
		d := e.StateExitedEventDetails
		if aws.ToString(d.Name) == "Finish" {
			var doc struct {
				Finish *contract.Result[contract.FinishResult] `json:"finish"`
			}
			if json.Unmarshal([]byte(aws.ToString(d.Output)), &doc) == nil && doc.Finish != nil {
				t.finish = &doc.Finish.Payload
			}
		}
		return nil
	case e.TaskScheduledEventDetails != nil:
		d := e.TaskScheduledEventDetails
		return t.scheduled(mk, aws.ToString(d.Resource), aws.ToString(d.Parameters), aws.ToInt64(d.TimeoutInSeconds), at)
	case e.LambdaFunctionScheduledEventDetails != nil:
		d := e.LambdaFunctionScheduledEventDetails
		return t.scheduled(mk, aws.ToString(d.Resource), aws.ToString(d.Input), aws.ToInt64(d.TimeoutInSeconds), at)
	case e.TaskSucceededEventDetails != nil:
		return t.succeeded(mk, aws.ToString(e.TaskSucceededEventDetails.Output))
	case e.LambdaFunctionSucceededEventDetails != nil:
		return t.succeeded(mk, aws.ToString(e.LambdaFunctionSucceededEventDetails.Output))
	case e.TaskFailedEventDetails != nil:
		t.waiting = false
		return mk("failed", errText(aws.ToString(e.TaskFailedEventDetails.Error), aws.ToString(e.TaskFailedEventDetails.Cause)))
	case e.LambdaFunctionFailedEventDetails != nil:
		t.waiting = false
		return mk("failed", errText(aws.ToString(e.LambdaFunctionFailedEventDetails.Error), aws.ToString(e.LambdaFunctionFailedEventDetails.Cause)))
	case e.TaskTimedOutEventDetails != nil:
		t.waiting = false
		return mk("timeout", errText(aws.ToString(e.TaskTimedOutEventDetails.Error), aws.ToString(e.TaskTimedOutEventDetails.Cause)))
	case e.LambdaFunctionTimedOutEventDetails != nil:
		t.waiting = false
		return mk("timeout", errText(aws.ToString(e.LambdaFunctionTimedOutEventDetails.Error), aws.ToString(e.LambdaFunctionTimedOutEventDetails.Cause)))
	case e.ExecutionSucceededEventDetails != nil:
		var fr contract.FinishResult
		if t.finish == nil && json.Unmarshal([]byte(aws.ToString(e.ExecutionSucceededEventDetails.Output)), &fr) == nil && fr.Status != "" {
			t.finish = &fr
		}
		return t.end(mk, "SUCCEEDED", "", "")
	case e.ExecutionFailedEventDetails != nil:
		return t.end(mk, "FAILED", aws.ToString(e.ExecutionFailedEventDetails.Error), aws.ToString(e.ExecutionFailedEventDetails.Cause))
	case e.ExecutionAbortedEventDetails != nil:
		return t.end(mk, "ABORTED", aws.ToString(e.ExecutionAbortedEventDetails.Error), aws.ToString(e.ExecutionAbortedEventDetails.Cause))
	case e.ExecutionTimedOutEventDetails != nil:
		return t.end(mk, "TIMED_OUT", aws.ToString(e.ExecutionTimedOutEventDetails.Error), aws.ToString(e.ExecutionTimedOutEventDetails.Cause))
	}
	return nil
}

func (t *timeline) scheduled(mk func(string, string) []entry, resource, params string, timeout int64, at time.Time) []entry {
	t.attempts++
	var out []entry
	if t.attempts > 1 {
		out = append(out, mk("retry", fmt.Sprintf("attempt %d", t.attempts))...)
	}
	if strings.HasSuffix(resource, ".waitForTaskToken") {
		t.waiting, t.sinceWait = true, at
		var p struct {
			Payload struct {
				Token string `json:"token"`
				Phase string `json:"phase"`
			} `json:"Payload"`
		}
		_ = json.Unmarshal([]byte(params), &p)
		d := "waiting for a task token"
		if p.Payload.Phase != "" {
			d = "waiting for the " + p.Payload.Phase + " outcome (task token"
			if tok := p.Payload.Token; tok != "" {
				d += " " + abbreviate(tok, 12)
			}
			d += ")"
		}
		if timeout > 0 {
			d += fmt.Sprintf(", timeout %s", time.Duration(timeout)*time.Second)
		}
		out = append(out, mk("wait", d)...)
	}
	return out
}

func (t *timeline) succeeded(mk func(string, string) []entry, output string) []entry {
	wasWaiting := t.waiting
	t.waiting = false
	var r struct {
		Payload json.RawMessage `json:"Payload"`
	}
	if json.Unmarshal([]byte(output), &r) != nil || len(r.Payload) == 0 {
		return nil
	}
	var p map[string]any
	if json.Unmarshal(r.Payload, &p) != nil {
		return nil
	}
	if t.state == "Update" {
		t.updated = true
	}
	d := summarize(p)
	if d == "" {
		return nil
	}
	if wasWaiting {
		d = "woken: " + d
	}
	return mk("result", d)
}

func (t *timeline) end(mk func(string, string) []entry, execStatus, errName, cause string) []entry {
	r := &result{ExecutionArn: t.arn, Action: t.action, ExecutionStatus: execStatus, Status: execStatus, Error: errName, Cause: cause}
	if t.finish != nil {
		r.Status, r.Reason = string(t.finish.Status), t.finish.Reason
		r.From, r.To = t.finish.FromTaskDefinitionArn, t.finish.ToTaskDefinitionArn
	}
	if t.firstErr != nil {
		r.FirstError = t.firstErr.Error
	}
	r.ExitCode = outcomeExit(r, t.updated)
	t.res = r
	d := r.Status
	if r.Reason != "" {
		d += ": " + r.Reason
	} else if errName != "" {
		d += ": " + errText(errName, cause)
	}
	if r.From != "" || r.To != "" {
		d += fmt.Sprintf(" [%s -> %s]", shortRevision(r.From), shortRevision(r.To))
	}
	t.state = ""
	return mk("outcome", d)
}

// outcomeExit maps an ended execution to the CLI's exit code.
func outcomeExit(r *result, updated bool) int {
	switch r.ExecutionStatus {
	case "SUCCEEDED":
		if r.Status == string(contract.TerminalSuperseded) {
			return exitSuperseded
		}
		return exitOK
	case "FAILED":
		if r.Error == "RolledBack" || r.Status == string(contract.TerminalRolledBack) {
			if r.Action == string(contract.ActionRollback) {
				return exitOK // a rollback execution that rolled back did its job
			}
			return exitRolledBack
		}
		// Before the service was touched, the first error's class says
		// why (bad input: 2, throttled or transient: 5, superseded: 4).
		if !updated && r.FirstError != "" {
			return exitForName(r.FirstError)
		}
	}
	return exitFailed
}

// summarize describes a task's result payload in a few words.
func summarize(p map[string]any) string {
	s := func(k string) string { v, _ := p[k].(string); return v }
	switch {
	case s("action") != "" && p["targetTaskDefinitionArn"] != nil: // plan
		d := "plan: " + s("action")
		if t := s("targetTaskDefinitionArn"); t != "" {
			d += " to " + shortRevision(t)
		}
		if img, ok := p["image"].(map[string]any); ok {
			if ref, _ := img["repository"].(string); ref != "" {
				d += " image " + ref
				if tag, _ := img["tag"].(string); tag != "" {
					d += ":" + tag
				}
			}
		}
		if r := s("reason"); r != "" {
			d += " (" + r + ")"
		}
		return d
	case s("status") != "" && s("cause") != "": // outcome
		d := s("status") + " (" + s("cause") + ")"
		if a := s("alarm"); a != "" {
			d += " alarm " + a
		}
		if r := s("reason"); r != "" {
			d += ": " + r
		}
		return d
	case s("taskDefinitionArn") != "" && p["registered"] == true:
		return "registered " + shortRevision(s("taskDefinitionArn"))
	case s("taskDefinitionArn") != "" && p["previousTaskDefinitionArn"] != nil:
		if p["unchanged"] == true {
			return "service already on " + shortRevision(s("taskDefinitionArn"))
		}
		return fmt.Sprintf("updated %s -> %s", shortRevision(s("previousTaskDefinitionArn")), shortRevision(s("taskDefinitionArn")))
	case s("status") != "" && p["leaseReleased"] != nil: // finish
		d := "recorded " + s("status")
		if r := s("reason"); r != "" {
			d += ": " + r
		}
		return d
	}
	return ""
}

// describeInput says what an execution input asks for.
func describeInput(raw string) string {
	var in contract.ExecutionInput
	if json.Unmarshal([]byte(raw), &in) != nil || in.Action == "" {
		return abbreviate(raw, 120)
	}
	d := fmt.Sprintf("%s %s in %s", in.Action, in.Service, in.Cluster)
	switch {
	case in.Image != "":
		d += " image " + in.Image
	case in.Digest != "":
		d += " digest " + in.Digest
	case in.Revision != "":
		d += " to " + in.Revision
	}
	trig := string(in.Trigger)
	if trig == "" {
		trig = string(contract.TriggerManual)
	}
	if in.Alarm != nil {
		trig = "alarm " + in.Alarm.AlarmName
	}
	d += " (" + trig
	if in.RequestedBy != "" {
		d += " by " + in.RequestedBy
	}
	return d + ")"
}

func errText(name, cause string) string {
	if cause == "" {
		return name
	}
	// Lambda errors come as {"errorMessage": ..., "errorType": ...}.
	var le struct {
		Message string `json:"errorMessage"`
	}
	if json.Unmarshal([]byte(cause), &le) == nil && le.Message != "" {
		cause = le.Message
	}
	return name + ": " + abbreviate(cause, 300)
}

func abbreviate(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// follower polls an execution's history and prints its timeline, with
// the service's ECS events and deployment counts (when ecs is set).
type follower struct {
	api      sfnAPI
	ecs      ecsAPI
	out      io.Writer
	json     bool
	tty      bool
	interval time.Duration

	seenEvents  map[string]bool
	deployments string // the last deployment counts shown
	lastAt      time.Time
	lastSeen    time.Time // when lastAt was seen, on this machine's clock
}

var spinner = []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}

// follow prints the timeline until the execution ends and returns how.
func (f *follower) follow(ctx context.Context, arn string) (*result, error) {
	t := &timeline{arn: arn}
	tick := f.interval
	if f.tty && tick > 200*time.Millisecond {
		tick = 200 * time.Millisecond // the spinner turns between polls
	}
	lastPoll := time.Time{}
	frame := 0
	progress := false
	emit := func(ens []entry) {
		for _, en := range ens {
			if progress {
				fmt.Fprint(f.out, "\r\033[K")
				progress = false
			}
			if en.At.After(f.lastAt) {
				f.lastAt, f.lastSeen = en.At, time.Now()
			}
			f.print(en)
		}
	}
	for {
		if time.Since(lastPoll) >= f.interval || lastPoll.IsZero() {
			lastPoll = time.Now()
			events, err := f.history(ctx, arn, t.last)
			if err != nil {
				if progress {
					fmt.Fprint(f.out, "\r\033[K")
				}
				return nil, err
			}
			var batch []entry
			for _, e := range events {
				batch = append(batch, t.add(e)...)
			}
			// The service's new events go in among the timeline's by time;
			// once the execution has ended, those up to its end (a replay
			// shows them too) and no counts: they are the service's now.
			var until time.Time
			var outcome []entry
			if t.res != nil {
				// The outcome stays last.
				outcome = []entry{batch[len(batch)-1]}
				batch = batch[:len(batch)-1]
				until = outcome[0].At
			}
			batch = append(batch, f.service(ctx, t, until)...)
			slices.SortStableFunc(batch, func(a, b entry) int { return a.At.Compare(b.At) })
			emit(append(batch, outcome...))
			if t.res != nil {
				if f.json {
					if err := json.NewEncoder(f.out).Encode(struct {
						Kind string `json:"kind"`
						*result
					}{"result", t.res}); err != nil {
						return nil, err
					}
				}
				return t.res, nil
			}
		}
		if f.tty {
			what := t.state
			if t.waiting {
				what += " (waiting)"
			}
			if f.deployments != "" {
				what += "  " + f.deployments
			}
			// One terminal line: a wrapped one would not be erased.
			line := cut(fmt.Sprintf("%s %s %s", spinner[frame%len(spinner)], clockText(f.elapsed(t)), what), terminalWidth()-1)
			fmt.Fprint(f.out, "\r\033[K"+line)
			frame++
			progress = true
		}
		timer := time.NewTimer(tick)
		select {
		case <-ctx.Done():
			timer.Stop()
			if progress {
				fmt.Fprint(f.out, "\r\033[K")
			}
			return nil, &exitError{code: exitInterrupted, err: fmt.Errorf("stopped following %s (the execution goes on): %w", arn, ctx.Err())}
		case <-timer.C:
		}
	}
}

// elapsed is the execution's age: the cloud's time of the newest line
// seen, plus the time passed here since.
func (f *follower) elapsed(t *timeline) time.Duration {
	if t.start.IsZero() {
		return 0
	}
	return f.lastAt.Sub(t.start) + time.Since(f.lastSeen)
}

// service describes the watched service and returns its new ECS events
// (since the execution started, up to until when set) and, while it runs
// (until zero), when piped or JSON, its deployment counts when they
// changed; on a terminal the counts go in the progress line. Best effort:
// a failed describe shows nothing.
func (f *follower) service(ctx context.Context, t *timeline, until time.Time) []entry {
	if f.ecs == nil || t.service == "" || t.start.IsZero() {
		return nil
	}
	in := &ecs.DescribeServicesInput{Services: []string{t.service}}
	if t.cluster != "" {
		in.Cluster = aws.String(t.cluster)
	}
	out, err := f.ecs.DescribeServices(ctx, in)
	if err != nil || len(out.Services) == 0 {
		return nil
	}
	svc := out.Services[0]
	if f.seenEvents == nil {
		f.seenEvents = map[string]bool{}
	}
	var ens []entry
	mk := func(at time.Time, kind, detail string) entry {
		return entry{At: at.UTC(), Elapsed: at.Sub(t.start).Seconds(), Kind: kind, State: t.state, Detail: detail}
	}
	for i := len(svc.Events) - 1; i >= 0; i-- { // ECS lists the newest first
		e := svc.Events[i]
		id, at := aws.ToString(e.Id), aws.ToTime(e.CreatedAt)
		if f.seenEvents[id] || at.Before(t.start) || (!until.IsZero() && at.After(until)) {
			continue
		}
		f.seenEvents[id] = true
		ens = append(ens, mk(at, "ecs-event", aws.ToString(e.Message)))
	}
	if !until.IsZero() {
		return ens
	}
	counts, at := deploymentCounts(svc.Deployments)
	if arn := aws.ToString(svc.CurrentServiceDeployment); arn != "" && counts != "" {
		// Where ECS's own deployment is in its lifecycle (a blue/green bake,
		// a canary's wait) and how production traffic is split.
		if sd, err := readServiceDeployment(ctx, f.ecs, arn); err == nil && sd != nil {
			strategy := ""
			if dc := svc.DeploymentConfiguration; dc != nil {
				strategy = string(dc.Strategy)
			}
			counts += "; ecs " + strings.TrimSpace(strategy+" "+sd.text(strategy))
		}
	}
	if counts != f.deployments {
		f.deployments = counts
		if !f.tty && counts != "" {
			if at.Before(f.lastAt) {
				at = f.lastAt
			}
			ens = append(ens, mk(at, "deployments", counts))
		}
	}
	return ens
}

// deploymentCounts says, per deployment, its status, revision and tasks:
// "PRIMARY web:3 1/2 running, 1 pending (IN_PROGRESS); ACTIVE web:2 2/2
// running". at is the newest deployment update.
func deploymentCounts(ds []ecstypes.Deployment) (string, time.Time) {
	var parts []string
	var at time.Time
	for _, d := range ds {
		p := fmt.Sprintf("%s %s %d/%d running", aws.ToString(d.Status), shortRevision(aws.ToString(d.TaskDefinition)), d.RunningCount, d.DesiredCount)
		if d.PendingCount > 0 {
			p += fmt.Sprintf(", %d pending", d.PendingCount)
		}
		if d.FailedTasks > 0 {
			p += fmt.Sprintf(", %d failed", d.FailedTasks)
		}
		if r := string(d.RolloutState); r != "" {
			p += " (" + r + ")"
		}
		parts = append(parts, p)
		if u := aws.ToTime(d.UpdatedAt); u.After(at) {
			at = u
		}
	}
	return strings.Join(parts, "; "), at
}

// terminalWidth is $COLUMNS, or 120 (go.mod carries no terminal library
// to ask the terminal).
func terminalWidth() int {
	if n, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && n > 20 {
		return n
	}
	return historyWidth
}

// clockText is a duration as hh:mm:ss.
func clockText(d time.Duration) string {
	d = max(0, d.Round(time.Second))
	return fmt.Sprintf("%02d:%02d:%02d", int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60)
}

// history returns the events after id last, oldest first.
func (f *follower) history(ctx context.Context, arn string, last int64) ([]sfntypes.HistoryEvent, error) {
	var all []sfntypes.HistoryEvent
	in := &sfn.GetExecutionHistoryInput{ExecutionArn: aws.String(arn), MaxResults: 1000}
	for {
		out, err := f.api.GetExecutionHistory(ctx, in)
		if err != nil {
			// Not the ARN: the caller gave it, and AWS's message quotes it.
			return nil, fmt.Errorf("read the execution's history: %w", err)
		}
		for _, e := range out.Events {
			if e.Id > last {
				all = append(all, e)
			}
		}
		if aws.ToString(out.NextToken) == "" {
			break
		}
		in.NextToken = out.NextToken
	}
	slices.SortFunc(all, func(a, b sfntypes.HistoryEvent) int { return int(a.Id - b.Id) })
	return all, nil
}

func (f *follower) print(e entry) {
	if f.json {
		_ = json.NewEncoder(f.out).Encode(e)
		return
	}
	stamp := e.At.Format("15:04:05") + " +" + clockText(time.Duration(e.Elapsed*float64(time.Second)))
	switch e.Kind {
	case "started":
		fmt.Fprintf(f.out, "%s  started: %s\n", stamp, e.Detail)
	case "state":
		fmt.Fprintf(f.out, "%s  -> %s (%s)\n", stamp, e.State, e.Detail)
	case "outcome":
		fmt.Fprintf(f.out, "%s  == %s\n", stamp, e.Detail)
	case "ecs-event":
		fmt.Fprintf(f.out, "%s       ecs: %s\n", stamp, e.Detail)
	default:
		fmt.Fprintf(f.out, "%s       %s: %s\n", stamp, e.Kind, e.Detail)
	}
}
