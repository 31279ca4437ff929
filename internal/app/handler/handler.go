// Package handler adapts the contracts (internal/app/contract) to the domain
// packages: one file per function, each a thin handler with a constructor
// that takes its dependencies, plus one function constructor per
// functions/<name> (DispatchFunction, PlanFunction, ...) taking exactly the
// AWS clients that function calls, which its main builds.
package handler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/resourcegroupstaggingapi"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/pushdeploy/pushdeploy/internal/app/awsapi"
	"github.com/pushdeploy/pushdeploy/internal/app/cleanup"
	"github.com/pushdeploy/pushdeploy/internal/app/clock"
	"github.com/pushdeploy/pushdeploy/internal/app/contract"
	"github.com/pushdeploy/pushdeploy/internal/app/coord"
	"github.com/pushdeploy/pushdeploy/internal/app/freeze"
	"github.com/pushdeploy/pushdeploy/internal/app/history"
	"github.com/pushdeploy/pushdeploy/internal/app/ledger"
	"github.com/pushdeploy/pushdeploy/internal/app/notify"
	"github.com/pushdeploy/pushdeploy/internal/app/target"
	"github.com/pushdeploy/pushdeploy/internal/app/taskdef"
	"github.com/pushdeploy/pushdeploy/internal/app/trigger"
)

// Names are the functions, by their functions/<name> directory.
var Names = []string{"dispatch", "plan", "register", "update", "watch", "check", "events", "finish"}

// Environment variables read by Settings (template.yaml sets them all).
const (
	EnvHistoryTable         = "HISTORY_TABLE"
	EnvStateMachineArn      = "STATE_MACHINE_ARN"
	EnvAllowedRegistries    = "ALLOWED_REGISTRIES"
	EnvAllowedAccounts      = "ALLOWED_ACCOUNTS"
	EnvDefaultBake          = "DEFAULT_BAKE"
	EnvDeployTimeout        = "DEPLOY_TIMEOUT"
	EnvRollbackWindow       = "ROLLBACK_WINDOW"
	EnvHistoryRetentionDays = "HISTORY_RETENTION_DAYS"
	EnvKeepRevisions        = "KEEP_REVISIONS"
	EnvEventBusName         = "EVENT_BUS_NAME"
)

// Settings is the functions' configuration.
type Settings struct {
	Table           string
	StateMachineArn string
	// Account and Region of the installation (from StateMachineArn): the
	// registry of digest-only deploys and the default allowed account.
	Account, Region string
	Policy          taskdef.Policy
	Defaults        target.Defaults
	Retention       time.Duration
	KeepRevisions   int
	EventBus        string
}

// SettingsFromEnv reads Settings. Empty ALLOWED_REGISTRIES and
// ALLOWED_ACCOUNTS allow this account's ECR in this region only.
func SettingsFromEnv(env func(string) string) (Settings, error) {
	s := Settings{
		Table:           env(EnvHistoryTable),
		StateMachineArn: env(EnvStateMachineArn),
		EventBus:        env(EnvEventBusName),
		Policy:          taskdef.Policy{Registries: split(env(EnvAllowedRegistries)), Accounts: split(env(EnvAllowedAccounts))},
	}
	if s.Table == "" {
		return Settings{}, fmt.Errorf("%s is not set", EnvHistoryTable)
	}
	parts := strings.Split(s.StateMachineArn, ":")
	if len(parts) < 7 || parts[0] != "arn" || parts[2] != "states" || parts[5] != "stateMachine" {
		return Settings{}, fmt.Errorf("%s=%q is not a state machine ARN", EnvStateMachineArn, s.StateMachineArn)
	}
	s.Region, s.Account = parts[3], parts[4]
	if len(s.Policy.Registries) == 0 && len(s.Policy.Accounts) == 0 {
		s.Policy = taskdef.DefaultPolicy(s.Account, s.Region)
	}
	var err error
	if s.Defaults.Bake, err = duration(env, EnvDefaultBake, 5*time.Minute); err != nil {
		return Settings{}, err
	}
	if s.Defaults.Timeout, err = duration(env, EnvDeployTimeout, 30*time.Minute); err != nil {
		return Settings{}, err
	}
	if s.Defaults.Timeout <= 0 {
		return Settings{}, fmt.Errorf("%s must be positive", EnvDeployTimeout)
	}
	if s.Defaults.RollbackWindow, err = duration(env, EnvRollbackWindow, 30*time.Minute); err != nil {
		return Settings{}, err
	}
	days, err := number(env, EnvHistoryRetentionDays, 90)
	if err != nil {
		return Settings{}, err
	}
	s.Retention = time.Duration(days) * 24 * time.Hour
	if s.KeepRevisions, err = number(env, EnvKeepRevisions, 10); err != nil {
		return Settings{}, err
	}
	return s, nil
}

