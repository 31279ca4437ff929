package dynamodb_test

import (
	"encoding/json"
	"testing"

	"github.com/pushdeploy/pushdeploy/internal/app/clock"
	ddb "github.com/pushdeploy/pushdeploy/internal/local/localcloud/dynamodb"
	"github.com/pushdeploy/pushdeploy/internal/local/localcloud/localtest"
)

// TestAWSCLI runs the machine's AWS CLI (an independent client) against the
// local DynamoDB.
func TestAWSCLI(t *testing.T) {
	localtest.NeedAWSCLI(t)
	clk := clock.NewVirtual(start)
	url, _ := localtest.Start(t, clk, nil, ddb.New(clk, localtest.Account))
	run := localtest.CLI(t, url, "dynamodb")
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
