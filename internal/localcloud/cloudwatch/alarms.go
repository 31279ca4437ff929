package cloudwatch

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/pushdeploy/pushdeploy/internal/localcloud/awsproto"
	"github.com/pushdeploy/pushdeploy/internal/localcloud/bus"
)

// MetricAlarm is an alarm as DescribeAlarms returns it.
type MetricAlarm struct {
	AlarmName                          string            `json:"AlarmName"`
	AlarmArn                           string            `json:"AlarmArn"`
	AlarmDescription                   string            `json:"AlarmDescription,omitempty"`
	AlarmConfigurationUpdatedTimestamp awsproto.Time     `json:"AlarmConfigurationUpdatedTimestamp"`
	ActionsEnabled                     bool              `json:"ActionsEnabled"`
	OKActions                          []string          `json:"OKActions"`
	AlarmActions                       []string          `json:"AlarmActions"`
	InsufficientDataActions            []string          `json:"InsufficientDataActions"`
	StateValue                         string            `json:"StateValue"`
	StateReason                        string            `json:"StateReason"`
	StateReasonData                    string            `json:"StateReasonData,omitempty"`
	StateUpdatedTimestamp              awsproto.Time     `json:"StateUpdatedTimestamp"`
	StateTransitionedTimestamp         awsproto.Time     `json:"StateTransitionedTimestamp"`
	MetricName                         string            `json:"MetricName,omitempty"`
	Namespace                          string            `json:"Namespace,omitempty"`
	Statistic                          string            `json:"Statistic,omitempty"`
	ExtendedStatistic                  string            `json:"ExtendedStatistic,omitempty"`
	Dimensions                         []Dimension       `json:"Dimensions"`
	Period                             int32             `json:"Period,omitempty"`
	Unit                               string            `json:"Unit,omitempty"`
	EvaluationPeriods                  int32             `json:"EvaluationPeriods"`
	DatapointsToAlarm                  int32             `json:"DatapointsToAlarm,omitempty"`
	Threshold                          *float64          `json:"Threshold,omitempty"`
	ComparisonOperator                 string            `json:"ComparisonOperator"`
	TreatMissingData                   string            `json:"TreatMissingData,omitempty"`
	EvaluateLowSampleCountPercentile   string            `json:"EvaluateLowSampleCountPercentile,omitempty"`
	Metrics                            []MetricDataQuery `json:"Metrics,omitempty"`
	ThresholdMetricID                  string            `json:"ThresholdMetricId,omitempty"`
}

// Dimension is a metric dimension.
type Dimension struct {
	Name  string `json:"Name"`
	Value string `json:"Value"`
}

// MetricDataQuery is one metric or expression of a metric-math alarm.
type MetricDataQuery struct {
	ID         string      `json:"Id"`
	MetricStat *MetricStat `json:"MetricStat,omitempty"`
	Expression string      `json:"Expression,omitempty"`
	Label      string      `json:"Label,omitempty"`
	ReturnData *bool       `json:"ReturnData,omitempty"`
	Period     int32       `json:"Period,omitempty"`
	AccountID  string      `json:"AccountId,omitempty"`
}

// MetricStat names a metric and its statistic.
type MetricStat struct {
	Metric struct {
		Namespace  string      `json:"Namespace,omitempty"`
		MetricName string      `json:"MetricName,omitempty"`
		Dimensions []Dimension `json:"Dimensions,omitempty"`
	} `json:"Metric"`
	Period int32  `json:"Period"`
	Stat   string `json:"Stat"`
	Unit   string `json:"Unit,omitempty"`
}

// Tag is a CloudWatch resource tag.
type Tag struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

type putMetricAlarmInput struct {
	MetricAlarm
	ActionsEnabled *bool `json:"ActionsEnabled"` // AWS default: true
	Tags           []Tag `json:"Tags"`
}

