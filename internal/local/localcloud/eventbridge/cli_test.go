package eventbridge_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/pushdeploy/pushdeploy/internal/local/localcloud/localtest"
)

// TestAWSCLI runs the machine's AWS CLI (an independent client) against the
// local EventBridge.
func TestAWSCLI(t *testing.T) {
	localtest.NeedAWSCLI(t)
	e := setup(t)
	run := localtest.CLI(t, e.url, "events")
	run("put-rule", "--name", "ecr-push", "--event-pattern", `{"source":["test.ecr"],"detail":{"action-type":["PUSH"]}}`)
	run("put-targets", "--rule", "ecr-push", "--targets", "Id=fn,Arn="+fnARN)
	var put struct {
		FailedEntryCount int
		Entries          []struct{ EventId string }
	}
	if err := json.Unmarshal(run("put-events", "--entries", `[{"Source":"test.ecr","DetailType":"ECR Image Action","Detail":"{\"action-type\":\"PUSH\"}"}]`), &put); err != nil {
		t.Fatal(err)
	}
	if put.FailedEntryCount != 0 || len(put.Entries) != 1 || put.Entries[0].EventId == "" {
		t.Errorf("put-events = %+v", put)
	}
	e.svc.Flush()
	if calls := e.rec.sorted(); len(calls) != 1 || !strings.Contains(calls[0], put.Entries[0].EventId) {
		t.Errorf("deliveries = %v", calls)
	}
	var rules struct{ Rules []struct{ Name string } }
	if err := json.Unmarshal(run("list-rules"), &rules); err != nil || len(rules.Rules) != 1 {
		t.Errorf("list-rules = %+v, %v", rules, err)
	}
}
