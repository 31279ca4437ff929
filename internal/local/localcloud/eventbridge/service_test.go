package eventbridge_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/google/go-cmp/cmp"

	"github.com/pushdeploy/pushdeploy/internal/app/clock"
	"github.com/pushdeploy/pushdeploy/internal/local/localcloud"
	"github.com/pushdeploy/pushdeploy/internal/local/localcloud/bus"
	eb "github.com/pushdeploy/pushdeploy/internal/local/localcloud/eventbridge"
	"github.com/pushdeploy/pushdeploy/internal/local/localcloud/localtest"
)

var start = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

const (
	account = "123456789012"
	region  = "us-east-1"
	fnARN   = "arn:aws:lambda:us-east-1:123456789012:function:Dispatch"
	smARN   = "arn:aws:states:us-east-1:123456789012:stateMachine:Deploy"
)

// recorder is a fake Invoker and ExecutionStarter.
type recorder struct {
	mu    sync.Mutex
	calls []string // "arn payload"
	fail  error
}

func (r *recorder) InvokeEvent(_ context.Context, arn string, payload []byte) error {
	return r.record(arn, payload)
}

func (r *recorder) StartExecutionFromEvent(_ context.Context, arn string, input []byte) error {
	return r.record(arn, input)
}

func (r *recorder) record(arn string, payload []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, arn+" "+string(payload))
	return r.fail
}

func (r *recorder) sorted() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := append([]string(nil), r.calls...)
	sort.Strings(out)
	return out
}

type env struct {
	clk *clock.Virtual
	svc *eb.Service
	rec *recorder
	c   *eventbridge.Client
	log *localcloud.CallLog
	srv *localcloud.Server
	url string
}

func setup(t *testing.T) *env {
	t.Helper()
	clk := clock.NewVirtual(start)
	rec := &recorder{}
	svc := eb.New(clk, account, region, rec, rec)
	log := localcloud.NewCallLog(nil)
	url, srv := localtest.Start(t, clk, log, svc)
	c := eventbridge.NewFromConfig(localtest.Config(url))
	return &env{clk: clk, svc: svc, rec: rec, c: c, log: log, srv: srv, url: url}
}

