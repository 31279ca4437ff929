package dynamodb_test

import (
	"encoding/json"
	"net/http/httptest"
	"os"
	"os/exec"
	"testing"

	"github.com/pushdeploy/pushdeploy/internal/clock"
	"github.com/pushdeploy/pushdeploy/internal/localcloud"
	ddb "github.com/pushdeploy/pushdeploy/internal/localcloud/dynamodb"
)

// TestAWSCLI runs the machine's AWS CLI (an independent client) against the
// local DynamoDB.
func TestAWSCLI(t *testing.T) {
	if _, err := exec.LookPath("aws"); err != nil {
		t.Skip("aws CLI not on PATH")
	}
	if testing.Short() {
		t.Skip("starts the AWS CLI (slow)")
	}
	srv := localcloud.NewServer(clock.NewVirtual(start), "123456789012", "us-east-1", nil)
	srv.AddRPC(ddb.New(srv.Clock, "123456789012"))
	ts := httptest.NewServer(srv)
	defer ts.Close()
	home := t.TempDir()
	run := func(args ...string) []byte {
		t.Helper()
		cmd := exec.Command("aws", append([]string{"dynamodb", "--endpoint-url", ts.URL, "--region", "us-east-1", "--output", "json"}, args...)...)
		cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_SESSION_TOKEN=",
			"AWS_CONFIG_FILE="+home+"/config", "AWS_SHARED_CREDENTIALS_FILE="+home+"/credentials", "HOME="+home,
			"AWS_PAGER=", "AWS_MAX_ATTEMPTS=1")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("aws dynamodb %v: %v\n%s", args, err, out)
		}
		return out
	}
	run("create-table", "--table-name", "cli-history", "--billing-mode", "PAY_PER_REQUEST",
		"--attribute-definitions", "AttributeName=pk,AttributeType=S", "AttributeName=sk,AttributeType=S",
		"--key-schema", "AttributeName=pk,KeyType=HASH", "AttributeName=sk,KeyType=RANGE")
	run("update-time-to-live", "--table-name", "cli-history", "--time-to-live-specification", "Enabled=true,AttributeName=expiresAt")
	run("put-item", "--table-name", "cli-history", "--item", `{"pk":{"S":"svc"},"sk":{"S":"DEP#1"},"n":{"N":"1"},"tags":{"SS":["a"]}}`,
		"--condition-expression", "attribute_not_exists(pk)")
	run("update-item", "--table-name", "cli-history", "--key", `{"pk":{"S":"svc"},"sk":{"S":"DEP#1"}}`,
		"--update-expression", "SET n = n + :one", "--expression-attribute-values", `{":one":{"N":"1"}}`)
	var q struct {
		Count int
		Items []map[string]map[string]any
	}
	if err := json.Unmarshal(run("query", "--table-name", "cli-history", "--key-condition-expression", "pk = :p AND begins_with(sk, :d)",
		"--expression-attribute-values", `{":p":{"S":"svc"},":d":{"S":"DEP#"}}`), &q); err != nil {
		t.Fatal(err)
	}
	if q.Count != 1 || q.Items[0]["n"]["N"] != "2" {
		t.Errorf("query = %+v", q)
	}
	var tables struct{ TableNames []string }
	if err := json.Unmarshal(run("list-tables"), &tables); err != nil || len(tables.TableNames) != 1 {
		t.Errorf("list-tables = %+v, %v", tables, err)
	}
}
