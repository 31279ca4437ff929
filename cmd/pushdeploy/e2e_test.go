package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	awssfn "github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/pushdeploy/pushdeploy/internal/app/clock"
	"github.com/pushdeploy/pushdeploy/internal/app/history"
	lcecr "github.com/pushdeploy/pushdeploy/internal/local/localcloud/ecr"
	lcecs "github.com/pushdeploy/pushdeploy/internal/local/localcloud/ecs"
	"github.com/pushdeploy/pushdeploy/internal/local/localrun"
)

// e2e is a local world (real definition, handlers in-process, local cloud,
// virtual clock) with one service "web" in cluster "prod" that follows the
// repository "web" but only its "latest" tag, so the CLI's executions are
// the only ones.
type e2e struct {
	*localrun.World
	t     *testing.T
	ctx   context.Context
	clk   *clock.Virtual
	stop  func()
	repo  string
	svc   string
	first string // the service's first revision
}

func newE2E(t *testing.T, extraTags ...string) *e2e {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	clk := clock.NewVirtual(time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC))
	e := &e2e{t: t, ctx: ctx, clk: clk, stop: clk.AutoAdvance(0)}
	t.Cleanup(func() { e.stop() })
	w, err := localrun.Start(ctx, localrun.Options{Clock: clk, InProcess: true})
	if err != nil {
		t.Fatalf("start local world: %v", err)
	}
	t.Cleanup(func() { w.Close() })
	e.World = w
	if e.repo, err = w.CreateRepository(ctx, "web"); err != nil {
		t.Fatal(err)
	}
	d0 := e.push("v0", "web v0")
	e.svc = e.createService(d0, extraTags...)
	e.first, _ = e.running()
	var table string
	for _, name := range w.Installed.Tables {
		table = name
	}
	t.Setenv(envStateMachine, w.StateMachineARN)
	t.Setenv(envTable, table)
	t.Setenv(envEndpoint, "")
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("USER", "alice")
	return e
}

