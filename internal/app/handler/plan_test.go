package handler

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/pushdeploy/pushdeploy/internal/app/contract"
	"github.com/pushdeploy/pushdeploy/internal/app/coord"
	"github.com/pushdeploy/pushdeploy/internal/app/ledger"
	"github.com/pushdeploy/pushdeploy/internal/app/target"
	"github.com/pushdeploy/pushdeploy/internal/app/taskdef"
	"github.com/pushdeploy/pushdeploy/internal/app/trigger"
)

func (w *world) plan(t *testing.T) *PlanHandler {
	t.Helper()
	h, err := NewPlan(PlanDeps{Resolver: w.resolver, ECS: w.ecs, CloudWatch: w.cw, ECR: w.ecr, History: w.history, Leases: w.leases, Triggers: w.triggers,
		SFN: w.sfn, Clock: w.clk, Log: w.log, Settings: w.settings})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func planInput(input string) contract.PlanInput {
	return contract.PlanInput{Execution: contract.Execution{ID: execArn, Name: "run-1", StartTime: t0}, Input: json.RawMessage(input)}
}

// errName is the name Step Functions sees: the Go type name of the error.
func errName(err error) string {
	if err == nil {
		return ""
	}
	ty := reflect.TypeOf(err)
	if ty.Kind() == reflect.Pointer {
		ty = ty.Elem()
	}
	return ty.Name()
}

// TestPlanBadInput: every bad input ends in its named error, with no lease
// taken and nothing on the service changed.
func TestPlanBadInput(t *testing.T) {
	tests := []struct {
		name, input, want string
		setup             func(*world)
	}{
		{"unknown field", `{"action":"deploy","cluster":"prod","service":"web","digest":"` + digestNew + `","forced":true}`, "BadInput", nil},
		{"not JSON", `{"action":`, "BadInput", nil},
		{"missing action", `{"cluster":"prod","service":"web"}`, "BadInput", nil},
		{"unknown action", `{"action":"destroy","cluster":"prod","service":"web"}`, "BadInput", nil},
		{"missing cluster", `{"action":"redeploy","service":"web"}`, "BadInput", nil},
		{"missing service", `{"action":"redeploy","cluster":"prod"}`, "BadInput", nil},
		{"deploy without image", `{"action":"deploy","cluster":"prod","service":"web"}`, "BadInput", nil},
		{"deploy with revision", `{"action":"deploy","cluster":"prod","service":"web","digest":"` + digestNew + `","revision":"40"}`, "BadInput", nil},
		{"rollback with image", `{"action":"rollback","cluster":"prod","service":"web","image":"web:v1"}`, "BadInput", nil},
		{"redeploy with revision", `{"action":"redeploy","cluster":"prod","service":"web","revision":"40"}`, "BadInput", nil},
		{"bad digest", `{"action":"deploy","cluster":"prod","service":"web","digest":"sha256:abc"}`, "BadInput", nil},
		{"bad image", `{"action":"deploy","cluster":"prod","service":"web","image":"UPPER/Case:@@"}`, "BadInput", nil},
		{"conflicting digests", `{"action":"deploy","cluster":"prod","service":"web","image":"` + registry + `/web@` + digestOld + `","digest":"` + digestNew + `"}`, "BadInput", nil},
		{"manual input with a push block", `{"action":"deploy","cluster":"prod","service":"web","digest":"` + digestNew + `","push":{"eventId":"x","account":"1","region":"r","repository":"web","tag":"v","digest":"d","time":"2026-01-01T00:00:00Z"}}`, "BadInput", nil},
		{"unknown trigger", `{"action":"redeploy","cluster":"prod","service":"web","trigger":"cron"}`, "BadInput", nil},
		{"docker hub image", `{"action":"deploy","cluster":"prod","service":"web","image":"nginx:latest"}`, "RegistryNotAllowed", nil},
		{"this account's ECR in another region, default allow-list", `{"action":"deploy","cluster":"prod","service":"web","image":"` + account + `.dkr.ecr.eu-west-1.amazonaws.com/web:v1"}`, "RegistryNotAllowed", nil},
		{"another region's tag, allowed by account", `{"action":"deploy","cluster":"prod","service":"web","image":"` + account + `.dkr.ecr.eu-west-1.amazonaws.com/web:v42"}`, "BadInput",
			func(w *world) { w.settings.Policy = taskdef.Policy{Accounts: []string{account}} }},
		{"other account's registry", `{"action":"deploy","cluster":"prod","service":"web","image":"999999999999.dkr.ecr.us-east-1.amazonaws.com/web@` + digestNew + `"}`, "RegistryNotAllowed", nil},
		{"service gone", `{"action":"redeploy","cluster":"prod","service":"gone"}`, "ServiceNotFound", nil},
		{"cluster gone", `{"action":"redeploy","cluster":"staging","service":"web"}`, "ServiceNotFound", nil},
		{"inactive service", `{"action":"redeploy","cluster":"prod","service":"web"}`, "ServiceNotFound",
			func(w *world) { w.ecs.services["prod/web"].Status = strPtr("DRAINING") }},
		{"service not opted in", `{"action":"redeploy","cluster":"prod","service":"legacy"}`, "BadInput",
			func(w *world) { w.addService("legacy", td(41), map[string]string{"team": "x"}) }},
		{"unknown container", `{"action":"deploy","cluster":"prod","service":"web","digest":"` + digestNew + `","containers":["worker"]}`, "ContainerNotFound", nil},
		{"tag not in repository", `{"action":"deploy","cluster":"prod","service":"web","image":"` + registry + `/web:v99"}`, "ImageNotFound", nil},
		{"digest not in repository", `{"action":"deploy","cluster":"prod","service":"web","digest":"sha256:` + strings.Repeat("3", 64) + `"}`, "ImageNotFound", nil},
		{"repository does not exist", `{"action":"deploy","cluster":"prod","service":"web","image":"` + registry + `/nope:v1"}`, "ImageNotFound", nil},
		{"revision of another family", `{"action":"rollback","cluster":"prod","service":"web","revision":"api:3"}`, "WrongFamily", nil},
		{"revision that does not exist", `{"action":"rollback","cluster":"prod","service":"web","revision":"7"}`, "BadInput", nil},
		{"malformed revision", `{"action":"rollback","cluster":"prod","service":"web","revision":"web:x"}`, "BadInput", nil},
		{"alarm trigger without alarm", `{"action":"rollback","cluster":"prod","service":"web","trigger":"alarm"}`, "BadInput", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			if tt.setup != nil {
				tt.setup(w)
			}
			_, err := w.plan(t).Handle(context.Background(), planInput(tt.input))
			if got := errName(err); got != tt.want {
				t.Fatalf("error %s (%v), want %s", got, err, tt.want)
			}
			if err.Error() == "" {
				t.Error("empty error message")
			}
			if w.leases.acquires != 0 || w.ecs.mutations() != 0 || len(w.sfn.sent) != 0 {
				t.Errorf("changed something: %d lease acquires, %d ECS mutations, %d task results", w.leases.acquires, w.ecs.mutations(), len(w.sfn.sent))
			}
		})
	}
}

