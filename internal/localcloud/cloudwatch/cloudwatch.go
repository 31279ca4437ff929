// Package cloudwatch is the local cloud's CloudWatch: metric alarms whose
// state is driven by SetAlarmState and by scenarios on the virtual clock (no
// metrics are evaluated), composite alarms whose state follows their
// AlarmRule whenever a child alarm changes, tags, alarm history, and the "CloudWatch Alarm
// State Change" events AWS sends to EventBridge.
//
// It is an RPCService: the server serves it over Smithy RPC v2 CBOR (what
// the SDKs and the AWS CLI send) and AWS JSON 1.0.
package cloudwatch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/pushdeploy/pushdeploy/internal/clock"
	"github.com/pushdeploy/pushdeploy/internal/localcloud/awsproto"
	"github.com/pushdeploy/pushdeploy/internal/localcloud/bus"
	"github.com/pushdeploy/pushdeploy/internal/localcloud/tagging"
)

// Alarm states.
const (
	StateOK               = "OK"
	StateAlarm            = "ALARM"
	StateInsufficientData = "INSUFFICIENT_DATA"
)

// DefaultRegion is where alarms live when a call carries no region (Go
// callers such as the ECS simulator and scenarios).
const DefaultRegion = awsproto.DefaultRegion

// Service is the local CloudWatch.
type Service struct {
	clk     clock.Clock
	account string
	pub     bus.Publisher
	regions *awsproto.Regions

	mu      sync.Mutex
	alarms  map[alarmKey]*alarm
	history []historyItem
}

type alarmKey struct{ region, name string }

// alarm is a metric or a composite alarm: MetricAlarm holds what both
// kinds share (name, ARN, description, actions, state), composite the rule
// of a composite alarm (nil for a metric alarm).
type alarm struct {
	MetricAlarm
	region    string
	tags      map[string]string
	composite *composite
}

var (
	_ tagging.Source = (*Service)(nil)
)

// New returns an empty CloudWatch for account. Events go to pub (nil drops
// them).
func New(clk clock.Clock, account string, pub bus.Publisher) (*Service, error) {
	if clk == nil {
		return nil, errors.New("cloudwatch: nil clock")
	}
	if !regexp.MustCompile(`^\d{12}$`).MatchString(account) {
		return nil, fmt.Errorf("cloudwatch: account %q is not 12 digits", account)
	}
	if pub == nil {
		pub = bus.Discard{}
	}
	return &Service{clk: clk, account: account, pub: pub, regions: awsproto.NewRegions(DefaultRegion), alarms: map[alarmKey]*alarm{}}, nil
}

func (s *Service) Name() string         { return "cloudwatch" }
func (s *Service) TargetPrefix() string { return "GraniteServiceVersion20100801" }

// ErrorNamespace names exceptions by shape ID on the CBOR wire, as AWS does.
func (s *Service) ErrorNamespace() string { return "com.amazonaws.cloudwatch" }

// QueryErrorCode maps an exception to the code CloudWatch's Query API used;
// clients in query-compatible mode report that code.
func (s *Service) QueryErrorCode(typ string) string {
	switch typ {
	case "InvalidParameterValueException":
		return "InvalidParameterValue"
	case "InvalidParameterCombinationException":
		return "InvalidParameterCombination"
	case "MissingRequiredParameterException":
		return "MissingParameter"
	case "LimitExceededFault":
		return "LimitExceeded"
	case "InvalidFormatFault":
		return "InvalidFormat"
	case "InternalServiceFault":
		return "InternalServiceError"
	case "ThrottlingException":
		return "Throttling"
	}
	return typ
}

