package eventbridge

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pushdeploy/pushdeploy/internal/app/clock"
	"github.com/pushdeploy/pushdeploy/internal/local/localcloud/awsproto"
	"github.com/pushdeploy/pushdeploy/internal/local/localcloud/bus"
	"github.com/pushdeploy/pushdeploy/internal/local/localcloud/eventbridge/pattern"
)

// DefaultBus is the event bus every account has.
const DefaultBus = "default"

// maxTargets is AWS's limit of targets per rule.
const maxTargets = 5

// Service is the local EventBridge.
type Service struct {
	clk     clock.Clock
	account string
	region  string

	mu         sync.Mutex
	inv        Invoker
	sfn        ExecutionStarter
	buses      map[string]*eventBus
	tags       map[string]map[string]string // by ARN
	deliveries []Delivery
	accepted   []bus.Event // what PutEvents accepted, for tests to read
	pending    int         // deliveries started and not yet ended
	idle       *sync.Cond  // on mu, broadcast when pending drops to 0
	log        io.Writer
}

type eventBus struct {
	name, arn, description string
	created                time.Time
	rules                  map[string]*rule
}

type rule struct {
	name, arn, bus string
	patternSrc     string
	pattern        *pattern.Pattern
	state          string
	description    string
	roleArn        string
	targets        []*target // in PutTargets order
	createdBy      string
}

var (
	_ bus.Publisher = (*Service)(nil)
)

// New returns an EventBridge with the default bus. inv and sfn deliver to
// Lambda and Step Functions targets; either may be nil and set later.
func New(clk clock.Clock, account, region string, inv Invoker, sfn ExecutionStarter) *Service {
	s := &Service{clk: clk, account: account, region: region, inv: inv, sfn: sfn,
		buses: map[string]*eventBus{}, tags: map[string]map[string]string{}}
	s.idle = sync.NewCond(&s.mu)
	s.buses[DefaultBus] = &eventBus{name: DefaultBus, arn: s.busARN(DefaultBus), created: clk.Now(), rules: map[string]*rule{}}
	return s
}

// SetInvoker wires the Lambda target delivery, for when the Lambda service is
// built after EventBridge.
func (s *Service) SetInvoker(inv Invoker) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inv = inv
}

// SetExecutionStarter wires the Step Functions target delivery.
func (s *Service) SetExecutionStarter(sfn ExecutionStarter) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sfn = sfn
}

// SetLog makes every delivery also write a readable line to w (nil: none),
// next to the call log's lines.
func (s *Service) SetLog(w io.Writer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = w
}

func (s *Service) Name() string         { return "events" }
func (s *Service) TargetPrefix() string { return "AWSEvents" }

func (s *Service) busARN(name string) string {
	return fmt.Sprintf("arn:aws:events:%s:%s:event-bus/%s", s.region, s.account, name)
}

func (s *Service) ruleARN(busName, name string) string {
	if busName == DefaultBus {
		return fmt.Sprintf("arn:aws:events:%s:%s:rule/%s", s.region, s.account, name)
	}
	return fmt.Sprintf("arn:aws:events:%s:%s:rule/%s/%s", s.region, s.account, busName, name)
}

// Call serves one AWSEvents operation.
func (s *Service) Call(ctx context.Context, op string, input json.RawMessage) (any, error) {
	h, ok := handlers[op]
	if !ok {
		return nil, awsproto.UnknownOperation("events", op)
	}
	return h(s, ctx, input)
}

type handler func(s *Service, ctx context.Context, in json.RawMessage) (any, error)

var handlers = map[string]handler{
	"CreateEventBus":      decoded((*Service).createEventBus),
	"DeleteEventBus":      decoded((*Service).deleteEventBus),
	"DescribeEventBus":    decoded((*Service).describeEventBus),
	"ListEventBuses":      decoded((*Service).listEventBuses),
	"PutRule":             decoded((*Service).putRule),
	"DescribeRule":        decoded((*Service).describeRule),
	"ListRules":           decoded((*Service).listRules),
	"DeleteRule":          decoded((*Service).deleteRule),
	"EnableRule":          decoded((*Service).enableRule),
	"DisableRule":         decoded((*Service).disableRule),
	"PutTargets":          decoded((*Service).putTargets),
	"ListTargetsByRule":   decoded((*Service).listTargetsByRule),
	"RemoveTargets":       decoded((*Service).removeTargets),
	"PutEvents":           decoded((*Service).putEvents),
	"TestEventPattern":    decoded((*Service).testEventPattern),
	"TagResource":         decoded((*Service).tagResource),
	"UntagResource":       decoded((*Service).untagResource),
	"ListTagsForResource": decoded((*Service).listTagsForResource),
}