var comparisonOperators = map[string]bool{
	"GreaterThanOrEqualToThreshold": true, "GreaterThanThreshold": true, "LessThanThreshold": true,
	"LessThanOrEqualToThreshold": true, "LessThanLowerOrGreaterThanUpperThreshold": true,
	"LessThanLowerThreshold": true, "GreaterThanUpperThreshold": true,
}

var statistics = map[string]bool{"SampleCount": true, "Average": true, "Sum": true, "Minimum": true, "Maximum": true}

func missing(name string) error {
	return awsproto.Errorf("MissingRequiredParameterException", "The parameter %s is required.", name)
}

func invalid(format string, args ...any) error {
	return awsproto.Errorf("InvalidParameterValueException", format, args...)
}

func validateAlarm(in *putMetricAlarmInput) error {
	a := &in.MetricAlarm
	switch {
	case a.AlarmName == "":
		return missing("AlarmName")
	case len(a.AlarmName) > 255:
		return invalid("The parameter AlarmName must be at most 255 characters long.")
	case a.EvaluationPeriods == 0:
		return missing("EvaluationPeriods")
	case a.EvaluationPeriods < 0:
		return invalid("The parameter EvaluationPeriods must be greater than or equal to 1.")
	case a.ComparisonOperator == "":
		return missing("ComparisonOperator")
	case !comparisonOperators[a.ComparisonOperator]:
		return invalid("Invalid ComparisonOperator %q.", a.ComparisonOperator)
	case a.DatapointsToAlarm > a.EvaluationPeriods:
		return invalid("DatapointsToAlarm (%d) must be at most EvaluationPeriods (%d).", a.DatapointsToAlarm, a.EvaluationPeriods)
	}
	if a.Threshold == nil && a.ThresholdMetricID == "" {
		return missing("Threshold")
	}
	if a.Threshold != nil && (math.IsNaN(*a.Threshold) || math.IsInf(*a.Threshold, 0)) {
		return invalid("The parameter Threshold must be a finite number.")
	}
	switch tm := a.TreatMissingData; tm {
	case "", "breaching", "notBreaching", "ignore", "missing":
	default:
		return invalid("Invalid TreatMissingData %q.", tm)
	}
	single := a.MetricName != "" || a.Namespace != "" || a.Statistic != "" || a.ExtendedStatistic != "" || len(a.Dimensions) > 0
	switch {
	case single && len(a.Metrics) > 0:
		return awsproto.Errorf("InvalidParameterCombinationException", "Metrics cannot be combined with MetricName, Namespace, Statistic, ExtendedStatistic or Dimensions.")
	case len(a.Metrics) > 0:
		returned := 0
		for i, q := range a.Metrics {
			if q.ID == "" {
				return missing(fmt.Sprintf("Metrics.member.%d.Id", i+1))
			}
			if (q.MetricStat == nil) == (q.Expression == "") {
				return awsproto.Errorf("InvalidParameterCombinationException", "Metrics.member.%d must have exactly one of MetricStat and Expression.", i+1)
			}
			if q.ReturnData == nil || *q.ReturnData {
				returned++
			}
		}
		if returned != 1 {
			return invalid("Exactly one element of the Metrics list must return data.")
		}
	default:
		switch {
		case a.MetricName == "":
			return missing("MetricName")
		case a.Namespace == "":
			return missing("Namespace")
		case a.Period == 0:
			return missing("Period")
		case a.Period < 10 || (a.Period > 30 && a.Period%60 != 0):
			return invalid("The parameter Period must be 10, 20, 30 or a multiple of 60.")
		case (a.Statistic == "") == (a.ExtendedStatistic == ""):
			return awsproto.Errorf("InvalidParameterCombinationException", "Exactly one of Statistic and ExtendedStatistic must be specified.")
		case a.Statistic != "" && !statistics[a.Statistic]:
			return invalid("Invalid Statistic %q.", a.Statistic)
		}
	}
	return validateTags(in.Tags)
}

