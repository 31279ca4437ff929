package handler

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"

	"github.com/pushdeploy/pushdeploy/internal/app/contract"
	"github.com/pushdeploy/pushdeploy/internal/app/coord"
)

// deployPlan is a plan for deploying digestNew to web, holding the lease.
func (w *world) deployPlan() contract.Plan {
	w.leases.state[webArn] = coord.State{Holder: execArn, Seq: 1, Until: t0.Add(time.Hour)}
	return contract.Plan{
		ExecutionArn: execArn, Action: contract.ActionDeploy, Trigger: contract.TriggerPush,
		Cluster: "prod", Service: "web", ServiceArn: webArn,
		Image:      &contract.Image{Repository: registry + "/web", Tag: "v42", Digest: digestNew},
		Containers: []string{"app"}, CurrentTaskDefinitionArn: td(41), UndoTaskDefinitionArn: td(40),
		Alarms: []string{"web-5xx"}, BakeSeconds: 600, TimeoutSeconds: 1200, LeaseOwner: execArn,
	}
}

func (w *world) supersede() {
	w.leases.state[webArn] = coord.State{Holder: "newer", Seq: 2, Until: t0.Add(time.Hour)}
}

func TestRegister(t *testing.T) {
	w := newWorld(t)
	h, err := NewRegister(RegisterDeps{ECS: w.ecs, Leases: w.leases, Policy: w.settings.Policy, Log: w.log})
	if err != nil {
		t.Fatal(err)
	}
	res, err := h.Handle(context.Background(), contract.RegisterInput{Plan: w.deployPlan()})
	if err != nil {
		t.Fatal(err)
	}
	if res.TaskDefinitionArn != td(42) || !res.Registered || len(res.Images) != 1 || res.Images[0].To != registry+"/web@"+digestNew {
		t.Errorf("result %+v", res)
	}
	reg := w.ecs.registered[0]
	if got := aws.ToString(reg.ContainerDefinitions[0].Image); got != registry+"/web@"+digestNew {
		t.Errorf("app image %s", got)
	}
	if got := aws.ToString(reg.ContainerDefinitions[1].Image); got != "public.ecr.aws/appmesh/aws-appmesh-envoy:v1.29" {
		t.Errorf("envoy image changed to %s", got)
	}
	if len(reg.Tags) != 1 {
		t.Errorf("task definition tags not copied: %+v", reg.Tags)
	}
	// The described revision is not modified in place.
	if got := aws.ToString(w.ecs.defs["web:41"].ContainerDefinitions[0].Image); got != registry+"/web@"+digestOld {
		t.Errorf("current revision modified: %s", got)
	}
}

func TestRegisterRefuses(t *testing.T) {
	tests := []struct {
		name string
		edit func(*world, *contract.Plan)
		want string
	}{
		{"superseded", func(w *world, p *contract.Plan) { w.supersede() }, "Superseded"},
		{"not a deploy", func(w *world, p *contract.Plan) { p.Action = contract.ActionRedeploy }, "BadInput"},
		{"container gone since plan", func(w *world, p *contract.Plan) { p.Containers = []string{"worker"} }, "ContainerNotFound"},
		{"registry not allowed", func(w *world, p *contract.Plan) { p.Image.Repository = "docker.io/library/web" }, "RegistryNotAllowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			p := w.deployPlan()
			tt.edit(w, &p)
			h, _ := NewRegister(RegisterDeps{ECS: w.ecs, Leases: w.leases, Policy: w.settings.Policy, Log: w.log})
			_, err := h.Handle(context.Background(), contract.RegisterInput{Plan: p})
			if errName(err) != tt.want {
				t.Fatalf("err %v (%s), want %s", err, errName(err), tt.want)
			}
			if tt.want == "Superseded" {
				// Told by the conditional announcement, after registering:
				// the revision is taken back at once.
				if len(w.ecs.registered) != 1 || !slices.Equal(w.ecs.deregister, []string{td(42)}) || len(w.ecs.updates) != 0 {
					t.Errorf("registered %d, deregistered %v, updates %d", len(w.ecs.registered), w.ecs.deregister, len(w.ecs.updates))
				}
				return
			}
			if w.ecs.mutations() != 0 {
				t.Error("registered anyway")
			}
		})
	}
}

