package eventbridge

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/pushdeploy/pushdeploy/internal/local/localcloud/awsproto"
	"github.com/pushdeploy/pushdeploy/internal/local/localcloud/bus"
)

type target struct {
	ID               string            `json:"Id"`
	Arn              string            `json:"Arn"`
	RoleArn          string            `json:"RoleArn,omitempty"`
	Input            string            `json:"Input,omitempty"`
	InputPath        string            `json:"InputPath,omitempty"`
	InputTransformer *inputTransformer `json:"InputTransformer,omitempty"`
	RetryPolicy      json.RawMessage   `json:"RetryPolicy,omitempty"`
	DeadLetterConfig json.RawMessage   `json:"DeadLetterConfig,omitempty"`
}

type inputTransformer struct {
	InputPathsMap map[string]string `json:"InputPathsMap,omitempty"`
	InputTemplate string            `json:"InputTemplate"`
}

// targetFields are the target fields the local cloud honours (RetryPolicy
// and DeadLetterConfig are kept and ignored: local deliveries do not fail
// transiently). Any other field is refused rather than ignored.
var targetFields = map[string]bool{"Id": true, "Arn": true, "RoleArn": true, "Input": true, "InputPath": true,
	"InputTransformer": true, "RetryPolicy": true, "DeadLetterConfig": true}

type putTargetsInput struct {
	Rule         string
	EventBusName string
	Targets      []json.RawMessage
}

type failedEntry struct {
	TargetID     string `json:"TargetId"`
	ErrorCode    string `json:"ErrorCode"`
	ErrorMessage string `json:"ErrorMessage"`
}

