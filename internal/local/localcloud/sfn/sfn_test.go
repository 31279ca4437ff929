package sfn_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	awslambda "github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	awsl "github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	awssfn "github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/google/go-cmp/cmp"

	"github.com/pushdeploy/pushdeploy/internal/app/clock"
	"github.com/pushdeploy/pushdeploy/internal/local/localcloud"
	eb "github.com/pushdeploy/pushdeploy/internal/local/localcloud/eventbridge"
	"github.com/pushdeploy/pushdeploy/internal/local/localcloud/lambda"
	"github.com/pushdeploy/pushdeploy/internal/local/localcloud/localtest"
	"github.com/pushdeploy/pushdeploy/internal/local/localcloud/sfn"
)

const role = "arn:aws:iam::123456789012:role/pushdeploy"

var (
	_ eb.ExecutionStarter = (*sfn.Service)(nil)
	_ eb.Invoker          = (*lambda.Service)(nil)
)

type env struct {
	svc    *sfn.Service
	lam    *lambda.Service
	client *awssfn.Client
	lc     *awsl.Client
	ebc    *eventbridge.Client
	log    *localcloud.CallLog
	server *localcloud.Server
	clk    *clock.Virtual
}

func setup(t *testing.T) *env {
	t.Helper()
	clk := clock.NewVirtual(time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC))
	t.Cleanup(clk.AutoAdvance(0)) // last: after the server closes
	log := localcloud.NewCallLog(nil)
	server := localtest.NewServer(clk, log)
	svc, err := sfn.New(sfn.Options{Clock: clk, Cloud: server})
	if err != nil {
		t.Fatal(err)
	}
	lam, err := lambda.New(lambda.Options{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	server.AddRPC(svc)
	server.AddREST(lam)
	server.Lend = lam.Lend
	server.AddRPC(eb.New(clk, localtest.Account, localtest.Region, lam, svc))
	url := localtest.Serve(t, server)
	t.Cleanup(func() { // first: before the server closes
		svc.Close()
		lam.Close()
	})
	cfg := localtest.Config(url)
	return &env{
		svc: svc, lam: lam, log: log, clk: clk, server: server,
		client: awssfn.NewFromConfig(cfg),
		lc:     awsl.NewFromConfig(cfg),
		ebc:    eventbridge.NewFromConfig(cfg),
	}
}

func (e *env) machine(t *testing.T, name, def string) string {
	t.Helper()
	out, err := e.client.CreateStateMachine(context.Background(), &awssfn.CreateStateMachineInput{
		Name: aws.String(name), Definition: aws.String(def), RoleArn: aws.String(role)})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.StateMachineArn)
}

// function creates a Lambda function run in-process by h.
func (e *env) function(t *testing.T, name string, h awslambda.Handler) string {
	t.Helper()
	e.lam.RegisterInProcess(name, h)
	out, err := e.lc.CreateFunction(context.Background(), &awsl.CreateFunctionInput{
		FunctionName: aws.String(name), Role: aws.String(role), Code: &ltypes.FunctionCode{}})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.FunctionArn)
}