func TestBusesAndRules(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	cb, err := e.c.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String("deploys"), Description: aws.String("d")})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := aws.ToString(cb.EventBusArn), "arn:aws:events:us-east-1:123456789012:event-bus/deploys"; got != want {
		t.Errorf("EventBusArn = %s, want %s", got, want)
	}
	_, err = e.c.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String("deploys")})
	var exists *types.ResourceAlreadyExistsException
	if !errors.As(err, &exists) {
		t.Errorf("duplicate bus: %v, want ResourceAlreadyExistsException", err)
	}
	db, err := e.c.DescribeEventBus(ctx, &eventbridge.DescribeEventBusInput{Name: aws.String("deploys")})
	if err != nil || aws.ToString(db.Arn) != aws.ToString(cb.EventBusArn) || !db.CreationTime.Equal(start) {
		t.Errorf("DescribeEventBus = %+v, %v", db, err)
	}
	lb, err := e.c.ListEventBuses(ctx, &eventbridge.ListEventBusesInput{})
	if err != nil || len(lb.EventBuses) != 2 {
		t.Errorf("ListEventBuses = %+v, %v; want default and deploys", lb, err)
	}
	if _, err := e.c.DeleteEventBus(ctx, &eventbridge.DeleteEventBusInput{Name: aws.String("default")}); err == nil {
		t.Error("deleting the default bus: want an error")
	}

	// Rules on the custom bus, listed in pages.
	for i := range 5 {
		_, err := e.c.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String(fmt.Sprintf("r%d", i)), EventBusName: aws.String("deploys"),
			EventPattern: aws.String(`{"source":["app"]}`)})
		if err != nil {
			t.Fatal(err)
		}
	}
	var names []string
	var token *string
	for {
		out, err := e.c.ListRules(ctx, &eventbridge.ListRulesInput{EventBusName: aws.String("deploys"), Limit: aws.Int32(2), NextToken: token})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range out.Rules {
			names = append(names, aws.ToString(r.Name))
		}
		if token = out.NextToken; token == nil {
			break
		}
	}
	if diff := cmp.Diff([]string{"r0", "r1", "r2", "r3", "r4"}, names); diff != "" {
		t.Errorf("ListRules pages (-want +got):\n%s", diff)
	}
	dr, err := e.c.DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: aws.String("r1"), EventBusName: aws.String("deploys")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(dr.Arn) != "arn:aws:events:us-east-1:123456789012:rule/deploys/r1" || dr.State != types.RuleStateEnabled {
		t.Errorf("DescribeRule = %s %s", aws.ToString(dr.Arn), dr.State)
	}
	if _, err := e.c.DisableRule(ctx, &eventbridge.DisableRuleInput{Name: aws.String("r1"), EventBusName: aws.String("deploys")}); err != nil {
		t.Fatal(err)
	}
	dr, _ = e.c.DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: aws.String("r1"), EventBusName: aws.String("deploys")})
	if dr.State != types.RuleStateDisabled {
		t.Errorf("after DisableRule state = %s", dr.State)
	}
	if _, err := e.c.EnableRule(ctx, &eventbridge.EnableRuleInput{Name: aws.String("r1"), EventBusName: aws.String("deploys")}); err != nil {
		t.Fatal(err)
	}

	// Targets block deletion until removed.
	pt, err := e.c.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("r1"), EventBusName: aws.String("deploys"),
		Targets: []types.Target{{Id: aws.String("fn"), Arn: aws.String(fnARN)}, {Id: aws.String("sm"), Arn: aws.String(smARN), RoleArn: aws.String("arn:aws:iam::123456789012:role/x")}}})
	if err != nil || pt.FailedEntryCount != 0 {
		t.Fatalf("PutTargets = %+v, %v", pt, err)
	}
	lt, err := e.c.ListTargetsByRule(ctx, &eventbridge.ListTargetsByRuleInput{Rule: aws.String("r1"), EventBusName: aws.String("deploys")})
	if err != nil || len(lt.Targets) != 2 || aws.ToString(lt.Targets[1].RoleArn) == "" {
		t.Errorf("ListTargetsByRule = %+v, %v", lt, err)
	}
	_, err = e.c.DeleteRule(ctx, &eventbridge.DeleteRuleInput{Name: aws.String("r1"), EventBusName: aws.String("deploys")})
	if err == nil {
		t.Error("DeleteRule with targets: want an error")
	}
	if _, err := e.c.RemoveTargets(ctx, &eventbridge.RemoveTargetsInput{Rule: aws.String("r1"), EventBusName: aws.String("deploys"), Ids: []string{"fn", "sm"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.DeleteRule(ctx, &eventbridge.DeleteRuleInput{Name: aws.String("r1"), EventBusName: aws.String("deploys")}); err != nil {
		t.Fatal(err)
	}
	_, err = e.c.DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: aws.String("r1"), EventBusName: aws.String("deploys")})
	var nf *types.ResourceNotFoundException
	if !errors.As(err, &nf) {
		t.Errorf("DescribeRule of a deleted rule: %v, want ResourceNotFoundException", err)
	}
	_, err = e.c.DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: aws.String("r0")})
	if !errors.As(err, &nf) {
		t.Errorf("rule of another bus on the default bus: %v, want ResourceNotFoundException", err)
	}

	// Tags.
	if _, err := e.c.TagResource(ctx, &eventbridge.TagResourceInput{ResourceARN: dr.Arn, Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("a")}}}); err == nil {
		t.Error("tagging a deleted rule: want an error")
	}
	if _, err := e.c.TagResource(ctx, &eventbridge.TagResourceInput{ResourceARN: cb.EventBusArn, Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("a")}}}); err != nil {
		t.Fatal(err)
	}
	tg, err := e.c.ListTagsForResource(ctx, &eventbridge.ListTagsForResourceInput{ResourceARN: cb.EventBusArn})
	if err != nil || len(tg.Tags) != 1 || aws.ToString(tg.Tags[0].Value) != "a" {
		t.Errorf("ListTagsForResource = %+v, %v", tg, err)
	}
	if got := e.log.Count("events", "PutRule"); got != 5 {
		t.Errorf("call log counts %d PutRule, want 5", got)
	}
}

