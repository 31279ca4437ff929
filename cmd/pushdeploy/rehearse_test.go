package main

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// requireAWSCLIEnv, when set (CI sets it), turns the rehearsal's skip for a
// missing AWS CLI into a failure.
const requireAWSCLIEnv = "PUSHDEPLOY_REQUIRE_AWSCLI"

// TestRehearsal runs examples/rehearse.sh: it starts `pushdeploy localcloud
// --install --clock virtual --env-file F` as a process and drives it only
// with the AWS CLI and the pushdeploy CLI (a push that deploys, an image
// fault rolled back, an alarm rolled back, throttling retried, the bake moved
// along by `clock advance`), each step checking its outcome.
func TestRehearsal(t *testing.T) {
	if testing.Short() {
		t.Skip("the rehearsal starts processes and the AWS CLI (slow)")
	}
	if _, err := exec.LookPath("aws"); err != nil {
		if os.Getenv(requireAWSCLIEnv) != "" {
			t.Fatalf("the AWS CLI (aws) is not on PATH and %s is set: install it (apt-get install awscli)", requireAWSCLIEnv)
		}
		t.Skipf("the AWS CLI (aws) is not on PATH: install it (apt-get install awscli) to run the rehearsal; %s=1 makes this a failure", requireAWSCLIEnv)
	}
	for _, tool := range []string{"bash", "sha256sum"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not on PATH", tool)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	bin := filepath.Join(t.TempDir(), "pushdeploy")
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()

	root, _ := filepath.Abs(filepath.Join("..", ".."))
	cmd := exec.CommandContext(ctx, "bash", filepath.Join(root, "examples", "rehearse.sh"))
	home := t.TempDir()
	cmd.Env = append(os.Environ(), "PUSHDEPLOY="+bin, "IN_PROCESS=1", "PORT="+strconv.Itoa(port), "HOME="+home)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("examples/rehearse.sh: %v\n%s", err, out)
	}
	for _, want := range []string{
		"ok: the deploy, in its bake is RUNNING",
		"ok: the deploy is SUCCEEDED",
		"ok: the deploy is ROLLED_BACK",
		"UpdateService calls were throttled and retried",
		"tasks of sha256:",
		"faults cleared",
		"alarm web-5xx goes to ALARM at ",
		"ok: watch --latest's exit code (rolled back) is 3",
		"ok: the alarm, after its window is OK",
		"rehearsal passed",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("no %q in the rehearsal's output:\n%s", want, out)
		}
	}
	if n := strings.Count(string(out), "ok: the deploy is "); n != 4 {
		t.Errorf("%d deploys checked, want 4:\n%s", n, out)
	}
}
