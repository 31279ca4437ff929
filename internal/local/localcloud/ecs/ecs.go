// Package ecs is the local cloud's Amazon ECS: clusters, task definition
// families and revisions, and services whose deployments roll out on the
// cloud's clock, with the deployment circuit breaker, deployment alarms,
// rollbacks, service events and the EventBridge events AWS sends for them.
//
// It speaks AWS JSON 1.1 (target prefix AmazonEC2ContainerServiceV20141113)
// through localcloud.Server, so the unchanged aws-sdk-go-v2 ecs client and the
// AWS CLI reach it through their endpoint settings.
//
// # Rollouts
//
// A deployment's tasks start on ticks of the clock (Options.Tick, 15 s by
// default): a healthy deployment brings its running count up in proportion to
// the time passed over its rollout duration (Options.RolloutDuration, two
// minutes by default, or Faults.SetRolloutDuration per service), while the old
// deployments drain; at the end the old ones are removed, rolloutState becomes
// COMPLETED and the service reaches a steady state.
//
// A rolling deployment never runs more than maximumPercent of the desired
// count (old and new tasks, running and starting) and stops old tasks no
// further than minimumHealthyPercent allows; tasks it launches start on the
// next tick, so a crash-looping image fails a batch per tick.
//
// # Strategies and service deployments
//
// deploymentConfiguration.strategy ROLLING (the default), BLUE_GREEN, LINEAR
// and CANARY: every deployment is a service deployment (ListServiceDeployments,
// DescribeServiceDeployments, StopServiceDeployment, ContinueServiceDeployment)
// from the source service revisions to a target one (DescribeServiceRevisions),
// with its lifecycle stage and the traffic weights moving on the clock
// (strategy.go), its circuit breaker and alarm details, and its rollback.
// Services on the CODE_DEPLOY or EXTERNAL deployment controller refuse a new
// task definition in UpdateService, as AWS does. Lifecycle hooks are not
// run: ContinueServiceDeployment answers that no hook waits.
//
// # Fault injection
//
// Service.Faults() returns the ECS faults (API-level throttling and latency
// live in localcloud.Faults):
//   - FailImage(ImageFault{Image, Mode: FailToStart}): tasks whose task
//     definition runs that image (matched by the whole image string, or by
//     digest "sha256:...") stop before they start, with ExitCode and Reason;
//     each tick counts them in failedTasks and launches replacements.
//   - FailImage(ImageFault{Image, Mode: FailHealthCheck}): tasks start, then
//     fail their container health checks a tick later and are replaced.
//   - SetRolloutDuration(service, d): the rollout duration of one service
//     (name or ARN), or of every service when service is "".
//   - Deny(operation, resource): calls to the operation on that resource
//     (ARN or name; "" for any) fail with AccessDeniedException.
//
// Failed tasks trip the deployment circuit breaker, when enabled, at AWS's
// threshold: ceil(desiredCount/2) clamped to [3, 200]. Deployment alarms
// (deploymentConfiguration.alarms) are read through AlarmStates on every tick
// of an in-progress rollout, including its bake: with alarms enabled, a
// rollout whose tasks all run stays IN_PROGRESS for bakeTimeInMinutes
// (Options.AlarmBakeTime when unset) before it is COMPLETED. Either failure
// sets rolloutState FAILED and, with rollback on, starts a new deployment of
// the last COMPLETED task definition. A rollback is neither watched by the
// alarms nor rolled back itself. Fault changes apply from the next tick; a
// rollout duration is fixed when its deployment starts.
package ecs

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pushdeploy/pushdeploy/internal/app/clock"
	"github.com/pushdeploy/pushdeploy/internal/local/localcloud/awsproto"
	"github.com/pushdeploy/pushdeploy/internal/local/localcloud/bus"
)

const (
	// TargetPrefix is the X-Amz-Target prefix of the ECS API.
	TargetPrefix = "AmazonEC2ContainerServiceV20141113"

	defaultTick     = 15 * time.Second
	defaultRollout  = 2 * time.Minute
	defaultBake     = 3 * time.Minute
	maxServiceEvent = 100
)

// AlarmStates reads CloudWatch alarm states for deployment alarms. The
// context carries the region of the service (awsproto.RequestFrom(ctx).Region).
type AlarmStates interface {
	// AlarmState returns the alarm's state value (OK, ALARM,
	// INSUFFICIENT_DATA), and false if there is no such alarm.
	AlarmState(ctx context.Context, name string) (state string, ok bool)
}

