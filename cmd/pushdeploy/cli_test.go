package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aws/smithy-go"

	"github.com/pushdeploy/pushdeploy/internal/app/contract"
	"github.com/pushdeploy/pushdeploy/internal/app/history"
)

// operatorCommands are the subcommands this file's rules apply to.
var operatorCommands = map[string]command{
	"deploy": runDeploy, "rollback": runRollback, "redeploy": runRedeploy, "status": runStatus,
	"history": runHistory, "watch": runWatch, "diff": runDiff, "graph": runGraph,
}

func TestHelpEverywhere(t *testing.T) {
	for name, cmd := range operatorCommands {
		for _, flag := range []string{"--help", "-h"} {
			t.Run(name+flag, func(t *testing.T) {
				var out, errb bytes.Buffer
				code := cmd(context.Background(), []string{"--cluster", "c", flag}, &out, &errb)
				if code != exitOK {
					t.Errorf("exit %d, want 0", code)
				}
				for _, want := range []string{"usage: pushdeploy " + name, "Exit codes:", "3    the deploy (or redeploy) failed and was rolled back", "5    AWS or connection error"} {
					if !strings.Contains(out.String(), want) {
						t.Errorf("help lacks %q:\n%s", want, out.String())
					}
				}
				if errb.Len() != 0 {
					t.Errorf("help wrote to stderr: %q", errb.String())
				}
			})
		}
	}
	// The dispatcher's table has them all.
	for name := range operatorCommands {
		if _, ok := commands[name]; !ok {
			t.Errorf("main's command table lacks %q", name)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	t.Setenv(envStateMachine, "")
	t.Setenv(envTable, "")
	sm := "arn:aws:states:us-east-1:123456789012:stateMachine:pushdeploy"
	digest := "sha256:" + strings.Repeat("ab", 32)
	cases := []struct {
		cmd  string
		args []string
		err  string
	}{
		{"deploy", []string{"--cluster", "c", "--service", "s", "--state-machine", sm}, "give --image or --digest"},
		{"deploy", []string{"--cluster", "c", "--service", "s", "--image", "r:1", "--digest", digest, "--state-machine", sm}, "not both"},
		{"deploy", []string{"--cluster", "c", "--service", "s", "--digest", "sha256:abc", "--state-machine", sm}, "not sha256:<64 lowercase hex>"},
		{"deploy", []string{"--cluster", "c", "--service", "s", "--image", "Bad Image!", "--state-machine", sm}, "--image"},
		{"deploy", []string{"--service", "s", "--image", "r:1"}, "missing --cluster, --state-machine"},
		{"deploy", []string{"--cluster", "c", "--service", "s", "--image", "r:1", "--state-machine", sm, "--interval", "0s"}, "--interval must be positive"},
		{"deploy", []string{"--cluster", "c", "--service", "s", "--image", "r:1", "--output", "yaml"}, `want text or json, not "yaml"`},
		{"rollback", []string{"--cluster", "c", "--service", "s", "--revision", "web:x", "--state-machine", sm}, "--revision"},
		{"rollback", []string{"--cluster", "c", "--service", "s", "--revision", "0", "--state-machine", sm}, "--revision"},
		{"rollback", []string{"--cluster", "c", "--service", "s", "--image", "r:1"}, "flag provided but not defined: -image"},
		{"redeploy", []string{"--cluster", "c"}, "missing --service, --state-machine"},
		{"redeploy", []string{"--cluster", "c", "--service", "s", "extra"}, "unexpected arguments"},
		{"status", []string{"--cluster", "c", "--service", "s"}, "missing --table"},
		{"history", []string{"--cluster", "c", "--service", "s", "--table", "t", "--limit", "0"}, "--limit must be at least 1"},
		{"history", []string{"--cluster", "c"}, "missing --service, --table"},
		{"watch", nil, "want one EXECUTION_ARN"},
		{"watch", []string{"a", "b"}, "unexpected arguments"},
		{"watch", []string{"--latest"}, "--latest: missing --service, --state-machine"},
		{"watch", []string{"arn", "--latest", "--service", "s", "--state-machine", sm}, "not both"},
		{"watch", []string{"--service", "s"}, "--service and --cluster go with --latest"},
		{"diff", []string{"--cluster", "c", "--service", "s"}, "missing --image"},
		{"diff", []string{"--cluster", "c", "--service", "s", "--image", "::"}, "--image"},
	}
	for _, tc := range cases {
		t.Run(tc.cmd+" "+strings.Join(tc.args, " "), func(t *testing.T) {
			var out, errb bytes.Buffer
			code := operatorCommands[tc.cmd](context.Background(), tc.args, &out, &errb)
			if code != exitBadInput {
				t.Errorf("exit %d, want %d (stderr %q)", code, exitBadInput, errb.String())
			}
			if !strings.Contains(errb.String(), tc.err) {
				t.Errorf("stderr %q lacks %q", errb.String(), tc.err)
			}
			if out.Len() != 0 {
				t.Errorf("stdout should be empty: %q", out.String())
			}
		})
	}
}

// TestConnectionError: a dead endpoint is an AWS/connection error (5),
// reported on stderr.
func TestConnectionError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String()
	ln.Close()
	sm := "arn:aws:states:us-east-1:123456789012:stateMachine:pushdeploy"
	cases := []struct {
		cmd  string
		args []string
	}{
		{"deploy", []string{"--cluster", "c", "--service", "s", "--image", "r:1", "--state-machine", sm}},
		{"status", []string{"--cluster", "c", "--service", "s", "--table", "t"}},
		{"history", []string{"--cluster", "c", "--service", "s", "--table", "t"}},
		{"watch", []string{sm}},
		{"diff", []string{"--cluster", "c", "--service", "s", "--image", "r@" + "sha256:" + strings.Repeat("0", 64)}},
	}
	for _, tc := range cases {
		t.Run(tc.cmd, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := operatorCommands[tc.cmd](context.Background(), append(tc.args, "--endpoint-url", dead), &out, &errb)
			if code != exitAWS {
				t.Errorf("exit %d, want %d; stderr %q", code, exitAWS, errb.String())
			}
			if !strings.HasPrefix(errb.String(), "pushdeploy: "+tc.cmd+": ") || !strings.Contains(errb.String(), "connect") ||
				strings.Count(errb.String(), "\n") != 1 || strings.Contains(errb.String(), "StatusCode") || strings.Contains(errb.String(), "operation error") {
				t.Errorf("stderr %q should be one line naming the command and the connection problem, without the SDK's dump", errb.String())
			}
		})
	}
}

