package cloudwatch

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/pushdeploy/pushdeploy/internal/localcloud/awsproto"
	"github.com/pushdeploy/pushdeploy/internal/localcloud/bus"
)

// Alarm types, as DescribeAlarms' AlarmTypes and the history name them.
const (
	TypeMetric    = "MetricAlarm"
	TypeComposite = "CompositeAlarm"
)

// CompositeAlarm is a composite alarm as DescribeAlarms returns it.
type CompositeAlarm struct {
	AlarmName                          string        `json:"AlarmName"`
	AlarmArn                           string        `json:"AlarmArn"`
	AlarmDescription                   string        `json:"AlarmDescription,omitempty"`
	AlarmRule                          string        `json:"AlarmRule"`
	AlarmConfigurationUpdatedTimestamp awsproto.Time `json:"AlarmConfigurationUpdatedTimestamp"`
	ActionsEnabled                     bool          `json:"ActionsEnabled"`
	OKActions                          []string      `json:"OKActions"`
	AlarmActions                       []string      `json:"AlarmActions"`
	InsufficientDataActions            []string      `json:"InsufficientDataActions"`
	StateValue                         string        `json:"StateValue"`
	StateReason                        string        `json:"StateReason"`
	StateReasonData                    string        `json:"StateReasonData,omitempty"`
	StateUpdatedTimestamp              awsproto.Time `json:"StateUpdatedTimestamp"`
	StateTransitionedTimestamp         awsproto.Time `json:"StateTransitionedTimestamp"`
}

// composite is what a composite alarm has beyond the fields both kinds
// share (kept in alarm.MetricAlarm).
type composite struct {
	rule     string
	parsed   ruleNode
	children []string // names the rule refers to, resolved from ARNs
}

func (a *alarm) kind() string {
	if a.composite != nil {
		return TypeComposite
	}
	return TypeMetric
}

func (a *alarm) compositeAlarm() CompositeAlarm {
	m := &a.MetricAlarm
	return CompositeAlarm{
		AlarmName: m.AlarmName, AlarmArn: m.AlarmArn, AlarmDescription: m.AlarmDescription, AlarmRule: a.composite.rule,
		AlarmConfigurationUpdatedTimestamp: m.AlarmConfigurationUpdatedTimestamp, ActionsEnabled: m.ActionsEnabled,
		OKActions: m.OKActions, AlarmActions: m.AlarmActions, InsufficientDataActions: m.InsufficientDataActions,
		StateValue: m.StateValue, StateReason: m.StateReason, StateReasonData: m.StateReasonData,
		StateUpdatedTimestamp: m.StateUpdatedTimestamp, StateTransitionedTimestamp: m.StateTransitionedTimestamp,
	}
}

type putCompositeAlarmInput struct {
	AlarmName               string   `json:"AlarmName"`
	AlarmRule               string   `json:"AlarmRule"`
	AlarmDescription        string   `json:"AlarmDescription"`
	ActionsEnabled          *bool    `json:"ActionsEnabled"` // AWS default: true
	OKActions               []string `json:"OKActions"`
	AlarmActions            []string `json:"AlarmActions"`
	InsufficientDataActions []string `json:"InsufficientDataActions"`
	Tags                    []Tag    `json:"Tags"`
	// Action suppression is accepted and kept out of the state: the local
	// cloud runs no actions to suppress.
	ActionsSuppressor                string `json:"ActionsSuppressor"`
	ActionsSuppressorWaitPeriod      *int32 `json:"ActionsSuppressorWaitPeriod"`
	ActionsSuppressorExtensionPeriod *int32 `json:"ActionsSuppressorExtensionPeriod"`
}

// maxChildren is how many alarms one rule may name (AWS's limit).
const maxChildren = 100

// ruleInvalid is the error AWS answers for a rule it cannot save.
func ruleInvalid(format string, args ...any) error {
	return awsproto.Errorf("ValidationError", format, args...)
}

