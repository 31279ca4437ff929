package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
)

// TestErrorLine: real aws-sdk-go-v2 errors (an API error answered over
// HTTP, a dead endpoint) become one line, "pushdeploy: <what>: <why>",
// without the SDK's request dump, and the context is never doubled.
func TestErrorLine(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.Header().Set("X-Amzn-RequestId", "req-1234")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"__type":"ClientException","message":"TaskDefinition is inactive"}`)
	}))
	defer srv.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String()
	ln.Close()
	client := func(url string) *ecs.Client {
		return ecs.New(ecs.Options{Region: "us-east-1", BaseEndpoint: aws.String(url),
			Credentials: credentials.NewStaticCredentialsProvider("k", "s", ""), RetryMaxAttempts: 2})
	}
	_, apiErr := client(srv.URL).UpdateService(context.Background(), &ecs.UpdateServiceInput{Service: aws.String("web")})
	_, netErr := client(dead).UpdateService(context.Background(), &ecs.UpdateServiceInput{Service: aws.String("web")})
	if apiErr == nil || netErr == nil {
		t.Fatalf("want errors, got %v, %v", apiErr, netErr)
	}
	cases := []struct {
		what string
		err  error
		want string
	}{
		{"deploy", fmt.Errorf("update service web: %w", apiErr), "pushdeploy: deploy: update service web: ClientException: TaskDefinition is inactive"},
		{"deploy", fmt.Errorf("deploy: %w", fmt.Errorf("x")), "pushdeploy: deploy: x"},
		{"status", fmt.Errorf("line one\nline two"), "pushdeploy: status: line one line two"},
	}
	for _, tc := range cases {
		if got := errorLine(tc.what, tc.err); got != tc.want {
			t.Errorf("errorLine(%q, %q)\n got %q\nwant %q", tc.what, tc.err, got, tc.want)
		}
	}
	got := errorLine("status", fmt.Errorf("describe service web: %w", netErr))
	for _, noise := range []string{"operation error", "StatusCode", "RequestID", "request send failed", "exceeded maximum", "\n"} {
		if strings.Contains(got, noise) {
			t.Errorf("%q has %q", got, noise)
		}
	}
	if !strings.HasPrefix(got, "pushdeploy: status: describe service web: ECS UpdateService: ") || !strings.Contains(got, "connection refused (2 attempts)") {
		t.Errorf("connection error line %q", got)
	}
	var errb bytes.Buffer
	if code := fail(&errb, "deploy", fmt.Errorf("update service web: %w", apiErr)); code != exitBadInput || strings.Count(errb.String(), "\n") != 1 {
		t.Errorf("fail: exit %d, %q", code, errb.String())
	}
}