func TestPutRuleErrors(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	tests := []struct {
		name string
		in   *eventbridge.PutRuleInput
		want string
	}{
		{"invalid pattern", &eventbridge.PutRuleInput{Name: aws.String("r"), EventPattern: aws.String(`{"source":"aws.ecr"}`)}, "InvalidEventPatternException"},
		{"pattern not JSON", &eventbridge.PutRuleInput{Name: aws.String("r"), EventPattern: aws.String(`{`)}, "InvalidEventPatternException"},
		{"no pattern", &eventbridge.PutRuleInput{Name: aws.String("r")}, "ValidationException"},
		{"schedule unsupported", &eventbridge.PutRuleInput{Name: aws.String("r"), ScheduleExpression: aws.String("rate(5 minutes)")}, "ValidationException"},
		{"bad name", &eventbridge.PutRuleInput{Name: aws.String("a b"), EventPattern: aws.String(`{"source":["x"]}`)}, "ValidationException"},
		{"bad state", &eventbridge.PutRuleInput{Name: aws.String("r"), EventPattern: aws.String(`{"source":["x"]}`), State: "OFF"}, "ValidationException"},
		{"missing bus", &eventbridge.PutRuleInput{Name: aws.String("r"), EventPattern: aws.String(`{"source":["x"]}`), EventBusName: aws.String("nope")}, "ResourceNotFoundException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.c.PutRule(ctx, tt.in)
			if got := errorCode(err); got != tt.want {
				t.Errorf("PutRule error = %v, want %s", err, tt.want)
			}
		})
	}
}

func errorCode(err error) string {
	var api interface{ ErrorCode() string }
	if errors.As(err, &api) {
		return api.ErrorCode()
	}
	return fmt.Sprint(err)
}

func TestPutTargetsErrors(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	if _, err := e.c.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("r"), EventPattern: aws.String(`{"source":["x"]}`)}); err != nil {
		t.Fatal(err)
	}
	put := func(ts ...types.Target) (*eventbridge.PutTargetsOutput, error) {
		return e.c.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("r"), Targets: ts})
	}
	_, err := put(types.Target{Id: aws.String("a"), Arn: aws.String(fnARN), Input: aws.String(`{}`), InputPath: aws.String("$.detail")})
	if errorCode(err) != "ValidationException" {
		t.Errorf("Input and InputPath: %v, want ValidationException", err)
	}
	_, err = put(types.Target{Id: aws.String("a"), Arn: aws.String(fnARN), InputTransformer: &types.InputTransformer{
		InputPathsMap: map[string]string{"x": "$.detail.x"}, InputTemplate: aws.String(`{"x": <x>, "y": <y>}`)}})
	if errorCode(err) != "ValidationException" {
		t.Errorf("template with an undefined placeholder: %v, want ValidationException", err)
	}
	_, err = put(types.Target{Id: aws.String("a"), Arn: aws.String(fnARN), Input: aws.String(`{not json`)})
	if errorCode(err) != "ValidationException" {
		t.Errorf("Input not JSON: %v, want ValidationException", err)
	}
	_, err = put(types.Target{Id: aws.String("a"), Arn: aws.String(fnARN), SqsParameters: &types.SqsParameters{MessageGroupId: aws.String("g")}})
	if errorCode(err) != "ValidationException" {
		t.Errorf("SqsParameters: %v, want ValidationException naming it", err)
	}
	out, err := put(types.Target{Id: aws.String("q"), Arn: aws.String("arn:aws:sqs:us-east-1:123456789012:queue")},
		types.Target{Id: aws.String("fn"), Arn: aws.String(fnARN)})
	if err != nil || out.FailedEntryCount != 1 || aws.ToString(out.FailedEntries[0].TargetId) != "q" {
		t.Errorf("SQS target: %+v, %v; want one failed entry for q", out, err)
	}
	var ts []types.Target
	for i := range 5 {
		ts = append(ts, types.Target{Id: aws.String(fmt.Sprint("t", i)), Arn: aws.String(fnARN)})
	}
	// The SDK retries LimitExceededException as throttling: one attempt.
	_, err = e.c.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("r"), Targets: ts}, func(o *eventbridge.Options) { o.RetryMaxAttempts = 1 })
	if errorCode(err) != "LimitExceededException" {
		t.Errorf("6 targets on a rule: %v, want LimitExceededException", err)
	}
	_, err = e.c.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("nope"), Targets: []types.Target{{Id: aws.String("a"), Arn: aws.String(fnARN)}}})
	if errorCode(err) != "ResourceNotFoundException" {
		t.Errorf("missing rule: %v, want ResourceNotFoundException", err)
	}
}