// run starts an execution and waits for its end.
func (e *env) run(t *testing.T, smArn, name, input string) *awssfn.DescribeExecutionOutput {
	t.Helper()
	ctx := context.Background()
	in := &awssfn.StartExecutionInput{StateMachineArn: aws.String(smArn), Input: aws.String(input)}
	if name != "" {
		in.Name = aws.String(name)
	}
	out, err := e.client.StartExecution(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	return e.finish(t, aws.ToString(out.ExecutionArn))
}

func (e *env) finish(t *testing.T, arn string) *awssfn.DescribeExecutionOutput {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := e.svc.Wait(ctx, arn); err != nil {
		t.Fatalf("wait %s: %v", arn, err)
	}
	d, err := e.client.DescribeExecution(context.Background(), &awssfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func errorCode(err error) string {
	var api interface{ ErrorCode() string }
	if errors.As(err, &api) {
		return api.ErrorCode()
	}
	return fmt.Sprint(err)
}

const passMachine = `{"StartAt":"Wait","States":{
	"Wait":{"Type":"Wait","Seconds":600,"Next":"Done"},
	"Done":{"Type":"Pass","Parameters":{"got.$":"$.n"},"End":true}}}`

func TestStateMachineAPI(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	arn := e.machine(t, "deploy", passMachine)
	if arn != "arn:aws:states:us-east-1:123456789012:stateMachine:deploy" {
		t.Errorf("arn %s", arn)
	}
	for _, n := range []string{"b", "a", "c"} {
		e.machine(t, n, passMachine)
	}

	tests := []struct {
		name string
		in   awssfn.CreateStateMachineInput
		want string
	}{
		{"bad definition", awssfn.CreateStateMachineInput{Name: aws.String("x"), Definition: aws.String(`{"StartAt":"Nope","States":{}}`), RoleArn: aws.String(role)}, "InvalidDefinition"},
		{"not json", awssfn.CreateStateMachineInput{Name: aws.String("x"), Definition: aws.String(`{`), RoleArn: aws.String(role)}, "InvalidDefinition"},
		{"bad name", awssfn.CreateStateMachineInput{Name: aws.String("a b"), Definition: aws.String(passMachine), RoleArn: aws.String(role)}, "InvalidName"},
		{"bad role", awssfn.CreateStateMachineInput{Name: aws.String("x"), Definition: aws.String(passMachine), RoleArn: aws.String("role")}, "InvalidArn"},
		{"same again", awssfn.CreateStateMachineInput{Name: aws.String("deploy"), Definition: aws.String(passMachine), RoleArn: aws.String(role)}, ""},
		{"other definition", awssfn.CreateStateMachineInput{Name: aws.String("deploy"), Definition: aws.String(`{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}`), RoleArn: aws.String(role)}, "StateMachineAlreadyExists"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.client.CreateStateMachine(ctx, &tc.in)
			got := ""
			if err != nil {
				got = errorCode(err)
			}
			if got != tc.want {
				t.Errorf("error %q (%v), want %q", got, err, tc.want)
			}
		})
	}

	for def, want := range map[string]types.ValidateStateMachineDefinitionResultCode{
		passMachine:                      types.ValidateStateMachineDefinitionResultCodeOk,
		`{"StartAt":"Nope","States":{}}`: types.ValidateStateMachineDefinitionResultCodeFail,
	} {
		v, err := e.client.ValidateStateMachineDefinition(ctx, &awssfn.ValidateStateMachineDefinitionInput{Definition: aws.String(def)})
		if err != nil || v.Result != want || (want == types.ValidateStateMachineDefinitionResultCodeFail) != (len(v.Diagnostics) > 0) {
			t.Errorf("validate %s: %v %+v", def, err, v)
		}
	}

	var names []string
	p := awssfn.NewListStateMachinesPaginator(e.client, &awssfn.ListStateMachinesInput{MaxResults: 3})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, sm := range page.StateMachines {
			names = append(names, aws.ToString(sm.Name))
		}
	}
	if d := cmp.Diff([]string{"a", "b", "c", "deploy"}, names); d != "" {
		t.Errorf("list (-want +got):\n%s", d)
	}

	newDef := `{"StartAt":"P","States":{"P":{"Type":"Pass","Result":"v2","End":true}}}`
	if _, err := e.client.UpdateStateMachine(ctx, &awssfn.UpdateStateMachineInput{StateMachineArn: aws.String(arn), Definition: aws.String(newDef)}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.UpdateStateMachine(ctx, &awssfn.UpdateStateMachineInput{StateMachineArn: aws.String(arn), Definition: aws.String(`{}`)}); errorCode(err) != "InvalidDefinition" {
		t.Errorf("update with a bad definition: %v", err)
	}
	d, err := e.client.DescribeStateMachine(ctx, &awssfn.DescribeStateMachineInput{StateMachineArn: aws.String(arn)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(d.Definition) != newDef || d.Type != types.StateMachineTypeStandard || d.Status != types.StateMachineStatusActive || aws.ToString(d.RoleArn) != role {
		t.Errorf("describe: %+v", d)
	}
	if got := e.run(t, arn, "", `{}`); aws.ToString(got.Output) != `"v2"` {
		t.Errorf("execution of the updated machine: %s", aws.ToString(got.Output))
	}

	if _, err := e.client.DeleteStateMachine(ctx, &awssfn.DeleteStateMachineInput{StateMachineArn: aws.String(arn)}); err != nil {
		t.Fatal(err)
	}
	_, err = e.client.DescribeStateMachine(ctx, &awssfn.DescribeStateMachineInput{StateMachineArn: aws.String(arn)})
	var nf *types.StateMachineDoesNotExist
	if !errors.As(err, &nf) {
		t.Errorf("after delete: %v", err)
	}
}

func TestExecutions(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	arn := e.machine(t, "waiter", passMachine)
	start := e.clk.Now()

	got := e.run(t, arn, "first", `{"n":1}`)
	if got.Status != types.ExecutionStatusSucceeded || aws.ToString(got.Output) != `{"got":1}` || aws.ToString(got.Name) != "first" {
		t.Errorf("describe: status %s output %s", got.Status, aws.ToString(got.Output))
	}
	if d := got.StopDate.Sub(*got.StartDate); d != 10*time.Minute {
		t.Errorf("ran %s of clock time, want the Wait's 10m", d)
	}
	if !got.StartDate.Equal(start) {
		t.Errorf("start %s, want %s", got.StartDate, start)
	}

	sm, err := e.client.DescribeStateMachineForExecution(ctx, &awssfn.DescribeStateMachineForExecutionInput{ExecutionArn: got.ExecutionArn})
	if err != nil || aws.ToString(sm.Definition) != passMachine {
		t.Errorf("DescribeStateMachineForExecution: %v", err)
	}

	t.Run("history", func(t *testing.T) {
		var forward, reverse []string
		for _, rev := range []bool{false, true} {
			p := awssfn.NewGetExecutionHistoryPaginator(e.client, &awssfn.GetExecutionHistoryInput{
				ExecutionArn: got.ExecutionArn, ReverseOrder: rev, MaxResults: 2})
			for p.HasMorePages() {
				page, err := p.NextPage(ctx)
				if err != nil {
					t.Fatal(err)
				}
				for _, ev := range page.Events {
					s := fmt.Sprintf("%d:%s", ev.Id, ev.Type)
					if rev {
						reverse = append(reverse, s)
					} else {
						forward = append(forward, s)
					}
				}
			}
		}
		want := []string{"1:ExecutionStarted", "2:WaitStateEntered", "3:WaitStateExited", "4:PassStateEntered", "5:PassStateExited", "6:ExecutionSucceeded"}
		if d := cmp.Diff(want, forward); d != "" {
			t.Errorf("history (-want +got):\n%s", d)
		}
		for i, j := 0, len(reverse)-1; i < j; i, j = i+1, j-1 {
			reverse[i], reverse[j] = reverse[j], reverse[i]
		}
		if d := cmp.Diff(forward, reverse); d != "" {
			t.Errorf("reverse order is not the reverse (-fwd +rev):\n%s", d)
		}
		h, err := e.client.GetExecutionHistory(ctx, &awssfn.GetExecutionHistoryInput{ExecutionArn: got.ExecutionArn, MaxResults: 1})
		if err != nil {
			t.Fatal(err)
		}
		ev := h.Events[0].ExecutionStartedEventDetails
		if ev == nil || aws.ToString(ev.Input) != `{"n":1}` || aws.ToString(ev.RoleArn) != role {
			t.Errorf("ExecutionStarted details: %+v", ev)
		}
		if _, err := e.client.GetExecutionHistory(ctx, &awssfn.GetExecutionHistoryInput{ExecutionArn: got.ExecutionArn, NextToken: aws.String("garbage")}); errorCode(err) != "InvalidToken" {
			t.Errorf("bad token: %v", err)
		}
	})

	t.Run("names", func(t *testing.T) {
		// A machine that waits for a token stays RUNNING without the clock.
		e.function(t, "noop", awslambda.NewHandler(func() error { return nil }))
		held := e.machine(t, "held", `{"StartAt":"T","States":{"T":{"Type":"Task",
			"Resource":"arn:aws:states:::lambda:invoke.waitForTaskToken",
			"Parameters":{"FunctionName":"noop","Payload":{"t.$":"$$.Task.Token"}},"End":true}}}`)
		start := func(name, input string) (string, error) {
			out, err := e.client.StartExecution(ctx, &awssfn.StartExecutionInput{StateMachineArn: aws.String(held), Name: aws.String(name), Input: aws.String(input)})
			if err != nil {
				return "", err
			}
			return aws.ToString(out.ExecutionArn), nil
		}
		a1, err := start("svc-web-sha256-abc", `{"n":1}`)
		if err != nil {
			t.Fatal(err)
		}
		a2, err := start("svc-web-sha256-abc", `{"n":1}`)
		if err != nil || a2 != a1 {
			t.Errorf("same name and input while running: %s %v, want %s", a2, err, a1)
		}
		if _, err := start("svc-web-sha256-abc", `{"n":2}`); errorCode(err) != "ExecutionAlreadyExists" {
			t.Errorf("same name, other input: %v", err)
		}
		if _, err := start("bad name!", `{}`); errorCode(err) != "InvalidName" {
			t.Errorf("bad name: %v", err)
		}
		if _, err := start("x", `{nope`); errorCode(err) != "InvalidExecutionInput" {
			t.Errorf("bad input: %v", err)
		}
		stop, err := e.client.StopExecution(ctx, &awssfn.StopExecutionInput{ExecutionArn: aws.String(a1), Error: aws.String("Superseded"), Cause: aws.String("newer push")})
		if err != nil || stop.StopDate == nil {
			t.Fatalf("stop: %v", err)
		}
		d := e.finish(t, a1)
		if d.Status != types.ExecutionStatusAborted || aws.ToString(d.Error) != "Superseded" || aws.ToString(d.Cause) != "newer push" {
			t.Errorf("stopped execution: %s %s %s", d.Status, aws.ToString(d.Error), aws.ToString(d.Cause))
		}
		if _, err := start("svc-web-sha256-abc", `{"n":1}`); errorCode(err) != "ExecutionAlreadyExists" {
			t.Errorf("name of a closed execution reused within 90 days: %v", err)
		}
		if _, err := e.client.DescribeExecution(ctx, &awssfn.DescribeExecutionInput{ExecutionArn: aws.String(held + "x")}); errorCode(err) != "InvalidArn" {
			t.Errorf("describe with a state machine ARN: %v", err)
		}
	})

	t.Run("list", func(t *testing.T) {
		quick := e.machine(t, "quick", `{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}`)
		failing := `{"StartAt":"F","States":{"F":{"Type":"Fail","Error":"Boom"}}}`
		for i := 0; i < 5; i++ {
			e.run(t, quick, fmt.Sprintf("ok-%d", i), `{}`)
		}
		if _, err := e.client.UpdateStateMachine(ctx, &awssfn.UpdateStateMachineInput{StateMachineArn: aws.String(quick), Definition: aws.String(failing)}); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 2; i++ {
			if d := e.run(t, quick, fmt.Sprintf("bad-%d", i), `{}`); d.Status != types.ExecutionStatusFailed || aws.ToString(d.Error) != "Boom" {
				t.Errorf("failing run: %s %s", d.Status, aws.ToString(d.Error))
			}
		}
		list := func(filter types.ExecutionStatus) []string {
			var names []string
			p := awssfn.NewListExecutionsPaginator(e.client, &awssfn.ListExecutionsInput{StateMachineArn: aws.String(quick), StatusFilter: filter, MaxResults: 2})
			for p.HasMorePages() {
				page, err := p.NextPage(ctx)
				if err != nil {
					t.Fatal(err)
				}
				for _, x := range page.Executions {
					names = append(names, aws.ToString(x.Name))
				}
			}
			return names
		}
		if d := cmp.Diff([]string{"bad-1", "bad-0", "ok-4", "ok-3", "ok-2", "ok-1", "ok-0"}, list("")); d != "" {
			t.Errorf("all, newest first (-want +got):\n%s", d)
		}
		if d := cmp.Diff([]string{"bad-1", "bad-0"}, list(types.ExecutionStatusFailed)); d != "" {
			t.Errorf("FAILED (-want +got):\n%s", d)
		}
		if got := list(types.ExecutionStatusRunning); len(got) != 0 {
			t.Errorf("RUNNING: %v", got)
		}
	})
}

func TestLambdaTasks(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	var mu sync.Mutex
	var token string
	tokenSeen := make(chan struct{}, 1)
	e.function(t, "plan", awslambda.NewHandler(func(in map[string]any) (map[string]any, error) {
		return map[string]any{"planned": in["service"]}, nil
	}))
	e.function(t, "wait", awslambda.NewHandler(func(in struct{ Token string }) error {
		mu.Lock()
		token = in.Token
		mu.Unlock()
		tokenSeen <- struct{}{}
		return nil
	}))
	e.function(t, "fail", awslambda.NewHandler(func() error { return &DeployError{Reason: "image not found"} }))

	t.Run("invoke payload shape", func(t *testing.T) {
		arn := e.machine(t, "invoke", `{"StartAt":"Plan","States":{"Plan":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke",
			"Parameters":{"FunctionName":"plan","Payload.$":"$"},"End":true}}}`)
		d := e.run(t, arn, "", `{"service":"web"}`)
		if d.Status != types.ExecutionStatusSucceeded {
			t.Fatalf("%s %s %s", d.Status, aws.ToString(d.Error), aws.ToString(d.Cause))
		}
		var out struct {
			ExecutedVersion string
			Payload         map[string]any
			StatusCode      int
			SdkHttpMetadata struct {
				HttpStatusCode int
				HttpHeaders    map[string]string
			}
			SdkResponseMetadata struct{ RequestId string }
		}
		if err := json.Unmarshal([]byte(aws.ToString(d.Output)), &out); err != nil {
			t.Fatal(err)
		}
		if out.ExecutedVersion != "$LATEST" || out.StatusCode != 200 || out.Payload["planned"] != "web" ||
			out.SdkHttpMetadata.HttpStatusCode != 200 || out.SdkResponseMetadata.RequestId == "" ||
			out.SdkHttpMetadata.HttpHeaders["X-Amzn-Requestid"] != out.SdkResponseMetadata.RequestId {
			t.Errorf("output %s", aws.ToString(d.Output))
		}
	})

	t.Run("function ARN resource", func(t *testing.T) {
		arn := e.machine(t, "direct", `{"StartAt":"Plan","States":{"Plan":{"Type":"Task",
			"Resource":"arn:aws:lambda:us-east-1:123456789012:function:plan","End":true}}}`)
		if d := e.run(t, arn, "", `{"service":"api"}`); aws.ToString(d.Output) != `{"planned":"api"}` {
			t.Errorf("output %s (%s)", aws.ToString(d.Output), aws.ToString(d.Cause))
		}
	})

	t.Run("function error", func(t *testing.T) {
		arn := e.machine(t, "failing", `{"StartAt":"F","States":{"F":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke",
			"Parameters":{"FunctionName":"fail"},
			"Catch":[{"ErrorEquals":["DeployError"],"ResultPath":"$.err","Next":"Caught"}],"End":true},
			"Caught":{"Type":"Pass","End":true}}}`)
		d := e.run(t, arn, "", `{}`)
		var out struct{ Err struct{ Error, Cause string } }
		json.Unmarshal([]byte(aws.ToString(d.Output)), &out)
		if d.Status != types.ExecutionStatusSucceeded || out.Err.Error != "DeployError" {
			t.Fatalf("%s output %s", d.Status, aws.ToString(d.Output))
		}
		var cause map[string]any
		if err := json.Unmarshal([]byte(out.Err.Cause), &cause); err != nil || cause["errorType"] != "DeployError" || cause["errorMessage"] != "deploy failed: image not found" {
			t.Errorf("cause %q", out.Err.Cause)
		}
	})

	t.Run("service errors", func(t *testing.T) {
		arn := e.machine(t, "missing", `{"StartAt":"F","States":{"F":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke",
			"Parameters":{"FunctionName":"nope"},"End":true}}}`)
		d := e.run(t, arn, "", `{}`)
		if aws.ToString(d.Error) != "Lambda.ResourceNotFoundException" || !strings.Contains(aws.ToString(d.Cause), "Function not found") {
			t.Errorf("missing function: %s %s", aws.ToString(d.Error), aws.ToString(d.Cause))
		}
		// An injected throttle on Invoke is Lambda.TooManyRequestsException, which Retry handles.
		e.server.Faults.AddThrottle(localcloud.Throttle{Service: "lambda", Operation: "Invoke", Rate: 1, Limit: 2})
		retry := e.machine(t, "retry", `{"StartAt":"P","States":{"P":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke",
			"Parameters":{"FunctionName":"plan","Payload":{"service":"db"}},"ResultSelector":{"p.$":"$.Payload"},
			"Retry":[{"ErrorEquals":["Lambda.TooManyRequestsException"],"IntervalSeconds":2,"MaxAttempts":3}],"End":true}}}`)
		d = e.run(t, retry, "", `{}`)
		if aws.ToString(d.Output) != `{"p":{"planned":"db"}}` {
			t.Errorf("after retries: %s %s %s", d.Status, aws.ToString(d.Error), aws.ToString(d.Output))
		}
		if n := e.log.Count("lambda", "Invoke"); n < 3 {
			t.Errorf("%d Invoke calls logged", n)
		}
		e.server.Faults.Clear()
	})

	t.Run("waitForTaskToken", func(t *testing.T) {
		arn := e.machine(t, "token", `{"StartAt":"W","States":{"W":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke.waitForTaskToken",
			"Parameters":{"FunctionName":"wait","Payload":{"Token.$":"$$.Task.Token"}},"TimeoutSeconds":3600,"End":true}}}`)
		for _, tc := range []struct {
			name   string
			send   func(tok string) error
			status types.ExecutionStatus
			output string
			errStr string
		}{
			{"success", func(tok string) error {
				_, err := e.client.SendTaskSuccess(ctx, &awssfn.SendTaskSuccessInput{TaskToken: aws.String(tok), Output: aws.String(`{"outcome":"COMPLETED"}`)})
				return err
			}, types.ExecutionStatusSucceeded, `{"outcome":"COMPLETED"}`, ""},
			{"failure", func(tok string) error {
				_, err := e.client.SendTaskFailure(ctx, &awssfn.SendTaskFailureInput{TaskToken: aws.String(tok), Error: aws.String("RolloutFailed"), Cause: aws.String("circuit breaker")})
				return err
			}, types.ExecutionStatusFailed, "", "RolloutFailed"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				// The test plays the event that completes the task before its
				// timeout: it holds the clock so that time does not jump to it.
				release := e.clk.Busy()
				out, err := e.client.StartExecution(ctx, &awssfn.StartExecutionInput{StateMachineArn: aws.String(arn)})
				if err != nil {
					t.Fatal(err)
				}
				select {
				case <-tokenSeen:
				case <-time.After(10 * time.Second):
					t.Fatal("the waiting function was not invoked")
				}
				mu.Lock()
				tok := token
				mu.Unlock()
				if _, err := e.client.SendTaskHeartbeat(ctx, &awssfn.SendTaskHeartbeatInput{TaskToken: aws.String(tok)}); err != nil {
					t.Errorf("heartbeat: %v", err)
				}
				err = tc.send(tok)
				release()
				if err != nil {
					t.Fatal(err)
				}
				d := e.finish(t, aws.ToString(out.ExecutionArn))
				if d.Status != tc.status || aws.ToString(d.Output) != tc.output || aws.ToString(d.Error) != tc.errStr {
					t.Errorf("%s output %s error %s", d.Status, aws.ToString(d.Output), aws.ToString(d.Error))
				}
				_, err = e.client.SendTaskSuccess(ctx, &awssfn.SendTaskSuccessInput{TaskToken: aws.String(tok), Output: aws.String(`{}`)})
				if code := errorCode(err); code != "TaskDoesNotExist" && code != "TaskTimedOut" {
					t.Errorf("token of a finished task: %v", err)
				}
			})
		}
		_, err := e.client.SendTaskSuccess(ctx, &awssfn.SendTaskSuccessInput{TaskToken: aws.String("not-a-token"), Output: aws.String(`{}`)})
		if errorCode(err) != "InvalidToken" {
			t.Errorf("bogus token: %v", err)
		}
	})
}

// DeployError is a named error type, as the product's handlers return.
type DeployError struct{ Reason string }

func (e *DeployError) Error() string { return "deploy failed: " + e.Reason }

func TestIntegrations(t *testing.T) {
	e := setup(t)
	ctx := context.Background()

	t.Run("aws-sdk", func(t *testing.T) {
		e.machine(t, "target", passMachine)
		arn := e.machine(t, "sdk", `{"StartAt":"D","States":{"D":{"Type":"Task",
			"Resource":"arn:aws:states:::aws-sdk:sfn:describeStateMachine",
			"Parameters":{"StateMachineArn.$":"$.arn"},"ResultSelector":{"name.$":"$.Name","type.$":"$.Type"},"End":true}}}`)
		d := e.run(t, arn, "", `{"arn":"arn:aws:states:us-east-1:123456789012:stateMachine:target"}`)
		if aws.ToString(d.Output) != `{"name":"target","type":"STANDARD"}` {
			t.Errorf("output %s (%s %s)", aws.ToString(d.Output), aws.ToString(d.Error), aws.ToString(d.Cause))
		}
		d = e.run(t, arn, "", `{"arn":"arn:aws:states:us-east-1:123456789012:stateMachine:nope"}`)
		if aws.ToString(d.Error) != "Sfn.StateMachineDoesNotExistException" {
			t.Errorf("error %s (%s)", aws.ToString(d.Error), aws.ToString(d.Cause))
		}
	})

	t.Run("putEvents and an EventBridge target", func(t *testing.T) {
		got := make(chan string, 1)
		fnArn := e.function(t, "notify", awslambda.NewHandler(func(ev map[string]any) error {
			b, _ := json.Marshal(ev["detail"])
			got <- fmt.Sprintf("%s|%s", ev["detail-type"], b)
			return nil
		}))
		if _, err := e.ebc.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("r"), EventPattern: aws.String(`{"source":["pushdeploy"]}`)}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.ebc.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("r"), Targets: []ebtypes.Target{{Id: aws.String("fn"), Arn: aws.String(fnArn)}}}); err != nil {
			t.Fatal(err)
		}
		arn := e.machine(t, "events", `{"StartAt":"E","States":{"E":{"Type":"Task","Resource":"arn:aws:states:::events:putEvents",
			"Parameters":{"Entries":[{"Source":"pushdeploy","DetailType":"Deployment Finished","Detail":{"service.$":"$.service"}}]},"End":true}}}`)
		d := e.run(t, arn, "", `{"service":"web"}`)
		var out struct {
			Entries          []struct{ EventId string }
			FailedEntryCount int
		}
		if err := json.Unmarshal([]byte(aws.ToString(d.Output)), &out); err != nil || len(out.Entries) != 1 || out.Entries[0].EventId == "" {
			t.Fatalf("output %s (%s %s)", aws.ToString(d.Output), aws.ToString(d.Error), aws.ToString(d.Cause))
		}
		select {
		case s := <-got:
			if s != `Deployment Finished|{"service":"web"}` {
				t.Errorf("delivered %s", s)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("event not delivered to the function")
		}
	})

	t.Run("execution started by a rule", func(t *testing.T) {
		arn := e.machine(t, "onpush", `{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}`)
		if _, err := e.ebc.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("push"), EventPattern: aws.String(`{"source":["test.ecr"]}`)}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.ebc.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("push"), Targets: []ebtypes.Target{{Id: aws.String("sm"), Arn: aws.String(arn), RoleArn: aws.String(role)}}}); err != nil {
			t.Fatal(err)
		}
		// Only AWS may send aws.* sources: a look-alike source stands in for ECR.
		pe, err := e.ebc.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{{
			Source: aws.String("test.ecr"), DetailType: aws.String("ECR Image Action"), Detail: aws.String(`{"action-type":"PUSH"}`)}}})
		if err != nil || pe.FailedEntryCount != 0 {
			t.Fatalf("PutEvents: %v %+v", err, pe)
		}
		for i := 0; ; i++ {
			l, err := e.client.ListExecutions(ctx, &awssfn.ListExecutionsInput{StateMachineArn: aws.String(arn)})
			if err != nil {
				t.Fatal(err)
			}
			if len(l.Executions) == 1 {
				d := e.finish(t, aws.ToString(l.Executions[0].ExecutionArn))
				if !strings.Contains(aws.ToString(d.Output), `"detail-type":"ECR Image Action"`) {
					t.Errorf("output %s", aws.ToString(d.Output))
				}
				break
			}
			if i > 1000 {
				t.Fatal("no execution started")
			}
			e.clk.Sleep(ctx, time.Second)
		}
	})
}

