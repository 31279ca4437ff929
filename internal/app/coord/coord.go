package coord

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/smithy-go"

	"github.com/pushdeploy/pushdeploy/internal/app/clock"
	"github.com/pushdeploy/pushdeploy/internal/app/contract"
	"github.com/pushdeploy/pushdeploy/internal/app/taskdef"
)

// Leases is what the coordinator uses of the lease item (*Store); the
// handlers' fakes implement it too.
type Leases interface {
	Acquire(ctx context.Context, r Request) (Acquired, error)
	Check(ctx context.Context, service, holder string) error
	SetWait(ctx context.Context, service, holder string, w Wait) error
	ClearToken(ctx context.Context, service, token string) (bool, error)
	Release(ctx context.Context, service, holder string) error
	Get(ctx context.Context, service string) (State, error)
	MarkLateUpdate(ctx context.Context, service, rev string) (bool, error)
	Intend(ctx context.Context, service, holder, rev string) error
}

var _ Leases = (*Store)(nil)

// SFN is what the coordinator uses of Step Functions: waking a wait, and
// failing an approval wait (rejected, superseded).
type SFN interface {
	SendTaskSuccess(ctx context.Context, params *sfn.SendTaskSuccessInput, optFns ...func(*sfn.Options)) (*sfn.SendTaskSuccessOutput, error)
	SendTaskFailure(ctx context.Context, params *sfn.SendTaskFailureInput, optFns ...func(*sfn.Options)) (*sfn.SendTaskFailureOutput, error)
}

// ECS is what the guarded update uses of ECS.
type ECS interface {
	DescribeServices(ctx context.Context, params *ecs.DescribeServicesInput, optFns ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error)
	UpdateService(ctx context.Context, params *ecs.UpdateServiceInput, optFns ...func(*ecs.Options)) (*ecs.UpdateServiceOutput, error)
}

// Coordinator is the lease plus what is built on it: parking and waking
// waits, the guarded update and the classification of foreign revisions.
type Coordinator struct {
	Leases
	sfn   SFN
	clk   clock.Clock
	judge Judge
}

// Wait is a parked wait: its task token and what a waker needs to judge it
// without the waiting execution (stored with the token in the lease).
type Wait struct {
	Token  string                `json:"-"`
	Phase  contract.Phase        `json:"phase"`
	Plan   contract.Plan         `json:"plan"`
	Update contract.UpdateResult `json:"update"`
	// Since is when the phase began (the bake: when the rollout was seen
	// complete); Deadline is the end of its window, set once when the wait
	// is parked: a wake-up that does not decide leaves the wait (and its
	// TimeoutSeconds, the whole window) as it is.
	Since    time.Time `json:"since"`
	Deadline time.Time `json:"deadline"`
}

// Judge judges a parked wait now (handler.Evaluator, the evaluator check
// uses): an undecided outcome leaves the wait parked.
type Judge interface {
	Judge(ctx context.Context, w Wait) (contract.Outcome, error)
}

// WithJudge makes the wake-ups that find a parked wait (WakeHolder, the
// hand-over of a late update) judge it and wake it only when decided.
func (c *Coordinator) WithJudge(j Judge) *Coordinator {
	c.judge = j
	return c
}

// NewCoordinator returns a Coordinator. sfn may be nil for a caller that
// never wakes a wait (it then gets an error if it tries).
func NewCoordinator(l Leases, s SFN, clk clock.Clock) (*Coordinator, error) {
	if l == nil || clk == nil {
		return nil, errors.New("coord: leases and clock are required")
	}
	return &Coordinator{Leases: l, sfn: s, clk: clk}, nil
}

// Wake says what a wake-up did.
type Wake int

const (
	// WakeNone: nobody was waiting (no token, or no live holder).
	WakeNone Wake = iota
	// WakeSent: this call claimed the token and the wait got the outcome.
	WakeSent
	// WakeClaimedElsewhere: another caller claimed the token first; the
	// wait is (being) woken by it.
	WakeClaimedElsewhere
	// WakeStale: the wait had already ended on its own (timeout, stop).
	WakeStale
	// WakeUndecided: the wait was judged and is not decided: it stays
	// parked, its token in the lease.
	WakeUndecided
)

