package handler

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/pushdeploy/pushdeploy/internal/app/awsconfig"
	"github.com/pushdeploy/pushdeploy/internal/app/contract"
	"github.com/pushdeploy/pushdeploy/internal/app/coord"
)

// updateECS counts the UpdateService calls that reach ECS, applies each call's options to
// the options of a client with pushdeploy's retryer (to see what the
// handler did to it) and runs before, if set, when the call reaches ECS.
type updateECS struct {
	*fakeECS
	calls   int
	guarded []bool // whether each call's attempts were all lease-checked
	before  func()
}

func (u *updateECS) UpdateService(ctx context.Context, in *ecs.UpdateServiceInput, optFns ...func(*ecs.Options)) (*ecs.UpdateServiceOutput, error) {
	plain := awsconfig.NewRetryer(awsconfig.DefaultRetry)
	o := ecs.Options{Retryer: plain}
	for _, fn := range optFns {
		fn(&o)
	}
	// The guard (coord's) wraps the client's retryer.
	g, ok := o.Retryer.(aws.RetryerV2)
	ok = ok && o.Retryer != plain
	u.guarded = append(u.guarded, ok)
	if ok {
		// The attempt the SDK would make: its guard runs first.
		if _, err := g.GetAttemptToken(ctx); err != nil {
			return nil, err
		}
	}
	u.calls++ // reached ECS
	if u.before != nil {
		u.before()
	}
	return u.fakeECS.UpdateService(ctx, in) // the guard ran above
}

// flakyCheck fails the lease checks after the first with err.
type flakyCheck struct {
	Leases
	checks int
	err    error
}

func (f *flakyCheck) Check(ctx context.Context, service, holder string) error {
	f.checks++
	if f.checks > 1 {
		return f.err
	}
	return f.Leases.Check(ctx, service, holder)
}

const newerArn = "arn:aws:states:us-east-1:123456789012:execution:pushdeploy-deploy:run-2"

// takeOver: a newer execution takes the lease and, unless token is "",
// waits on it: the rollout of web:43, from web:39.
func (w *world) takeOver(token string) {
	w.leases.mu.Lock()
	defer w.leases.mu.Unlock()
	st := coord.State{Holder: newerArn, Seq: 2, Until: t0.Add(time.Hour), Token: token}
	if token != "" {
		p := contract.Plan{ExecutionArn: newerArn, Action: contract.ActionRedeploy, Trigger: contract.TriggerManual,
			Cluster: "prod", Service: "web", ServiceArn: webArn, CurrentTaskDefinitionArn: td(39), UndoTaskDefinitionArn: td(38),
			TargetTaskDefinitionArn: td(43), TimeoutSeconds: 1200, LeaseOwner: newerArn}
		wt := NewWait(token, contract.PhaseRollout, p, contract.UpdateResult{PreviousTaskDefinitionArn: td(39), TaskDefinitionArn: td(43), StartedAt: t0}, t0)
		st.Wait = &wt
	}
	w.leases.state[webArn] = st
}