// createService registers web:1 running the image d0 and creates the
// service, as a team opting in would (localrun.CreateService predates the
// local ECS's awsvpc checks).
func (e *e2e) createService(d0 string, extraTags ...string) string {
	e.t.Helper()
	client := ecs.NewFromConfig(e.Config)
	if _, err := client.CreateCluster(e.ctx, &ecs.CreateClusterInput{ClusterName: aws.String("prod")}); err != nil {
		e.t.Fatal(err)
	}
	td, err := client.RegisterTaskDefinition(e.ctx, &ecs.RegisterTaskDefinitionInput{
		Family: aws.String("web"), Cpu: aws.String("256"), Memory: aws.String("512"),
		NetworkMode: ecstypes.NetworkModeAwsvpc, RequiresCompatibilities: []ecstypes.Compatibility{ecstypes.CompatibilityFargate},
		ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("app"), Image: aws.String(e.repo + "@" + d0), Essential: aws.Bool(true), Memory: aws.Int32(256)}},
	})
	if err != nil {
		e.t.Fatal(err)
	}
	all := map[string]string{"pushdeploy:repository": "web", "pushdeploy:tags": "latest", "pushdeploy:bake": "5m", "pushdeploy:timeout": "20m"}
	for i := 0; i+1 < len(extraTags); i += 2 {
		all[extraTags[i]] = extraTags[i+1]
	}
	var tags []ecstypes.Tag
	for k, v := range all {
		tags = append(tags, ecstypes.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	out, err := client.CreateService(e.ctx, &ecs.CreateServiceInput{
		Cluster: aws.String("prod"), ServiceName: aws.String("web"), TaskDefinition: td.TaskDefinition.TaskDefinitionArn,
		DesiredCount: aws.Int32(2), LaunchType: ecstypes.LaunchTypeFargate, Tags: tags,
		NetworkConfiguration: &ecstypes.NetworkConfiguration{AwsvpcConfiguration: &ecstypes.AwsVpcConfiguration{Subnets: []string{"subnet-1"}}},
		DeploymentConfiguration: &ecstypes.DeploymentConfiguration{
			DeploymentCircuitBreaker: &ecstypes.DeploymentCircuitBreaker{Enable: true, Rollback: true},
			MaximumPercent:           aws.Int32(200), MinimumHealthyPercent: aws.Int32(100),
		},
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return aws.ToString(out.Service.ServiceArn)
}

func (e *e2e) push(tag, seed string) string {
	e.t.Helper()
	d, err := e.Push(e.ctx, "web", tag, seed)
	if err != nil {
		e.t.Fatal(err)
	}
	return d
}

// cli runs a subcommand against the world, as an operator would.
func (e *e2e) cli(cmd command, args ...string) (int, string, string) {
	e.t.Helper()
	var out, errb bytes.Buffer
	code := cmd(e.ctx, append(args, "--endpoint-url", e.URL), &out, &errb)
	return code, out.String(), errb.String()
}

func (e *e2e) running() (string, map[string]string) {
	e.t.Helper()
	td, images, err := e.Running(e.ctx, "prod", "web")
	if err != nil {
		e.t.Fatal(err)
	}
	return td, images
}

func (e *e2e) revisions() int {
	e.t.Helper()
	out, err := ecs.NewFromConfig(e.Config).ListTaskDefinitions(e.ctx, &ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String("web")})
	if err != nil {
		e.t.Fatal(err)
	}
	return len(out.TaskDefinitionArns)
}

func (e *e2e) history() []history.Record {
	e.t.Helper()
	code, out, errs := e.cli(runHistory, "--cluster", "prod", "--service", "web", "--output", "json")
	if code != exitOK {
		e.t.Fatalf("history: exit %d: %s", code, errs)
	}
	var recs []history.Record
	if err := json.Unmarshal([]byte(out), &recs); err != nil {
		e.t.Fatalf("history JSON: %v\n%s", err, out)
	}
	return recs
}

func (e *e2e) status() serviceStatus {
	e.t.Helper()
	code, out, errs := e.cli(runStatus, "--cluster", "prod", "--service", "web", "--output", "json")
	if code != exitOK {
		e.t.Fatalf("status: exit %d: %s", code, errs)
	}
	var st serviceStatus
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		e.t.Fatalf("status JSON: %v\n%s", err, out)
	}
	return st
}

func executionOf(t *testing.T, out string) string {
	t.Helper()
	first, _, _ := strings.Cut(out, "\n")
	arn, ok := strings.CutPrefix(first, "execution ")
	if !ok {
		t.Fatalf("no execution line in:\n%s", out)
	}
	return arn
}

func TestCLIManualActions(t *testing.T) {
	e := newE2E(t)
	d1 := e.push("v1", "web v1")

	// deploy by repository:tag, which names this account's ECR
	code, out, errs := e.cli(runDeploy, "--cluster", "prod", "--service", "web", "--image", "web:v1", "--reason", "hotfix", "--interval", "5ms")
	if code != exitOK || !strings.Contains(out, "== SUCCEEDED") {
		t.Fatalf("deploy: exit %d\n%s\n%s", code, out, errs)
	}
	deployARN := executionOf(t, out)
	td2, images := e.running()
	if images["app"] != e.repo+"@"+d1 || td2 == e.first {
		t.Fatalf("after deploy: %s %v", td2, images)
	}
	recs := e.history()
	if len(recs) != 1 || recs[0].ExecutionARN != deployARN || recs[0].Action != "deploy" || recs[0].Trigger != "manual" ||
		recs[0].StartedBy != "alice" || recs[0].Outcome != history.Succeeded || recs[0].ToRevision != td2 ||
		len(recs[0].Images) != 1 || recs[0].Images[0].Digest != d1 {
		t.Fatalf("deploy record: %+v", recs)
	}

	// redeploy: new tasks, same revision
	code, out, errs = e.cli(runRedeploy, "--cluster", "prod", "--service", "web", "--interval", "5ms")
	if code != exitOK {
		t.Fatalf("redeploy: exit %d\n%s\n%s", code, out, errs)
	}
	if td, _ := e.running(); td != td2 {
		t.Fatalf("redeploy changed the revision to %s", td)
	}

	// deploy by digest of the followed repository
	d2 := e.push("v2", "web v2")
	code, out, errs = e.cli(runDeploy, "--cluster", "prod", "--service", "web", "--digest", d2, "--interval", "5ms")
	if code != exitOK {
		t.Fatalf("deploy --digest: exit %d\n%s\n%s", code, out, errs)
	}
	td3, images := e.running()
	if images["app"] != e.repo+"@"+d2 {
		t.Fatalf("after deploy --digest: %v", images)
	}

	// rollback with no revision: back to the last good other than the
	// current, which becomes bad and its image quarantined; exit 0
	code, out, errs = e.cli(runRollback, "--cluster", "prod", "--service", "web", "--interval", "5ms")
	if code != exitOK || !strings.Contains(out, "== ROLLED_BACK") {
		t.Fatalf("rollback to last good: exit %d\n%s\n%s", code, out, errs)
	}
	if td, _ := e.running(); td != td2 {
		t.Fatalf("after rollback: %s, want %s", td, td2)
	}
	if st := e.status(); len(st.Quarantined) != 1 || st.Quarantined[0].Digest != d2 {
		t.Fatalf("quarantined after the rollback: %+v", st.Quarantined)
	}

	// back to the revision rolled back from: refused without --force,
	// nothing changes; with it, done and recorded
	code, out, errs = e.cli(runRollback, "--cluster", "prod", "--service", "web", "--revision", shortRevision(td3), "--interval", "5ms")
	if code != exitBadInput || !strings.Contains(errs, "force") {
		t.Fatalf("rollback --revision to a bad revision: exit %d\n%s\n%s", code, out, errs)
	}
	if td, _ := e.running(); td != td2 {
		t.Fatalf("a refused rollback moved the service to %s", td)
	}
	code, out, errs = e.cli(runRollback, "--cluster", "prod", "--service", "web", "--revision", shortRevision(td3), "--force", "--interval", "5ms")
	if code != exitOK {
		t.Fatalf("rollback --revision --force: exit %d\n%s\n%s", code, out, errs)
	}
	if td, _ := e.running(); td != td3 {
		t.Fatalf("after the forced rollback: %s, want %s", td, td3)
	}
	forced := 0
	for _, r := range e.history() {
		if r.Forced && r.Outcome == history.RolledBack && r.ToRevision == td3 {
			forced++
		}
	}
	if forced != 1 {
		t.Errorf("the forced rollback is not recorded as forced: %+v", e.history())
	}

	// The forced rollback to td3 lifted d2's quarantine and quarantined d1
	// (td2's image, rolled back from); release lifts that one.
	code, out, errs = e.cli(runQuarantine, "list", "--cluster", "prod", "--service", "web")
	if code != exitOK || !strings.Contains(out, d1) || strings.Contains(out, d2) || !strings.Contains(out, shortRevision(td2)) {
		t.Fatalf("quarantine list: exit %d\n%s\n%s", code, out, errs)
	}
	code, out, errs = e.cli(runQuarantine, "release", "--cluster", "prod", "--service", "web", "--digest", d1, "--reason", "fixed", "--interval", "5ms")
	if code != exitOK || !strings.Contains(out, "== SUCCEEDED") {
		t.Fatalf("quarantine release: exit %d\n%s\n%s", code, out, errs)
	}
	code, out, _ = e.cli(runQuarantine, "list", "--cluster", "prod", "--service", "web", "--output", "json")
	if code != exitOK || strings.TrimSpace(out) != "[]" {
		t.Fatalf("quarantine list after the release: exit %d %q", code, out)
	}
	code, _, errs = e.cli(runQuarantine, "release", "--cluster", "prod", "--service", "web", "--digest", "sha256:nope")
	if code != exitBadInput {
		t.Fatalf("release of a malformed digest: exit %d %s", code, errs)
	}
	if td, _ := e.running(); td != td3 {
		t.Fatalf("the release changed the service to %s", td)
	}

	// Newest first; the two rollbacks start at the same virtual instant, so
	// only the set is compared, and the order by start time.
	recs = e.history()
	var got []string
	for i, r := range recs {
		got = append(got, r.Action+" "+string(r.Outcome))
		if i > 0 && r.StartedAt.After(recs[i-1].StartedAt) {
			t.Errorf("history not newest first: %v after %v", r.StartedAt, recs[i-1].StartedAt)
		}
	}
	sort.Strings(got)
	if want := "deploy SUCCEEDED,deploy SUCCEEDED,redeploy SUCCEEDED,release SUCCEEDED,rollback FAILED,rollback ROLLED_BACK,rollback ROLLED_BACK"; strings.Join(got, ",") != want {
		t.Fatalf("history %v, want %s", got, want)
	}

	st := e.status()
	if st.TaskDefinition != td3 || st.Images[0].Image != e.repo+"@"+d2 || st.LastGood == nil ||
		(st.Lease != nil && st.Lease.Held) || len(st.InFlight) != 0 || st.LastRecord == nil || st.LastRecord.Action != "release" {
		t.Fatalf("status: %+v (last good %+v, lease %+v)", st, st.LastGood, st.Lease)
	}

	// watch of a finished execution replays its timeline and exits with its outcome.
	code, out, errs = e.cli(runWatch, deployARN, "--output", "json", "--interval", "5ms")
	if code != exitOK {
		t.Fatalf("watch: exit %d: %s", code, errs)
	}
	kinds := map[string]int{}
	var last map[string]any
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		last = nil
		if err := json.Unmarshal([]byte(l), &last); err != nil {
			t.Fatalf("watch line not JSON: %q", l)
		}
		kinds[last["kind"].(string)]++
	}
	if kinds["started"] != 1 || kinds["wait"] < 2 || kinds["state"] < 8 || kinds["outcome"] != 1 ||
		last["kind"] != "result" || last["status"] != "SUCCEEDED" || last["exitCode"] != float64(0) {
		t.Fatalf("watch JSON: kinds %v, last %v\n%s", kinds, last, out)
	}
}