func split(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func duration(env func(string) string, key string, def time.Duration) (time.Duration, error) {
	v := env(key)
	if v == "" {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%s=%q is not a duration", key, v)
	}
	return d, nil
}

func number(env func(string) string, key string, def int) (int, error) {
	v := env(key)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%s=%q is not a non-negative number", key, v)
	}
	return n, nil
}

// ECR is the part of the ECR API plan uses (resolving a tag to a digest).
type ECR interface {
	DescribeImages(ctx context.Context, params *ecr.DescribeImagesInput, optFns ...func(*ecr.Options)) (*ecr.DescribeImagesOutput, error)
}

var _ ECR = (*ecr.Client)(nil)

// Clients are the AWS clients of every function, for what builds functions
// by name (the local world, tests); a function's main builds its own only.
type Clients struct {
	ECS         awsapi.ECS
	ECR         ECR
	CloudWatch  awsapi.CloudWatch
	Tagging     awsapi.Tagging
	DynamoDB    awsapi.DynamoDB
	EventBridge awsapi.EventBridge
	SFN         awsapi.SFN
}

// ClientsFrom builds every real client from cfg.
func ClientsFrom(cfg aws.Config) Clients {
	return Clients{
		ECS:         ecs.NewFromConfig(cfg),
		ECR:         ecr.NewFromConfig(cfg),
		CloudWatch:  cloudwatch.NewFromConfig(cfg),
		Tagging:     resourcegroupstaggingapi.NewFromConfig(cfg),
		DynamoDB:    dynamodb.NewFromConfig(cfg),
		EventBridge: eventbridge.NewFromConfig(cfg),
		SFN:         sfn.NewFromConfig(cfg),
	}
}

// Wiring is what every function is built with besides its AWS clients.
type Wiring struct {
	Settings Settings
	Clock    clock.Clock
	Log      *slog.Logger
}

// WiringFromEnv reads the Settings from env, with the real clock and log.
func WiringFromEnv(env func(string) string, log *slog.Logger) (Wiring, error) {
	s, err := SettingsFromEnv(env)
	if err != nil {
		return Wiring{}, err
	}
	return Wiring{Settings: s, Clock: clock.Real{}, Log: log}, nil
}

// The function constructors: one per functions/<name>, each taking exactly
// the clients its handler calls, so that a function's main, which builds
// those clients, links its own handler and clients and no other. They
// return the handler as the Lambda runtime runs it, decoding its payload
// strictly (unknown fields are an error). The one place that builds them by
// name (the local world) is out of the bootstraps' reach: a switch over
// names would link every handler into every bootstrap.

// DispatchFunction builds functions/dispatch.
func DispatchFunction(w Wiring, ecsAPI awsapi.ECS, cw awsapi.CloudWatch, tagging awsapi.Tagging, db awsapi.DynamoDB, sf awsapi.SFN, ecrAPI ECR) (lambda.Handler, error) {
	const name = "dispatch"
	resolver, leases, triggers, err := planDomain(w, ecsAPI, tagging, db)
	if err != nil {
		return nil, fail(name, err)
	}
	ev, err := NewEvaluator(ecsAPI, cw, leases, w.Clock)
	if err != nil {
		return nil, fail(name, err)
	}
	h, err := NewDispatch(DispatchDeps{Evaluator: ev, Resolver: resolver, SFN: sf, ECR: ecrAPI, Leases: leases, Triggers: triggers, Clock: w.Clock, Log: w.log(name), Settings: w.Settings})
	return strict(name, err, func() any { return h.Handle })
}