func validateTags(tags []Tag) error {
	for _, t := range tags {
		if t.Key == "" || len(t.Key) > 128 || len(t.Value) > 256 || strings.HasPrefix(t.Key, "aws:") {
			return invalid("Invalid tag key %q: 1 to 128 characters, not starting with aws:.", t.Key)
		}
	}
	return nil
}

func (s *Service) putMetricAlarm(ctx context.Context, in *putMetricAlarmInput) (struct{}, error) {
	awsproto.Note(ctx, "alarm", in.AlarmName)
	if err := validateAlarm(in); err != nil {
		return struct{}{}, err
	}
	region := s.region(ctx)
	t := awsproto.Time(now(s.clk))
	s.mu.Lock()
	defer s.mu.Unlock()
	key := alarmKey{region, in.AlarmName}
	cfg := in.MetricAlarm
	cfg.AlarmArn = s.alarmARN(region, in.AlarmName)
	cfg.AlarmConfigurationUpdatedTimestamp = t
	cfg.ActionsEnabled = in.ActionsEnabled == nil || *in.ActionsEnabled
	for _, l := range []*[]string{&cfg.OKActions, &cfg.AlarmActions, &cfg.InsufficientDataActions} {
		if *l == nil {
			*l = []string{}
		}
	}
	if cfg.Dimensions == nil {
		cfg.Dimensions = []Dimension{}
	}
	old, exists := s.alarms[key]
	if exists && old.composite != nil {
		return struct{}{}, ruleInvalid("Alarm %s already exists as a composite alarm.", in.AlarmName)
	}
	summary := fmt.Sprintf("Alarm %q updated", in.AlarmName)
	if exists {
		// An update overwrites the configuration and leaves the state.
		cfg.StateValue, cfg.StateReason, cfg.StateReasonData = old.StateValue, old.StateReason, old.StateReasonData
		cfg.StateUpdatedTimestamp, cfg.StateTransitionedTimestamp = old.StateUpdatedTimestamp, old.StateTransitionedTimestamp
		old.MetricAlarm = cfg
	} else {
		summary = fmt.Sprintf("Alarm %q created", in.AlarmName)
		cfg.StateValue, cfg.StateReason = StateInsufficientData, "Unchecked: Initial alarm creation"
		cfg.StateUpdatedTimestamp, cfg.StateTransitionedTimestamp = t, t
		old = &alarm{MetricAlarm: cfg, region: region, tags: map[string]string{}}
		s.alarms[key] = old
		// AWS ignores the tags of an update: only a new alarm takes them.
		for _, tg := range in.Tags {
			old.tags[tg.Key] = tg.Value
		}
	}
	s.record(old, "ConfigurationUpdate", summary, map[string]any{"type": "Update", "updatedAlarm": cfg})
	return struct{}{}, nil
}

type describeAlarmsInput struct {
	AlarmNames          []string `json:"AlarmNames"`
	AlarmNamePrefix     string   `json:"AlarmNamePrefix"`
	AlarmTypes          []string `json:"AlarmTypes"`
	ChildrenOfAlarmName string   `json:"ChildrenOfAlarmName"`
	ParentsOfAlarmName  string   `json:"ParentsOfAlarmName"`
	StateValue          string   `json:"StateValue"`
	ActionPrefix        string   `json:"ActionPrefix"`
	MaxRecords          int      `json:"MaxRecords"`
	NextToken           string   `json:"NextToken"`
}

type describeAlarmsOutput struct {
	MetricAlarms    []MetricAlarm    `json:"MetricAlarms"`
	CompositeAlarms []CompositeAlarm `json:"CompositeAlarms"`
	NextToken       string           `json:"NextToken,omitempty"`
}

// alarmTypes reads AlarmTypes: absent means metric alarms only, as on AWS.
func alarmTypes(in []string) (map[string]bool, error) {
	types := map[string]bool{}
	if len(in) == 0 {
		types[TypeMetric] = true
	}
	for _, t := range in {
		if t != TypeMetric && t != TypeComposite {
			return nil, invalid("Invalid AlarmType %q.", t)
		}
		types[t] = true
	}
	return types, nil
}