// Options configures the ECS service.
type Options struct {
	Clock   clock.Clock
	Account string
	// Region is used when a request carries none.
	Region string
	// Bus receives the ECS events; nil drops them.
	Bus bus.Publisher
	// Alarms answers deployment alarm states; nil means no alarm exists.
	Alarms AlarmStates
	// Tick is how often rollouts move; 15 s when zero.
	Tick time.Duration
	// RolloutDuration is how long a healthy rollout takes; 2 min when zero.
	RolloutDuration time.Duration
	// AlarmBakeTime is how long ECS keeps watching deployment alarms after
	// the new tasks all run, before the rollout is COMPLETED, when the
	// service sets no bakeTimeInMinutes. AWS computes it from the alarms'
	// configuration; 3 min when zero, negative for none.
	AlarmBakeTime time.Duration
}

// Service is the local ECS. Create it with New.
type Service struct {
	clk     clock.Clock
	account string
	region  string
	tick    time.Duration
	rollout time.Duration
	bake    time.Duration
	faults  *Faults

	mu      sync.Mutex
	bus     bus.Publisher
	alarms  AlarmStates
	regions map[string]*regionState
	closed  bool
}

type regionState struct {
	name               string
	clusters           map[string]*cluster       // by name
	families           map[string]*family        // by name
	serviceDeployments map[string]*svcDeployment // by ARN
	revisions          map[string]*svcRevision   // service revisions by ARN
}

// New returns an ECS service with no clusters.
func New(opts Options) (*Service, error) {
	if opts.Clock == nil {
		return nil, fmt.Errorf("ecs: a clock is required")
	}
	if opts.Account == "" || opts.Region == "" {
		return nil, fmt.Errorf("ecs: account and region are required")
	}
	if opts.Bus == nil {
		opts.Bus = bus.Discard{}
	}
	if opts.Tick <= 0 {
		opts.Tick = defaultTick
	}
	if opts.RolloutDuration <= 0 {
		opts.RolloutDuration = defaultRollout
	}
	switch {
	case opts.AlarmBakeTime == 0:
		opts.AlarmBakeTime = defaultBake
	case opts.AlarmBakeTime < 0:
		opts.AlarmBakeTime = 0
	}
	return &Service{
		clk: opts.Clock, account: opts.Account, region: opts.Region,
		tick: opts.Tick, rollout: opts.RolloutDuration, bake: opts.AlarmBakeTime,
		faults: newFaults(), bus: opts.Bus, alarms: opts.Alarms,
		regions: map[string]*regionState{},
	}, nil
}

// Close stops every rollout timer, so that nothing runs on the clock
// afterwards. The API keeps answering; rollouts no longer move.
func (s *Service) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	for _, r := range s.regions {
		for _, c := range r.clusters {
			for _, svc := range c.services {
				if svc.timer != nil {
					svc.timer.Stop()
					svc.timer = nil
				}
			}
		}
	}
}

// Faults returns the ECS fault injection controls.
func (s *Service) Faults() *Faults { return s.faults }

func (s *Service) Name() string         { return "ecs" }
func (s *Service) TargetPrefix() string { return TargetPrefix }

type handler func(s *Service, ctx context.Context, r *regionState, in json.RawMessage) (any, error)

var handlers = map[string]handler{
	"CreateCluster":              (*Service).createCluster,
	"DescribeClusters":           (*Service).describeClusters,
	"ListClusters":               (*Service).listClusters,
	"DeleteCluster":              (*Service).deleteCluster,
	"RegisterTaskDefinition":     (*Service).registerTaskDefinition,
	"DescribeTaskDefinition":     (*Service).describeTaskDefinition,
	"DeregisterTaskDefinition":   (*Service).deregisterTaskDefinition,
	"DeleteTaskDefinitions":      (*Service).deleteTaskDefinitions,
	"ListTaskDefinitions":        (*Service).listTaskDefinitions,
	"ListTaskDefinitionFamilies": (*Service).listTaskDefinitionFamilies,
	"CreateService":              (*Service).createService,
	"UpdateService":              (*Service).updateService,
	"DescribeServices":           (*Service).describeServices,
	"ListServices":               (*Service).listServices,
	"DeleteService":              (*Service).deleteService,
	"TagResource":                (*Service).tagResource,
	"UntagResource":              (*Service).untagResource,
	"ListTagsForResource":        (*Service).listTagsForResource,
	"ListTasks":                  (*Service).listTasks,
	"DescribeTasks":              (*Service).describeTasks,
	"ListServiceDeployments":     (*Service).listServiceDeployments,
	"DescribeServiceDeployments": (*Service).describeServiceDeployments,
	"StopServiceDeployment":      (*Service).stopServiceDeployment,
	"ContinueServiceDeployment":  (*Service).continueServiceDeployment,
	"DescribeServiceRevisions":   (*Service).describeServiceRevisions,
}