func TestUpdateUnderLease(t *testing.T) {
	throttled := func(w *world, u *updateECS) { w.ecs.updateErr = throttleErr{} }
	tests := []struct {
		name    string
		purpose contract.Purpose
		setup   func(*world, *updateECS)
		want    string // error type name, "" for success
		calls   int    // UpdateService calls
		woken   bool   // the newer holder's wait was woken
		marked  bool   // the lease marks runs as a late update
		runs    string // the service's revision afterwards
		// flaky fails the lease check after the update (not superseded).
		flaky bool
	}{
		{name: "deploy", purpose: contract.PurposeDeploy, calls: 1, runs: td(42)},
		{name: "throttled deploy", purpose: contract.PurposeDeploy, setup: throttled, want: "Throttled", calls: 1, runs: td(41)},
		{name: "throttled rollback", purpose: contract.PurposeUndo, setup: throttled, want: "Throttled", calls: 1, runs: td(41)},
		{name: "conflicting update is retryable", purpose: contract.PurposeDeploy, setup: func(w *world, u *updateECS) {
			w.ecs.updateErr = &ecstypes.UpdateInProgressException{Message: aws.String("busy")}
		}, want: "Retryable", calls: 1, runs: td(41)},
		{name: "lease lost while the update was in flight wakes the newer holder", purpose: contract.PurposeDeploy, setup: func(w *world, u *updateECS) {
			u.before = func() { w.takeOver("tok-newer") }
		}, want: "Superseded", calls: 1, woken: true, marked: true, runs: td(42)},
		{name: "lease lost in flight, rollback", purpose: contract.PurposeUndo, setup: func(w *world, u *updateECS) {
			w.ecs.setPrimary("prod", "web", td(42), ecstypes.DeploymentRolloutStateInProgress, "")
			u.before = func() { w.takeOver("tok-newer") }
		}, want: "Superseded", calls: 1, woken: true, marked: true, runs: td(40)},
		{name: "lease lost in flight, newer holder not waiting yet", purpose: contract.PurposeDeploy, setup: func(w *world, u *updateECS) {
			u.before = func() { w.takeOver("") }
		}, want: "Superseded", calls: 1, marked: true, runs: td(42)},
		{name: "lease lost in flight, newer holder finished", purpose: contract.PurposeDeploy, setup: func(w *world, u *updateECS) {
			u.before = func() { w.leases.state[webArn] = coord.State{Seq: 2, LastHolder: newerArn} }
		}, want: "Superseded", calls: 1, runs: td(42)},
		{name: "superseded before, an earlier attempt landed: wakes the holder", purpose: contract.PurposeDeploy, setup: func(w *world, u *updateECS) {
			w.ecs.setPrimary("prod", "web", td(42), ecstypes.DeploymentRolloutStateInProgress, "")
			w.takeOver("tok-newer")
		}, want: "Superseded", woken: true, marked: true, runs: td(42)},
		{name: "superseded before, service not on our revision: no wake", purpose: contract.PurposeDeploy, setup: func(w *world, u *updateECS) {
			w.takeOver("tok-newer")
		}, want: "Superseded", runs: td(41)},
		{name: "lease unreadable after the update keeps the update", purpose: contract.PurposeDeploy, flaky: true, calls: 1, runs: td(42)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			p := w.deployPlan() // takes the lease: before setup
			u := &updateECS{fakeECS: w.ecs}
			if tt.setup != nil {
				tt.setup(w, u)
			}
			var leases Leases = w.leases
			if tt.flaky {
				leases = &flakyCheck{Leases: w.leases, err: errors.New("dynamodb down")}
			}
			h, err := NewUpdate(UpdateDeps{ECS: u, Leases: leases, SFN: w.sfn, Clock: w.clk, Log: w.log, Evaluator: mustEvaluator(t, u, w.cw, leases, w.clk)})
			if err != nil {
				t.Fatal(err)
			}
			rev := td(42)
			if tt.purpose == contract.PurposeUndo {
				rev = td(40)
			}
			res, err := h.Handle(context.Background(), contract.UpdateInput{Plan: p, TaskDefinitionArn: rev, Purpose: tt.purpose})
			if errName(err) != tt.want && !(tt.want == "" && err == nil) {
				t.Fatalf("err %v (%s), want %q", err, errName(err), tt.want)
			}
			if err == nil && res.TaskDefinitionArn != rev {
				t.Errorf("result %+v", res)
			}
			if u.calls != tt.calls {
				t.Errorf("%d UpdateService calls, want %d", u.calls, tt.calls)
			}
			for i, g := range u.guarded {
				if !g {
					t.Errorf("UpdateService call %d: SDK retries not guarded by the lease", i)
				}
			}
			if got := aws.ToString(w.ecs.svc("prod", "web").TaskDefinition); got != tt.runs {
				t.Errorf("service runs %s, want %s", got, tt.runs)
			}
			// Every attempt was announced while the lease was held.
			if st := w.leases.state[webArn]; tt.calls > 0 && st.Holder == p.LeaseOwner && !slices.Contains(st.Pending, rev) {
				t.Errorf("pending %v: %s not announced before the attempt", st.Pending, rev)
			}
			var want []string
			if tt.marked {
				want = []string{tt.runs}
			}
			if got := w.leases.state[webArn].LateUpdates; !slices.Equal(got, want) {
				t.Errorf("late updates marked %v, want %v", got, want)
			}
			if !tt.woken {
				if len(w.sfn.sent) != 0 {
					t.Errorf("sent %+v", w.sfn.sent)
				}
				return
			}
			if len(w.sfn.sent) != 1 || w.sfn.sent[0].token != "tok-newer" {
				t.Fatalf("sent %+v, want one wake-up of tok-newer", w.sfn.sent)
			}
			var o contract.Result[contract.Outcome]
			if err := contract.DecodeStrict([]byte(w.sfn.sent[0].output), &o); err != nil {
				t.Fatal(err)
			}
			// Judged: the newer execution re-applies its own revision.
			if o.Payload.Status != contract.StatusFailed || o.Payload.Cause != contract.CauseReplaced || !strings.Contains(o.Payload.Reason, shortRevision(rev)) {
				t.Errorf("wake-up %+v", o.Payload)
			}
			if st := w.leases.state[webArn]; st.Token != "" || st.Holder != newerArn {
				t.Errorf("lease after the wake-up %+v: token not claimed", st)
			}
		})
	}
}