func (s *Service) describeAlarms(ctx context.Context, in *describeAlarmsInput) (*describeAlarmsOutput, error) {
	family := in.ChildrenOfAlarmName != "" || in.ParentsOfAlarmName != ""
	switch {
	case len(in.AlarmNames) > 0 && in.AlarmNamePrefix != "":
		return nil, awsproto.Errorf("InvalidParameterCombinationException", "AlarmNames and AlarmNamePrefix cannot be used together.")
	case in.ChildrenOfAlarmName != "" && in.ParentsOfAlarmName != "",
		family && (len(in.AlarmNames) > 0 || in.AlarmNamePrefix != "" || len(in.AlarmTypes) > 0 || in.StateValue != "" || in.ActionPrefix != ""):
		return nil, awsproto.Errorf("InvalidParameterCombinationException", "ChildrenOfAlarmName and ParentsOfAlarmName take no other parameters than MaxRecords and NextToken.")
	case len(in.AlarmNames) > 100:
		return nil, invalid("The parameter AlarmNames must have at most 100 members.")
	case in.MaxRecords < 0 || in.MaxRecords > 100:
		return nil, invalid("The parameter MaxRecords must be between 1 and 100.")
	case in.StateValue != "" && !validState(in.StateValue):
		return nil, invalid("Invalid StateValue %q.", in.StateValue)
	}
	types, err := alarmTypes(in.AlarmTypes)
	if err != nil {
		return nil, err
	}
	limit := in.MaxRecords
	if limit == 0 {
		limit = 50
	}
	after, err := decodeToken(in.NextToken)
	if err != nil {
		return nil, err
	}
	region := s.region(ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	names := map[string]bool{}
	for _, n := range in.AlarmNames {
		names[n] = true
	}
	if family {
		// The family of one alarm, of both kinds.
		types = map[string]bool{TypeMetric: true, TypeComposite: true}
		names = map[string]bool{"": true} // matches nothing if the alarm has no family
		if c, ok := s.alarms[alarmKey{region, in.ChildrenOfAlarmName}]; ok && c.composite != nil {
			for _, n := range c.composite.children {
				names[n] = true
			}
		}
		for _, p := range s.parentsOf(region, in.ParentsOfAlarmName) {
			if in.ParentsOfAlarmName != "" {
				names[p.AlarmName] = true
			}
		}
	}
	out := &describeAlarmsOutput{MetricAlarms: []MetricAlarm{}, CompositeAlarms: []CompositeAlarm{}}
	n := 0
	for _, a := range s.sortedAlarms(region) {
		switch {
		case !types[a.kind()],
			a.AlarmName <= after && after != "",
			len(names) > 0 && !names[a.AlarmName],
			!strings.HasPrefix(a.AlarmName, in.AlarmNamePrefix),
			in.StateValue != "" && a.StateValue != in.StateValue,
			in.ActionPrefix != "" && !hasActionPrefix(a, in.ActionPrefix):
			continue
		}
		if n == limit {
			out.NextToken = encodeToken(lastName(out))
			break
		}
		n++
		if a.composite != nil {
			out.CompositeAlarms = append(out.CompositeAlarms, a.compositeAlarm())
		} else {
			out.MetricAlarms = append(out.MetricAlarms, a.MetricAlarm)
		}
	}
	return out, nil
}

// lastName is the greatest name on a page: the alarms are listed by name.
func lastName(out *describeAlarmsOutput) string {
	last := ""
	if l := len(out.MetricAlarms); l > 0 {
		last = out.MetricAlarms[l-1].AlarmName
	}
	if l := len(out.CompositeAlarms); l > 0 && out.CompositeAlarms[l-1].AlarmName > last {
		last = out.CompositeAlarms[l-1].AlarmName
	}
	return last
}

func hasActionPrefix(a *alarm, prefix string) bool {
	for _, l := range [][]string{a.OKActions, a.AlarmActions, a.InsufficientDataActions} {
		for _, act := range l {
			if strings.HasPrefix(act, prefix) {
				return true
			}
		}
	}
	return false
}

func encodeToken(last string) string { return awsproto.PageToken(last) }

func decodeToken(tok string) (string, error) {
	last, ok := awsproto.AfterPageToken(tok)
	if !ok {
		return "", awsproto.Errorf("InvalidNextToken", "The service returned an invalid NextToken.")
	}
	return last, nil
}

type setAlarmStateInput struct {
	AlarmName       string `json:"AlarmName"`
	StateValue      string `json:"StateValue"`
	StateReason     string `json:"StateReason"`
	StateReasonData string `json:"StateReasonData"`
}

func (s *Service) setAlarmState(ctx context.Context, in *setAlarmStateInput) (struct{}, error) {
	awsproto.Note(ctx, "alarm", in.AlarmName)
	awsproto.Note(ctx, "state", in.StateValue)
	switch {
	case in.AlarmName == "":
		return struct{}{}, missing("AlarmName")
	case in.StateValue == "":
		return struct{}{}, missing("StateValue")
	case !validState(in.StateValue):
		return struct{}{}, invalid("Invalid StateValue %q: one of OK, ALARM, INSUFFICIENT_DATA.", in.StateValue)
	case in.StateReason == "":
		return struct{}{}, missing("StateReason")
	case len(in.StateReason) > 1023:
		return struct{}{}, invalid("The parameter StateReason must be at most 1023 characters long.")
	case in.StateReasonData != "" && !json.Valid([]byte(in.StateReasonData)):
		return struct{}{}, awsproto.Errorf("InvalidFormatFault", "StateReasonData is not valid JSON.")
	}
	s.mu.Lock()
	a, ok := s.alarms[alarmKey{s.region(ctx), in.AlarmName}]
	if !ok {
		s.mu.Unlock()
		return struct{}{}, notFound(in.AlarmName)
	}
	evs := s.moveState(a, in.StateValue, in.StateReason, in.StateReasonData)
	s.mu.Unlock()
	for _, ev := range evs {
		s.pub.Publish(ctx, ev)
	}
	return struct{}{}, nil
}

// moveState moves a to value and re-evaluates the composite alarms above
// it, returning the events to publish (after mu is released). The caller
// holds mu.
func (s *Service) moveState(a *alarm, value, reason, reasonData string) []bus.Event {
	ev, changed := s.changeState(a, value, reason, reasonData)
	if !changed {
		return nil
	}
	return append([]bus.Event{ev}, s.cascade(a)...)
}

// changeState moves a to value and returns the state change event to
// publish (after mu is released), if the state changed. The caller holds mu.
func (s *Service) changeState(a *alarm, value, reason, reasonData string) (bus.Event, bool) {
	t := now(s.clk)
	prev := eventStateOf(&a.MetricAlarm)
	from := a.StateValue
	a.StateReason, a.StateReasonData = reason, reasonData
	a.StateUpdatedTimestamp = awsproto.Time(t)
	if from == value {
		return bus.Event{}, false
	}
	a.StateValue = value
	a.StateTransitionedTimestamp = awsproto.Time(t)
	s.record(a, "StateUpdate", fmt.Sprintf("Alarm updated from %s to %s", from, value), map[string]any{
		"version":  "1.0",
		"oldState": map[string]any{"stateValue": from, "stateReason": prev.Reason},
		"newState": map[string]any{"stateValue": value, "stateReason": reason},
	})
	return s.stateChangeEvent(a, prev), true
}

type deleteAlarmsInput struct {
	AlarmNames []string `json:"AlarmNames"`
}

func (s *Service) deleteAlarms(ctx context.Context, in *deleteAlarmsInput) (struct{}, error) {
	awsproto.Note(ctx, "alarms", strings.Join(in.AlarmNames, ","))
	if len(in.AlarmNames) == 0 {
		return struct{}{}, missing("AlarmNames")
	}
	if len(in.AlarmNames) > 100 {
		return struct{}{}, invalid("The parameter AlarmNames must have at most 100 members.")
	}
	region := s.region(ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	// AWS deletes nothing when any name is wrong, or when a composite
	// alarm that stays would lose a child.
	for _, n := range in.AlarmNames {
		if _, ok := s.alarms[alarmKey{region, n}]; !ok {
			return struct{}{}, notFound(n)
		}
		for _, p := range s.parentsOf(region, n) {
			if !slices.Contains(in.AlarmNames, p.AlarmName) {
				return struct{}{}, ruleInvalid("Alarm %s is referenced by the alarm rule of composite alarm %s; change that rule or delete it too.", n, p.AlarmName)
			}
		}
	}
	for _, n := range in.AlarmNames {
		a := s.alarms[alarmKey{region, n}]
		s.record(a, "ConfigurationUpdate", fmt.Sprintf("Alarm %q deleted", n), map[string]any{"type": "Delete"})
		delete(s.alarms, alarmKey{region, n})
	}
	return struct{}{}, nil
}

type tagResourceInput struct {
	ResourceARN string   `json:"ResourceARN"`
	Tags        []Tag    `json:"Tags"`
	TagKeys     []string `json:"TagKeys"`
}

// taggedAlarm finds the alarm an ARN names.
func (s *Service) taggedAlarm(ctx context.Context, arn string) (*alarm, error) {
	awsproto.Note(ctx, "arn", arn)
	if arn == "" {
		return nil, missing("ResourceARN")
	}
	region, name, err := s.alarmNameFromARN(arn)
	if err != nil {
		return nil, err
	}
	a, ok := s.alarms[alarmKey{region, name}]
	if !ok {
		return nil, awsproto.Errorf("ResourceNotFoundException", "%s not found", arn)
	}
	return a, nil
}

func (s *Service) tagResource(ctx context.Context, in *tagResourceInput) (struct{}, error) {
	if len(in.Tags) == 0 {
		return struct{}{}, missing("Tags")
	}
	if err := validateTags(in.Tags); err != nil {
		return struct{}{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, err := s.taggedAlarm(ctx, in.ResourceARN)
	if err != nil {
		return struct{}{}, err
	}
	if n := len(mergedKeys(a.tags, in.Tags)); n > 50 {
		return struct{}{}, awsproto.Errorf("LimitExceededFault", "an alarm can have at most 50 tags, not %d", n)
	}
	for _, t := range in.Tags {
		a.tags[t.Key] = t.Value
	}
	return struct{}{}, nil
}

func mergedKeys(have map[string]string, add []Tag) map[string]bool {
	keys := map[string]bool{}
	for k := range have {
		keys[k] = true
	}
	for _, t := range add {
		keys[t.Key] = true
	}
	return keys
}

func (s *Service) untagResource(ctx context.Context, in *tagResourceInput) (struct{}, error) {
	if len(in.TagKeys) == 0 {
		return struct{}{}, missing("TagKeys")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, err := s.taggedAlarm(ctx, in.ResourceARN)
	if err != nil {
		return struct{}{}, err
	}
	for _, k := range in.TagKeys {
		delete(a.tags, k)
	}
	return struct{}{}, nil
}

type listTagsOutput struct {
	Tags []Tag `json:"Tags"`
}

func (s *Service) listTagsForResource(ctx context.Context, in *tagResourceInput) (*listTagsOutput, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, err := s.taggedAlarm(ctx, in.ResourceARN)
	if err != nil {
		return nil, err
	}
	out := &listTagsOutput{Tags: []Tag{}}
	for k, v := range a.tags {
		out.Tags = append(out.Tags, Tag{Key: k, Value: v})
	}
	sortTags(out.Tags)
	return out, nil
}