// Call serves one API operation.
func (s *Service) Call(ctx context.Context, op string, input json.RawMessage) (any, error) {
	switch op {
	case "PutMetricAlarm":
		return awsproto.Call(ctx, input, s.putMetricAlarm)
	case "PutCompositeAlarm":
		return awsproto.Call(ctx, input, s.putCompositeAlarm)
	case "DescribeAlarms":
		return awsproto.Call(ctx, input, s.describeAlarms)
	case "SetAlarmState":
		return awsproto.Call(ctx, input, s.setAlarmState)
	case "DeleteAlarms":
		return awsproto.Call(ctx, input, s.deleteAlarms)
	case "TagResource":
		return awsproto.Call(ctx, input, s.tagResource)
	case "UntagResource":
		return awsproto.Call(ctx, input, s.untagResource)
	case "ListTagsForResource":
		return awsproto.Call(ctx, input, s.listTagsForResource)
	case "DescribeAlarmHistory":
		return awsproto.Call(ctx, input, s.describeAlarmHistory)
	}
	return nil, awsproto.UnknownOperation("cloudwatch", op)
}

func (s *Service) region(ctx context.Context) string { return s.regions.Of(ctx) }

// SetDefaultRegion sets the region of Go calls whose ctx carries no request
// (the ECS simulator, scenarios, tests); DefaultRegion until set.
func (s *Service) SetDefaultRegion(region string) { s.regions.SetDefault(region) }

func (s *Service) alarmARN(region, name string) string {
	return fmt.Sprintf("arn:aws:cloudwatch:%s:%s:alarm:%s", region, s.account, name)
}

func notFound(name string) error {
	return awsproto.Errorf("ResourceNotFound", "Alarm %s does not exist", name)
}

// AlarmState returns the state of alarm name (OK, ALARM, INSUFFICIENT_DATA)
// in the region of ctx's request, or the default region. ok is false when
// there is no such alarm. The ECS simulator reads deployment alarms here.
func (s *Service) AlarmState(ctx context.Context, name string) (state string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.alarms[alarmKey{s.region(ctx), name}]
	if !ok {
		return "", false
	}
	return a.StateValue, true
}

// SetState sets the state of an alarm as SetAlarmState does, emitting the
// state change event if the state changes.
func (s *Service) SetState(ctx context.Context, name, state, reason string) error {
	_, err := s.setAlarmState(ctx, &setAlarmStateInput{AlarmName: name, StateValue: state, StateReason: reason})
	return err
}

// TaggedResources lists the alarms of the request's region for GetResources.
func (s *Service) TaggedResources(ctx context.Context) []tagging.Resource {
	region := s.region(ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []tagging.Resource
	for k, a := range s.alarms {
		if k.region != region {
			continue
		}
		tags := make(map[string]string, len(a.tags))
		for tk, tv := range a.tags {
			tags[tk] = tv
		}
		out = append(out, tagging.Resource{ARN: a.AlarmArn, Type: "cloudwatch:alarm", Tags: tags})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ARN < out[j].ARN })
	return out
}

// sortedAlarms returns the region's alarms by name; the caller holds mu.
func (s *Service) sortedAlarms(region string) []*alarm {
	var out []*alarm
	for k, a := range s.alarms {
		if k.region == region {
			out = append(out, a)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].AlarmName < out[j].AlarmName })
	return out
}

func validState(v string) bool {
	return v == StateOK || v == StateAlarm || v == StateInsufficientData
}

func now(clk clock.Clock) time.Time { return clk.Now().UTC() }

// alarmNameFromARN reads an alarm ARN of this account: the tag operations
// take ARNs.
func (s *Service) alarmNameFromARN(arn string) (region, name string, err error) {
	parts := strings.SplitN(arn, ":", 7)
	if len(parts) != 7 || parts[0] != "arn" || parts[2] != "cloudwatch" || parts[5] != "alarm" || parts[6] == "" {
		return "", "", awsproto.Errorf("InvalidParameterValueException", "invalid ARN %q: not a CloudWatch alarm ARN", arn)
	}
	if parts[4] != s.account {
		return "", "", awsproto.Errorf("ResourceNotFoundException", "%s not found: account %s", arn, parts[4])
	}
	return parts[3], parts[6], nil
}
