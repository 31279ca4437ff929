package handler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/smithy-go"

	"github.com/pushdeploy/pushdeploy/internal/app/awsapi"
	"github.com/pushdeploy/pushdeploy/internal/app/clock"
	"github.com/pushdeploy/pushdeploy/internal/app/contract"
	"github.com/pushdeploy/pushdeploy/internal/app/coord"
	"github.com/pushdeploy/pushdeploy/internal/app/rollback"
	"github.com/pushdeploy/pushdeploy/internal/app/target"
	"github.com/pushdeploy/pushdeploy/internal/app/taskdef"
	"github.com/pushdeploy/pushdeploy/internal/app/trigger"
)

// DispatchDeps are the dispatch function's dependencies.
type DispatchDeps struct {
	// Evaluator judges the wait of a deploy in flight on an alarm.
	Evaluator *Evaluator
	Resolver  Resolver
	SFN       awsapi.SFN
	ECR       ECR // the push time of an image (imagePushedAt)
	Leases    Leases
	Triggers  Triggers
	Clock     clock.Clock
	Log       *slog.Logger
	Settings  Settings
}

// DispatchHandler turns an ECR push into one execution per following
// service, with deterministic names, each with a trigger ticket that plan
// verifies. It is also the one alarm path: an alarm's services are
// resolved once, and each either has a deploy in flight, whose parked wait
// it wakes, or gets an alarm rollback execution.
type DispatchHandler struct {
	d DispatchDeps
	c *coord.Coordinator
}

// NewDispatch returns the dispatch handler.
func NewDispatch(d DispatchDeps) (*DispatchHandler, error) {
	if d.Evaluator == nil || d.Resolver == nil || d.SFN == nil || d.ECR == nil || d.Leases == nil || d.Triggers == nil || d.Clock == nil || d.Log == nil {
		return nil, fmt.Errorf("dispatch: %w", errMissing)
	}
	if d.Settings.StateMachineArn == "" {
		return nil, fmt.Errorf("dispatch: no state machine ARN")
	}
	c, err := coord.NewCoordinator(d.Leases, d.SFN, d.Clock)
	if err != nil {
		return nil, fmt.Errorf("dispatch: %w", err)
	}
	return &DispatchHandler{d: d, c: c.WithJudge(d.Evaluator)}, nil
}

// Handle dispatches one event.
func (h *DispatchHandler) Handle(ctx context.Context, ev contract.Event) (contract.DispatchResult, error) {
	switch {
	case ev.Source == contract.SourceECR && ev.DetailType == contract.DetailTypeECRImageAction:
		return h.push(ctx, ev)
	case ev.Source == contract.SourceCloudWatch && ev.DetailType == contract.DetailTypeAlarmState:
		return h.alarm(ctx, ev)
	}
	return empty(), &contract.BadInput{Field: "detail-type", Reason: fmt.Sprintf("unexpected event %s / %s", ev.Source, ev.DetailType)}
}

func empty() contract.DispatchResult {
	return contract.DispatchResult{Started: []contract.StartedExecution{}, Skipped: []contract.SkippedTarget{}}
}