func (w Wake) String() string {
	switch w {
	case WakeSent:
		return "sent"
	case WakeClaimedElsewhere:
		return "claimed elsewhere"
	case WakeStale:
		return "stale"
	case WakeUndecided:
		return "undecided"
	}
	return "none"
}

// staleCodes are the SendTaskSuccess errors that mean the wait is over.
var staleCodes = []string{"TaskTimedOut", "TaskDoesNotExist", "InvalidToken"}

// IsStaleToken reports whether err from SendTaskSuccess means the token's
// wait already ended on its own: the one stale-token rule.
func IsStaleToken(err error) bool {
	var api smithy.APIError
	return errors.As(err, &api) && slices.Contains(staleCodes, api.ErrorCode())
}

// Park stores w as the holder's current wait, where the wakers find it.
func (c *Coordinator) Park(ctx context.Context, service, holder string, w Wait) error {
	return c.SetWait(ctx, service, holder, w)
}

// WakeClaimed sends o to a wait whose token the caller already owns (its
// own token, or one Acquire took over with the lease).
func (c *Coordinator) WakeClaimed(ctx context.Context, token string, o contract.Outcome) (Wake, error) {
	if c.sfn == nil {
		return WakeNone, errors.New("coord: no Step Functions client to wake a wait")
	}
	body, err := jsonString(contract.Result[contract.Outcome]{Payload: o})
	if err != nil {
		return WakeNone, err
	}
	_, err = c.sfn.SendTaskSuccess(ctx, &sfn.SendTaskSuccessInput{TaskToken: aws.String(token), Output: aws.String(body)})
	switch {
	case err == nil:
		return WakeSent, nil
	case IsStaleToken(err):
		return WakeStale, nil
	}
	return WakeNone, fmt.Errorf("send task success: %w", err)
}

// WakeToken claims token (ClearToken), then sends o: one wait is woken once.
func (c *Coordinator) WakeToken(ctx context.Context, service, token string, o contract.Outcome) (Wake, error) {
	claimed, err := c.ClearToken(ctx, service, token)
	if err != nil {
		return WakeNone, fmt.Errorf("claim task token: %w", err)
	}
	if !claimed {
		return WakeClaimedElsewhere, nil
	}
	return c.WakeClaimed(ctx, token, o)
}

// Waiter is the lease as WakeHolder saw it.
type Waiter struct {
	Holder string
	// Live: Holder held the lease (a deploy in flight), in the same read
	// that found its token.
	Live bool
	Wake Wake
	// Outcome is the judged outcome (when a wait was judged).
	Outcome contract.Outcome
	// Approving: the live holder waits for an approval, which no event or
	// alarm judges (left parked); nothing changed on the service yet.
	Approving bool
}

// WakeHolder judges the live holder's parked wait, if any, and wakes it
// with the outcome when decided: one read of the lease says whether an
// execution is in flight and what it waits for. An undecided wait stays
// parked (WakeUndecided).
func (c *Coordinator) WakeHolder(ctx context.Context, service string) (Waiter, error) {
	st, err := c.Get(ctx, service)
	if err != nil {
		return Waiter{}, err
	}
	w := Waiter{Holder: st.Holder, Live: st.Held(c.clk.Now()), Approving: st.Approving()}
	if st.Token == "" || !w.Live || w.Approving {
		return w, nil
	}
	w.Wake, w.Outcome, err = c.wakeJudged(ctx, service, st)
	return w, err
}

// wakeJudged judges st's parked wait and wakes it when decided. A token
// stored without its wait (parked by an earlier version) cannot be judged:
// it is left to its own timeout.
func (c *Coordinator) wakeJudged(ctx context.Context, service string, st State) (Wake, contract.Outcome, error) {
	if c.judge == nil {
		return WakeNone, contract.Outcome{}, errors.New("coord: no judge to wake a wait")
	}
	if st.Wait == nil || st.Approving() {
		return WakeUndecided, contract.Outcome{}, nil // only a person decides an approval
	}
	o, err := c.judge.Judge(ctx, *st.Wait)
	if err != nil {
		return WakeNone, contract.Outcome{}, fmt.Errorf("judge the wait: %w", err)
	}
	if !o.Decided() {
		return WakeUndecided, o, nil
	}
	wk, err := c.WakeToken(ctx, service, st.Token, o)
	return wk, o, err
}

