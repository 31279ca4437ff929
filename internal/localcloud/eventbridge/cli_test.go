package eventbridge_test

import (
	"encoding/json"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestAWSCLI runs the machine's AWS CLI (an independent client) against the
// local EventBridge.
func TestAWSCLI(t *testing.T) {
	if _, err := exec.LookPath("aws"); err != nil {
		t.Skip("aws CLI not on PATH")
	}
	if testing.Short() {
		t.Skip("starts the AWS CLI (slow)")
	}
	e := setup(t)
	ts := httptest.NewServer(e.srv)
	defer ts.Close()
	home := t.TempDir()
	run := func(args ...string) []byte {
		t.Helper()
		cmd := exec.Command("aws", append([]string{"events", "--endpoint-url", ts.URL, "--region", "us-east-1", "--output", "json"}, args...)...)
		cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_SESSION_TOKEN=",
			"AWS_CONFIG_FILE="+home+"/config", "AWS_SHARED_CREDENTIALS_FILE="+home+"/credentials", "HOME="+home,
			"AWS_PAGER=", "AWS_MAX_ATTEMPTS=1")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("aws events %v: %v\n%s", args, err, out)
		}
		return out
	}
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