func strPtr(s string) *string { return &s }

func TestPlanDeploy(t *testing.T) {
	tests := []struct {
		name, input string
		lastGood    string
		want        contract.Plan
		ecrCalls    int
	}{
		{
			name:  "push",
			input: `{"action":"deploy","cluster":"prod","service":"web","image":"` + registry + `/web@` + digestNew + `","digest":"` + digestNew + `","trigger":"push","push":{"eventId":"e1","account":"` + account + `","region":"us-east-1","repository":"web","tag":"v42","digest":"` + digestNew + `","time":"2026-11-22T01:59:00Z"}}`,
			want: contract.Plan{Action: contract.ActionDeploy, Trigger: contract.TriggerPush,
				Image: &contract.Image{Repository: registry + "/web", Tag: "v42", Digest: digestNew}, Containers: []string{"app"},
				UndoTaskDefinitionArn: td(41), Started: &contract.Started{Action: "deploy", By: "ecr event e1"}},
		},
		{
			name:     "manual by tag, last good recorded",
			input:    `{"action":"deploy","cluster":"prod","service":"web","image":"` + registry + `/web:v42","reason":"hotfix","requestedBy":"alice"}`,
			lastGood: td(40),
			want: contract.Plan{Action: contract.ActionDeploy, Trigger: contract.TriggerManual, Reason: "hotfix",
				Image: &contract.Image{Repository: registry + "/web", Tag: "v42", Digest: digestNew}, Containers: []string{"app"},
				UndoTaskDefinitionArn: td(40), LastGoodTaskDefinitionArn: td(40), Started: &contract.Started{Action: "deploy", By: "alice"}},
			ecrCalls: 1,
		},
		{
			name:  "manual by digest in the followed repository",
			input: `{"action":"deploy","cluster":"prod","service":"web","digest":"` + digestNew + `"}`,
			want: contract.Plan{Action: contract.ActionDeploy, Trigger: contract.TriggerManual,
				Image: &contract.Image{Repository: registry + "/web", Digest: digestNew}, Containers: []string{"app"},
				UndoTaskDefinitionArn: td(41), Started: &contract.Started{Action: "deploy"}},
			ecrCalls: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			if tt.lastGood != "" {
				w.history.good(webArn, tt.lastGood)
			}
			if strings.Contains(tt.input, `"trigger":"push"`) {
				w.vouch(t, "run-1", tt.input)
			}
			got, err := w.plan(t).Handle(context.Background(), planInput(tt.input))
			if err != nil {
				t.Fatal(err)
			}
			want := tt.want
			want.ExecutionArn, want.Cluster, want.Service, want.ServiceArn = execArn, "prod", "web", webArn
			want.CurrentTaskDefinitionArn, want.Alarms = td(41), []string{"web-5xx"}
			want.BakeSeconds, want.TimeoutSeconds, want.LeaseOwner = 600, 1200, execArn
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("plan (-want +got):\n%s", d)
			}
			if w.ecr.calls != tt.ecrCalls {
				t.Errorf("ECR calls %d, want %d", w.ecr.calls, tt.ecrCalls)
			}
			st := w.leases.state[webArn]
			if st.Holder != execArn {
				t.Errorf("lease holder %q", st.Holder)
			}
			if w.ecs.mutations() != 0 {
				t.Error("plan changed the service")
			}
			if !strings.Contains(w.logs.String(), `"service":"web"`) || !strings.Contains(w.logs.String(), `"execution":"`+execArn) {
				t.Errorf("logs lack service/execution: %s", w.logs)
			}
		})
	}
}

