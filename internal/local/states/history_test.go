package states

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"
)

// TestHistoryThroughSDK serves a real history as GetExecutionHistory and
// reads it back with the AWS SDK's sfn client: the events' JSON is what the
// API returns.
func TestHistoryThroughSDK(t *testing.T) {
	def := `{"StartAt":"P","States":{"P":{"Type":"Parallel","Branches":[{"StartAt":"M","States":{"M":{"Type":"Map","ItemsPath":"$.xs",
		"ItemProcessor":{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"f","Payload.$":"$"},"TimeoutSeconds":30,"End":true}}},"End":true}}}],
		"Next":"F"},"F":{"Type":"Fail","Error":"Done.Failing","Cause":"on purpose"}}}`
	_, x, _ := run(t, def, `{"xs":[1,2]}`, TaskRunnerFunc(func(_ context.Context, req TaskRequest) (json.RawMessage, error) {
		return LambdaResult(req.Input), nil
	}))
	events := x.History()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		json.NewEncoder(w).Encode(map[string]any{"events": events})
	}))
	defer srv.Close()
	client := sfn.New(sfn.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(srv.URL),
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
	})
	out, err := client.GetExecutionHistory(context.Background(), &sfn.GetExecutionHistoryInput{ExecutionArn: aws.String(testInfo().ID)})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Events) != len(events) {
		t.Fatalf("SDK read %d events, want %d", len(out.Events), len(events))
	}
	known := map[types.HistoryEventType]bool{}
	for _, v := range types.HistoryEventType("").Values() {
		known[v] = true
	}
	seen := map[types.HistoryEventType]types.HistoryEvent{}
	for i, ev := range out.Events {
		if !known[ev.Type] {
			t.Errorf("event %d: %s is not an sfn event type", i, ev.Type)
		}
		if string(ev.Type) != events[i].Type || ev.Id != events[i].ID || ev.PreviousEventId != events[i].PreviousEventID ||
			!ev.Timestamp.Equal(events[i].Timestamp) {
			t.Errorf("event %d: SDK read %s/%d/%d/%v, wrote %+v", i, ev.Type, ev.Id, ev.PreviousEventId, ev.Timestamp, events[i])
		}
		seen[ev.Type] = ev
	}
	if d := seen[types.HistoryEventTypeTaskScheduled].TaskScheduledEventDetails; d == nil || *d.Resource != "invoke" || *d.ResourceType != "lambda" || *d.TimeoutInSeconds != 30 {
		t.Errorf("TaskScheduled details %+v", d)
	}
	if d := seen[types.HistoryEventTypeMapStateStarted].MapStateStartedEventDetails; d == nil || d.Length != 2 {
		t.Errorf("MapStateStarted details %+v", d)
	}
	if d := seen[types.HistoryEventTypeMapIterationSucceeded].MapIterationSucceededEventDetails; d == nil || *d.Name != "M" {
		t.Errorf("MapIterationSucceeded details %+v", d)
	}
	if d := seen[types.HistoryEventTypeExecutionFailed].ExecutionFailedEventDetails; d == nil || *d.Error != "Done.Failing" || *d.Cause != "on purpose" {
		t.Errorf("ExecutionFailed details %+v", d)
	}
	if d := seen[types.HistoryEventTypeTaskStateExited].StateExitedEventDetails; d == nil || *d.Name != "T" || *d.Output == "" {
		t.Errorf("TaskStateExited details %+v", d)
	}
}
