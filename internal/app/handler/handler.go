// Package handler adapts the contracts (internal/app/contract) to the domain
// packages: one file per function, each a thin handler with a constructor
// that takes its dependencies, plus New, the registry that builds the handler
// of functions/<name> from an aws.Config and the environment (used by the
// function mains and by the local cloud's in-process mode).
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
	"github.com/pushdeploy/pushdeploy/internal/app/history"
	"github.com/pushdeploy/pushdeploy/internal/app/ledger"
	"github.com/pushdeploy/pushdeploy/internal/app/notify"
	"github.com/pushdeploy/pushdeploy/internal/app/target"
	"github.com/pushdeploy/pushdeploy/internal/app/taskdef"
	"github.com/pushdeploy/pushdeploy/internal/app/trigger"
)

// Names are the functions New builds, by their functions/<name> directory.
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

// Clients are the AWS clients the handlers use.
type Clients struct {
	ECS         awsapi.ECS
	ECR         ECR
	CloudWatch  awsapi.CloudWatch
	Tagging     awsapi.Tagging
	DynamoDB    awsapi.DynamoDB
	EventBridge awsapi.EventBridge
	SFN         awsapi.SFN
}

// ClientsFrom builds the real clients from cfg.
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

// Option changes what New builds.
type Option func(*options)

type options struct {
	log     *slog.Logger
	clk     clock.Clock
	clients *Clients
}

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// WithClock sets the clock (default clock.Real{}); the local cloud passes
// its virtual clock so deadlines and lease expiry follow it.
func WithClock(c clock.Clock) Option { return func(o *options) { o.clk = c } }

// WithClients replaces the clients built from the aws.Config (tests).
func WithClients(c Clients) Option { return func(o *options) { o.clients = &c } }

// New builds the handler of functions/<name>, decoding its payload strictly
// (unknown fields are an error), as the Lambda runtime will run it.
func New(ctx context.Context, name string, cfg aws.Config, env func(string) string, opts ...Option) (lambda.Handler, error) {
	o := options{log: slog.Default(), clk: clock.Real{}}
	for _, opt := range opts {
		opt(&o)
	}
	s, err := SettingsFromEnv(env)
	if err != nil {
		return nil, fmt.Errorf("function %s: %w", name, err)
	}
	c := ClientsFrom(cfg)
	if o.clients != nil {
		c = *o.clients
	}
	d, err := newDomain(c, s, o.clk)
	if err != nil {
		return nil, fmt.Errorf("function %s: %w", name, err)
	}
	fn, err := build(name, c, s, d, o.clk, o.log.With("function", name))
	if err != nil {
		return nil, fmt.Errorf("function %s: %w", name, err)
	}
	return newStrictHandler(fn), nil
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

// build returns the Handle method of function name's handler.
func build(name string, c Clients, s Settings, d domain, clk clock.Clock, log *slog.Logger) (any, error) {
	switch name {
	case "dispatch":
		ev, err := NewEvaluator(c.ECS, c.CloudWatch, d.leases, clk)
		if err != nil {
			return nil, err
		}
		h, err := NewDispatch(DispatchDeps{Evaluator: ev, Resolver: d.resolver, SFN: c.SFN, ECR: c.ECR, Leases: d.leases, Triggers: d.triggers, Clock: clk, Log: log, Settings: s})
		if err != nil {
			return nil, err
		}
		return h.Handle, nil
	case "plan":
		h, err := NewPlan(PlanDeps{Resolver: d.resolver, ECS: c.ECS, CloudWatch: c.CloudWatch, ECR: c.ECR, History: d.history, Leases: d.leases, Triggers: d.triggers, SFN: c.SFN, Clock: clk, Log: log, Settings: s})
		if err != nil {
			return nil, err
		}
		return withExecutionInput(c.SFN, h.Handle)
	case "register":
		h, err := NewRegister(RegisterDeps{ECS: c.ECS, Leases: d.leases, Policy: s.Policy, Log: log})
		if err != nil {
			return nil, err
		}
		return h.Handle, nil
	case "update":
		ev, err := NewEvaluator(c.ECS, c.CloudWatch, d.leases, clk)
		if err != nil {
			return nil, err
		}
		h, err := NewUpdate(UpdateDeps{ECS: c.ECS, Leases: d.leases, SFN: c.SFN, Clock: clk, Log: log, Evaluator: ev})
		if err != nil {
			return nil, err
		}
		return h.Handle, nil
	case "watch", "check":
		ev, err := NewEvaluator(c.ECS, c.CloudWatch, d.leases, clk)
		if err != nil {
			return nil, err
		}
		if name == "watch" {
			h, err := NewWatch(WatchDeps{Evaluator: ev, Leases: d.leases, SFN: c.SFN, Log: log})
			if err != nil {
				return nil, err
			}
			return h.Handle, nil
		}
		h, err := NewCheck(CheckDeps{Evaluator: ev, Leases: d.leases, Log: log})
		if err != nil {
			return nil, err
		}
		return h.Handle, nil
	case "events":
		ev, err := NewEvaluator(c.ECS, c.CloudWatch, d.leases, clk)
		if err != nil {
			return nil, err
		}
		h, err := NewEvents(EventsDeps{Evaluator: ev, Leases: d.leases, SFN: c.SFN, Clock: clk, Log: log})
		if err != nil {
			return nil, err
		}
		return h.Handle, nil
	case "finish":
		pub, err := notify.New(c.EventBridge, s.EventBus)
		if err != nil {
			return nil, err
		}
		cl, err := cleanup.New(c.ECS)
		if err != nil {
			return nil, err
		}
		h, err := NewFinish(FinishDeps{History: d.history, Leases: d.leases, SFN: c.SFN, Notifier: pub, Cleaner: cl, Clock: clk, Log: log, KeepRevisions: s.KeepRevisions})
		if err != nil {
			return nil, err
		}
		return h.HandleRequest, nil
	}
	return nil, fmt.Errorf("unknown function (have %s)", strings.Join(Names, ", "))
}

// domain holds the domain services shared by several handlers.
type domain struct {
	resolver *target.Resolver
	history  *history.Store
	leases   *coord.Store
	triggers *trigger.Store
}

func newDomain(c Clients, s Settings, clk clock.Clock) (domain, error) {
	r, err := target.NewResolver(c.ECS, c.Tagging, s.Defaults)
	if err != nil {
		return domain{}, err
	}
	idx, err := target.NewAlarmIndex(c.DynamoDB, s.Table, clk)
	if err != nil {
		return domain{}, err
	}
	r = r.WithIndex(idx) // alarms resolved through it (dispatch records pushes in it)
	h, err := history.New(c.DynamoDB, s.Table, s.Retention)
	if err != nil {
		return domain{}, err
	}
	l, err := coord.New(c.DynamoDB, s.Table, clk)
	if err != nil {
		return domain{}, err
	}
	tr, err := trigger.New(c.DynamoDB, s.Table, clk)
	if err != nil {
		return domain{}, err
	}
	return domain{resolver: r, history: h, leases: l, triggers: tr}, nil
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