// countChecks counts lease checks and runs onCheck before each.
type countChecks struct {
	Leases
	checks  int
	onCheck func(n int)
}

func (c *countChecks) Check(ctx context.Context, service, holder string) error {
	c.checks++
	if c.onCheck != nil {
		c.onCheck(c.checks)
	}
	return c.Leases.Check(ctx, service, holder)
}

// Intend is the check before each UpdateService attempt.
func (c *countChecks) Intend(ctx context.Context, service, holder, rev string) error {
	c.checks++
	if c.onCheck != nil {
		c.onCheck(c.checks)
	}
	return c.Leases.Intend(ctx, service, holder, rev)
}

// TestUpdateRetriesUnderLeaseSDK: the real ECS client with pushdeploy's
// retryer against a scripted ECS endpoint. The SDK may retry UpdateService,
// but every attempt follows a lease check; once the lease is lost no
// attempt is made, and an attempt that landed despite failing wakes the
// newer holder.
func TestUpdateRetriesUnderLeaseSDK(t *testing.T) {
	tests := []struct {
		name   string
		script []string // UpdateService responses in order: ok, throttle, landed-500
		// takeOverAt takes the lease (with a waiting token) when the
		// update's nth lease check runs (1: the Intend before the first
		// attempt; the check after the call comes last).
		takeOverAt int
		want       string
		calls      int // UpdateService requests the server saw
		checks     int
		woken      bool
		runs       string
	}{
		{name: "accepted", script: []string{"ok"}, calls: 1, checks: 2, runs: td(42)},
		{name: "throttled then accepted", script: []string{"throttle", "ok"}, calls: 2, checks: 3, runs: td(42)},
		{name: "throttled on every attempt", script: []string{"throttle", "throttle", "throttle"}, want: "Throttled", calls: 3, checks: 3, runs: td(41)},
		{name: "lease taken before the retry: no second attempt", script: []string{"throttle", "ok"}, takeOverAt: 2,
			want: "Superseded", calls: 1, checks: 2, runs: td(41)},
		{name: "failed attempt that landed, then lease taken: wakes the holder", script: []string{"landed-500", "ok"}, takeOverAt: 2,
			want: "Superseded", calls: 1, checks: 2, woken: true, runs: td(42)},
		{name: "lease taken while the attempt was in flight: wakes the holder", script: []string{"ok"}, takeOverAt: 2,
			want: "Superseded", calls: 1, checks: 2, woken: true, runs: td(42)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			current, calls := td(41), 0
			srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
				var body struct{ TaskDefinition string }
				_ = json.NewDecoder(r.Body).Decode(&body)
				op := r.Header.Get("X-Amz-Target")
				op = op[strings.LastIndex(op, ".")+1:]
				mu.Lock()
				defer mu.Unlock()
				rw.Header().Set("Content-Type", "application/x-amz-json-1.1")
				service := func() map[string]any {
					return map[string]any{"serviceName": "web", "serviceArn": webArn, "status": "ACTIVE", "taskDefinition": current,
						"deployments": []any{map[string]any{"id": "ecs-svc/9", "status": "PRIMARY", "taskDefinition": current, "createdAt": float64(t0.Unix())}}}
				}
				switch op {
				case "DescribeServices":
					_ = json.NewEncoder(rw).Encode(map[string]any{"services": []any{service()}, "failures": []any{}})
					return
				case "UpdateService":
					calls++
					switch tt.script[calls-1] {
					case "ok":
						current = body.TaskDefinition
						_ = json.NewEncoder(rw).Encode(map[string]any{"service": service()})
					case "throttle":
						rw.WriteHeader(http.StatusBadRequest)
						_, _ = io.WriteString(rw, `{"__type":"ThrottlingException","message":"Rate exceeded"}`)
					case "landed-500":
						current = body.TaskDefinition
						rw.WriteHeader(http.StatusInternalServerError)
						_, _ = io.WriteString(rw, `{"__type":"ServerException","message":"internal error"}`)
					}
					return
				}
				rw.WriteHeader(http.StatusBadRequest)
				_, _ = io.WriteString(rw, `{"__type":"InvalidParameterException","message":"unexpected `+op+`"}`)
			}))
			t.Cleanup(srv.Close)
			fast := awsconfig.Retry{MaxAttempts: 3, Base: time.Millisecond, ThrottleBase: time.Millisecond, MaxBackoff: 2 * time.Millisecond}
			client := ecs.NewFromConfig(aws.Config{
				Region:      region,
				Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
				Retryer:     func() aws.Retryer { return awsconfig.NewRetryer(fast) },
			}, func(o *ecs.Options) { o.BaseEndpoint = aws.String(srv.URL) })

			w := newWorld(t)
			p := w.deployPlan()
			leases := &countChecks{Leases: w.leases, onCheck: func(n int) {
				if n == tt.takeOverAt {
					w.takeOver("tok-newer")
				}
			}}
			h, err := NewUpdate(UpdateDeps{ECS: client, Leases: leases, SFN: w.sfn, Clock: w.clk, Log: w.log, Evaluator: mustEvaluator(t, client, w.cw, leases, w.clk)})
			if err != nil {
				t.Fatal(err)
			}
			res, err := h.Handle(context.Background(), contract.UpdateInput{Plan: p, TaskDefinitionArn: td(42), Purpose: contract.PurposeDeploy})
			if errName(err) != tt.want && !(tt.want == "" && err == nil) {
				t.Fatalf("err %v (%s), want %q", err, errName(err), tt.want)
			}
			if err == nil && (res.TaskDefinitionArn != td(42) || res.PreviousTaskDefinitionArn != td(41) || res.DeploymentID != "ecs-svc/9") {
				t.Errorf("result %+v", res)
			}
			mu.Lock()
			defer mu.Unlock()
			if calls != tt.calls || leases.checks != tt.checks {
				t.Errorf("%d UpdateService requests, %d lease checks; want %d, %d", calls, leases.checks, tt.calls, tt.checks)
			}
			if current != tt.runs {
				t.Errorf("service runs %s, want %s", current, tt.runs)
			}
			if woken := len(w.sfn.sent) == 1 && w.sfn.sent[0].token == "tok-newer"; woken != tt.woken || len(w.sfn.sent) > 1 {
				t.Errorf("sent %+v, want woken %v", w.sfn.sent, tt.woken)
			}
			// A wake-up always follows the mark the holder's check relies on.
			if marked := w.leases.state[webArn].IsLateUpdate(td(42)); marked != tt.woken {
				t.Errorf("late update of %s marked %v, want %v", td(42), marked, tt.woken)
			}
		})
	}
}

func TestReplacedRevision(t *testing.T) {
	at := func(m int) *time.Time { return aws.Time(t0.Add(time.Duration(m) * time.Minute)) }
	dep := func(status, rev string, m int) ecstypes.Deployment {
		return ecstypes.Deployment{Status: aws.String(status), TaskDefinition: aws.String(rev), CreatedAt: at(m)}
	}
	for _, tc := range []struct {
		name string
		svc  *ecstypes.Service
		want string
	}{
		{"the previous primary, now active", &ecstypes.Service{Deployments: []ecstypes.Deployment{dep("PRIMARY", td(42), 2), dep("ACTIVE", td(41), 1)}}, td(41)},
		{"the newest of several active", &ecstypes.Service{Deployments: []ecstypes.Deployment{dep("ACTIVE", td(39), 0), dep("PRIMARY", td(42), 3), dep("ACTIVE", td(40), 2)}}, td(40)},
		{"no other deployment: the plan's", &ecstypes.Service{Deployments: []ecstypes.Deployment{dep("PRIMARY", td(42), 2)}}, td(41)},
		{"no service: the plan's", nil, td(41)},
	} {
		if got := replacedRevision(tc.svc, td(41)); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
}