func TestLatencyFault(t *testing.T) {
	e := setup(t)
	arn := e.machine(t, "slow", `{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}`)
	e.server.Faults.AddLatency(localcloud.Latency{Service: "sfn", Operation: "StartExecution", Delay: 5 * time.Second})
	before := e.clk.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := e.client.StartExecution(ctx, &awssfn.StartExecutionInput{StateMachineArn: aws.String(arn)})
	if err != nil {
		t.Fatal(err)
	}
	if d := out.StartDate.Sub(before); d < 5*time.Second {
		t.Errorf("started %s after the call, want the injected 5s", d)
	}
}

func TestTaskLatency(t *testing.T) {
	e := setup(t)
	e.function(t, "fn", awslambda.NewHandler(func() (string, error) { return "ok", nil }))
	arn := e.machine(t, "slowtask", `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:fn","End":true}}}`)
	e.server.Faults.AddLatency(localcloud.Latency{Service: "lambda", Operation: "Invoke", Delay: 30 * time.Second})
	d := e.run(t, arn, "", `{}`)
	if aws.ToString(d.Output) != `"ok"` {
		t.Fatalf("%s %s", d.Status, aws.ToString(d.Cause))
	}
	if took := d.StopDate.Sub(*d.StartDate); took < 30*time.Second {
		t.Errorf("task took %s on the clock, want the injected 30s", took)
	}
}