// SameRevision compares revisions given as ARNs or family:N.
func SameRevision(a, b string) bool {
	if a == b {
		return true
	}
	ra, err1 := taskdef.ParseRevision(a)
	rb, err2 := taskdef.ParseRevision(b)
	return err1 == nil && err2 == nil && ra == rb
}

// Foreign is what a revision the holder did not put on the service means.
type Foreign int

const (
	// Undone: one of the plan's own revisions (where it started, where it
	// would go back): ECS (or someone) undid the deploy.
	Undone Foreign = iota
	// Replaced: a superseded execution's late update (marked in the
	// lease): the holder re-applies its own revision.
	Replaced
	// ChangedOutside: anything else, a change made outside pushdeploy,
	// which the holder leaves alone.
	ChangedOutside
)

// Reader reads a service's lease (*Store).
type Reader interface {
	Get(ctx context.Context, service string) (State, error)
}

// ClassifyForeign says what observed, the service's primary revision, means
// to the holder of service's lease whose plan started from or would go back
// to own.
func ClassifyForeign(ctx context.Context, c Reader, service, observed string, own ...string) (Foreign, error) {
	for _, o := range own {
		if o != "" && SameRevision(observed, o) {
			return Undone, nil
		}
	}
	st, err := c.Get(ctx, service)
	if err != nil {
		return 0, err
	}
	if slices.ContainsFunc(st.LateUpdates, func(m string) bool { return SameRevision(m, observed) }) {
		return Replaced, nil
	}
	return ChangedOutside, nil
}

// Update is one guarded UpdateService.
type Update struct {
	ServiceARN string
	Holder     string
	Input      *ecs.UpdateServiceInput // its TaskDefinition is the revision
	Log        *slog.Logger            // nil: discard
}

func (u Update) revision() string { return aws.ToString(u.Input.TaskDefinition) }

func (u *Update) defaults() {
	if u.Log == nil {
		u.Log = slog.New(slog.DiscardHandler)
	}
}

// CheckBefore checks that u.Holder holds the lease before the update. When
// it lost it, an earlier attempt of the same update (a timeout, a 5xx) may
// still have landed: if the service runs u's revision it is handed over to
// the new holder (marked late, holder woken). Returns *SupersededError.
func (c *Coordinator) CheckBefore(ctx context.Context, ecsAPI ECS, u Update) error {
	u.defaults()
	err := c.Check(ctx, u.ServiceARN, u.Holder)
	if errors.Is(err, ErrSuperseded) && u.revision() != "" {
		c.handOverIfOurs(ctx, ecsAPI, u)
	}
	return err
}

// UpdateService calls UpdateService with the lease checked and the
// revision announced (Intend) before every attempt, and checked again
// after it. When the lease was lost while the call was in flight, or an
// attempt failed after losing it, the landed revision is handed over to the
// new holder and *SupersededError (in the chain) is returned. An error
// checking the lease after a landed update is only logged: the service
// changed, and the next lease check (Park) finds a lost lease.
func (c *Coordinator) UpdateService(ctx context.Context, ecsAPI ECS, u Update) (*ecs.UpdateServiceOutput, error) {
	u.defaults()
	rev := u.revision()
	out, err := ecsAPI.UpdateService(ctx, u.Input, guardAttempts(func(ctx context.Context) error {
		return c.Intend(ctx, u.ServiceARN, u.Holder, rev)
	}))
	if err != nil {
		if errors.Is(err, ErrSuperseded) {
			c.handOverIfOurs(ctx, ecsAPI, u)
		}
		return nil, err
	}
	if err := c.Check(ctx, u.ServiceARN, u.Holder); err != nil {
		if !errors.Is(err, ErrSuperseded) {
			u.Log.WarnContext(ctx, "lease not checked after the update", "error", err)
			return out, nil
		}
		u.Log.WarnContext(ctx, "lease lost while the update was in flight; waking the newer execution", "error", err)
		landed := rev
		if d := Primary(out.Service); d != nil && aws.ToString(d.TaskDefinition) != "" {
			landed = aws.ToString(d.TaskDefinition) // as the holder will see it
		}
		c.handOver(ctx, u, landed)
		return nil, err
	}
	return out, nil
}