func TestPutEventsDelivers(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	rule := func(name, pattern, state string, targets ...types.Target) {
		t.Helper()
		if _, err := e.c.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String(name), EventPattern: aws.String(pattern), State: types.RuleState(state)}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.c.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String(name), Targets: targets}); err != nil {
			t.Fatal(err)
		}
	}
	rule("deploys", `{"source":["app.test"],"detail":{"kind":["deploy"]}}`, "ENABLED",
		types.Target{Id: aws.String("whole"), Arn: aws.String(fnARN)},
		types.Target{Id: aws.String("path"), Arn: aws.String(fnARN + ":live"), InputPath: aws.String("$.detail.service")},
		types.Target{Id: aws.String("const"), Arn: aws.String(fnARN + ":const"), Input: aws.String(`{"fixed":true}`)},
		types.Target{Id: aws.String("sm"), Arn: aws.String(smARN), InputTransformer: &types.InputTransformer{
			InputPathsMap: map[string]string{"svc": "$.detail.service.name", "n": "$.detail.count", "first": "$.resources[0]"},
			InputTemplate: aws.String(`{"service": <svc>, "count": <n>, "text": "<svc> x<n> <first>", "rule": "<aws.events.rule-name>"}`),
		}})
	rule("disabled", `{"source":["app.test"]}`, "DISABLED", types.Target{Id: aws.String("x"), Arn: aws.String(fnARN + ":disabled")})
	rule("other", `{"source":["other"]}`, "ENABLED", types.Target{Id: aws.String("x"), Arn: aws.String(fnARN + ":other")})

	e.clk.Advance(90 * time.Second)
	out, err := e.c.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{
		{Source: aws.String("app.test"), DetailType: aws.String("Deploy"), Resources: []string{"arn:svc/a"},
			Detail: aws.String(`{"kind":"deploy","count":3,"service":{"name":"web"}}`)},
		{Source: aws.String("app.test"), DetailType: aws.String("Deploy"), Detail: aws.String(`{"kind":"other"}`)},
		{Source: aws.String("app.test"), DetailType: aws.String("Deploy")},
		{Source: aws.String("app.test"), DetailType: aws.String("Deploy"), Detail: aws.String(`[1]`)},
		{Source: aws.String("app.test"), DetailType: aws.String("Deploy"), Detail: aws.String(`{}`), EventBusName: aws.String("nope")},
		{Source: aws.String("aws.ecr"), DetailType: aws.String("ECR Image Action"), Detail: aws.String(`{}`)},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if out.FailedEntryCount != 4 {
		t.Errorf("FailedEntryCount = %d, want 4", out.FailedEntryCount)
	}
	codes := []string{}
	for _, r := range out.Entries {
		codes = append(codes, aws.ToString(r.ErrorCode))
	}
	if diff := cmp.Diff([]string{"", "", "InvalidArgument", "MalformedDetail", "InvalidArgument", "NotAuthorizedForSourceException"}, codes); diff != "" {
		t.Errorf("entry error codes (-want +got):\n%s", diff)
	}
	id := aws.ToString(out.Entries[0].EventId)
	e.svc.Flush()

	whole := fmt.Sprintf(`{"version":"0","id":%q,"detail-type":"Deploy","source":"app.test","account":"123456789012","time":"2026-03-01T12:01:30Z","region":"us-east-1","resources":["arn:svc/a"],"detail":{"kind":"deploy","count":3,"service":{"name":"web"}}}`, id)
	want := []string{
		fnARN + " " + whole,
		fnARN + ":const " + `{"fixed":true}`,
		fnARN + ":live " + `{"name":"web"}`,
		smARN + ` {"service": "web", "count": 3, "text": "web x3 arn:svc/a", "rule": "deploys"}`,
	}
	if diff := cmp.Diff(want, e.rec.sorted()); diff != "" {
		t.Errorf("deliveries (-want +got):\n%s", diff)
	}
	ds := e.svc.Deliveries()
	if len(ds) != 4 || ds[0].EventID != id || ds[0].Rule != "deploys" || ds[0].Err != "" {
		t.Errorf("Deliveries() = %v", ds)
	}
}