func (s *Service) putTargets(ctx context.Context, in *putTargetsInput) (any, error) {
	awsproto.Note(ctx, "rule", in.Rule)
	if len(in.Targets) == 0 || len(in.Targets) > 10 {
		return nil, awsproto.Validation("Targets must have between 1 and 10 members")
	}
	var parsed []*target
	for _, raw := range in.Targets {
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(raw, &fields); err != nil {
			return nil, awsproto.Errorf("SerializationException", "cannot decode a target: %v", err)
		}
		for k := range fields {
			if !targetFields[k] {
				return nil, awsproto.Validation("target field %s is not supported by the local cloud", k)
			}
		}
		t := &target{}
		if err := json.Unmarshal(raw, t); err != nil {
			return nil, awsproto.Errorf("SerializationException", "cannot decode a target: %v", err)
		}
		if err := checkTarget(t); err != nil {
			return nil, err
		}
		parsed = append(parsed, t)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.rule(in.EventBusName, in.Rule)
	if err != nil {
		return nil, err
	}
	failed := []failedEntry{}
	for _, t := range parsed {
		if kind := targetKind(t.Arn); kind == "" {
			failed = append(failed, failedEntry{TargetID: t.ID, ErrorCode: "ValidationException",
				ErrorMessage: fmt.Sprintf("target %s: the local cloud delivers only to Lambda functions, Step Functions state machines and event buses, not %s", t.ID, t.Arn)})
			continue
		}
		replaced := false
		for i, old := range r.targets {
			if old.ID == t.ID {
				r.targets[i], replaced = t, true
			}
		}
		if !replaced {
			if len(r.targets) >= maxTargets {
				return nil, awsproto.Errorf("LimitExceededException", "The requested resource exceeds the maximum number allowed (%d targets per rule).", maxTargets)
			}
			r.targets = append(r.targets, t)
		}
	}
	return map[string]any{"FailedEntryCount": len(failed), "FailedEntries": failed}, nil
}

func checkTarget(t *target) error {
	if t.ID == "" || !validName(t.ID) {
		return awsproto.Validation("target Id %q is not valid: 1 to 64 of [.-_A-Za-z0-9]", t.ID)
	}
	if t.Arn == "" {
		return awsproto.Validation("target %s: Arn must be specified", t.ID)
	}
	n := 0
	if t.Input != "" {
		n++
		if !json.Valid([]byte(t.Input)) {
			return awsproto.Validation("Input for target %s is not valid JSON", t.ID)
		}
	}
	if t.InputPath != "" {
		n++
		if _, err := parsePath(t.InputPath); err != nil {
			return awsproto.Validation("InputPath for target %s is not valid: %v", t.ID, err)
		}
	}
	if t.InputTransformer != nil {
		n++
		if t.InputTransformer.InputTemplate == "" {
			return awsproto.Validation("InputTemplate for target %s must be specified", t.ID)
		}
		for k, p := range t.InputTransformer.InputPathsMap {
			if strings.HasPrefix(k, "aws.") {
				return awsproto.Validation("InputPathsMap for target %s: key %s is reserved", t.ID, k)
			}
			if _, err := parsePath(p); err != nil {
				return awsproto.Validation("InputPathsMap for target %s: %s is not valid: %v", t.ID, k, err)
			}
		}
	}
	if n > 1 {
		return awsproto.Validation("Only one of Input, InputPath, or InputTransformer must be provided for target %s.", t.ID)
	}
	if it := t.InputTransformer; it != nil && jsonTemplate(it.InputTemplate) {
		// A JSON template must stay JSON whatever its placeholders hold.
		out, err := transform(it, &rule{}, []byte("{}"), map[string]any{}, time.Time{})
		if err != nil || !json.Valid(out) {
			return awsproto.Validation("InputTemplate for target %s is not valid JSON with its placeholders filled in", t.ID)
		}
	}
	return nil
}

// targetKind classifies a target ARN by what can deliver to it.
func targetKind(arn string) string {
	parts := strings.SplitN(arn, ":", 7)
	if len(parts) < 6 || parts[0] != "arn" {
		return ""
	}
	switch {
	case parts[2] == "lambda" && strings.HasPrefix(parts[5], "function"):
		return "lambda"
	case parts[2] == "states" && strings.HasPrefix(parts[5], "stateMachine"):
		return "states"
	case parts[2] == "events" && strings.HasPrefix(parts[5], "event-bus/"):
		return "events"
	}
	return ""
}

type listTargetsInput struct {
	Rule         string
	EventBusName string
	NextToken    string
	Limit        int
}

func (s *Service) listTargetsByRule(ctx context.Context, in *listTargetsInput) (any, error) {
	awsproto.Note(ctx, "rule", in.Rule)
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.rule(in.EventBusName, in.Rule)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(r.targets))
	byID := map[string]*target{}
	for i, t := range r.targets {
		ids[i] = t.ID
		byID[t.ID] = t
	}
	page, next, err := paginate(ids, in.NextToken, in.Limit)
	if err != nil {
		return nil, err
	}
	out := []*target{}
	for _, id := range page {
		out = append(out, byID[id])
	}
	return map[string]any{"Targets": out, "NextToken": next}, nil
}

type removeTargetsInput struct {
	Rule         string
	EventBusName string
	Ids          []string
	Force        bool
}