func (s *Service) putCompositeAlarm(ctx context.Context, in *putCompositeAlarmInput) (struct{}, error) {
	awsproto.Note(ctx, "alarm", in.AlarmName)
	switch {
	case in.AlarmName == "":
		return struct{}{}, missing("AlarmName")
	case len(in.AlarmName) > 255:
		return struct{}{}, invalid("The parameter AlarmName must be at most 255 characters long.")
	case in.AlarmRule == "":
		return struct{}{}, missing("AlarmRule")
	case len(in.AlarmRule) > maxRuleLength:
		return struct{}{}, invalid("The parameter AlarmRule must be at most %d characters long.", maxRuleLength)
	case len(in.AlarmDescription) > 1024:
		return struct{}{}, invalid("The parameter AlarmDescription must be at most 1024 characters long.")
	}
	if err := validateTags(in.Tags); err != nil {
		return struct{}{}, err
	}
	parsed, refs, err := parseRule(in.AlarmRule)
	if err != nil {
		return struct{}{}, ruleInvalid("Error in alarm rule [%s]: %v", in.AlarmRule, err)
	}
	region := s.region(ctx)
	t := awsproto.Time(now(s.clk))
	s.mu.Lock()
	c := &composite{rule: in.AlarmRule, parsed: parsed}
	var absent []string
	for _, ref := range refs {
		name := ref
		if strings.HasPrefix(ref, "arn:") {
			r, n, err := s.alarmNameFromARN(ref)
			if err != nil || r != region {
				absent = append(absent, ref)
				continue
			}
			name = n
		}
		if _, ok := s.alarms[alarmKey{region, name}]; !ok {
			absent = append(absent, ref)
			continue
		}
		if !slices.Contains(c.children, name) {
			c.children = append(c.children, name)
		}
	}
	switch {
	case len(absent) > 0:
		s.mu.Unlock()
		return struct{}{}, ruleInvalid("Could not save the composite alarm as alarms [%s] in the alarm rule do not exist", strings.Join(absent, ", "))
	case len(c.children) > maxChildren:
		s.mu.Unlock()
		return struct{}{}, awsproto.Errorf("LimitExceededFault", "The alarm rule of a composite alarm can name at most %d alarms, not %d.", maxChildren, len(c.children))
	}
	key := alarmKey{region, in.AlarmName}
	old, exists := s.alarms[key]
	if exists && old.composite == nil {
		s.mu.Unlock()
		return struct{}{}, ruleInvalid("Alarm %s already exists as a metric alarm.", in.AlarmName)
	}
	cfg := MetricAlarm{
		AlarmName: in.AlarmName, AlarmArn: s.alarmARN(region, in.AlarmName), AlarmDescription: in.AlarmDescription,
		AlarmConfigurationUpdatedTimestamp: t, ActionsEnabled: in.ActionsEnabled == nil || *in.ActionsEnabled,
		OKActions: nonNil(in.OKActions), AlarmActions: nonNil(in.AlarmActions), InsufficientDataActions: nonNil(in.InsufficientDataActions),
		Dimensions: []Dimension{},
	}
	summary := fmt.Sprintf("Alarm %q updated", in.AlarmName)
	if exists {
		// An update overwrites the configuration and leaves the state,
		// which the new rule then re-evaluates.
		cfg.StateValue, cfg.StateReason, cfg.StateReasonData = old.StateValue, old.StateReason, old.StateReasonData
		cfg.StateUpdatedTimestamp, cfg.StateTransitionedTimestamp = old.StateUpdatedTimestamp, old.StateTransitionedTimestamp
		old.MetricAlarm, old.composite = cfg, c
	} else {
		summary = fmt.Sprintf("Alarm %q created", in.AlarmName)
		cfg.StateValue, cfg.StateReason = StateInsufficientData, "Unchecked: Initial alarm creation"
		cfg.StateUpdatedTimestamp, cfg.StateTransitionedTimestamp = t, t
		old = &alarm{MetricAlarm: cfg, region: region, tags: map[string]string{}, composite: c}
		s.alarms[key] = old
		for _, tg := range in.Tags {
			old.tags[tg.Key] = tg.Value
		}
	}
	s.record(old, "ConfigurationUpdate", summary, map[string]any{"type": "Update", "updatedAlarm": old.compositeAlarm()})
	var evs []bus.Event
	if ev, changed := s.evaluateComposite(old, nil); changed {
		evs = append([]bus.Event{ev}, s.cascade(old)...)
	}
	s.mu.Unlock()
	for _, ev := range evs {
		s.pub.Publish(ctx, ev)
	}
	return struct{}{}, nil
}

