package cloudwatch

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/pushdeploy/pushdeploy/internal/localcloud/awsproto"
	"github.com/pushdeploy/pushdeploy/internal/localcloud/bus"
)

// Event source and detail type of an alarm state change on EventBridge.
const (
	EventSource           = "aws.cloudwatch"
	DetailTypeStateChange = "CloudWatch Alarm State Change"
)

// StateChangeDetail is the detail of a "CloudWatch Alarm State Change"
// event, as AWS documents it (testdata/alarm-state-change.json).
type StateChangeDetail struct {
	AlarmName     string             `json:"alarmName"`
	State         EventState         `json:"state"`
	PreviousState EventState         `json:"previousState"`
	Configuration EventConfiguration `json:"configuration"`
}

// EventState is one side of a state change.
type EventState struct {
	Value      string `json:"value"`
	Reason     string `json:"reason"`
	ReasonData string `json:"reasonData,omitempty"`
	Timestamp  string `json:"timestamp"` // 2019-10-02T17:04:40.989+0000
}

// EventConfiguration is the alarm's configuration in the event.
// A composite alarm's names its rule instead of metrics.
type EventConfiguration struct {
	Description string        `json:"description,omitempty"`
	AlarmRule   string        `json:"alarmRule,omitempty"`
	Metrics     []EventMetric `json:"metrics,omitempty"`
}

// EventMetric is one metric (or expression) of the alarm in the event.
type EventMetric struct {
	ID         string           `json:"id"`
	MetricStat *EventMetricStat `json:"metricStat,omitempty"`
	Expression string           `json:"expression,omitempty"`
	Label      string           `json:"label,omitempty"`
	ReturnData bool             `json:"returnData"`
}

// EventMetricStat is a metric and statistic in the event.
type EventMetricStat struct {
	Metric struct {
		Dimensions map[string]string `json:"dimensions"`
		Name       string            `json:"name"`
		Namespace  string            `json:"namespace"`
	} `json:"metric"`
	Period int32  `json:"period"`
	Stat   string `json:"stat"`
	Unit   string `json:"unit,omitempty"`
}

// eventTime is the timestamp format of the event's states.
func eventTime(t awsproto.Time) string {
	return time.Time(t).UTC().Format("2006-01-02T15:04:05.000-0700")
}

func eventStateOf(a *MetricAlarm) EventState {
	return EventState{Value: a.StateValue, Reason: a.StateReason, ReasonData: a.StateReasonData, Timestamp: eventTime(a.StateUpdatedTimestamp)}
}

func eventMetricStat(namespace, name string, dims []Dimension, period int32, stat, unit string) *EventMetricStat {
	ms := &EventMetricStat{Period: period, Stat: stat, Unit: unit}
	ms.Metric.Namespace, ms.Metric.Name = namespace, name
	ms.Metric.Dimensions = map[string]string{}
	for _, d := range dims {
		ms.Metric.Dimensions[d.Name] = d.Value
	}
	return ms
}

func (al *alarm) eventConfiguration() EventConfiguration {
	a := &al.MetricAlarm
	if al.composite != nil {
		return EventConfiguration{Description: a.AlarmDescription, AlarmRule: al.composite.rule}
	}
	c := EventConfiguration{Description: a.AlarmDescription, Metrics: []EventMetric{}}
	if len(a.Metrics) == 0 {
		stat := a.Statistic
		if stat == "" {
			stat = a.ExtendedStatistic
		}
		// AWS names the single metric of a plain alarm with a generated id.
		c.Metrics = append(c.Metrics, EventMetric{
			ID:         metricID(a.AlarmArn),
			MetricStat: eventMetricStat(a.Namespace, a.MetricName, a.Dimensions, a.Period, stat, a.Unit),
			ReturnData: true,
		})
		return c
	}
	for _, q := range a.Metrics {
		m := EventMetric{ID: q.ID, Expression: q.Expression, Label: q.Label, ReturnData: q.ReturnData == nil || *q.ReturnData}
		if q.MetricStat != nil {
			ms := q.MetricStat
			m.MetricStat = eventMetricStat(ms.Metric.Namespace, ms.Metric.MetricName, ms.Metric.Dimensions, ms.Period, ms.Stat, ms.Unit)
		}
		c.Metrics = append(c.Metrics, m)
	}
	return c
}

// metricID is stable per alarm, in the uuid shape AWS uses.
func metricID(arn string) string {
	var h uint64 = 1469598103934665603
	for _, c := range []byte(arn) {
		h = (h ^ uint64(c)) * 1099511628211
	}
	g := h * 0x9E3779B97F4A7C15
	return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", uint32(h>>32), uint16(h>>16), uint16(h), uint16(g>>48), g&0xffffffffffff)
}

func (s *Service) stateChangeEvent(a *alarm, prev EventState) bus.Event {
	detail, err := json.Marshal(StateChangeDetail{
		AlarmName:     a.AlarmName,
		State:         eventStateOf(&a.MetricAlarm),
		PreviousState: prev,
		Configuration: a.eventConfiguration(),
	})
	if err != nil {
		panic(fmt.Sprintf("cloudwatch: marshal event detail: %v", err)) // plain structs always marshal
	}
	return bus.Event{
		Version:    "0",
		ID:         newID(),
		DetailType: DetailTypeStateChange,
		Source:     EventSource,
		Account:    s.account,
		Time:       bus.FormatTime(time.Time(a.StateUpdatedTimestamp)),
		Region:     a.region,
		Resources:  []string{a.AlarmArn},
		Detail:     detail,
	}
}

func newID() string {
	var b [16]byte
	rand.Read(b[:])
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func sortTags(tags []Tag) {
	sort.Slice(tags, func(i, j int) bool { return tags[i].Key < tags[j].Key })
}