func TestExitCode(t *testing.T) {
	api := func(code string) error { return &smithy.GenericAPIError{Code: code, Message: "m"} }
	cases := []struct {
		err  error
		want int
	}{
		{nil, exitOK},
		{badInput("x"), exitBadInput},
		{fmt.Errorf("wrapped: %w", badInput("x")), exitBadInput},
		{fmt.Errorf("describe: %w", api("ExecutionDoesNotExist")), exitBadInput},
		{fmt.Errorf("describe: %w", api("ClusterNotFoundException")), exitBadInput},
		{fmt.Errorf("query: %w", api("ResourceNotFoundException")), exitAWS},
		{api("ThrottlingException"), exitAWS},
		{api("AccessDeniedException"), exitAWS},
		{errors.New("dial tcp: connection refused"), exitAWS},
		{fmt.Errorf("follow: %w", context.Canceled), exitInterrupted},
		// the product's named errors, by their class
		{fmt.Errorf("precheck: %w", &contract.WrongFamily{}), exitBadInput},
		{&contract.ServiceNotFound{Err: api("ClusterNotFoundException")}, exitBadInput},
		{&contract.Superseded{}, exitSuperseded},
		{&contract.Throttled{Err: api("AccessDeniedException")}, exitAWS},
		{&contract.Retryable{}, exitAWS},
		{&contract.Internal{}, exitFailed},
	}
	for _, tc := range cases {
		if got := exitCode(tc.err); got != tc.want {
			t.Errorf("exitCode(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
}

func TestExecutionName(t *testing.T) {
	now := mustTime(t, "2026-11-22T03:04:05Z")
	a := executionName("deploy", "arn:aws:ecs:us-east-1:1:service/prod/web api", now)
	b := executionName("deploy", "arn:aws:ecs:us-east-1:1:service/prod/web api", now)
	if a == b {
		t.Error("two names at the same second are equal")
	}
	if len(a) > 80 || nameUnsafe.MatchString(a) || !strings.HasPrefix(a, "cli-deploy-arn-aws-ecs") || !strings.Contains(a, "20261122T030405") {
		t.Errorf("bad execution name %q", a)
	}
	long := executionName("rollback", strings.Repeat("s", 200), now)
	if len(long) > 80 {
		t.Errorf("name too long: %d", len(long))
	}
}

func TestIsLoopback(t *testing.T) {
	for url, want := range map[string]bool{
		"http://127.0.0.1:4566": true, "http://localhost:8080": true, "http://[::1]:1": true,
		"https://ecs.us-east-1.amazonaws.com": false, "": false, "http://10.0.0.1": false,
	} {
		if got := isLoopback(url); got != want {
			t.Errorf("isLoopback(%q) = %v", url, got)
		}
	}
}

func TestVersion(t *testing.T) {
	for _, arg := range []string{"--version", "version"} {
		var out, errb strings.Builder
		if code := run(context.Background(), []string{arg}, &out, &errb); code != 0 || !strings.HasPrefix(out.String(), "pushdeploy ") || errb.Len() != 0 {
			t.Errorf("%s: exit %d, %q %q", arg, code, out.String(), errb.String())
		}
	}
}

// TestExitForEveryErrorName: every name the product routes on has an exit
// code from its class; a name that is not the product's fails (1).
func TestExitForEveryErrorName(t *testing.T) {
	want := map[contract.ErrorClass]int{contract.Final: exitBadInput, contract.Lost: exitSuperseded,
		contract.Throttle: exitAWS, contract.Transient: exitAWS, contract.Unexpected: exitFailed}
	for _, name := range contract.ErrorNames() {
		if got := exitForName(name); got != want[contract.ClassOf(name)] {
			t.Errorf("exitForName(%s) = %d, want %d", name, got, want[contract.ClassOf(name)])
		}
	}
	for _, name := range []string{"States.TaskFailed", "Lambda.ServiceException", ""} {
		if got := exitForName(name); got != exitFailed {
			t.Errorf("exitForName(%q) = %d, want %d", name, got, exitFailed)
		}
	}
}

// TestHistoryTableFits: however long a record's values, the default table
// fits 120 columns and keeps every column; --wide keeps every value whole.
func TestHistoryTableFits(t *testing.T) {
	at := mustTime(t, "2026-11-22T03:04:05Z")
	long := strings.Repeat("x", 300)
	td := "arn:aws:ecs:us-east-1:123456789012:task-definition/" + strings.Repeat("f", 200) + ":12"
	recs := []history.Record{
		{StartedAt: at, FinishedAt: at.Add(time.Hour), Action: "rollback", Trigger: "manual", Outcome: history.RolledBack,
			FromRevision: td, ToRevision: td, DeployedRevision: td + "3", StartedBy: "arn:aws:sts::123456789012:assumed-role/" + long,
			Reason: "first line\nsecond " + long,
			Images: []history.Image{{Container: "a", Image: "r/" + long, Tag: "t"}, {Container: "b", Image: long, Digest: "sha256:" + strings.Repeat("c", 64)}}},
		{StartedAt: at, FinishedAt: at, Action: "deploy", Trigger: "push", Outcome: history.Succeeded, Reason: "ok"},
	}
	var narrow, wide bytes.Buffer
	writeHistoryTable(&narrow, recs, false)
	writeHistoryTable(&wide, recs, true)
	lines := strings.Split(strings.TrimSuffix(narrow.String(), "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("want a header and two rows:\n%s", narrow.String())
	}
	for _, l := range lines {
		if n := utf8.RuneCountInString(l); n > historyWidth {
			t.Errorf("%d columns: %q", n, l)
		}
		if len(strings.Fields(l)) < 10 {
			t.Errorf("a column is missing: %q", l)
		}
	}
	if !strings.Contains(lines[1], "first line sec") || !strings.Contains(lines[1], "…") {
		t.Errorf("the reason is not cut on one line: %q", lines[1])
	}
	if !strings.Contains(wide.String(), "second "+long) || !strings.Contains(wide.String(), "sha256:"+strings.Repeat("c", 64)) ||
		strings.Contains(wide.String(), "…") {
		t.Errorf("--wide cut something:\n%s", wide.String())
	}
}

func TestStartedBy(t *testing.T) {
	for _, c := range []struct {
		trigger, by, narrow string
	}{
		{"push", "ecr event 1234-5678", "push"},
		{"alarm", "alarm web-5xx", "alarm web-5xx"},
		{"alarm", "web-5xx", "alarm web-5xx"},
		{"manual", "arn:aws:sts::123456789012:assumed-role/Ops/alice", "alice"},
		{"manual", "alice", "alice"},
	} {
		r := history.Record{Trigger: c.trigger, StartedBy: c.by}
		if got := startedBy(r, false); got != c.narrow {
			t.Errorf("startedBy(%s, %q) = %q, want %q", c.trigger, c.by, got, c.narrow)
		}
		if got := startedBy(r, true); got != c.by {
			t.Errorf("wide startedBy(%s, %q) = %q", c.trigger, c.by, got)
		}
	}
}

// TestOneLineErrors: usage errors of every kind are one line on stderr,
// "pushdeploy: <what>: <why>", and nothing on stdout.
func TestOneLineErrors(t *testing.T) {
	for _, args := range [][]string{
		{"explode"}, {"deploy", "--bogus"}, {"history", "--cluster", "c", "extra"}, {"localcloud", "--bogus"},
		{"localcloud", "fault", "melt"}, {"localcloud", "alarm", "fire"}, {"states", "run", "--bogus"}, {"demo", "--bogus"},
		{"completion", "fish"}, {"quarantine", "purge"}, {"watch", "--latest"},
	} {
		var out, errb bytes.Buffer
		code := run(context.Background(), args, &out, &errb)
		if code != exitBadInput || out.Len() != 0 || !strings.HasPrefix(errb.String(), "pushdeploy: ") || strings.Count(errb.String(), "\n") != 1 {
			t.Errorf("%v: exit %d, stdout %q, stderr %q: want exit 2 and one error line", args, code, out.String(), errb.String())
		}
	}
}
