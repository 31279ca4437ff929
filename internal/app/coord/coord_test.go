package coord_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/smithy-go"

	"github.com/pushdeploy/pushdeploy/internal/app/clock"
	"github.com/pushdeploy/pushdeploy/internal/app/contract"
	"github.com/pushdeploy/pushdeploy/internal/app/coord"
)

var t0 = time.Date(2026, 11, 22, 2, 0, 0, 0, time.UTC)

const (
	tdPrefix = "arn:aws:ecs:us-east-1:123456789012:task-definition/"
)

// memLeases is an in-memory lease of one service: enough of the Store's
// conditions for the coordinator's logic.
type memLeases struct {
	mu      sync.Mutex
	st      coord.State
	getErr  error
	clearOK *bool // when set, ClearToken reports it
	intends []string
	marks   []string
}

func (m *memLeases) Acquire(context.Context, coord.Request) (coord.Acquired, error) {
	return coord.Acquired{}, errors.New("not used")
}
func (m *memLeases) Check(_ context.Context, service, holder string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.st.Holder != holder {
		return &coord.SupersededError{Service: service, By: m.st.Holder}
	}
	return nil
}
func (m *memLeases) SetWait(ctx context.Context, service, holder string, w coord.Wait) error {
	if err := m.Check(ctx, service, holder); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.st.Token, m.st.Wait = w.Token, &w
	return nil
}
func (m *memLeases) ClearToken(_ context.Context, _, token string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.clearOK != nil {
		return *m.clearOK, nil
	}
	if m.st.Token != token {
		return false, nil
	}
	m.st.Token, m.st.Wait = "", nil
	return true, nil
}
func (m *memLeases) Release(context.Context, string, string) error { return nil }
func (m *memLeases) Get(context.Context, string) (coord.State, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.st, m.getErr
}
func (m *memLeases) MarkLateUpdate(_ context.Context, _, rev string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.st.Holder == "" {
		return false, nil
	}
	m.marks = append(m.marks, rev)
	m.st.LateUpdates = append(m.st.LateUpdates, rev)
	return true, nil
}
func (m *memLeases) Intend(ctx context.Context, service, holder, rev string) error {
	if err := m.Check(ctx, service, holder); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.intends = append(m.intends, rev)
	return nil
}

// fakeSFN records SendTaskSuccess calls and fails them with err.
type fakeSFN struct {
	sent   []sfn.SendTaskSuccessInput
	failed []sfn.SendTaskFailureInput
	err    error
}

func (f *fakeSFN) SendTaskFailure(_ context.Context, in *sfn.SendTaskFailureInput, _ ...func(*sfn.Options)) (*sfn.SendTaskFailureOutput, error) {
	if f.err != nil {
		return nil, f.err
	}
	f.failed = append(f.failed, *in)
	return &sfn.SendTaskFailureOutput{}, nil
}

func (f *fakeSFN) SendTaskSuccess(_ context.Context, in *sfn.SendTaskSuccessInput, _ ...func(*sfn.Options)) (*sfn.SendTaskSuccessOutput, error) {
	if f.err != nil {
		return nil, f.err
	}
	f.sent = append(f.sent, *in)
	return &sfn.SendTaskSuccessOutput{}, nil
}

func apiErr(code string) error { return &smithy.GenericAPIError{Code: code, Message: code} }

// fakeJudge judges every wait with its outcome (decided unless told).
type fakeJudge struct {
	o      contract.Outcome
	err    error
	judged []coord.Wait
}

func (j *fakeJudge) Judge(_ context.Context, w coord.Wait) (contract.Outcome, error) {
	j.judged = append(j.judged, w)
	return j.o, j.err
}

func decided() *fakeJudge {
	return &fakeJudge{o: contract.Outcome{Status: contract.StatusFailed, Cause: "alarm", Reason: "judged"}}
}