// Primary is the service's PRIMARY deployment, or nil.
func Primary(s *ecstypes.Service) *ecstypes.Deployment {
	if s == nil {
		return nil
	}
	for i := range s.Deployments {
		if aws.ToString(s.Deployments[i].Status) == "PRIMARY" {
			return &s.Deployments[i]
		}
	}
	return nil
}

// guardAttempts makes the client's retryer run check before every attempt
// of the call and give up with its error. Without a retryer it can wrap,
// the call gets a single attempt, still checked: the check is the lease
// check of the guarded update, there is no other.
func guardAttempts(check func(context.Context) error) func(*ecs.Options) {
	return func(o *ecs.Options) {
		r, ok := o.Retryer.(aws.RetryerV2)
		if !ok {
			r = aws.NopRetryer{}
			o.RetryMaxAttempts = 1
		}
		o.Retryer = &guardedRetryer{RetryerV2: r, check: check}
	}
}

// guardedRetryer is the client's retryer with a check before each attempt
// (GetAttemptToken is called before every attempt, the first included).
type guardedRetryer struct {
	aws.RetryerV2
	check func(context.Context) error
}

func (g *guardedRetryer) GetAttemptToken(ctx context.Context) (func(error) error, error) {
	if err := g.check(ctx); err != nil {
		return nil, err
	}
	return g.RetryerV2.GetAttemptToken(ctx)
}

// handOverIfOurs hands the service over if it runs u's revision: an
// earlier attempt landed after all. Otherwise the newer execution owns what
// it sees.
func (c *Coordinator) handOverIfOurs(ctx context.Context, ecsAPI ECS, u Update) {
	out, err := ecsAPI.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: u.Input.Cluster, Services: []string{aws.ToString(u.Input.Service)}})
	if err != nil || len(out.Services) == 0 {
		u.Log.WarnContext(ctx, "describe service after losing the lease", "error", err)
		return
	}
	if current := aws.ToString(out.Services[0].TaskDefinition); SameRevision(current, u.revision()) {
		u.Log.WarnContext(ctx, "service runs this superseded execution's revision; waking the newer execution", "current", current)
		c.handOver(ctx, u, current)
	}
}

// handOver marks rev in the lease as this superseded execution's late
// update, so that the holder repairs it (a revision it does not find marked
// is a change outside pushdeploy, which it leaves alone), then wakes the
// holder's current wait so that it checks the service now and re-applies
// its own revision. Best effort: its timeout's check finds the same. The
// superseded execution itself must not touch the service again.
func (c *Coordinator) handOver(ctx context.Context, u Update, rev string) {
	log := u.Log
	marked, err := c.MarkLateUpdate(ctx, u.ServiceARN, rev)
	switch {
	case err != nil:
		log.ErrorContext(ctx, "mark the late update: the newer execution will take "+rev+" for a change outside pushdeploy and leave it", "error", err)
	case !marked:
		// The newer execution finished before our update landed.
		log.ErrorContext(ctx, "superseded update landed after the newer execution finished: the service runs "+rev+"; redeploy the latest image")
		return
	}
	st, err := c.Get(ctx, u.ServiceARN)
	switch {
	case err != nil:
		log.ErrorContext(ctx, "read lease to wake the newer execution", "error", err)
		return
	case st.Holder == "":
		log.ErrorContext(ctx, "superseded update landed after the newer execution finished: the service runs "+rev+"; redeploy the latest image",
			"lastHolder", st.LastHolder)
		return
	case st.Token == "":
		log.InfoContext(ctx, "newer execution is not waiting; its next look finds the service on "+rev, "holder", st.Holder)
		return
	}
	w, _, err := c.wakeJudged(ctx, u.ServiceARN, st)
	switch {
	case err != nil:
		log.WarnContext(ctx, "wake the newer execution", "holder", st.Holder, "error", err)
	case w == WakeUndecided:
		log.InfoContext(ctx, "newer execution's wait is not decided yet; left parked", "holder", st.Holder)
	case w != WakeSent:
		log.InfoContext(ctx, "newer execution already woken", "holder", st.Holder, "wake", w.String())
	default:
		log.InfoContext(ctx, "woke the newer execution", "holder", st.Holder)
	}
}