func (h *DispatchHandler) push(ctx context.Context, ev contract.Event) (contract.DispatchResult, error) {
	res := empty()
	var d contract.ECRImageActionDetail
	if err := json.Unmarshal(ev.Detail, &d); err != nil {
		return res, &contract.BadInput{Field: "detail", Reason: err.Error()}
	}
	if d.ActionType != "PUSH" || d.Result != "SUCCESS" {
		return res, nil
	}
	if d.RepositoryName == "" || !taskdef.ValidDigest(d.ImageDigest) {
		return res, &contract.BadInput{Field: "detail", Reason: fmt.Sprintf("push of %q needs a repository and a sha256 digest, got %q", d.RepositoryName, d.ImageDigest)}
	}
	log := h.d.Log.With("repository", d.RepositoryName, "tag", d.ImageTag, "digest", d.ImageDigest)
	if d.ImageTag == "" {
		log.InfoContext(ctx, "untagged push: no service follows a digest")
		return res, nil
	}
	img := taskdef.Image{Registry: taskdef.ECRRegistry(ev.AccountID, ev.Region), Repository: d.RepositoryName, Tag: d.ImageTag, Digest: d.ImageDigest}
	if !h.d.Settings.Policy.Allows(img) {
		return res, &contract.RegistryNotAllowed{Image: img.String(), Registry: img.Registry}
	}
	disc, err := h.d.Resolver.Discover(ctx, d.RepositoryName, d.ImageTag)
	if err != nil {
		return res, boundary("find services of "+d.RepositoryName, err)
	}
	res.Skipped = skippedOf(disc)
	if len(disc.Targets) == 0 {
		log.InfoContext(ctx, "dispatched push", "started", 0, "skipped", len(res.Skipped))
		return res, nil
	}
	at, err := h.pushTime(ctx, ev, d)
	if err != nil {
		return res, err
	}
	// The alarm index learns each target's alarms now, before any of
	// them can fire for this deploy. A hint only (ForAlarm verifies, and
	// scans when it is old): a failed write is logged, not fatal.
	if err := h.d.Resolver.Index(ctx, disc.Targets); err != nil {
		log.WarnContext(ctx, "alarm index not updated", "error", err)
	}
	ticket := trigger.Ticket{Seq: at.UnixMilli(), Tie: d.ImageDigest}
	started := make([]*contract.StartedExecution, len(disc.Targets))
	err = fanOut(ctx, len(disc.Targets), func(i int) error {
		t := disc.Targets[i]
		in := contract.ExecutionInput{
			Action: contract.ActionDeploy, Cluster: t.ClusterName, Service: t.ServiceName,
			Image: img.Pinned(), Digest: d.ImageDigest, Trigger: contract.TriggerPush,
			Push: &contract.PushTrigger{EventID: ev.ID, Account: ev.AccountID, Region: ev.Region,
				Repository: d.RepositoryName, Tag: d.ImageTag, Digest: d.ImageDigest, Time: ev.Time.UTC()},
		}
		s, err := h.start(ctx, PushName(t.ServiceARN, d.ImageDigest, ev.ID), t, in, ticket)
		if err != nil {
			return err
		}
		started[i] = &s
		return nil
	})
	for _, s := range started {
		if s != nil {
			res.Started = append(res.Started, *s)
		}
	}
	log.InfoContext(ctx, "dispatched push", "started", len(res.Started), "of", len(disc.Targets), "skipped", len(res.Skipped), "pushTime", at)
	return res, err
}

// Dispatch's fan-out: a push may match hundreds of services, and each
// costs two calls (the ticket's PutItem, StartExecution), about 20-50 ms
// each. One at a time, 500 services take 20-50 s of a 60 s function;
// startParallelism at once take 1-3 s, far below StartExecution's bucket
// (800 to 1,300, refilled at 150 to 300 per second) and DynamoDB's
// on-demand table. The executions pace ECS themselves (the state
// machine's throttling retry).
const startParallelism = 16

// deadlineMargin is the time dispatch keeps in hand before its function's
// deadline: it starts nothing new past it and fails the invocation with
// Retryable, so that Lambda's retry of the event starts the rest (those
// started already are ExecutionAlreadyExists: counted, not doubled).
const deadlineMargin = 15 * time.Second

// DeadlineNearError: dispatch stopped starting executions before its
// function's deadline; Remaining were left for the event's retry.
type DeadlineNearError struct{ Remaining, Total int }

func (e *DeadlineNearError) Error() string {
	return fmt.Sprintf("%d of %d executions left for the retry: the function's deadline is less than %s away", e.Remaining, e.Total, deadlineMargin)
}