func newCoord(t *testing.T, l coord.Leases, s coord.SFN) *coord.Coordinator {
	t.Helper()
	c, err := coord.NewCoordinator(l, s, clock.NewVirtual(t0))
	if err != nil {
		t.Fatal(err)
	}
	return c.WithJudge(decided())
}

func TestIsStaleToken(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want bool
	}{
		{apiErr("TaskTimedOut"), true},
		{apiErr("TaskDoesNotExist"), true},
		{apiErr("InvalidToken"), true},
		{apiErr("ThrottlingException"), false},
		{errors.New("connection reset"), false},
		{nil, false},
	} {
		if got := coord.IsStaleToken(tt.err); got != tt.want {
			t.Errorf("IsStaleToken(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

func TestWakeHolder(t *testing.T) {
	live := t0.Add(time.Hour)
	no := false
	wait := &coord.Wait{Token: "tok", Phase: contract.PhaseRollout}
	for _, tt := range []struct {
		name      string
		st        coord.State
		clearOK   *bool
		sendErr   error
		undecided bool // the judge does not decide
		want      coord.Wake
		wantErr   bool
		sent      int
		tokenYet  bool // the token is still stored afterwards
	}{
		{name: "nobody holds it", st: coord.State{}, want: coord.WakeNone},
		{name: "holder not waiting", st: coord.State{Holder: "A", Until: live}, want: coord.WakeNone},
		{name: "expired holder is not woken", st: coord.State{Holder: "A", Until: t0.Add(-time.Second), Token: "tok", Wait: wait}, want: coord.WakeNone, tokenYet: true},
		{name: "waiting: claimed and sent", st: coord.State{Holder: "A", Until: live, Token: "tok", Wait: wait}, want: coord.WakeSent, sent: 1},
		{name: "claimed by someone else first", st: coord.State{Holder: "A", Until: live, Token: "tok", Wait: wait}, clearOK: &no, want: coord.WakeClaimedElsewhere, tokenYet: true},
		{name: "timed out wait is stale", st: coord.State{Holder: "A", Until: live, Token: "tok", Wait: wait}, sendErr: apiErr("TaskTimedOut"), want: coord.WakeStale},
		{name: "gone wait is stale", st: coord.State{Holder: "A", Until: live, Token: "tok", Wait: wait}, sendErr: apiErr("TaskDoesNotExist"), want: coord.WakeStale},
		{name: "bad token is stale", st: coord.State{Holder: "A", Until: live, Token: "tok", Wait: wait}, sendErr: apiErr("InvalidToken"), want: coord.WakeStale},
		{name: "throttled send is an error", st: coord.State{Holder: "A", Until: live, Token: "tok", Wait: wait}, sendErr: apiErr("ThrottlingException"), wantErr: true},
		{name: "undecided: left parked", st: coord.State{Holder: "A", Until: live, Token: "tok", Wait: wait}, undecided: true, want: coord.WakeUndecided, tokenYet: true},
		{name: "token without its wait: left to its timeout", st: coord.State{Holder: "A", Until: live, Token: "tok"}, want: coord.WakeUndecided, tokenYet: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			l := &memLeases{st: tt.st, clearOK: tt.clearOK}
			s := &fakeSFN{err: tt.sendErr}
			j := decided()
			if tt.undecided {
				j.o = contract.Outcome{Status: contract.StatusInProgress, Cause: "in-progress"}
			}
			c := newCoord(t, l, s).WithJudge(j)
			w, err := c.WakeHolder(context.Background(), "svc")
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if err == nil && w.Wake != tt.want {
				t.Errorf("wake = %v, want %v", w.Wake, tt.want)
			}
			if len(s.sent) != tt.sent {
				t.Errorf("sent %d, want %d", len(s.sent), tt.sent)
			}
			if tokenYet := l.st.Token != ""; tokenYet != tt.tokenYet {
				t.Errorf("token stored afterwards: %v, want %v", tokenYet, tt.tokenYet)
			}
			if tt.sent == 1 {
				var body contract.Result[contract.Outcome]
				if err := json.Unmarshal([]byte(aws.ToString(s.sent[0].Output)), &body); err != nil || body.Payload.Reason != "judged" {
					t.Errorf("output %s (%v): not the outcome in the state machine's shape", aws.ToString(s.sent[0].Output), err)
				}
			}
		})
	}
}

func TestWakeTokenOnce(t *testing.T) {
	l := &memLeases{st: coord.State{Holder: "A", Until: t0.Add(time.Hour), Token: "tok"}}
	s := &fakeSFN{}
	c := newCoord(t, l, s)
	ctx := context.Background()
	first, err := c.WakeToken(ctx, "svc", "tok", contract.Outcome{})
	if err != nil || first != coord.WakeSent {
		t.Fatalf("first wake = %v, %v", first, err)
	}
	second, err := c.WakeToken(ctx, "svc", "tok", contract.Outcome{})
	if err != nil || second != coord.WakeClaimedElsewhere {
		t.Fatalf("second wake = %v, %v; want claimed elsewhere", second, err)
	}
	if len(s.sent) != 1 {
		t.Errorf("sent %d, want 1", len(s.sent))
	}
}

func TestClassifyForeign(t *testing.T) {
	for _, tt := range []struct {
		name     string
		late     []string
		observed string
		want     coord.Foreign
	}{
		{"back where the plan started", nil, tdPrefix + "web:1", coord.Undone},
		{"back where it would go back to, as family:N", nil, "web:2", coord.Undone},
		{"a superseded execution's late update", []string{tdPrefix + "web:7"}, tdPrefix + "web:7", coord.Replaced},
		{"a late update marked as family:N", []string{"web:7"}, tdPrefix + "web:7", coord.Replaced},
		{"anything else is outside", []string{tdPrefix + "web:7"}, tdPrefix + "web:9", coord.ChangedOutside},
	} {
		t.Run(tt.name, func(t *testing.T) {
			l := &memLeases{st: coord.State{Holder: "A", LateUpdates: tt.late}}
			got, err := coord.ClassifyForeign(context.Background(), l, "svc", tt.observed, tdPrefix+"web:1", tdPrefix+"web:2")
			if err != nil || got != tt.want {
				t.Errorf("ClassifyForeign = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
	l := &memLeases{getErr: errors.New("boom")}
	if _, err := coord.ClassifyForeign(context.Background(), l, "svc", tdPrefix+"web:9", tdPrefix+"web:1"); err == nil {
		t.Error("a lease that cannot be read must be an error, not a verdict")
	}
}

// fakeECS is one service; before runs when a call reaches it.
type fakeECS struct {
	running string
	calls   int
	before  func()
	err     error
}

func (f *fakeECS) DescribeServices(context.Context, *ecs.DescribeServicesInput, ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error) {
	return &ecs.DescribeServicesOutput{Services: []ecstypes.Service{{TaskDefinition: aws.String(f.running)}}}, nil
}

func (f *fakeECS) UpdateService(ctx context.Context, in *ecs.UpdateServiceInput, optFns ...func(*ecs.Options)) (*ecs.UpdateServiceOutput, error) {
	f.calls++
	// The attempt the SDK would make, with the options the call set: the
	// guard runs first.
	o := ecs.Options{Retryer: retry.NewStandard()}
	for _, fn := range optFns {
		fn(&o)
	}
	if _, err := o.Retryer.(aws.RetryerV2).GetAttemptToken(ctx); err != nil {
		return nil, err
	}
	if f.before != nil {
		f.before()
	}
	if f.err != nil {
		return nil, f.err
	}
	f.running = aws.ToString(in.TaskDefinition)
	return &ecs.UpdateServiceOutput{Service: &ecstypes.Service{TaskDefinition: in.TaskDefinition,
		Deployments: []ecstypes.Deployment{{Status: aws.String("PRIMARY"), TaskDefinition: in.TaskDefinition, Id: aws.String("ecs-svc/1")}}}}, nil
}

func TestUpdateService(t *testing.T) {
	rev := tdPrefix + "web:5"
	for _, tt := range []struct {
		name string
		// before runs when the call reaches ECS: a newer execution may take
		// the lease meanwhile.
		takeOver  bool
		newerWait bool
		ecsErr    error
		landed    bool
		wantSup   bool
		wantMarks int
		wantWoken int
	}{
		{name: "holder updates", landed: true},
		{name: "lease lost in flight: handed over, newer woken", takeOver: true, newerWait: true, landed: true, wantSup: true, wantMarks: 1, wantWoken: 1},
		{name: "lease lost in flight, newer not waiting: marked only", takeOver: true, landed: true, wantSup: true, wantMarks: 1},
		{name: "call fails before landing: nothing handed over", ecsErr: errors.New("500")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			l := &memLeases{st: coord.State{Holder: "A", Until: t0.Add(time.Hour)}}
			s := &fakeSFN{}
			e := &fakeECS{running: tdPrefix + "web:4", err: tt.ecsErr}
			e.before = func() {
				if tt.takeOver {
					l.mu.Lock()
					l.st = coord.State{Holder: "B", Until: t0.Add(time.Hour)}
					if tt.newerWait {
						l.st.Token, l.st.Wait = "tokB", &coord.Wait{Token: "tokB", Phase: contract.PhaseRollout}
					}
					l.mu.Unlock()
				}
			}
			c := newCoord(t, l, s)
			var logs bytes.Buffer
			u := coord.Update{ServiceARN: "svc", Holder: "A", Log: slog.New(slog.NewTextHandler(&logs, nil)),
				Input: &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("web"), TaskDefinition: aws.String(rev)}}
			_, err := c.UpdateService(context.Background(), e, u)
			if got := errors.Is(err, coord.ErrSuperseded); got != tt.wantSup {
				t.Errorf("superseded = %v (%v), want %v", got, err, tt.wantSup)
			}
			if !tt.wantSup && tt.ecsErr == nil && err != nil {
				t.Errorf("err = %v", err)
			}
			if len(l.intends) != 1 || l.intends[0] != rev {
				t.Errorf("intends = %v, want the revision announced before the attempt", l.intends)
			}
			if len(l.marks) != tt.wantMarks {
				t.Errorf("late-update marks = %v, want %d", l.marks, tt.wantMarks)
			}
			if len(s.sent) != tt.wantWoken {
				t.Errorf("woken %d, want %d\n%s", len(s.sent), tt.wantWoken, logs.String())
			}
		})
	}
}

func TestUpdateServiceRefusedWithoutTheLease(t *testing.T) {
	l := &memLeases{st: coord.State{Holder: "B", Until: t0.Add(time.Hour)}}
	e := &fakeECS{running: tdPrefix + "web:4"}
	c := newCoord(t, l, &fakeSFN{})
	u := coord.Update{ServiceARN: "svc", Holder: "A", Log: slog.New(slog.DiscardHandler),
		Input: &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("web"), TaskDefinition: aws.String(tdPrefix + "web:5")}}
	if err := c.CheckBefore(context.Background(), e, u); !errors.Is(err, coord.ErrSuperseded) {
		t.Fatalf("CheckBefore = %v, want superseded", err)
	}
	if len(l.marks) != 0 {
		t.Errorf("service does not run our revision: nothing to hand over, marked %v", l.marks)
	}
	// An earlier attempt landed after all: CheckBefore hands it over.
	e.running = tdPrefix + "web:5"
	if err := c.CheckBefore(context.Background(), e, u); !errors.Is(err, coord.ErrSuperseded) {
		t.Fatalf("CheckBefore = %v, want superseded", err)
	}
	if len(l.marks) != 1 {
		t.Errorf("marks = %v, want our landed revision marked late", l.marks)
	}
}