// TestPlanLeaseSeq: a push's lease sequence comes from its verified ticket
// (dispatch's ECR push time), never from the input's push.time; a manual
// execution's is its start time.
func TestPlanLeaseSeq(t *testing.T) {
	w := newWorld(t)
	in := `{"action":"deploy","cluster":"prod","service":"web","image":"` + registry + `/web@` + digestNew + `","digest":"` + digestNew + `","trigger":"push","push":{"eventId":"e1","account":"` + account + `","region":"us-east-1","repository":"web","tag":"v42","digest":"` + digestNew + `","time":"2026-11-22T01:59:00Z"}}`
	decoded, err := contract.DecodeExecutionInput([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	pushedAt := time.Date(2026, 11, 22, 1, 59, 0, 250e6, time.UTC).UnixMilli()
	if err := w.triggers.Issue(context.Background(), webArn, "run-1", decoded, trigger.Ticket{Seq: pushedAt, Tie: digestNew}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.plan(t).Handle(context.Background(), planInput(in)); err != nil {
		t.Fatal(err)
	}
	if got := w.leases.state[webArn]; got.Seq != pushedAt {
		t.Errorf("seq %d, want the ticket's push time %d", got.Seq, pushedAt)
	}

	w = newWorld(t)
	if _, err := w.plan(t).Handle(context.Background(), planInput(`{"action":"redeploy","cluster":"prod","service":"web"}`)); err != nil {
		t.Fatal(err)
	}
	if got := w.leases.state[webArn].Seq; got != t0.UnixMilli() {
		t.Errorf("manual seq %d, want its start time %d", got, t0.UnixMilli())
	}
}

// TestPlanRefusesForgedTrigger: an execution that claims a push or alarm
// trigger without dispatch's ticket for exactly its input is BadInput, with
// nothing written (no lease) and nothing asked of ECR.
func TestPlanRefusesForgedTrigger(t *testing.T) {
	forged := `{"action":"deploy","cluster":"prod","service":"web","image":"` + registry + `/web@sha256:` + strings.Repeat("7", 64) + `","digest":"sha256:` + strings.Repeat("7", 64) + `","trigger":"push","push":{"eventId":"x","account":"` + account + `","region":"us-east-1","repository":"web","tag":"latest","digest":"sha256:` + strings.Repeat("7", 64) + `","time":"2099-01-01T00:00:00Z"}}`
	genuine := pushOf(digestNew, t0)
	tests := []struct {
		name, input string
		vouched     string // the input dispatch issued the ticket for
	}{
		{"push without a ticket", forged, ""},
		{"push whose input differs from the ticket's", strings.Replace(genuine, t0.Format(time.RFC3339), "2099-01-01T00:00:00Z", 1), genuine},
		{"alarm without a ticket", alarmInput(td(41)), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			if tt.vouched != "" {
				w.vouch(t, "run-1", tt.vouched)
			}
			_, err := w.plan(t).Handle(context.Background(), planInput(tt.input))
			var bad *contract.BadInput
			if !errors.As(err, &bad) || bad.Field != "trigger" || !strings.Contains(err.Error(), "set by pushdeploy's dispatch only") {
				t.Fatalf("err = %v, want BadInput on trigger", err)
			}
			if w.leases.acquires != 0 || len(w.leases.state) != 0 || w.ecr.calls != 0 || w.ecs.mutations() != 0 {
				t.Errorf("wrote or asked: %d acquires, leases %v, %d ECR calls, %d ECS mutations", w.leases.acquires, w.leases.state, w.ecr.calls, w.ecs.mutations())
			}
		})
	}
}

func TestPlanSkipsImageAlreadyRunning(t *testing.T) {
	w := newWorld(t)
	got, err := w.plan(t).Handle(context.Background(), planInput(`{"action":"deploy","cluster":"prod","service":"web","digest":"`+digestOld+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	if got.Action != contract.ActionSkip || !strings.Contains(got.Reason, "already runs") {
		t.Errorf("plan %+v, want skip", got)
	}
	if w.leases.acquires != 0 {
		t.Error("a skip took the lease")
	}
}

func TestPlanRollbackAndRedeploy(t *testing.T) {
	tests := []struct {
		name, input, lastGood   string
		action                  contract.Action
		target, rollbackTo, why string
	}{
		{name: "rollback to last good", input: `{"action":"rollback","cluster":"prod","service":"web"}`, lastGood: td(40),
			action: contract.ActionRollback, target: td(40), rollbackTo: td(40)},
		{name: "rollback to a revision number", input: `{"action":"rollback","cluster":"prod","service":"web","revision":"40"}`,
			action: contract.ActionRollback, target: td(40), rollbackTo: td(40)},
		{name: "rollback to family:revision", input: `{"action":"rollback","cluster":"prod","service":"web","revision":"web:40"}`,
			action: contract.ActionRollback, target: td(40), rollbackTo: td(40)},
		{name: "rollback with no last good", input: `{"action":"rollback","cluster":"prod","service":"web"}`,
			action: contract.ActionSkip, why: "no-rollback-target"},
		{name: "rollback with no good revision but the current", input: `{"action":"rollback","cluster":"prod","service":"web"}`, lastGood: td(41),
			action: contract.ActionSkip, why: "no-rollback-target"},
		{name: "rollback to the given current revision", input: `{"action":"rollback","cluster":"prod","service":"web","revision":"41"}`, lastGood: td(40),
			action: contract.ActionSkip, why: "already-on-last-good"},
		{name: "redeploy", input: `{"action":"redeploy","cluster":"prod","service":"web"}`, lastGood: td(40),
			action: contract.ActionRedeploy, target: td(41), rollbackTo: td(40)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			if tt.lastGood != "" {
				w.history.good(webArn, tt.lastGood)
			}
			got, err := w.plan(t).Handle(context.Background(), planInput(tt.input))
			if err != nil {
				t.Fatal(err)
			}
			if got.Action != tt.action || got.TargetTaskDefinitionArn != tt.target || got.UndoTaskDefinitionArn != tt.rollbackTo {
				t.Errorf("got action %s target %q rollback %q, want %s %q %q", got.Action, got.TargetTaskDefinitionArn, got.UndoTaskDefinitionArn, tt.action, tt.target, tt.rollbackTo)
			}
			if !strings.Contains(got.Reason, tt.why) {
				t.Errorf("reason %q lacks %q", got.Reason, tt.why)
			}
			if tt.action == contract.ActionRollback && got.BakeSeconds != 0 {
				t.Errorf("rollback bakes %ds", got.BakeSeconds)
			}
			if skip := tt.action == contract.ActionSkip; skip != (w.leases.acquires == 0) {
				t.Errorf("skip %v but %d lease acquires", skip, w.leases.acquires)
			}
		})
	}
}

// TestPlanLease: the latest push wins; an older execution is superseded; a
// takeover wakes the previous holder's wait with SUPERSEDED.
func TestPlanLease(t *testing.T) {
	in := `{"action":"redeploy","cluster":"prod","service":"web"}`
	t.Run("takeover wakes the previous holder", func(t *testing.T) {
		w := newWorld(t)
		w.leases.state[webArn] = coord.State{Holder: "older", Seq: t0.Add(-time.Minute).UnixMilli(), Until: t0.Add(time.Hour), Token: "tok-older"}
		got, err := w.plan(t).Handle(context.Background(), planInput(in))
		if err != nil {
			t.Fatal(err)
		}
		if got.Superseded != "older" || got.LeaseOwner != execArn {
			t.Errorf("superseded %q owner %q", got.Superseded, got.LeaseOwner)
		}
		if len(w.sfn.sent) != 1 || w.sfn.sent[0].token != "tok-older" || !strings.Contains(w.sfn.sent[0].output, `"status":"SUPERSEDED"`) {
			t.Errorf("sent %+v", w.sfn.sent)
		}
		var res contract.Result[contract.Outcome]
		if err := contract.DecodeStrict([]byte(w.sfn.sent[0].output), &res); err != nil {
			t.Errorf("wake-up is not a Result[Outcome]: %v", err)
		}
	})
	t.Run("a newer execution holds it", func(t *testing.T) {
		w := newWorld(t)
		w.leases.state[webArn] = coord.State{Holder: "newer", Seq: t0.Add(time.Minute).UnixMilli(), Until: t0.Add(time.Hour)}
		_, err := w.plan(t).Handle(context.Background(), planInput(in))
		if errName(err) != "Superseded" {
			t.Fatalf("err %v, want Superseded", err)
		}
	})
	t.Run("lease store throttled", func(t *testing.T) {
		w := newWorld(t)
		w.leases.err = &throttleErr{}
		_, err := w.plan(t).Handle(context.Background(), planInput(in))
		if errName(err) != "Throttled" {
			t.Fatalf("err %v (%s), want Throttled", err, errName(err))
		}
	})
}

func alarmInput(culprit string) string {
	return `{"action":"rollback","cluster":"prod","service":"web","trigger":"alarm","alarm":{"eventId":"a1","alarmName":"web-5xx","alarmArn":"arn:aws:cloudwatch:us-east-1:123456789012:alarm:web-5xx","time":"2026-11-22T02:00:00Z","taskDefinitionArn":"` + culprit + `"}}`
}

func TestPlanAlarm(t *testing.T) {
	// td(40) passed its bake, then the deploy of td(41) did, 10 minutes ago.
	deployed := ledger.Ledger{Service: webArn, Revisions: []ledger.Revision{
		{Revision: td(40), Status: ledger.StatusGood, Via: ledger.ViaDeploy, Since: t0.Add(-time.Hour)},
		{Revision: td(41), Status: ledger.StatusGood, Via: ledger.ViaDeploy, Since: t0.Add(-10 * time.Minute)},
	}}
	tests := []struct {
		name    string
		ledger  ledger.Ledger
		lease   coord.State
		culprit string
		advance time.Duration
		action  contract.Action
		target  string
		skipWhy string
	}{
		{name: "within the window", ledger: deployed, culprit: td(41), action: contract.ActionRollback, target: td(40)},
		{name: "outside the window", ledger: deployed, culprit: td(41), advance: time.Hour, action: contract.ActionSkip, skipWhy: "outside-rollback-window"},
		{name: "deploy in flight", ledger: deployed, culprit: td(41), lease: coord.State{Holder: "deploy-42", Seq: 1, Until: t0.Add(time.Hour)},
			action: contract.ActionSkip, skipWhy: "deploy-in-flight"},
		{name: "revision changed since the alarm", ledger: deployed, culprit: td(40), action: contract.ActionSkip, skipWhy: "revision-changed"},
		{name: "not deployed by pushdeploy", culprit: td(41), action: contract.ActionSkip, skipWhy: "not-deployed-by-pushdeploy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			w.history.ledgers[webArn] = tt.ledger
			if tt.lease.Holder != "" {
				w.leases.state[webArn] = tt.lease
			}
			w.clk.Advance(tt.advance)
			w.vouch(t, "run-1", alarmInput(tt.culprit))
			got, err := w.plan(t).Handle(context.Background(), contract.PlanInput{
				Execution: contract.Execution{ID: execArn, Name: "run-1", StartTime: w.clk.Now()}, Input: json.RawMessage(alarmInput(tt.culprit))})
			if err != nil {
				t.Fatal(err)
			}
			if got.Action != tt.action || got.TargetTaskDefinitionArn != tt.target || !strings.Contains(got.Reason, tt.skipWhy) {
				t.Errorf("got %s %q (%s), want %s %q (%s)", got.Action, got.TargetTaskDefinitionArn, got.Reason, tt.action, tt.target, tt.skipWhy)
			}
			if w.ecs.mutations() != 0 {
				t.Error("plan changed the service")
			}
		})
	}
}

func TestPlanAlarmNotTheServicesAlarm(t *testing.T) {
	w := newWorld(t)
	w.ecs.services["prod/web"].Tags = nil
	w.addService("web", td(41), map[string]string{target.TagRepository: "web", target.TagAlarms: "other"})
	w.vouch(t, "run-1", alarmInput(td(41)))
	got, err := w.plan(t).Handle(context.Background(), planInput(alarmInput(td(41))))
	if err != nil {
		t.Fatal(err)
	}
	if got.Action != contract.ActionSkip || w.leases.acquires != 0 {
		t.Errorf("got %+v, %d acquires", got, w.leases.acquires)
	}
}

type throttleErr struct{}

func (throttleErr) Error() string                 { return "Rate exceeded" }
func (throttleErr) ErrorCode() string             { return "ThrottlingException" }
func (throttleErr) ErrorMessage() string          { return "Rate exceeded" }
func (throttleErr) ErrorFault() smithy.ErrorFault { return smithy.FaultClient }

// TestPlanOtherRegionDigest: an allow-list that admits another region's ECR
// deploys its images by digest, without asking this region's ECR about them.
func TestPlanOtherRegionDigest(t *testing.T) {
	w := newWorld(t)
	w.settings.Policy = taskdef.Policy{Accounts: []string{account}}
	w.ecs.defs["web:41"].ContainerDefinitions[0].Image = strPtr(account + ".dkr.ecr.eu-west-1.amazonaws.com/web@" + digestOld)
	img := account + ".dkr.ecr.eu-west-1.amazonaws.com/web@" + digestNew
	got, err := w.plan(t).Handle(context.Background(), planInput(`{"action":"deploy","cluster":"prod","service":"web","image":"`+img+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	if got.Action != contract.ActionDeploy || got.Image.Repository != account+".dkr.ecr.eu-west-1.amazonaws.com/web" || w.ecr.calls != 0 {
		t.Errorf("plan %+v, %d ECR calls", got, w.ecr.calls)
	}
}

// TestPlanRollbackPassesOverQuarantinedImages: a good revision the ledger
// learned of through a rollback has no digest in the ledger; its task
// definition still pins the image, and a quarantined one is never a
// rollback target (the soak found a manual rollback going to one).
func TestPlanRollbackPassesOverQuarantinedImages(t *testing.T) {
	const quarantined = "sha256:" + "ab00000000000000000000000000000000000000000000000000000000000000"
	for _, tc := range []struct {
		name          string
		withOlderGood bool
		action        contract.Action
		target, why   string
	}{
		{name: "no other good revision", action: contract.ActionSkip, why: "no-rollback-target"},
		{name: "an older clean one", withOlderGood: true, action: contract.ActionRollback, target: td(39)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			w.ecs.defs["web:40"] = &ecstypes.TaskDefinition{Family: aws.String("web"), Revision: 40, TaskDefinitionArn: aws.String(td(40)),
				Status:               ecstypes.TaskDefinitionStatusActive,
				ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("app"), Image: aws.String(registry + "/web@" + quarantined)}}}
			w.ecs.defs["web:39"] = &ecstypes.TaskDefinition{Family: aws.String("web"), Revision: 39, TaskDefinitionArn: aws.String(td(39)),
				Status: ecstypes.TaskDefinitionStatusActive, ContainerDefinitions: w.ecs.defs["web:41"].ContainerDefinitions}
			led := ledger.Ledger{Service: webArn,
				Revisions:   []ledger.Revision{{Revision: td(40), Status: ledger.StatusGood, Via: ledger.ViaRollback, Since: t0.Add(-time.Hour)}},
				Quarantined: []ledger.Quarantine{{Digest: quarantined, Revision: td(38), Since: t0.Add(-2 * time.Hour)}}}
			if tc.withOlderGood {
				led.Revisions = append(led.Revisions, ledger.Revision{Revision: td(39), Status: ledger.StatusGood, Via: ledger.ViaDeploy, Since: t0.Add(-3 * time.Hour)})
			}
			w.history.ledgers[webArn] = led
			got, err := w.plan(t).Handle(context.Background(), planInput(`{"action":"rollback","cluster":"prod","service":"web"}`))
			if err != nil {
				t.Fatal(err)
			}
			if got.Action != tc.action || got.TargetTaskDefinitionArn != tc.target || !strings.Contains(got.Reason, tc.why) {
				t.Errorf("got %s %q (%s), want %s %q (%s)", got.Action, got.TargetTaskDefinitionArn, got.Reason, tc.action, tc.target, tc.why)
			}
		})
	}
}