// PlanFunction builds functions/plan.
func PlanFunction(w Wiring, ecsAPI awsapi.ECS, cw awsapi.CloudWatch, tagging awsapi.Tagging, db awsapi.DynamoDB, sf awsapi.SFN, ecrAPI ECR) (lambda.Handler, error) {
	const name = "plan"
	resolver, leases, triggers, err := planDomain(w, ecsAPI, tagging, db)
	if err != nil {
		return nil, fail(name, err)
	}
	hist, err := history.New(db, w.Settings.Table, w.Settings.Retention)
	if err != nil {
		return nil, fail(name, err)
	}
	freezes, err := freeze.NewStore(db, w.Settings.Table)
	if err != nil {
		return nil, fail(name, err)
	}
	h, err := NewPlan(PlanDeps{Resolver: resolver, ECS: ecsAPI, CloudWatch: cw, ECR: ecrAPI, History: hist, Leases: leases, Triggers: triggers, SFN: sf, Clock: w.Clock, Log: w.log(name), Settings: w.Settings, Freezes: freezes})
	if err != nil {
		return nil, fail(name, err)
	}
	fn, err := withExecutionInput(sf, h.Handle)
	return strict(name, err, func() any { return fn })
}

// RegisterFunction builds functions/register.
func RegisterFunction(w Wiring, ecsAPI awsapi.ECS, db awsapi.DynamoDB) (lambda.Handler, error) {
	const name = "register"
	leases, err := coord.New(db, w.Settings.Table, w.Clock)
	if err != nil {
		return nil, fail(name, err)
	}
	h, err := NewRegister(RegisterDeps{ECS: ecsAPI, Leases: leases, Policy: w.Settings.Policy, Log: w.log(name)})
	return strict(name, err, func() any { return h.Handle })
}

// UpdateFunction builds functions/update.
func UpdateFunction(w Wiring, ecsAPI awsapi.ECS, cw awsapi.CloudWatch, db awsapi.DynamoDB, sf awsapi.SFN) (lambda.Handler, error) {
	const name = "update"
	leases, ev, err := judging(w, ecsAPI, cw, db)
	if err != nil {
		return nil, fail(name, err)
	}
	h, err := NewUpdate(UpdateDeps{ECS: ecsAPI, Leases: leases, SFN: sf, Clock: w.Clock, Log: w.log(name), Evaluator: ev})
	return strict(name, err, func() any { return h.Handle })
}

// WatchFunction builds functions/watch.
func WatchFunction(w Wiring, ecsAPI awsapi.ECS, cw awsapi.CloudWatch, db awsapi.DynamoDB, sf awsapi.SFN, eb awsapi.EventBridge) (lambda.Handler, error) {
	const name = "watch"
	leases, ev, err := judging(w, ecsAPI, cw, db)
	if err != nil {
		return nil, fail(name, err)
	}
	pub, err := notify.New(eb, w.Settings.EventBus)
	if err != nil {
		return nil, fail(name, err)
	}
	h, err := NewWatch(WatchDeps{Evaluator: ev, Leases: leases, SFN: sf, Log: w.log(name), Approvals: pub})
	return strict(name, err, func() any { return h.Handle })
}

// CheckFunction builds functions/check.
func CheckFunction(w Wiring, ecsAPI awsapi.ECS, cw awsapi.CloudWatch, db awsapi.DynamoDB) (lambda.Handler, error) {
	const name = "check"
	leases, ev, err := judging(w, ecsAPI, cw, db)
	if err != nil {
		return nil, fail(name, err)
	}
	h, err := NewCheck(CheckDeps{Evaluator: ev, Leases: leases, Log: w.log(name)})
	return strict(name, err, func() any { return h.Handle })
}