// fanOut calls do(0..n-1), startParallelism at once, and returns the first
// error once every started call has returned; after an error, or with
// ctx's deadline less than deadlineMargin away, it starts no more (as
// *contract.Retryable wrapping *DeadlineNearError for the deadline).
func fanOut(ctx context.Context, n int, do func(i int) error) error {
	var (
		mu    sync.Mutex
		first error
		wg    sync.WaitGroup
		slots = make(chan struct{}, startParallelism)
	)
	failed := func() bool { mu.Lock(); defer mu.Unlock(); return first != nil }
	deadline, hasDeadline := ctx.Deadline()
	left := 0
	for i := range n {
		slots <- struct{}{} // a free slot: at most startParallelism run
		if failed() {
			break
		}
		if hasDeadline && time.Until(deadline) < deadlineMargin {
			left = n - i
			break
		}
		wg.Add(1)
		go func() {
			defer func() { <-slots; wg.Done() }()
			if err := do(i); err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	switch {
	case first != nil:
		return first
	case left > 0:
		return &contract.Retryable{Op: "dispatch", Err: &DeadlineNearError{Remaining: left, Total: n}}
	}
	return nil
}

// pushTime is the time that orders the push (trigger.PushTime), from the
// image's imagePushedAt: milliseconds, where the event has whole seconds.
func (h *DispatchHandler) pushTime(ctx context.Context, ev contract.Event, d contract.ECRImageActionDetail) (time.Time, error) {
	out, err := h.d.ECR.DescribeImages(ctx, &ecr.DescribeImagesInput{
		RegistryId: aws.String(ev.AccountID), RepositoryName: aws.String(d.RepositoryName),
		ImageIds: []ecrtypes.ImageIdentifier{{ImageDigest: aws.String(d.ImageDigest)}},
	})
	var api smithy.APIError
	switch {
	case errors.As(err, &api) && (api.ErrorCode() == "ImageNotFoundException" || api.ErrorCode() == "RepositoryNotFoundException"):
		// Deleted since the push: its deploy fails later; order it by the event.
		h.d.Log.WarnContext(ctx, "pushed image is gone: ordered by the event time", "digest", d.ImageDigest, "error", err)
		return trigger.PushTime(ev.Time, time.Time{}), nil
	case err != nil:
		return time.Time{}, boundary("describe image "+d.ImageDigest, err)
	}
	var pushedAt time.Time
	if len(out.ImageDetails) > 0 {
		pushedAt = aws.ToTime(out.ImageDetails[0].ImagePushedAt)
	}
	return trigger.PushTime(ev.Time, pushedAt), nil
}

func (h *DispatchHandler) alarm(ctx context.Context, ev contract.Event) (contract.DispatchResult, error) {
	res := empty()
	var d contract.AlarmStateChangeDetail
	if err := json.Unmarshal(ev.Detail, &d); err != nil || d.AlarmName == "" {
		return res, &contract.BadInput{Field: "detail", Reason: fmt.Sprintf("not an alarm state change: %v", err)}
	}
	if d.State.Value != "ALARM" {
		return res, nil
	}
	log := h.d.Log.With("alarm", d.AlarmName)
	disc, err := h.d.Resolver.ForAlarm(ctx, d.AlarmName)
	if err != nil {
		return res, boundary("find services of alarm "+d.AlarmName, err)
	}
	res.Skipped = skippedOf(disc)
	arn := ""
	if len(ev.Resources) > 0 {
		arn = ev.Resources[0]
	}
	// Each service's outcome in its own slot: fanOut runs them at once.
	type result struct {
		woke    *coord.Waiter
		started *contract.StartedExecution
	}
	results := make([]result, len(disc.Targets))
	err = fanOut(ctx, len(disc.Targets), func(i int) error {
		t := disc.Targets[i]
		// A deploy in flight watches its alarms itself: judge its parked
		// wait now and wake it when decided, and start no second
		// execution. Should the lease be taken right after this look,
		// plan's IfFree acquire skips the rollback: the lease, not this
		// look, is the guard.
		w, err := h.c.WakeHolder(ctx, t.ServiceARN)
		if err != nil {
			return boundary("wake the deploy in flight", err)
		}
		// A deploy that only waits for its approval changed nothing and
		// watches nothing: the rollback takes the lease from it (IfFree).
		if w.Live && !w.Approving {
			log.InfoContext(ctx, "deploy in flight", "service", t.ServiceARN, "execution", w.Holder, "wake", w.Wake.String())
			results[i].woke = &w
			return nil
		}
		in := contract.ExecutionInput{
			Action: contract.ActionRollback, Cluster: t.ClusterName, Service: t.ServiceName,
			Reason: "alarm " + d.AlarmName + " went to ALARM", Trigger: contract.TriggerAlarm,
			Alarm: &contract.AlarmTrigger{EventID: ev.ID, AlarmName: d.AlarmName, AlarmArn: arn,
				Reason: d.State.Reason, Time: ev.Time.UTC(), TaskDefinitionArn: t.TaskDefinition},
		}
		// One name per (service, culprit revision): a flapping alarm or a
		// duplicated event starts one rollback.
		started, err := h.start(ctx, rollback.IncidentKey(t.ServiceARN, t.TaskDefinition), t, in, trigger.Ticket{})
		if err != nil {
			return err
		}
		results[i].started = &started
		return nil
	})
	for i, r := range results {
		t := disc.Targets[i]
		switch {
		case r.woke != nil:
			switch r.woke.Wake {
			case coord.WakeSent:
				res.Woken = append(res.Woken, r.woke.Holder)
			case coord.WakeClaimedElsewhere:
				res.Waiting++
			case coord.WakeUndecided:
				res.Parked++
			}
			res.Skipped = append(res.Skipped, contract.SkippedTarget{Cluster: t.ClusterName, Service: t.ServiceName,
				Reason: string(rollback.DeployInFlight) + ": " + r.woke.Holder + " holds the service"})
		case r.started != nil:
			res.Started = append(res.Started, *r.started)
		}
	}
	if err != nil {
		return res, err
	}
	log.InfoContext(ctx, "dispatched alarm", "started", len(res.Started), "skipped", len(res.Skipped))
	return res, nil
}

// start issues the execution's trigger ticket and starts it; an existing
// execution of that name counts as started (a duplicate). The ticket comes
// first: plan refuses an execution whose ticket it cannot read.
func (h *DispatchHandler) start(ctx context.Context, name string, t target.Target, in contract.ExecutionInput, ticket trigger.Ticket) (contract.StartedExecution, error) {
	return startTrusted(ctx, starter{h.d.Triggers, h.d.SFN, h.d.Settings.StateMachineArn, h.d.Log}, name, t, in, ticket)
}

// starter is what starting a trusted execution takes: dispatch's and
// finish's (promotions) alike.
type starter struct {
	triggers     Triggers
	sfn          awsapi.SFN
	stateMachine string
	log          *slog.Logger
}

// startTrusted issues the execution's ticket, then starts it (see start).
func startTrusted(ctx context.Context, st starter, name string, t target.Target, in contract.ExecutionInput, ticket trigger.Ticket) (contract.StartedExecution, error) {
	body, err := jsonString(in)
	if err != nil {
		return contract.StartedExecution{}, err
	}
	s := contract.StartedExecution{Cluster: t.ClusterName, Service: t.ServiceName, Name: name}
	if err := st.triggers.Issue(ctx, t.ServiceARN, name, in, ticket); err != nil {
		return s, boundary("issue trigger ticket "+name, err)
	}
	out, err := st.sfn.StartExecution(ctx, &sfn.StartExecutionInput{
		StateMachineArn: aws.String(st.stateMachine), Name: aws.String(name), Input: aws.String(body),
	})
	var exists *sfntypes.ExecutionAlreadyExists
	switch {
	case errors.As(err, &exists):
		s.Existing = true
		s.ExecutionArn = executionARN(st.stateMachine, name)
	case err != nil:
		return s, boundary("start execution "+name, err)
	default:
		s.ExecutionArn = aws.ToString(out.ExecutionArn)
	}
	st.log.InfoContext(ctx, "execution", "cluster", t.ClusterName, "service", t.ServiceName, "name", name,
		"execution", s.ExecutionArn, "existing", s.Existing, "digest", in.Digest)
	return s, nil
}

// executionARN is the ARN of a state machine's execution of that name.
func executionARN(stateMachineARN, name string) string {
	return strings.Replace(stateMachineARN, ":stateMachine:", ":execution:", 1) + ":" + name
}

func skippedOf(disc target.Discovery) []contract.SkippedTarget {
	out := []contract.SkippedTarget{}
	for _, s := range disc.Skipped {
		cluster, service, _ := target.SplitServiceARN(s.ServiceARN)
		if service == "" {
			service = s.ServiceARN
		}
		out = append(out, contract.SkippedTarget{Cluster: cluster, Service: service, Reason: s.Reason})
	}
	return out
}
