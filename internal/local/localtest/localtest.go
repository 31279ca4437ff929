// Package localtest runs local cloud services over HTTP for the domain
// packages' SDK-tier tests: the real aws-sdk-go-v2 clients talk to them
// through httptest, so serialization, errors, retries and pagination are
// exercised. It adds the product's retryer and table layout to
// internal/local/localcloud/localtest, which the local cloud's own tests use.
package localtest

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/pushdeploy/pushdeploy/internal/app/awsconfig"
	"github.com/pushdeploy/pushdeploy/internal/app/clock"
	"github.com/pushdeploy/pushdeploy/internal/local/localcloud"
	lctest "github.com/pushdeploy/pushdeploy/internal/local/localcloud/localtest"
)

// Account and Region of the local cloud.
const (
	Account = lctest.Account
	Region  = lctest.Region
)

// Start is a virtual clock's start time in tests.
var Start = time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)

// Cloud is a running local cloud server.
type Cloud struct {
	Server *localcloud.Server
	Clock  *clock.Virtual
	URL    string
}

// New starts a server with the services that build returns (given the
// clock), stopped when the test ends.
func New(t testing.TB, build func(clk *clock.Virtual) []localcloud.RPCService) *Cloud {
	t.Helper()
	clk := clock.NewVirtual(Start)
	url, srv := lctest.Start(t, clk, nil, build(clk)...)
	return &Cloud{Server: srv, Clock: clk, URL: url}
}

// Config returns an aws.Config for the server: static credentials, region
// us-east-1, the product's retryer with tiny delays (retries are exercised,
// not waited for).
func (c *Cloud) Config() aws.Config {
	cfg := lctest.Config(c.URL)
	cfg.Retryer = func() aws.Retryer {
		return awsconfig.NewRetryer(awsconfig.Retry{Base: time.Millisecond, ThrottleBase: time.Millisecond, MaxBackoff: 5 * time.Millisecond})
	}
	return cfg
}

// CreateTable creates the pushdeploy table layout (string pk hash key,
// string sk range key, TTL on expiresAt), as template.yaml declares it.
func (c *Cloud) CreateTable(t testing.TB, name string) *dynamodb.Client {
	t.Helper()
	db := dynamodb.NewFromConfig(c.Config())
	ctx := context.Background()
	_, err := db.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName: aws.String(name),
		AttributeDefinitions: []ddbtypes.AttributeDefinition{
			{AttributeName: aws.String("pk"), AttributeType: ddbtypes.ScalarAttributeTypeS},
			{AttributeName: aws.String("sk"), AttributeType: ddbtypes.ScalarAttributeTypeS},
		},
		KeySchema: []ddbtypes.KeySchemaElement{
			{AttributeName: aws.String("pk"), KeyType: ddbtypes.KeyTypeHash},
			{AttributeName: aws.String("sk"), KeyType: ddbtypes.KeyTypeRange},
		},
		BillingMode: ddbtypes.BillingModePayPerRequest,
	})
	if err != nil {
		t.Fatalf("create table: %v", err)
	}
	_, err = db.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName:               aws.String(name),
		TimeToLiveSpecification: &ddbtypes.TimeToLiveSpecification{AttributeName: aws.String("expiresAt"), Enabled: aws.Bool(true)},
	})
	if err != nil {
		t.Fatalf("enable TTL: %v", err)
	}
	return db
}
