package chain

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
)

func server(t *testing.T) (*httptest.Server, *atomic.Int32) {
	var n atomic.Int32
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.Write([]byte(`{}`))
	}))
	t.Cleanup(s.Close)
	return s, &n
}

// The SDK itself honours AWS_ENDPOINT_URL and the service-specific variants.
func TestEndpointFromEnvironment(t *testing.T) {
	all, allCalls := server(t)
	ddb, ddbCalls := server(t)
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_REGION": "us-east-1",
		"AWS_CONFIG_FILE": t.TempDir() + "/none", "AWS_SHARED_CREDENTIALS_FILE": t.TempDir() + "/none",
		"AWS_ENDPOINT_URL": all.URL, "AWS_ENDPOINT_URL_DYNAMODB": ddb.URL,
	} {
		t.Setenv(k, v)
	}
	cfg, err := Load(context.Background(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Retryer().MaxAttempts() != 6 {
		t.Errorf("retryer: %d attempts, want awsconfig.DefaultRetry's 6", cfg.Retryer().MaxAttempts())
	}
	if _, err := ecs.NewFromConfig(cfg).ListClusters(context.Background(), &ecs.ListClustersInput{}); err != nil {
		t.Fatal(err)
	}
	if _, err := dynamodb.NewFromConfig(cfg).ListTables(context.Background(), &dynamodb.ListTablesInput{}); err != nil {
		t.Fatal(err)
	}
	if allCalls.Load() != 1 || ddbCalls.Load() != 1 {
		t.Fatalf("calls: AWS_ENDPOINT_URL %d, AWS_ENDPOINT_URL_DYNAMODB %d; want 1 each", allCalls.Load(), ddbCalls.Load())
	}
}