// TestCLIBadInput: bad manual input the CLI can check is refused before
// StartExecution (exit 2, one line naming plan's error, no execution, no
// record, the service untouched); the same input started on the state
// machine directly, bypassing the CLI, still ends FAILED with plan's named
// error and the service untouched.
func TestCLIBadInput(t *testing.T) {
	e := newE2E(t)
	e.push("v1", "web v1")
	absent := lcecr.Digest(lcecr.Manifest("never pushed"))
	cases := []struct {
		name  string
		cmd   command
		args  []string
		input map[string]any // the same input started directly; nil for a CLI-only check
		err   string         // in the CLI's error line
		named string         // plan's error name, in the direct execution's cause
	}{
		{"revision of another family", runRollback, []string{"--service", "web", "--revision", "api:1"},
			map[string]any{"action": "rollback", "service": "web", "revision": "api:1"}, "revision api:1 is not of the service's family web", "WrongFamily"},
		{"digest not in the repository", runDeploy, []string{"--service", "web", "--digest", absent},
			map[string]any{"action": "deploy", "service": "web", "digest": absent}, "not found", "ImageNotFound"},
		{"unknown container", runDeploy, []string{"--service", "web", "--image", "web:v1", "--containers", "db"},
			map[string]any{"action": "deploy", "service": "web", "image": e.repo + ":v1", "containers": []string{"db"}}, `container "db" not found in task definition web:1`, "ContainerNotFound"},
		{"registry not allowed", runDeploy, []string{"--service", "web", "--image", "docker.io/library/nginx@" + absent},
			map[string]any{"action": "deploy", "service": "web", "image": "docker.io/library/nginx@" + absent}, "registry docker.io is not allowed", "RegistryNotAllowed"},
		{"no such service", runRedeploy, []string{"--service", "nope"},
			map[string]any{"action": "redeploy", "service": "nope"}, "service nope not found in cluster prod", "ServiceNotFound"},
		{"no such cluster", runRedeploy, []string{"--service", "web", "--cluster", "staging"}, nil, "service web not found in cluster staging", ""},
		{"malformed image", runDeploy, []string{"--service", "web", "--image", "web:v1:v2"}, nil, `--image: image "web:v1:v2"`, ""},
	}
	sfnc := awssfn.NewFromConfig(e.Config)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			execs, err := e.Executions(e.ctx)
			if err != nil {
				t.Fatal(err)
			}
			before, revs, records := e.first, e.revisions(), len(e.history())
			code, out, errs := e.cli(tc.cmd, append([]string{"--cluster", "prod", "--interval", "5ms"}, tc.args...)...)
			if code != exitBadInput {
				t.Fatalf("exit %d, want %d\n%s\n%s", code, exitBadInput, out, errs)
			}
			if want := "pushdeploy: " + c(tc.cmd) + ": "; !strings.HasPrefix(errs, want) || strings.Count(errs, "\n") != 1 || !strings.Contains(errs, tc.err) {
				t.Errorf("stderr %q: want one line %q...%q", errs, want, tc.err)
			}
			if out != "" {
				t.Errorf("stdout %q: nothing was started", out)
			}
			if now, _ := e.Executions(e.ctx); len(now) != len(execs) {
				t.Errorf("the CLI started an execution: %d, was %d", len(now), len(execs))
			}
			if td, _ := e.running(); td != before || e.revisions() != revs || len(e.history()) != records {
				t.Errorf("changed: runs %s (was %s), %d revisions (was %d), %d records (was %d)", td, before, e.revisions(), revs, len(e.history()), records)
			}
			if tc.input == nil {
				return
			}
			tc.input["cluster"] = "prod"
			body, _ := json.Marshal(tc.input)
			started, err := sfnc.StartExecution(e.ctx, &awssfn.StartExecutionInput{StateMachineArn: aws.String(e.StateMachineARN), Input: aws.String(string(body))})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.WaitIdle(e.ctx, len(execs)+1); err != nil {
				t.Fatal(err)
			}
			_, desc, err := e.Output(e.ctx, aws.ToString(started.ExecutionArn))
			if err != nil {
				t.Fatal(err)
			}
			if desc.Status != sfntypes.ExecutionStatusFailed || !strings.Contains(aws.ToString(desc.Cause), tc.named) {
				t.Errorf("direct execution: %s, cause %q: want FAILED naming %s", desc.Status, aws.ToString(desc.Cause), tc.named)
			}
			if td, _ := e.running(); td != before || e.revisions() != revs {
				t.Errorf("the direct execution changed the service: runs %s (was %s), %d revisions (was %d)", td, before, e.revisions(), revs)
			}
		})
	}
}