// Call serves one ECS API operation.
func (s *Service) Call(ctx context.Context, op string, in json.RawMessage) (any, error) {
	h, ok := handlers[op]
	if !ok {
		return nil, awsproto.UnknownOperation("ecs", op)
	}
	req := awsproto.RequestFrom(ctx)
	regionName := req.Region
	if regionName == "" {
		regionName = s.region
	}
	var out any
	var err error
	var events []bus.Event
	func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		r := s.regionLocked(regionName)
		var pending pendingEvents
		ctx = context.WithValue(ctx, pendingKey{}, &pending)
		out, err = h(s, ctx, r, in)
		events = pending.events
	}()
	s.publish(ctx, events)
	return out, err
}

func (s *Service) regionLocked(name string) *regionState {
	r, ok := s.regions[name]
	if !ok {
		r = &regionState{name: name, clusters: map[string]*cluster{}, families: map[string]*family{},
			serviceDeployments: map[string]*svcDeployment{}, revisions: map[string]*svcRevision{}}
		s.regions[name] = r
	}
	return r
}

// decode reads the operation's input; a malformed body is a
// SerializationException, as AWS answers.
func decode(in json.RawMessage, v any) error {
	if err := json.Unmarshal(in, v); err != nil {
		return awsproto.Errorf("SerializationException", "%v", err)
	}
	return nil
}

func (s *Service) arn(r *regionState, resource string) string {
	return fmt.Sprintf("arn:aws:ecs:%s:%s:%s", r.name, s.account, resource)
}

// epoch renders t as AWS JSON timestamps: seconds since the epoch, with
// milliseconds.
func epoch(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }

func randomHex(n int) string {
	b := make([]byte, n/2)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func uuid() string {
	h := randomHex(32)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// deploymentID is "ecs-svc/" and 19 digits, as AWS forms them.
func deploymentID() string {
	lo := new(big.Int).Exp(big.NewInt(10), big.NewInt(18), nil)
	n, _ := rand.Int(rand.Reader, new(big.Int).Mul(lo, big.NewInt(9)))
	return "ecs-svc/" + n.Add(n, lo).String()
}

// page cuts items to one page. Tokens are opaque to clients: the offset of
// the next item, encoded.
func page[T any](items []T, token string, max, defaultMax, limit int) ([]T, string, error) {
	if max == 0 {
		max = defaultMax
	}
	if max < 1 || max > limit {
		return nil, "", awsproto.Errorf("InvalidParameterException", "maxResults must be between 1 and %d.", limit)
	}
	start := 0
	if token != "" {
		raw, err := base64.RawURLEncoding.DecodeString(token)
		n, cerr := strconv.Atoi(strings.TrimPrefix(string(raw), "offset:"))
		if err != nil || cerr != nil || !strings.HasPrefix(string(raw), "offset:") || n < 0 || n > len(items) {
			return nil, "", awsproto.Errorf("InvalidParameterException", "Invalid token %s", token)
		}
		start = n
	}
	end := min(start+max, len(items))
	next := ""
	if end < len(items) {
		next = base64.RawURLEncoding.EncodeToString([]byte("offset:" + strconv.Itoa(end)))
	}
	return items[start:end], next, nil
}

// deny answers an injected AccessDeniedException for op on resource.
func (s *Service) deny(ctx context.Context, op string, resources ...string) error {
	for _, res := range resources {
		if s.faults.denied(op, res) {
			return awsproto.Errorf("AccessDeniedException",
				"User: arn:aws:sts::%s:assumed-role/local/session is not authorized to perform: ecs:%s on resource: %s because no identity-based policy allows the ecs:%s action",
				s.account, op, res, op)
		}
	}
	return nil
}
