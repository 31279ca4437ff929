package cloudwatch

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	"github.com/pushdeploy/pushdeploy/internal/localcloud/awsproto"
)

type historyItem struct {
	region string
	item   AlarmHistoryItem
}

// AlarmHistoryItem is one entry of DescribeAlarmHistory.
type AlarmHistoryItem struct {
	AlarmName       string        `json:"AlarmName"`
	AlarmType       string        `json:"AlarmType"`
	Timestamp       awsproto.Time `json:"Timestamp"`
	HistoryItemType string        `json:"HistoryItemType"`
	HistorySummary  string        `json:"HistorySummary"`
	HistoryData     string        `json:"HistoryData"`
}

// maxHistory bounds the history kept; AWS keeps two weeks.
const maxHistory = 10000

// record appends a history item; the caller holds mu.
func (s *Service) record(a *alarm, typ, summary string, data any) {
	p, _ := json.Marshal(data) // maps of plain values always marshal
	s.history = append(s.history, historyItem{region: a.region, item: AlarmHistoryItem{
		AlarmName: a.AlarmName, AlarmType: a.kind(), Timestamp: awsproto.Time(now(s.clk)),
		HistoryItemType: typ, HistorySummary: summary, HistoryData: string(p),
	}})
	if len(s.history) > maxHistory {
		s.history = append([]historyItem(nil), s.history[len(s.history)-maxHistory:]...)
	}
}

type describeAlarmHistoryInput struct {
	AlarmName       string         `json:"AlarmName"`
	AlarmTypes      []string       `json:"AlarmTypes"`
	HistoryItemType string         `json:"HistoryItemType"`
	StartDate       *awsproto.Time `json:"StartDate"`
	EndDate         *awsproto.Time `json:"EndDate"`
	MaxRecords      int            `json:"MaxRecords"`
	NextToken       string         `json:"NextToken"`
	ScanBy          string         `json:"ScanBy"`
}

type describeAlarmHistoryOutput struct {
	AlarmHistoryItems []AlarmHistoryItem `json:"AlarmHistoryItems"`
	NextToken         string             `json:"NextToken,omitempty"`
}

func (s *Service) describeAlarmHistory(ctx context.Context, in *describeAlarmHistoryInput) (*describeAlarmHistoryOutput, error) {
	awsproto.Note(ctx, "alarm", in.AlarmName)
	switch in.HistoryItemType {
	case "", "ConfigurationUpdate", "StateUpdate", "Action", "AlarmContributorStateUpdate", "AlarmContributorAction":
	default:
		return nil, invalid("Invalid HistoryItemType %q.", in.HistoryItemType)
	}
	if in.ScanBy != "" && in.ScanBy != "TimestampDescending" && in.ScanBy != "TimestampAscending" {
		return nil, invalid("Invalid ScanBy %q.", in.ScanBy)
	}
	if in.MaxRecords < 0 || in.MaxRecords > 100 {
		return nil, invalid("The parameter MaxRecords must be between 1 and 100.")
	}
	types, err := alarmTypes(in.AlarmTypes)
	if err != nil {
		return nil, err
	}
	limit := in.MaxRecords
	if limit == 0 {
		limit = 100
	}
	skip := 0
	if in.NextToken != "" {
		tok, err := decodeToken(in.NextToken)
		n, perr := strconv.Atoi(tok)
		if err != nil || perr != nil || n < 0 {
			return nil, awsproto.Errorf("InvalidNextToken", "The service returned an invalid NextToken.")
		}
		skip = n
	}
	region := s.region(ctx)
	s.mu.Lock()
	var matched []AlarmHistoryItem
	for _, h := range s.history {
		it := h.item
		switch {
		case !types[it.AlarmType], h.region != region,
			in.AlarmName != "" && it.AlarmName != in.AlarmName,
			in.HistoryItemType != "" && it.HistoryItemType != in.HistoryItemType,
			in.StartDate != nil && time.Time(it.Timestamp).Before(time.Time(*in.StartDate)),
			in.EndDate != nil && time.Time(it.Timestamp).After(time.Time(*in.EndDate)):
			continue
		}
		matched = append(matched, it)
	}
	s.mu.Unlock()
	if in.ScanBy != "TimestampAscending" {
		for i, j := 0, len(matched)-1; i < j; i, j = i+1, j-1 {
			matched[i], matched[j] = matched[j], matched[i]
		}
	}
	out := &describeAlarmHistoryOutput{AlarmHistoryItems: []AlarmHistoryItem{}}
	if skip > len(matched) {
		skip = len(matched)
	}
	matched = matched[skip:]
	if len(matched) > limit {
		matched = matched[:limit]
		out.NextToken = encodeToken(strconv.Itoa(skip + limit))
	}
	out.AlarmHistoryItems = append(out.AlarmHistoryItems, matched...)
	return out, nil
}