func (s *Service) removeTargets(ctx context.Context, in *removeTargetsInput) (any, error) {
	awsproto.Note(ctx, "rule", in.Rule)
	if len(in.Ids) == 0 {
		return nil, awsproto.Validation("Ids must have at least 1 member")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.rule(in.EventBusName, in.Rule)
	if err != nil {
		return nil, err
	}
	remove := map[string]bool{}
	for _, id := range in.Ids {
		remove[id] = true
	}
	kept := r.targets[:0]
	for _, t := range r.targets {
		if !remove[t.ID] {
			kept = append(kept, t)
		}
	}
	r.targets = kept
	return map[string]any{"FailedEntryCount": 0, "FailedEntries": []failedEntry{}}, nil
}

// --- PutEvents and delivery ---

type putEventsEntry struct {
	Time         *float64
	Source       string
	Resources    []string
	DetailType   string
	Detail       string
	EventBusName string
	TraceHeader  string
}

type putEventsInput struct {
	Entries    []putEventsEntry
	EndpointId string
}

type resultEntry struct {
	EventID      string `json:"EventId,omitempty"`
	ErrorCode    string `json:"ErrorCode,omitempty"`
	ErrorMessage string `json:"ErrorMessage,omitempty"`
}

func (s *Service) putEvents(ctx context.Context, in *putEventsInput) (any, error) {
	if len(in.Entries) == 0 || len(in.Entries) > 10 {
		return nil, awsproto.Validation("1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length between 1 and 10")
	}
	if in.EndpointId != "" {
		return nil, awsproto.Validation("global endpoints (EndpointId) are not supported by the local cloud")
	}
	region := awsproto.RequestFrom(ctx).Region
	if region == "" {
		region = s.region
	}
	results := make([]resultEntry, len(in.Entries))
	failed := 0
	for i, e := range in.Entries {
		ev, target, err := s.entryEvent(e, region)
		if err != nil {
			results[i] = *err
			failed++
			continue
		}
		results[i] = resultEntry{EventID: ev.ID}
		s.mu.Lock()
		s.accepted = append(s.accepted, ev)
		s.mu.Unlock()
		s.dispatch(ctx, target, ev)
	}
	awsproto.Note(ctx, "entries", fmt.Sprint(len(in.Entries)))
	if failed > 0 {
		awsproto.Note(ctx, "failed", fmt.Sprint(failed))
	}
	return map[string]any{"FailedEntryCount": failed, "Entries": results}, nil
}

// entryEvent validates a PutEvents entry and builds its envelope.
func (s *Service) entryEvent(e putEventsEntry, region string) (bus.Event, string, *resultEntry) {
	bad := func(code, format string, args ...any) (bus.Event, string, *resultEntry) {
		return bus.Event{}, "", &resultEntry{ErrorCode: code, ErrorMessage: fmt.Sprintf(format, args...)}
	}
	switch {
	case e.Source == "":
		return bad("InvalidArgument", "Parameter Source is not valid. Reason: Source is a required argument.")
	case e.DetailType == "":
		return bad("InvalidArgument", "Parameter DetailType is not valid. Reason: DetailType is a required argument.")
	case e.Detail == "":
		return bad("InvalidArgument", "Parameter Detail is not valid. Reason: Detail is a required argument.")
	case strings.HasPrefix(e.Source, "aws."):
		// Only AWS services publish aws.* events; the local services use
		// Publish. Tests that fake an AWS event must do the same.
		return bad("NotAuthorizedForSourceException", "Not authorized for the source.")
	}
	var detail map[string]json.RawMessage
	if err := json.Unmarshal([]byte(e.Detail), &detail); err != nil || detail == nil {
		return bad("MalformedDetail", "Detail is malformed.")
	}
	name := busName(e.EventBusName)
	s.mu.Lock()
	_, ok := s.buses[name]
	s.mu.Unlock()
	if !ok {
		return bad("InvalidArgument", "Event bus %s does not exist.", name)
	}
	t := s.clk.Now()
	if e.Time != nil {
		t = time.Unix(0, int64(*e.Time*1e9))
	}
	resources := e.Resources
	if resources == nil {
		resources = []string{}
	}
	return bus.Event{Version: "0", ID: newID(), DetailType: e.DetailType, Source: e.Source, Account: s.account,
		Time: bus.FormatTime(t), Region: region, Resources: resources, Detail: json.RawMessage(e.Detail)}, name, nil
}

// Publish puts an event on the default bus, for the local cloud's own
// services (ECS, ECR, CloudWatch). Missing envelope fields are filled in.
func (s *Service) Publish(ctx context.Context, e bus.Event) {
	if e.Version == "" {
		e.Version = "0"
	}
	if e.ID == "" {
		e.ID = newID()
	}
	if e.Time == "" {
		e.Time = bus.FormatTime(s.clk.Now())
	}
	if e.Account == "" {
		e.Account = s.account
	}
	if e.Region == "" {
		e.Region = s.region
	}
	if e.Resources == nil {
		e.Resources = []string{}
	}
	if len(e.Detail) == 0 {
		e.Detail = json.RawMessage("{}")
	}
	s.dispatch(ctx, DefaultBus, e)
}

// Delivery is one attempt to hand an event to a rule's target.
type Delivery struct {
	Time     time.Time // on the cloud's clock, when the target was called
	EventID  string
	Bus      string
	Rule     string
	TargetID string
	Arn      string
	Input    []byte // what the target received
	Err      string // empty on success
}

func (d Delivery) String() string {
	out := "ok"
	if d.Err != "" {
		out = "failed: " + d.Err
	}
	return fmt.Sprintf("%s events:deliver bus=%s rule=%s target=%s arn=%s event=%s -> %s",
		d.Time.UTC().Format("15:04:05"), d.Bus, d.Rule, d.TargetID, d.Arn, d.EventID, out)
}

// Accepted returns every event PutEvents accepted so far, in order,
// whether or not a rule matched it (what a caller published).
func (s *Service) Accepted() []bus.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]bus.Event(nil), s.accepted...)
}