// EventsFunction builds functions/events.
func EventsFunction(w Wiring, ecsAPI awsapi.ECS, cw awsapi.CloudWatch, db awsapi.DynamoDB, sf awsapi.SFN) (lambda.Handler, error) {
	const name = "events"
	leases, ev, err := judging(w, ecsAPI, cw, db)
	if err != nil {
		return nil, fail(name, err)
	}
	h, err := NewEvents(EventsDeps{Evaluator: ev, Leases: leases, SFN: sf, Clock: w.Clock, Log: w.log(name)})
	return strict(name, err, func() any { return h.Handle })
}

// FinishFunction builds functions/finish.
func FinishFunction(w Wiring, ecsAPI awsapi.ECS, tagging awsapi.Tagging, db awsapi.DynamoDB, sf awsapi.SFN, eb awsapi.EventBridge) (lambda.Handler, error) {
	const name = "finish"
	hist, err := history.New(db, w.Settings.Table, w.Settings.Retention)
	if err != nil {
		return nil, fail(name, err)
	}
	leases, err := coord.New(db, w.Settings.Table, w.Clock)
	if err != nil {
		return nil, fail(name, err)
	}
	pub, err := notify.New(eb, w.Settings.EventBus)
	if err != nil {
		return nil, fail(name, err)
	}
	cl, err := cleanup.New(ecsAPI)
	if err != nil {
		return nil, fail(name, err)
	}
	followers, err := target.NewResolver(ecsAPI, tagging, w.Settings.Defaults)
	if err != nil {
		return nil, fail(name, err)
	}
	triggers, err := trigger.New(db, w.Settings.Table, w.Clock)
	if err != nil {
		return nil, fail(name, err)
	}
	promoter, err := NewPromoter(PromoterDeps{Followers: followers, Triggers: triggers, SFN: sf, Settings: w.Settings, Log: w.log(name)})
	if err != nil {
		return nil, fail(name, err)
	}
	h, err := NewFinish(FinishDeps{History: hist, Leases: leases, SFN: sf, Notifier: pub, Cleaner: cl, Clock: w.Clock, Log: w.log(name), KeepRevisions: w.Settings.KeepRevisions, Promoter: promoter})
	return strict(name, err, func() any { return h.HandleRequest })
}

func (w Wiring) log(name string) *slog.Logger {
	l := w.Log
	if l == nil {
		l = slog.Default()
	}
	return l.With("function", name)
}

func fail(name string, err error) error { return fmt.Errorf("function %s: %w", name, err) }

// strict wraps the handler fn returns once its constructor succeeded (err
// is the constructor's).
func strict(name string, err error, fn func() any) (lambda.Handler, error) {
	if err != nil {
		return nil, fail(name, err)
	}
	return newStrictHandler(fn()), nil
}

// planDomain is what dispatch and plan share: the target resolver, the lease
// and the trigger tickets.
func planDomain(w Wiring, ecsAPI awsapi.ECS, tagging awsapi.Tagging, db awsapi.DynamoDB) (*target.Resolver, *coord.Store, *trigger.Store, error) {
	r, err := target.NewResolver(ecsAPI, tagging, w.Settings.Defaults)
	if err != nil {
		return nil, nil, nil, err
	}
	idx, err := target.NewAlarmIndex(db, w.Settings.Table, w.Clock)
	if err != nil {
		return nil, nil, nil, err
	}
	r = r.WithIndex(idx) // alarms resolved through it (dispatch records pushes in it)
	l, err := coord.New(db, w.Settings.Table, w.Clock)
	if err != nil {
		return nil, nil, nil, err
	}
	tr, err := trigger.New(db, w.Settings.Table, w.Clock)
	if err != nil {
		return nil, nil, nil, err
	}
	return r, l, tr, nil
}

