// Package localtest is the shared setup of the local cloud's SDK-tier and
// AWS CLI tests: a server with the services under test behind
// httptest, an aws.Config for the real SDK clients, and the machine's AWS
// CLI run against it. It imports internal/local/localcloud, so only external test
// packages (package x_test) can use it.
package localtest

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/pushdeploy/pushdeploy/internal/app/clock"
	"github.com/pushdeploy/pushdeploy/internal/local/localcloud"
	"github.com/pushdeploy/pushdeploy/internal/local/localcloud/awsproto"
	"github.com/pushdeploy/pushdeploy/internal/local/localcloud/bus"
)

// Account and Region of the local cloud in tests.
const (
	Account = awsproto.DefaultAccount
	Region  = awsproto.DefaultRegion
)

// NewServer returns a local cloud server for Account in Region on clk with
// the given RPC services; log may be nil.
func NewServer(clk clock.Clock, log *localcloud.CallLog, services ...localcloud.RPCService) *localcloud.Server {
	srv := localcloud.NewServer(clk, Account, Region, log)
	for _, s := range services {
		srv.AddRPC(s)
	}
	return srv
}

// Serve serves h over HTTP until the test ends and returns its URL.
func Serve(t testing.TB, h http.Handler) string {
	t.Helper()
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)
	return hs.URL
}

// Start is NewServer then Serve: the URL and the server.
func Start(t testing.TB, clk clock.Clock, log *localcloud.CallLog, services ...localcloud.RPCService) (string, *localcloud.Server) {
	t.Helper()
	srv := NewServer(clk, log, services...)
	return Serve(t, srv), srv
}

// Config is the SDK configuration for the local cloud at url: Region,
// static credentials test/test, BaseEndpoint url. Clients built with
// NewFromConfig take it as they would a loaded config.
func Config(url string) aws.Config {
	return aws.Config{
		Region:       Region,
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(url),
	}
}

// NoBackoff is a standard retryer that retries at once, for aws.Config's
// Retryer: retries are exercised, not waited for.
func NoBackoff() aws.Retryer {
	return retry.NewStandard(func(so *retry.StandardOptions) {
		so.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
	})
}

// NeedAWSCLI skips the test when the machine has no AWS CLI on PATH or the
// tests run with -short (the CLI takes seconds to start).
func NeedAWSCLI(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("aws"); err != nil {
		t.Skip("aws CLI not on PATH")
	}
	if testing.Short() {
		t.Skip("starts the AWS CLI (slow)")
	}
}

// AWSCLI runs `aws args...` against the local cloud at url (args start
// with the service, e.g. "ecr", "create-repository", ...) and returns its
// output; a failed command fails the test. It skips as NeedAWSCLI does.
func AWSCLI(t testing.TB, url string, args ...string) []byte {
	t.Helper()
	out, err := TryAWSCLI(t, url, args...)
	if err != nil {
		t.Fatalf("aws %v: %v\n%s", args, err, out)
	}
	return out
}

// CLI returns run, where run(args...) is AWSCLI(t, url, service, args...).
func CLI(t testing.TB, url, service string) (run func(args ...string) []byte) {
	return func(args ...string) []byte {
		t.Helper()
		return AWSCLI(t, url, append([]string{service}, args...)...)
	}
}

// TryAWSCLI is AWSCLI for commands that may fail: it returns the combined
// output and the command's error.
func TryAWSCLI(t testing.TB, url string, args ...string) ([]byte, error) {
	t.Helper()
	NeedAWSCLI(t)
	// An empty home and config: nothing of the machine's own AWS setup
	// (profiles, credentials, retries, pager) leaks into the test.
	home := t.TempDir()
	// The same output from AWS CLI v1 and v2: payloads given as raw JSON
	// (v2 wants base64 otherwise) and timestamps printed as sent (v2
	// prints ISO 8601 otherwise). v1 ignores both settings.
	config := "[default]\ncli_binary_format = raw-in-base64-out\ncli_timestamp_format = " + timestampAsSent() + "\n"
	if err := os.WriteFile(home+"/config", []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("aws", append(args, "--endpoint-url", url, "--region", Region, "--output", "json")...)
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_SESSION_TOKEN=",
		"AWS_CONFIG_FILE="+home+"/config", "AWS_SHARED_CREDENTIALS_FILE="+home+"/credentials", "HOME="+home,
		"AWS_PAGER=", "AWS_MAX_ATTEMPTS=1")
	return cmd.CombinedOutput()
}

// timestampAsSent is the AWS CLI's cli_timestamp_format value that prints
// timestamps as the service sent them: "wire" in v2, "none" in v1.
var timestampAsSent = sync.OnceValue(func() string {
	out, _ := exec.Command("aws", "--version").CombinedOutput()
	if strings.HasPrefix(string(out), "aws-cli/1.") {
		return "none"
	}
	return "wire"
})

// Bus is a bus.Publisher that keeps what it is given.
type Bus struct {
	mu     sync.Mutex
	events []bus.Event
}

// Publish keeps e.
func (b *Bus) Publish(_ context.Context, e bus.Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.events = append(b.events, e)
}

// Events returns a copy of what was published, in order.
func (b *Bus) Events() []bus.Event {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.events)
}

// Buffer is a bytes.Buffer safe for concurrent use, e.g. as a CallLog's
// writer while requests are served.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