func nonNil(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

// stateOf reads a child's state for a rule; the caller holds mu.
func (s *Service) stateOf(region string) func(ref string) string {
	return func(ref string) string {
		name := ref
		if strings.HasPrefix(ref, "arn:") {
			if _, n, err := s.alarmNameFromARN(ref); err == nil {
				name = n
			}
		}
		if a, ok := s.alarms[alarmKey{region, name}]; ok {
			return a.StateValue
		}
		return ""
	}
}

// evaluateComposite sets c's state from its rule; trigger is the child whose
// change caused the evaluation (nil at creation or update). The caller
// holds mu. A composite alarm is ALARM when its rule is true, else OK:
// INSUFFICIENT_DATA only until its first evaluation, as on AWS.
func (s *Service) evaluateComposite(c *alarm, trigger *alarm) (bus.Event, bool) {
	state := StateOK
	if c.composite.parsed.eval(s.stateOf(c.region)) {
		state = StateAlarm
	}
	if state == c.StateValue {
		return bus.Event{}, false
	}
	var triggering []*alarm
	if trigger != nil {
		triggering = []*alarm{trigger}
	} else {
		for _, n := range c.composite.children {
			if a, ok := s.alarms[alarmKey{c.region, n}]; ok {
				triggering = append(triggering, a)
			}
		}
	}
	reason := fmt.Sprintf("Alarm rule %s evaluated to %s", c.composite.rule, state)
	if trigger != nil {
		reason = fmt.Sprintf("%s transitioned to %s at %s", trigger.AlarmArn, trigger.StateValue,
			time.Time(trigger.StateUpdatedTimestamp).UTC().Format("Monday 2 January, 2006 15:04:05 UTC"))
	}
	return s.changeState(c, state, reason, triggeringData(triggering))
}

// triggeringData is a composite alarm's StateReasonData: the children that
// moved it, in AWS's shape.
func triggeringData(as []*alarm) string {
	type childState struct {
		Value     string `json:"value"`
		Timestamp string `json:"timestamp"`
	}
	type child struct {
		ARN   string     `json:"arn"`
		State childState `json:"state"`
	}
	out := struct {
		TriggeringAlarms []child `json:"triggeringAlarms"`
	}{TriggeringAlarms: []child{}}
	for _, a := range as {
		out.TriggeringAlarms = append(out.TriggeringAlarms, child{ARN: a.AlarmArn, State: childState{Value: a.StateValue, Timestamp: eventTime(a.StateUpdatedTimestamp)}})
	}
	p, _ := json.Marshal(out) // plain structs always marshal
	return string(p)
}

// cascade re-evaluates the composite alarms whose rules name changed, then
// theirs in turn, and returns the state change events of those that moved.
// Each composite is evaluated once per change, so a cycle of composites
// (which AWS allows to exist) stops, as AWS stops evaluating on a cycle.
// The caller holds mu.
func (s *Service) cascade(changed *alarm) []bus.Event {
	var evs []bus.Event
	seen := map[string]bool{changed.AlarmName: true}
	queue := []*alarm{changed}
	for len(queue) > 0 {
		child := queue[0]
		queue = queue[1:]
		for _, p := range s.sortedAlarms(child.region) {
			if p.composite == nil || seen[p.AlarmName] || !slices.Contains(p.composite.children, child.AlarmName) {
				continue
			}
			seen[p.AlarmName] = true
			if ev, moved := s.evaluateComposite(p, child); moved {
				evs = append(evs, ev)
				queue = append(queue, p)
			}
		}
	}
	return evs
}

// parentsOf returns the composite alarms whose rules name name; the caller
// holds mu.
func (s *Service) parentsOf(region, name string) []*alarm {
	var out []*alarm
	for _, p := range s.sortedAlarms(region) {
		if p.composite != nil && slices.Contains(p.composite.children, name) {
			out = append(out, p)
		}
	}
	return out
}