// judging is what the functions that judge a wait share: the lease and the
// evaluator.
func judging(w Wiring, ecsAPI awsapi.ECS, cw awsapi.CloudWatch, db awsapi.DynamoDB) (*coord.Store, *Evaluator, error) {
	l, err := coord.New(db, w.Settings.Table, w.Clock)
	if err != nil {
		return nil, nil, err
	}
	ev, err := NewEvaluator(ecsAPI, cw, l, w.Clock)
	if err != nil {
		return nil, nil, err
	}
	return l, ev, nil
}

// strictHandler checks the payload against the handler's input type before
// the runtime decodes it, so that a malformed payload fails as BadInput, the
// error callers and the state machine route on, and not as the json
// package's UnmarshalTypeError or SyntaxError.
type strictHandler struct {
	input reflect.Type
	next  lambda.Handler
}

func newStrictHandler(fn any) lambda.Handler {
	next := lambda.NewHandlerWithOptions(fn, lambda.WithDisallowUnknownFields(true))
	t := reflect.TypeOf(fn)
	if t.Kind() != reflect.Func || t.NumIn() != 2 {
		return next
	}
	return strictHandler{input: t.In(1), next: next}
}

func (h strictHandler) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	if err := contract.DecodeStrict(payload, reflect.New(h.input).Interface()); err != nil {
		return nil, &contract.BadInput{Field: "payload", Reason: err.Error()}
	}
	return h.next.Invoke(ctx, payload)
}

var errMissing = errors.New("missing dependency")

// Leases is what the handlers use of the lease (*coord.Store); they reach
// it through a *coord.Coordinator built on it.
type Leases = coord.Leases

// Triggers is what dispatch and plan use of package trigger (*trigger.Store).
type Triggers interface {
	Issue(ctx context.Context, service, execution string, in contract.ExecutionInput, t trigger.Ticket) error
	Verify(ctx context.Context, service, execution string, in contract.ExecutionInput) (trigger.Ticket, error)
}

// History is what the handlers use of package history (*history.Store).
type History interface {
	Put(ctx context.Context, r history.Record) error
	List(ctx context.Context, service string, limit int, token string) (history.Page, error)
	Ledger(ctx context.Context, service string) (ledger.Ledger, error)
	Finish(ctx context.Context, r history.Record, change func(ledger.Ledger) ledger.Change) (ledger.Change, error)
	JoinFamily(ctx context.Context, family, service string) ([]string, error)
	Forget(ctx context.Context, service string, revisions []string) error
}

// Resolver is what the handlers use of package target (*target.Resolver).
type Resolver interface {
	Get(ctx context.Context, cluster, service string) (target.Target, error)
	Discover(ctx context.Context, repo, tag string) (target.Discovery, error)
	ForAlarm(ctx context.Context, alarm string) (target.Discovery, error)
	// Index records a push's targets in the alarm index (dispatch).
	Index(ctx context.Context, targets []target.Target) error
}

// Notifier publishes terminal records (*notify.Publisher).
type Notifier interface {
	Publish(ctx context.Context, r history.Record) error
}

// Cleaner deregisters old revisions (*cleanup.Cleaner).
type Cleaner interface {
	Candidates(ctx context.Context, family string, keep int) ([]string, error)
	InUse(ctx context.Context, services []string) ([]string, error)
	Deregister(ctx context.Context, candidates, protect []string) ([]string, error)
}

var (
	_ Leases   = (*coord.Store)(nil)
	_ History  = (*history.Store)(nil)
	_ Triggers = (*trigger.Store)(nil)
	_ Resolver = (*target.Resolver)(nil)
	_ Notifier = (*notify.Publisher)(nil)
	_ Cleaner  = (*cleanup.Cleaner)(nil)
)

// planLog returns a logger carrying the plan's cluster, service, image
// digest and execution.
func planLog(log *slog.Logger, p contract.Plan) *slog.Logger {
	l := log.With("cluster", p.Cluster, "service", p.Service, "execution", p.ExecutionArn)
	if p.Image != nil {
		l = l.With("digest", p.Image.Digest)
	}
	return l
}