// c names a command of the table by its function.
func c(cmd command) string {
	for name, f := range commands {
		if fmt.Sprintf("%p", f) == fmt.Sprintf("%p", cmd) {
			return name
		}
	}
	return "?"
}

func TestCLIRolledBack(t *testing.T) {
	e := newE2E(t)
	e.Cloud.ECS().Faults().FailImage(lcecs.ImageFault{Image: lcecr.Digest(lcecr.Manifest("web crash")), Mode: lcecs.FailToStart})
	e.push("crash", "web crash")
	code, out, errs := e.cli(runDeploy, "--cluster", "prod", "--service", "web", "--image", e.repo+":crash", "--interval", "5ms")
	if code != exitRolledBack || !strings.Contains(out, "== ROLLED_BACK") || !strings.Contains(errs, "ROLLED_BACK") {
		t.Fatalf("exit %d, want %d\n%s\n%s", code, exitRolledBack, out, errs)
	}
	if td, _ := e.running(); td != e.first {
		t.Fatalf("service runs %s after the rollback, want %s", td, e.first)
	}
	// Piped: the service's events and deployment counts as plain lines.
	// (The counts seen depend on when the polls fall; every event up to the
	// execution's end is shown.)
	for _, want := range []string{"ecs: (service web) has stopped 2 running tasks", "deployments: PRIMARY web:",
		"ecs: (service web) has reached a steady state."} {
		if !strings.Contains(out, want) {
			t.Errorf("deploy output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\033") || strings.Contains(out, "\r") {
		t.Errorf("piped output has terminal codes")
	}
	// watch --latest finds it by the service's name, and exits as it ended.
	arn := executionOf(t, out)
	code, out, errs = e.cli(runWatch, "--service", "web", "--cluster", "prod", "--latest", "--interval", "5ms")
	if code != exitRolledBack || executionOf(t, out) != arn || !strings.Contains(out, "== ROLLED_BACK") ||
		!strings.Contains(out, "ecs: (service web) has stopped 2 running tasks") || strings.Contains(out, "deployments:") {
		t.Errorf("watch --latest: exit %d\n%s\n%s", code, out, errs)
	}
	code, out, errs = e.cli(runWatch, "--service", "web", "--cluster", "staging", "--latest")
	if code != exitBadInput || out != "" || !strings.HasPrefix(errs, "pushdeploy: watch: no execution of service web in cluster staging") {
		t.Errorf("watch --latest of no execution: exit %d\n%s\n%s", code, out, errs)
	}
}

// TestCLIInFlight: with the clock stopped a deploy stays in its rollout
// wait; status shows it in flight holding the lease; watch follows it to
// the end once time moves again.
func TestCLIInFlight(t *testing.T) {
	e := newE2E(t)
	e.push("v1", "web v1")
	e.stop()
	code, out, errs := e.cli(runDeploy, "--cluster", "prod", "--service", "web", "--image", e.repo+":v1", "--no-wait", "--output", "json")
	if code != exitOK {
		t.Fatalf("deploy --no-wait: exit %d: %s", code, errs)
	}
	var started struct {
		ExecutionArn string `json:"executionArn"`
	}
	if err := json.Unmarshal([]byte(out), &started); err != nil || started.ExecutionArn == "" {
		t.Fatalf("deploy --no-wait output %q: %v", out, err)
	}
	var st serviceStatus
	deadline := time.Now().Add(30 * time.Second)
	for {
		st = e.status()
		if st.Lease != nil && st.Lease.Holder == started.ExecutionArn {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the deploy never took the lease: %+v", st.Lease)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !st.Lease.Held || st.Lease.HolderStatus != "RUNNING" {
		t.Errorf("lease %+v", st.Lease)
	}
	if len(st.InFlight) != 1 || st.InFlight[0].ExecutionArn != started.ExecutionArn || st.InFlight[0].Action != "deploy" || st.InFlight[0].Trigger != "manual" {
		t.Fatalf("in flight: %+v", st.InFlight)
	}
	code, out, _ = e.cli(runStatus, "--cluster", "prod", "--service", "web")
	if flat := strings.Join(strings.Fields(out), " "); code != exitOK || !strings.Contains(flat, "in flight deploy manual since") ||
		!strings.Contains(flat, "lease held by "+started.ExecutionArn) || !strings.Contains(flat, "(RUNNING)") {
		t.Errorf("text status:\n%s", out)
	}
	e.stop = e.clk.AutoAdvance(0)
	code, out, errs = e.cli(runWatch, started.ExecutionArn, "--interval", "5ms")
	if code != exitOK || !strings.Contains(out, "== SUCCEEDED") || !strings.Contains(out, "wait: waiting for the rollout outcome") {
		t.Fatalf("watch: exit %d\n%s\n%s", code, out, errs)
	}
	if st := e.status(); len(st.InFlight) != 0 {
		t.Errorf("still in flight: %+v", st.InFlight)
	}
}

// TestCLIWatchAlarmRollback: an alarm after a CLI deploy's bake starts a
// rollback execution; watch shows the alarm and exits 0 (the rollback did
// its job), history and status show where the service is.
func TestCLIWatchAlarmRollback(t *testing.T) {
	e := newE2E(t, "pushdeploy:alarms", "web-5xx", "pushdeploy:rollback-window", "30m")
	if err := e.CreateAlarm(e.ctx, "web-5xx", nil); err != nil {
		t.Fatal(err)
	}
	e.push("v1", "web v1")
	if code, out, errs := e.cli(runDeploy, "--cluster", "prod", "--service", "web", "--image", e.repo+":v1", "--interval", "5ms"); code != exitOK {
		t.Fatalf("deploy: exit %d\n%s\n%s", code, out, errs)
	}
	if err := e.SetAlarm(e.ctx, "web-5xx", cwtypes.StateValueAlarm); err != nil {
		t.Fatal(err)
	}
	execs, err := e.WaitIdle(e.ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	alarmARN := aws.ToString(execs[len(execs)-1].ExecutionArn)
	code, out, errs := e.cli(runWatch, alarmARN, "--interval", "5ms")
	if code != exitOK || !strings.Contains(out, "started: rollback web in prod (alarm web-5xx)") || !strings.Contains(out, "== ROLLED_BACK") {
		t.Fatalf("watch: exit %d\n%s\n%s", code, out, errs)
	}
	if td, _ := e.running(); td != e.first {
		t.Fatalf("service runs %s, want %s", td, e.first)
	}
	recs := e.history()
	if len(recs) != 2 || recs[0].Action != "rollback" || recs[0].Trigger != "alarm" || recs[0].Outcome != history.RolledBack {
		t.Fatalf("history: %+v", recs)
	}
}

// TestCLIMissingAlarmWarned: a service naming an alarm that does not exist
// deploys SUCCEEDED; status and history --output json show the warning.
func TestCLIMissingAlarmWarned(t *testing.T) {
	e := newE2E(t, "pushdeploy:alarms", "web-latncy")
	e.push("v1", "web v1")
	code, out, errs := e.cli(runDeploy, "--cluster", "prod", "--service", "web", "--image", e.repo+":v1", "--interval", "5ms")
	if code != exitOK || !strings.Contains(out, "== SUCCEEDED") {
		t.Fatalf("deploy: exit %d\n%s\n%s", code, out, errs)
	}
	const warning = "alarm web-latncy (pushdeploy:alarms) does not exist"
	code, out, _ = e.cli(runStatus, "--cluster", "prod", "--service", "web")
	if flat := strings.Join(strings.Fields(out), " "); code != exitOK || !strings.Contains(flat, "warning "+warning) {
		t.Errorf("text status does not show the warning:\n%s", out)
	}
	if st := e.status(); st.LastRecord == nil || len(st.LastRecord.Warnings) != 1 || !strings.Contains(st.LastRecord.Warnings[0], warning) {
		t.Errorf("status JSON last record: %+v", st.LastRecord)
	}
	if recs := e.history(); len(recs) != 1 || len(recs[0].Warnings) != 1 || !strings.Contains(recs[0].Warnings[0], warning) {
		t.Errorf("history JSON: %+v", recs)
	}
}