func TestTaskTokenTimedOut(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	tokens := make(chan string, 1)
	e.function(t, "store", awslambda.NewHandler(func(in struct{ Token string }) error {
		tokens <- in.Token
		return nil
	}))
	arn := e.machine(t, "timeout", `{"StartAt":"W","States":{"W":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke.waitForTaskToken",
		"Parameters":{"FunctionName":"store","Payload":{"Token.$":"$$.Task.Token"}},"TimeoutSeconds":900,"End":true}}}`)
	d := e.run(t, arn, "", `{}`)
	if d.Status != types.ExecutionStatusFailed || aws.ToString(d.Error) != "States.Timeout" {
		t.Fatalf("%s %s", d.Status, aws.ToString(d.Error))
	}
	if took := d.StopDate.Sub(*d.StartDate); took != 15*time.Minute {
		t.Errorf("timed out after %s, want 15m", took)
	}
	tok := <-tokens
	for name, call := range map[string]func() error{
		"success": func() error {
			_, err := e.client.SendTaskSuccess(ctx, &awssfn.SendTaskSuccessInput{TaskToken: aws.String(tok), Output: aws.String(`{}`)})
			return err
		},
		"failure": func() error {
			_, err := e.client.SendTaskFailure(ctx, &awssfn.SendTaskFailureInput{TaskToken: aws.String(tok)})
			return err
		},
		"heartbeat": func() error {
			_, err := e.client.SendTaskHeartbeat(ctx, &awssfn.SendTaskHeartbeatInput{TaskToken: aws.String(tok)})
			return err
		},
	} {
		var timedOut *types.TaskTimedOut
		if err := call(); !errors.As(err, &timedOut) {
			t.Errorf("%s after the timeout: %v", name, err)
		}
	}
	_, err := e.client.SendTaskSuccess(ctx, &awssfn.SendTaskSuccessInput{TaskToken: aws.String(tok), Output: aws.String(`{nope`)})
	if errorCode(err) != "InvalidOutput" {
		t.Errorf("output that is not JSON: %v", err)
	}
}