// Deliveries returns every delivery so far, in the order they ended.
func (s *Service) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Delivery(nil), s.deliveries...)
}

// Flush waits until every delivery started so far has ended. Do not call it
// while holding the clock busy if a target waits on the clock.
func (s *Service) Flush() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for s.pending > 0 {
		s.idle.Wait()
	}
}

type job struct {
	d      Delivery
	kind   string
	target string // bus name for event-bus targets
	ev     bus.Event
}

// dispatch matches ev against the enabled rules of the bus and starts one
// asynchronous delivery per target of every matching rule.
func (s *Service) dispatch(ctx context.Context, busName string, ev bus.Event) {
	raw, err := marshal(ev)
	if err != nil {
		return // bus.Event always marshals; Detail was checked by the caller
	}
	decoded, err := decodeEvent(raw)
	if err != nil {
		return
	}
	s.mu.Lock()
	b, ok := s.buses[busName]
	if !ok {
		s.mu.Unlock()
		return
	}
	names := make([]string, 0, len(b.rules))
	for n := range b.rules {
		names = append(names, n)
	}
	sort.Strings(names)
	var jobs []job
	for _, n := range names {
		r := b.rules[n]
		if r.state != "ENABLED" || r.pattern == nil || !r.pattern.MatchValue(decoded) {
			continue
		}
		for _, t := range r.targets {
			j := job{d: Delivery{EventID: ev.ID, Bus: busName, Rule: r.name, TargetID: t.ID, Arn: t.Arn}, kind: targetKind(t.Arn), ev: ev}
			in, err := targetInput(t, r, raw, decoded, s.clk.Now())
			if err != nil {
				j.d.Err = err.Error()
			}
			j.d.Input = in
			if j.kind == "events" {
				_, j.target, _ = strings.Cut(t.Arn, ":event-bus/")
			}
			jobs = append(jobs, j)
		}
	}
	inv, sfn := s.inv, s.sfn
	s.pending += len(jobs)
	s.mu.Unlock()

	bg := context.WithoutCancel(ctx)
	for _, j := range jobs {
		// Busy is taken before the goroutine starts so that a virtual clock
		// cannot jump past a delivery that has not begun yet.
		done := s.clk.Busy()
		go func() {
			defer done()
			s.deliver(bg, j, inv, sfn)
		}()
	}
}

func (s *Service) deliver(ctx context.Context, j job, inv Invoker, sfn ExecutionStarter) {
	j.d.Time = s.clk.Now()
	if j.d.Err == "" {
		var err error
		switch j.kind {
		case "lambda":
			if inv == nil {
				err = fmt.Errorf("no Lambda service is wired to the local EventBridge")
			} else {
				err = inv.InvokeEvent(ctx, j.d.Arn, j.d.Input)
			}
		case "states":
			if sfn == nil {
				err = fmt.Errorf("no Step Functions service is wired to the local EventBridge")
			} else {
				err = sfn.StartExecutionFromEvent(ctx, j.d.Arn, j.d.Input)
			}
		case "events":
			s.mu.Lock()
			_, ok := s.buses[j.target]
			s.mu.Unlock()
			if !ok {
				err = fmt.Errorf("event bus %s does not exist", j.target)
			} else {
				// Forwarded events keep their id, as on AWS.
				s.dispatch(ctx, j.target, j.ev)
			}
		default:
			err = fmt.Errorf("unsupported target %s", j.d.Arn)
		}
		if err != nil {
			j.d.Err = err.Error()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deliveries = append(s.deliveries, j.d)
	if s.log != nil {
		fmt.Fprintln(s.log, j.d.String())
	}
	if s.pending--; s.pending == 0 {
		s.idle.Broadcast()
	}
}