func TestPublishAndFailedDelivery(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	if _, err := e.c.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("ecr"),
		EventPattern: aws.String(`{"source":["aws.ecr"],"detail-type":["ECR Image Action"],"detail":{"action-type":["PUSH"],"result":["SUCCESS"]}}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("ecr"), Targets: []types.Target{{Id: aws.String("fn"), Arn: aws.String(fnARN)}}}); err != nil {
		t.Fatal(err)
	}
	var logged strings.Builder
	e.svc.SetLog(&logged)
	e.rec.fail = errors.New("function not found")
	e.svc.Publish(ctx, bus.Event{Source: "aws.ecr", DetailType: "ECR Image Action",
		Detail: json.RawMessage(`{"action-type":"PUSH","result":"SUCCESS","repository-name":"web","image-tag":"v1"}`)})
	e.svc.Publish(ctx, bus.Event{Source: "aws.ecr", DetailType: "ECR Image Action", Detail: json.RawMessage(`{"action-type":"DELETE","result":"SUCCESS"}`)})
	e.svc.Flush()
	calls := e.rec.sorted()
	if len(calls) != 1 {
		t.Fatalf("deliveries = %v, want the PUSH only", calls)
	}
	var got bus.Event
	if err := json.Unmarshal([]byte(calls[0][len(fnARN)+1:]), &got); err != nil {
		t.Fatal(err)
	}
	if got.ID == "" || got.Account != account || got.Region != region || got.Time != "2026-03-01T12:00:00Z" || got.Version != "0" {
		t.Errorf("envelope not filled in: %+v", got)
	}
	ds := e.svc.Deliveries()
	if len(ds) != 1 || ds[0].Err != "function not found" {
		t.Errorf("Deliveries() = %v, want one failure", ds)
	}
	if want := "12:00:00 events:deliver bus=default rule=ecr target=fn arn=" + fnARN + " event=" + got.ID + " -> failed: function not found\n"; logged.String() != want {
		t.Errorf("log = %q, want %q", logged.String(), want)
	}
}

func TestTestEventPattern(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	event := `{"id":"1","account":"123456789012","source":"aws.ecs","time":"2026-03-01T12:00:00Z","region":"us-east-1","detail-type":"ECS Deployment State Change","resources":[],"detail":{"eventName":"SERVICE_DEPLOYMENT_FAILED"}}`
	tests := []struct {
		pattern, event string
		want           bool
		err            string
	}{
		{`{"source":["aws.ecs"],"detail":{"eventName":[{"prefix":"SERVICE_DEPLOYMENT_"}]}}`, event, true, ""},
		{`{"detail":{"eventName":[{"anything-but":["SERVICE_DEPLOYMENT_FAILED"]}]}}`, event, false, ""},
		{`{"detail":{"eventName":"x"}}`, event, false, "InvalidEventPatternException"},
		{`{"source":["aws.ecs"]}`, `{"source":"aws.ecs"}`, false, "ValidationException"},
		{`{"source":["aws.ecs"]}`, `not json`, false, "ValidationException"},
	}
	for _, tt := range tests {
		out, err := e.c.TestEventPattern(ctx, &eventbridge.TestEventPatternInput{EventPattern: aws.String(tt.pattern), Event: aws.String(tt.event)})
		if tt.err != "" {
			if errorCode(err) != tt.err {
				t.Errorf("TestEventPattern(%s) error = %v, want %s", tt.pattern, err, tt.err)
			}
			continue
		}
		if err != nil || out.Result != tt.want {
			t.Errorf("TestEventPattern(%s) = %v, %v; want %v", tt.pattern, out, err, tt.want)
		}
	}
}

func TestUnknownOperation(t *testing.T) {
	e := setup(t)
	_, err := e.c.ListArchives(context.Background(), &eventbridge.ListArchivesInput{})
	if errorCode(err) != "UnknownOperationException" {
		t.Errorf("ListArchives: %v, want UnknownOperationException", err)
	}
}

// slowInvoker hands the event to a goroutine that waits on the clock, as
// the local Lambda does with a queued invocation.
type slowInvoker struct {
	clk  clock.Clock
	done chan string
}

func (s *slowInvoker) InvokeEvent(_ context.Context, arn string, payload []byte) error {
	release := s.clk.Busy()
	go func() {
		defer release()
		s.clk.AfterFunc(time.Minute, func() { s.done <- arn })
	}()
	return nil
}

func TestDeliveryOnAutoAdvancingClock(t *testing.T) {
	clk := clock.NewVirtual(start)
	stop := clk.AutoAdvance(clock.DefaultGrace)
	defer stop()
	inv := &slowInvoker{clk: clk, done: make(chan string, 1)}
	svc := eb.New(clk, account, region, nil, nil)
	svc.SetInvoker(inv)
	ctx := context.Background()
	if _, err := svc.Call(ctx, "PutRule", json.RawMessage(`{"Name":"r","EventPattern":"{\"source\":[\"s\"]}"}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Call(ctx, "PutTargets", json.RawMessage(`{"Rule":"r","Targets":[{"Id":"f","Arn":"`+fnARN+`"}]}`)); err != nil {
		t.Fatal(err)
	}
	svc.Publish(ctx, bus.Event{Source: "s", DetailType: "d"})
	if got := <-inv.done; got != fnARN {
		t.Errorf("delivered to %s", got)
	}
	if now := clk.Now(); now.Before(start.Add(time.Minute)) {
		t.Errorf("clock at %v, want a minute on", now)
	}
	svc.Flush()
	if d := svc.Deliveries(); len(d) != 1 || d[0].Err != "" || string(d[0].Input) == "" {
		t.Errorf("Deliveries() = %v", d)
	}
}