func (w *world) update(t *testing.T) *UpdateHandler {
	h, err := NewUpdate(UpdateDeps{ECS: w.ecs, Leases: w.leases, SFN: w.sfn, Clock: w.clk, Log: w.log, Evaluator: mustEvaluator(t, w.ecs, w.cw, w.leases, w.clk)})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestUpdate(t *testing.T) {
	t.Run("deploy", func(t *testing.T) {
		w := newWorld(t)
		w.clk.Advance(time.Minute)
		res, err := w.update(t).Handle(context.Background(), contract.UpdateInput{Plan: w.deployPlan(), TaskDefinitionArn: td(42), Purpose: contract.PurposeDeploy})
		if err != nil {
			t.Fatal(err)
		}
		want := contract.UpdateResult{PreviousTaskDefinitionArn: td(41), TaskDefinitionArn: td(42), DeploymentID: "ecs-svc/1", StartedAt: t0.Add(time.Minute)}
		if res != want {
			t.Errorf("got %+v\nwant %+v", res, want)
		}
		if len(w.ecs.updates) != 1 || w.ecs.updates[0].ForceNewDeployment {
			t.Errorf("updates %+v", w.ecs.updates)
		}
	})
	t.Run("deploy after a change made since the plan: what it replaced is what ran", func(t *testing.T) {
		w := newWorld(t)
		p := w.deployPlan() // planned from web:41
		w.ecs.setPrimary("prod", "web", td(40), ecstypes.DeploymentRolloutStateCompleted, "")
		res, err := w.update(t).Handle(context.Background(), contract.UpdateInput{Plan: p, TaskDefinitionArn: td(42), Purpose: contract.PurposeDeploy})
		if err != nil {
			t.Fatal(err)
		}
		if res.PreviousTaskDefinitionArn != td(40) || res.TaskDefinitionArn != td(42) {
			t.Errorf("got %+v, want previous web:40 from UpdateService's answer", res)
		}
	})
	t.Run("redeploy forces a new deployment", func(t *testing.T) {
		w := newWorld(t)
		p := w.deployPlan()
		p.Action = contract.ActionRedeploy
		if _, err := w.update(t).Handle(context.Background(), contract.UpdateInput{Plan: p, TaskDefinitionArn: td(41), Purpose: contract.PurposeDeploy}); err != nil {
			t.Fatal(err)
		}
		if !w.ecs.updates[0].ForceNewDeployment {
			t.Error("no ForceNewDeployment")
		}
	})
	t.Run("rollback when ECS already rolled back", func(t *testing.T) {
		w := newWorld(t)
		res, err := w.update(t).Handle(context.Background(), contract.UpdateInput{Plan: w.deployPlan(), TaskDefinitionArn: "web:41", Purpose: contract.PurposeUndo})
		if err != nil {
			t.Fatal(err)
		}
		if !res.Unchanged || res.TaskDefinitionArn != td(41) || w.ecs.mutations() != 0 {
			t.Errorf("got %+v with %d mutations", res, w.ecs.mutations())
		}
	})
	t.Run("rollback with no target leaves the service", func(t *testing.T) {
		w := newWorld(t)
		res, err := w.update(t).Handle(context.Background(), contract.UpdateInput{Plan: w.deployPlan(), Purpose: contract.PurposeUndo})
		if err != nil || !res.Unchanged || w.ecs.mutations() != 0 {
			t.Errorf("got %+v, %v", res, err)
		}
	})
	t.Run("rollback", func(t *testing.T) {
		w := newWorld(t)
		w.ecs.setPrimary("prod", "web", td(42), ecstypes.DeploymentRolloutStateInProgress, "")
		res, err := w.update(t).Handle(context.Background(), contract.UpdateInput{Plan: w.deployPlan(), TaskDefinitionArn: td(40), Purpose: contract.PurposeUndo})
		if err != nil {
			t.Fatal(err)
		}
		if res.Unchanged || res.PreviousTaskDefinitionArn != td(42) || aws.ToString(w.ecs.updates[0].TaskDefinition) != td(40) {
			t.Errorf("got %+v, updates %+v", res, w.ecs.updates)
		}
	})
	for _, tt := range []struct {
		name string
		edit func(*world, *contract.UpdateInput)
		want string
	}{
		{"superseded", func(w *world, in *contract.UpdateInput) { w.supersede() }, "Superseded"},
		{"service deleted", func(w *world, in *contract.UpdateInput) { delete(w.ecs.services, "prod/web") }, "ServiceNotFound"},
		{"unknown purpose", func(w *world, in *contract.UpdateInput) { in.Purpose = "fun" }, "BadInput"},
		{"no lease", func(w *world, in *contract.UpdateInput) { in.Plan.LeaseOwner = "" }, "BadInput"},
		{"throttled", func(w *world, in *contract.UpdateInput) { w.ecs.updateErr = throttleErr{} }, "Throttled"},
		{"update in progress", func(w *world, in *contract.UpdateInput) {
			w.ecs.updateErr = &ecstypes.UpdateInProgressException{Message: aws.String("busy")}
		}, "Retryable"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			in := contract.UpdateInput{Plan: w.deployPlan(), TaskDefinitionArn: td(42), Purpose: contract.PurposeDeploy}
			tt.edit(w, &in)
			_, err := w.update(t).Handle(context.Background(), in)
			if errName(err) != tt.want {
				t.Fatalf("err %v (%s), want %s", err, errName(err), tt.want)
			}
			if len(w.ecs.updates) != 0 {
				t.Error("service updated")
			}
		})
	}
}