// decoded adapts a typed operation to a handler, rejecting malformed input.
func decoded[In any](f func(*Service, context.Context, *In) (any, error)) handler {
	return func(s *Service, ctx context.Context, raw json.RawMessage) (any, error) {
		in := new(In)
		if err := json.Unmarshal(raw, in); err != nil {
			return nil, awsproto.Errorf("SerializationException", "cannot decode the request: %v", err)
		}
		return f(s, ctx, in)
	}
}

func epoch(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

// busName resolves a bus name or ARN; empty is the default bus.
func busName(nameOrARN string) string {
	if nameOrARN == "" {
		return DefaultBus
	}
	if strings.HasPrefix(nameOrARN, "arn:") {
		if _, name, ok := strings.Cut(nameOrARN, ":event-bus/"); ok {
			return name
		}
	}
	return nameOrARN
}

// bus returns the named bus; call with s.mu held.
func (s *Service) bus(nameOrARN string) (*eventBus, error) {
	name := busName(nameOrARN)
	b, ok := s.buses[name]
	if !ok {
		return nil, awsproto.Errorf("ResourceNotFoundException", "Event bus %s does not exist.", name)
	}
	return b, nil
}

// rule returns a rule; call with s.mu held.
func (s *Service) rule(busNameOrARN, name string) (*rule, error) {
	if name == "" {
		return nil, awsproto.Validation("1 validation error detected: Value null at 'name' failed to satisfy constraint: Member must not be null")
	}
	b, err := s.bus(busNameOrARN)
	if err != nil {
		return nil, err
	}
	r, ok := b.rules[name]
	if !ok {
		return nil, awsproto.Errorf("ResourceNotFoundException", "Rule %s does not exist on EventBus %s.", name, b.name)
	}
	return r, nil
}

func validName(name string) bool {
	if name == "" || len(name) > 64 {
		return false
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

type tag struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

// --- event buses ---

type createEventBusInput struct {
	Name            string
	EventSourceName string
	Description     string
	Tags            []tag
}

func (s *Service) createEventBus(ctx context.Context, in *createEventBusInput) (any, error) {
	awsproto.Note(ctx, "bus", in.Name)
	if !validName(in.Name) || in.Name == DefaultBus {
		return nil, awsproto.Validation("event bus name %q is not valid", in.Name)
	}
	if in.EventSourceName != "" {
		return nil, awsproto.Validation("partner event sources (EventSourceName) are not supported by the local cloud")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.buses[in.Name]; ok {
		return nil, awsproto.Errorf("ResourceAlreadyExistsException", "Event bus %s already exists.", in.Name)
	}
	b := &eventBus{name: in.Name, arn: s.busARN(in.Name), description: in.Description, created: s.clk.Now(), rules: map[string]*rule{}}
	s.buses[in.Name] = b
	s.setTags(b.arn, in.Tags)
	return map[string]any{"EventBusArn": b.arn, "Description": b.description}, nil
}

type nameInput struct{ Name string }

func (s *Service) deleteEventBus(ctx context.Context, in *nameInput) (any, error) {
	awsproto.Note(ctx, "bus", in.Name)
	name := busName(in.Name)
	if name == DefaultBus {
		return nil, awsproto.Validation("Cannot delete event bus default.")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if b, ok := s.buses[name]; ok {
		delete(s.tags, b.arn)
		delete(s.buses, name)
	}
	return struct{}{}, nil
}

func (s *Service) describeEventBus(ctx context.Context, in *nameInput) (any, error) {
	awsproto.Note(ctx, "bus", busName(in.Name))
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := s.bus(in.Name)
	if err != nil {
		return nil, err
	}
	return busOut(b), nil
}

func busOut(b *eventBus) map[string]any {
	out := map[string]any{"Name": b.name, "Arn": b.arn, "CreationTime": epoch(b.created), "LastModifiedTime": epoch(b.created)}
	if b.description != "" {
		out["Description"] = b.description
	}
	return out
}

type listInput struct {
	NamePrefix   string
	EventBusName string
	NextToken    string
	Limit        int
}

func (s *Service) listEventBuses(ctx context.Context, in *listInput) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	list, next, err := pageByPrefix(s.buses, in, busOut)
	if err != nil {
		return nil, err
	}
	return map[string]any{"EventBuses": list, "NextToken": next}, nil
}

// pageByPrefix lists, by name, the items whose names start with the
// input's NamePrefix, one page at a time.
func pageByPrefix[V any](items map[string]V, in *listInput, out func(V) map[string]any) ([]map[string]any, *string, error) {
	var names []string
	for n := range items {
		if strings.HasPrefix(n, in.NamePrefix) {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	page, next, err := paginate(names, in.NextToken, in.Limit)
	if err != nil {
		return nil, nil, err
	}
	list := []map[string]any{}
	for _, n := range page {
		list = append(list, out(items[n]))
	}
	return list, next, nil
}

// paginate pages a sorted list; the token is the offset of the next page.
func paginate(names []string, token string, limit int) ([]string, *string, error) {
	if limit < 0 || limit > 100 {
		return nil, nil, awsproto.Validation("Limit must be between 1 and 100")
	}
	if limit == 0 {
		limit = 100
	}
	start := 0
	if token != "" {
		n, err := strconv.Atoi(token)
		if err != nil || n < 0 || n > len(names) {
			return nil, nil, awsproto.Validation("The NextToken provided is invalid.")
		}
		start = n
	}
	end := min(start+limit, len(names))
	var next *string
	if end < len(names) {
		t := strconv.Itoa(end)
		next = &t
	}
	return names[start:end], next, nil
}

// --- rules ---

type putRuleInput struct {
	Name               string
	ScheduleExpression string
	EventPattern       string
	State              string
	Description        string
	RoleArn            string
	Tags               []tag
	EventBusName       string
}

func (s *Service) putRule(ctx context.Context, in *putRuleInput) (any, error) {
	awsproto.Note(ctx, "rule", in.Name)
	if !validName(in.Name) {
		return nil, awsproto.Validation("rule name %q is not valid: 1 to 64 of [.-_A-Za-z0-9]", in.Name)
	}
	if in.EventPattern == "" && in.ScheduleExpression == "" {
		return nil, awsproto.Validation("Parameter(s) EventPattern or ScheduleExpression must be specified.")
	}
	if in.ScheduleExpression != "" {
		return nil, awsproto.Validation("ScheduleExpression is not supported by the local cloud (rule %s)", in.Name)
	}
	p, err := pattern.Parse([]byte(in.EventPattern))
	if err != nil {
		return nil, awsproto.Errorf("InvalidEventPatternException", "%v", err)
	}
	state := in.State
	switch state {
	case "":
		state = "ENABLED"
	case "ENABLED", "DISABLED":
	default:
		return nil, awsproto.Validation("State %q is not valid: ENABLED or DISABLED", state)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := s.bus(in.EventBusName)
	if err != nil {
		return nil, err
	}
	r, ok := b.rules[in.Name]
	if !ok {
		r = &rule{name: in.Name, arn: s.ruleARN(b.name, in.Name), bus: b.name, createdBy: s.account}
		b.rules[in.Name] = r
	}
	r.patternSrc, r.pattern, r.state, r.description, r.roleArn = in.EventPattern, p, state, in.Description, in.RoleArn
	s.setTags(r.arn, in.Tags)
	return map[string]any{"RuleArn": r.arn}, nil
}

type ruleInput struct {
	Name         string
	EventBusName string
	Force        bool
}

func ruleOut(r *rule) map[string]any {
	out := map[string]any{"Name": r.name, "Arn": r.arn, "EventPattern": r.patternSrc, "State": r.state,
		"EventBusName": r.bus, "CreatedBy": r.createdBy}
	if r.description != "" {
		out["Description"] = r.description
	}
	if r.roleArn != "" {
		out["RoleArn"] = r.roleArn
	}
	return out
}

func (s *Service) describeRule(ctx context.Context, in *ruleInput) (any, error) {
	awsproto.Note(ctx, "rule", in.Name)
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.rule(in.EventBusName, in.Name)
	if err != nil {
		return nil, err
	}
	return ruleOut(r), nil
}

func (s *Service) listRules(ctx context.Context, in *listInput) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := s.bus(in.EventBusName)
	if err != nil {
		return nil, err
	}
	list, next, err := pageByPrefix(b.rules, in, ruleOut)
	if err != nil {
		return nil, err
	}
	return map[string]any{"Rules": list, "NextToken": next}, nil
}

func (s *Service) deleteRule(ctx context.Context, in *ruleInput) (any, error) {
	awsproto.Note(ctx, "rule", in.Name)
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.rule(in.EventBusName, in.Name)
	if err != nil {
		var e *awsproto.Error
		if asErr(err, &e) && e.Type == "ResourceNotFoundException" && !strings.HasPrefix(e.Message, "Event bus") {
			return struct{}{}, nil // deleting a missing rule succeeds, as on AWS
		}
		return nil, err
	}
	if len(r.targets) > 0 {
		return nil, awsproto.Validation("Rule can't be deleted since it has targets.")
	}
	delete(s.buses[r.bus].rules, r.name)
	delete(s.tags, r.arn)
	return struct{}{}, nil
}

func asErr(err error, target **awsproto.Error) bool {
	e, ok := err.(*awsproto.Error)
	if ok {
		*target = e
	}
	return ok
}

func (s *Service) enableRule(ctx context.Context, in *ruleInput) (any, error) {
	return s.setState(ctx, in, "ENABLED")
}

func (s *Service) disableRule(ctx context.Context, in *ruleInput) (any, error) {
	return s.setState(ctx, in, "DISABLED")
}

func (s *Service) setState(ctx context.Context, in *ruleInput, state string) (any, error) {
	awsproto.Note(ctx, "rule", in.Name)
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.rule(in.EventBusName, in.Name)
	if err != nil {
		return nil, err
	}
	r.state = state
	return struct{}{}, nil
}

// --- tags ---

func (s *Service) setTags(arn string, tags []tag) {
	if len(tags) == 0 {
		return
	}
	m := s.tags[arn]
	if m == nil {
		m = map[string]string{}
		s.tags[arn] = m
	}
	for _, t := range tags {
		m[t.Key] = t.Value
	}
}

// resourceExists reports whether arn names a bus or rule; s.mu held.
func (s *Service) resourceExists(arn string) bool {
	for _, b := range s.buses {
		if b.arn == arn {
			return true
		}
		for _, r := range b.rules {
			if r.arn == arn {
				return true
			}
		}
	}
	return false
}

type tagInput struct {
	ResourceARN string
	Tags        []tag
	TagKeys     []string
}

func (s *Service) tagResource(ctx context.Context, in *tagInput) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.resourceExists(in.ResourceARN) {
		return nil, awsproto.Errorf("ResourceNotFoundException", "Resource %s does not exist.", in.ResourceARN)
	}
	s.setTags(in.ResourceARN, in.Tags)
	return struct{}{}, nil
}

func (s *Service) untagResource(ctx context.Context, in *tagInput) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.resourceExists(in.ResourceARN) {
		return nil, awsproto.Errorf("ResourceNotFoundException", "Resource %s does not exist.", in.ResourceARN)
	}
	for _, k := range in.TagKeys {
		delete(s.tags[in.ResourceARN], k)
	}
	return struct{}{}, nil
}

func (s *Service) listTagsForResource(ctx context.Context, in *tagInput) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.resourceExists(in.ResourceARN) {
		return nil, awsproto.Errorf("ResourceNotFoundException", "Resource %s does not exist.", in.ResourceARN)
	}
	keys := make([]string, 0, len(s.tags[in.ResourceARN]))
	for k := range s.tags[in.ResourceARN] {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := []tag{}
	for _, k := range keys {
		out = append(out, tag{Key: k, Value: s.tags[in.ResourceARN][k]})
	}
	return map[string]any{"Tags": out}, nil
}

// --- TestEventPattern ---

type testPatternInput struct {
	EventPattern string
	Event        string
}

func (s *Service) testEventPattern(ctx context.Context, in *testPatternInput) (any, error) {
	p, err := pattern.Parse([]byte(in.EventPattern))
	if err != nil {
		return nil, awsproto.Errorf("InvalidEventPatternException", "%v", err)
	}
	ev, err := decodeEvent([]byte(in.Event))
	if err != nil {
		return nil, awsproto.Validation("Parameter Event is not valid: %v", err)
	}
	for _, k := range []string{"id", "account", "source", "time", "region", "detail-type"} {
		if _, ok := ev[k]; !ok {
			return nil, awsproto.Validation("Parameter Event is not valid: field %q is missing", k)
		}
	}
	return map[string]any{"Result": p.MatchValue(ev)}, nil
}

func decodeEvent(b []byte) (map[string]any, error) {
	d := json.NewDecoder(strings.NewReader(string(b)))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		return nil, fmt.Errorf("not a JSON object: %w", err)
	}
	if m == nil {
		return nil, fmt.Errorf("not a JSON object")
	}
	return m, nil
}

func newID() string {
	var b [16]byte
	rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