func (w *world) evaluator(t *testing.T) *Evaluator {
	ev, err := NewEvaluator(w.ecs, w.cw, w.leases, w.clk)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// markLate marks rev as a superseded execution's late update in the lease.
func (w *world) markLate(rev string) {
	if ok, err := w.leases.MarkLateUpdate(context.Background(), webArn, rev); !ok || err != nil {
		panic("mark " + rev + ": not marked or failed")
	}
}

// deployed puts the world in the state after Update: revision 42 rolling out.
func (w *world) deployed(t *testing.T) (contract.Plan, contract.UpdateResult) {
	p := w.deployPlan()
	u, err := w.update(t).Handle(context.Background(), contract.UpdateInput{Plan: p, TaskDefinitionArn: td(42), Purpose: contract.PurposeDeploy})
	if err != nil {
		t.Fatal(err)
	}
	return p, u
}

func TestWatch(t *testing.T) {
	t.Run("undecided: token stored, nothing sent", func(t *testing.T) {
		w := newWorld(t)
		p, u := w.deployed(t)
		h, _ := NewWatch(WatchDeps{Evaluator: w.evaluator(t), Leases: w.leases, SFN: w.sfn, Log: w.log, Approvals: w.notifier})
		res, err := h.Handle(context.Background(), contract.WatchInput{Token: "tok1", Phase: contract.PhaseRollout, Plan: p, Update: u})
		if err != nil {
			t.Fatal(err)
		}
		if !res.Stored || res.Decided || w.leases.state[webArn].Token != "tok1" || len(w.sfn.sent) != 0 {
			t.Errorf("res %+v, token %q, sent %d", res, w.leases.state[webArn].Token, len(w.sfn.sent))
		}
		// The wait travels with the token, its deadline the whole window.
		if wt := w.leases.state[webArn].Wait; wt == nil || wt.Phase != contract.PhaseRollout || wt.Update != u ||
			!wt.Deadline.Equal(u.StartedAt.Add(1200*time.Second)) {
			t.Errorf("parked wait %+v", wt)
		}
	})
	t.Run("already decided: sent at once, token claimed", func(t *testing.T) {
		w := newWorld(t)
		p, u := w.deployed(t)
		w.ecs.setPrimary("prod", "web", td(42), ecstypes.DeploymentRolloutStateCompleted, "")
		h, _ := NewWatch(WatchDeps{Evaluator: w.evaluator(t), Leases: w.leases, SFN: w.sfn, Log: w.log, Approvals: w.notifier})
		res, err := h.Handle(context.Background(), contract.WatchInput{Token: "tok1", Phase: contract.PhaseRollout, Plan: p, Update: u})
		if err != nil {
			t.Fatal(err)
		}
		if !res.Decided || res.Status != contract.StatusCompleted || len(w.sfn.sent) != 1 || w.leases.state[webArn].Token != "" {
			t.Fatalf("res %+v, sent %+v", res, w.sfn.sent)
		}
		var out contract.Result[contract.Outcome]
		if err := contract.DecodeStrict([]byte(w.sfn.sent[0].output), &out); err != nil || out.Payload.Status != contract.StatusCompleted {
			t.Errorf("output %s: %v", w.sfn.sent[0].output, err)
		}
	})
	t.Run("superseded", func(t *testing.T) {
		w := newWorld(t)
		p, u := w.deployed(t)
		w.supersede()
		h, _ := NewWatch(WatchDeps{Evaluator: w.evaluator(t), Leases: w.leases, SFN: w.sfn, Log: w.log, Approvals: w.notifier})
		_, err := h.Handle(context.Background(), contract.WatchInput{Token: "tok1", Phase: contract.PhaseRollout, Plan: p, Update: u})
		if errName(err) != "Superseded" {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("bad phase", func(t *testing.T) {
		w := newWorld(t)
		p, u := w.deployed(t)
		h, _ := NewWatch(WatchDeps{Evaluator: w.evaluator(t), Leases: w.leases, SFN: w.sfn, Log: w.log, Approvals: w.notifier})
		_, err := h.Handle(context.Background(), contract.WatchInput{Token: "tok1", Phase: "later", Plan: p, Update: u})
		if errName(err) != "BadInput" {
			t.Fatalf("err %v", err)
		}
	})
}

func TestCheck(t *testing.T) {
	alarmed := func(w *world) {
		w.cw.alarms[0].StateValue = cwtypes.StateValueAlarm
		w.cw.alarms[0].StateReason = aws.String("5xx above 5%")
		w.cw.alarms[0].StateUpdatedTimestamp = aws.Time(w.clk.Now())
	}
	tests := []struct {
		name     string
		phase    contract.Phase
		timedOut bool
		advance  time.Duration
		setup    func(*world)
		status   contract.Status
		cause    contract.Cause
	}{
		{"rolling out", contract.PhaseRollout, false, time.Minute, nil, contract.StatusInProgress, "in-progress"},
		{"timed out rolling out", contract.PhaseRollout, true, time.Minute, nil, contract.StatusFailed, "timeout"},
		{"completed", contract.PhaseRollout, false, time.Minute, func(w *world) {
			w.ecs.setPrimary("prod", "web", td(42), ecstypes.DeploymentRolloutStateCompleted, "")
		}, contract.StatusCompleted, "completed"},
		{"circuit breaker rolled back", contract.PhaseRollout, false, time.Minute, func(w *world) {
			w.ecs.setPrimary("prod", "web", td(41), ecstypes.DeploymentRolloutStateCompleted, "")
		}, contract.StatusFailed, "ecs-rollback"},
		{"alarm during rollout", contract.PhaseRollout, false, time.Minute, alarmed, contract.StatusFailed, "alarm"},
		{"back on the rollback revision", contract.PhaseRollout, false, time.Minute, func(w *world) {
			w.ecs.setPrimary("prod", "web", td(40), ecstypes.DeploymentRolloutStateCompleted, "")
		}, contract.StatusFailed, "ecs-rollback"},
		{"a superseded execution's late update (marked)", contract.PhaseRollout, false, time.Minute, func(w *world) {
			w.ecs.setPrimary("prod", "web", td(39), ecstypes.DeploymentRolloutStateInProgress, "")
			w.markLate(td(39))
		}, contract.StatusFailed, contract.CauseReplaced},
		{"late update marked as family:N", contract.PhaseBake, false, 5 * time.Minute, func(w *world) {
			w.ecs.setPrimary("prod", "web", td(39), ecstypes.DeploymentRolloutStateInProgress, "")
			w.markLate("web:39")
		}, contract.StatusFailed, contract.CauseReplaced},
		{"changed outside pushdeploy (no mark)", contract.PhaseRollout, false, time.Minute, func(w *world) {
			w.ecs.setPrimary("prod", "web", td(39), ecstypes.DeploymentRolloutStateInProgress, "")
		}, contract.StatusFailed, contract.CauseChangedOutside},
		{"changed outside pushdeploy (another revision marked)", contract.PhaseRollout, false, time.Minute, func(w *world) {
			w.ecs.setPrimary("prod", "web", td(39), ecstypes.DeploymentRolloutStateInProgress, "")
			w.markLate(td(38))
		}, contract.StatusFailed, contract.CauseChangedOutside},
		{"changed outside pushdeploy during the bake", contract.PhaseBake, false, 5 * time.Minute, func(w *world) {
			w.ecs.setPrimary("prod", "web", td(39), ecstypes.DeploymentRolloutStateCompleted, "")
		}, contract.StatusFailed, contract.CauseChangedOutside},
		{"changed outside pushdeploy during a rollback", contract.PhaseUndo, false, time.Minute, func(w *world) {
			w.ecs.setPrimary("prod", "web", td(39), ecstypes.DeploymentRolloutStateCompleted, "")
		}, contract.StatusFailed, contract.CauseChangedOutside},
		{"back on the plan's revision, even if marked", contract.PhaseRollout, false, time.Minute, func(w *world) {
			w.ecs.setPrimary("prod", "web", td(40), ecstypes.DeploymentRolloutStateCompleted, "")
			w.markLate(td(40))
		}, contract.StatusFailed, "ecs-rollback"},
		{"lease taken", contract.PhaseRollout, false, time.Minute, func(w *world) { w.supersede() }, contract.StatusSuperseded, "superseded"},
		{"service deleted", contract.PhaseRollout, false, time.Minute, func(w *world) { delete(w.ecs.services, "prod/web") }, contract.StatusFailed, "service-gone"},
		{"bake passed", contract.PhaseBake, true, 10 * time.Minute, func(w *world) {
			w.ecs.setPrimary("prod", "web", td(42), ecstypes.DeploymentRolloutStateCompleted, "")
		}, contract.StatusCompleted, "baked"},
		{"alarm during bake", contract.PhaseBake, false, 5 * time.Minute, func(w *world) {
			w.ecs.setPrimary("prod", "web", td(42), ecstypes.DeploymentRolloutStateCompleted, "")
			alarmed(w)
		}, contract.StatusFailed, "alarm"},
		// DescribeAlarms returns composite alarms only when asked for them.
		{"composite alarm during bake", contract.PhaseBake, false, 5 * time.Minute, func(w *world) {
			w.ecs.setPrimary("prod", "web", td(42), ecstypes.DeploymentRolloutStateCompleted, "")
			w.cw.composites = []cwtypes.CompositeAlarm{{AlarmName: aws.String("web-health"), StateValue: cwtypes.StateValueAlarm,
				StateReason: aws.String("web-5xx transitioned to ALARM"), StateUpdatedTimestamp: aws.Time(w.clk.Now())}}
			w.planEdit = func(p *contract.Plan) { p.Alarms = []string{"web-health"} }
		}, contract.StatusFailed, "alarm"},
		// Names beyond DescribeAlarms' limit of 100 are read in another call.
		{"the 101st alarm during bake", contract.PhaseBake, false, 5 * time.Minute, func(w *world) {
			w.ecs.setPrimary("prod", "web", td(42), ecstypes.DeploymentRolloutStateCompleted, "")
			var names []string
			for i := range 100 {
				names = append(names, fmt.Sprintf("quiet-%03d", i))
			}
			w.cw.alarms = append(w.cw.alarms, cwtypes.MetricAlarm{AlarmName: aws.String("loud"), StateValue: cwtypes.StateValueAlarm,
				StateUpdatedTimestamp: aws.Time(w.clk.Now())})
			w.planEdit = func(p *contract.Plan) { p.Alarms = append(names, "loud") }
		}, contract.StatusFailed, "alarm"},
		{"a rollback execution ignores alarms", contract.PhaseRollout, false, time.Minute, func(w *world) {
			w.ecs.setPrimary("prod", "web", td(42), ecstypes.DeploymentRolloutStateCompleted, "")
			alarmed(w)
			w.planEdit = func(p *contract.Plan) { p.Action = contract.ActionRollback }
		}, contract.StatusCompleted, "completed"},
		{"rollback ignores alarms", contract.PhaseUndo, false, time.Minute, func(w *world) {
			w.ecs.setPrimary("prod", "web", td(42), ecstypes.DeploymentRolloutStateCompleted, "")
			alarmed(w)
		}, contract.StatusCompleted, "completed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			p, u := w.deployed(t)
			w.clk.Advance(tt.advance)
			if tt.setup != nil {
				tt.setup(w)
			}
			if w.planEdit != nil {
				w.planEdit(&p)
			}
			h, _ := NewCheck(CheckDeps{Evaluator: w.evaluator(t), Leases: w.leases, Log: w.log})
			o, err := h.Handle(context.Background(), contract.CheckInput{Phase: tt.phase, Plan: p, Update: u, Since: u.StartedAt, TimedOut: tt.timedOut})
			if err != nil {
				t.Fatal(err)
			}
			if o.Status != tt.status || o.Cause != tt.cause {
				t.Errorf("got %s/%s (%s), want %s/%s", o.Status, o.Cause, o.Reason, tt.status, tt.cause)
			}
			if o.Cause == contract.CauseChangedOutside && o.Reason != "service changed outside pushdeploy to web:39 during the deploy of web:42; pushdeploy left it as it is" {
				t.Errorf("reason %q", o.Reason)
			}
			if !o.CheckedAt.Equal(w.clk.Now()) {
				t.Errorf("checkedAt %s", o.CheckedAt)
			}
			if w.ecs.mutations() != 1 {
				t.Error("check changed the service")
			}
		})
	}
}

func TestEvents(t *testing.T) {
	ecsEvent := contract.Event{Source: "aws.ecs", DetailType: "ECS Deployment State Change", Resources: []string{webArn},
		Detail: []byte(`{"eventType":"INFO","eventName":"SERVICE_DEPLOYMENT_COMPLETED","deploymentId":"ecs-svc/1","updatedAt":"2026-11-22T02:05:00Z","reason":"done"}`)}
	alarmEvent := contract.Event{Source: "aws.cloudwatch", DetailType: "CloudWatch Alarm State Change",
		Detail: []byte(`{"alarmName":"web-5xx","state":{"value":"ALARM","reason":"high","timestamp":"x"},"previousState":{"value":"OK"}}`)}
	okEvent := alarmEvent
	okEvent.Detail = []byte(`{"alarmName":"web-5xx","state":{"value":"OK"}}`)
	waiting := leaseWaiting() // the service runs web:41: ECS rolled back, decided
	tests := []struct {
		name    string
		ev      contract.Event
		lease   coord.State
		sendErr error
		woken   int
		err     string
	}{
		{"ECS event wakes the wait", ecsEvent, waiting, nil, 1, ""},
		{"an event that decides nothing leaves the wait parked", ecsEvent, waiting, nil, 0, ""},
		// Alarms take one path, through dispatch (TestDispatchAlarmWakesTheDeployInFlight).
		{"an alarm is not the events function's", alarmEvent, waiting, nil, 0, "BadInput"},
		{"nor an alarm back to OK", okEvent, waiting, nil, 0, "BadInput"},
		{"nobody waiting", ecsEvent, coord.State{Holder: execArn, Seq: 1, Until: t0.Add(time.Hour)}, nil, 0, ""},
		{"expired lease", ecsEvent, coord.State{Holder: execArn, Seq: 1, Until: t0.Add(-time.Second), Token: "tok1"}, nil, 0, ""},
		{"stale token", ecsEvent, waiting, &apiErr{code: "TaskTimedOut"}, 0, ""},
		{"throttled", ecsEvent, waiting, throttleErr{}, 0, "Throttled"},
		{"unexpected event", contract.Event{Source: "aws.ecr", DetailType: "ECR Image Action", Detail: []byte(`{}`)}, waiting, nil, 0, "BadInput"},
		{"not a service ARN", contract.Event{Source: "aws.ecs", DetailType: "ECS Deployment State Change", Resources: []string{"arn:aws:ecs:us-east-1:1:cluster/x"}, Detail: []byte(`{}`)}, waiting, nil, 0, "BadInput"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			w.leases.state[webArn] = tt.lease
			w.sfn.sendErr = tt.sendErr
			undecided := strings.Contains(tt.name, "decides nothing")
			if undecided {
				w.ecs.setPrimary("prod", "web", td(42), ecstypes.DeploymentRolloutStateInProgress, "")
			}
			h, err := NewEvents(EventsDeps{Evaluator: w.evaluator(t), Leases: w.leases, SFN: w.sfn, Clock: w.clk, Log: w.log})
			if err != nil {
				t.Fatal(err)
			}
			res, err := h.Handle(context.Background(), tt.ev)
			if errName(err) != tt.err {
				t.Fatalf("err %v, want %s", err, tt.err)
			}
			if len(res.Woken) != tt.woken || len(w.sfn.sent) != tt.woken {
				t.Fatalf("woken %v, sent %d, want %d", res.Woken, len(w.sfn.sent), tt.woken)
			}
			if undecided && (res.Parked != 1 || w.leases.state[webArn].Token != "tok1") {
				t.Errorf("res %+v, token %q: want the wait left parked", res, w.leases.state[webArn].Token)
			}
			if tt.woken == 1 {
				// Judged: the wait gets the decided outcome.
				if res.Woken[0] != execArn || !strings.Contains(w.sfn.sent[0].output, `"status":"FAILED"`) || w.leases.state[webArn].Token != "" {
					t.Errorf("woke %v with %s", res.Woken, w.sfn.sent[0].output)
				}
				// A second event finds the token claimed: one wake per wait.
				res2, err := h.Handle(context.Background(), tt.ev)
				if err != nil || len(res2.Woken) != 0 || len(w.sfn.sent) != 1 {
					t.Errorf("second event woke %v (%v)", res2.Woken, err)
				}
			}
		})
	}
}

type apiErr struct{ code string }

func (e *apiErr) Error() string     { return e.code }
func (e *apiErr) ErrorCode() string { return e.code }
func (e *apiErr) ErrorMessage() string {
	return e.code
}
func (e *apiErr) ErrorFault() smithy.ErrorFault { return smithy.FaultClient }
