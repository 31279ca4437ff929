package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/pushdeploy/pushdeploy/internal/app/history"
	lcecs "github.com/pushdeploy/pushdeploy/internal/local/localcloud/ecs"
)

// Every ECS deployment strategy end to end (issue 11): the outcome is the
// ECS service deployment; ECS's own rollback is reported with ECS's reason;
// an alarm while ECS's deployment is in progress (a blue/green, linear or
// canary bake included) stops it with StopServiceDeployment ROLLBACK; an
// alarm after it completed deploys the last good revision.

// strategyCase configures a service's strategy. The rollout takes 4
// minutes; the shifting strategies then move traffic (linear: 50% a
// minute; canary: 10% for a minute) and bake 3 minutes with the old
// revision still running, which pushdeploy:bake (5m) composes with: it
// bakes the 2 minutes left after ECS's.
type strategyCase struct {
	strategy ecstypes.DeploymentStrategy
	// inECSBake is a moment after the push inside ECS's deployment: its
	// bake (rolling: its rollout, which has no bake of ECS's here).
	inECSBake time.Duration
}

var strategyCases = []strategyCase{
	{ecstypes.DeploymentStrategyRolling, 2 * time.Minute},
	{ecstypes.DeploymentStrategyBlueGreen, 6 * time.Minute},
	{ecstypes.DeploymentStrategyLinear, 6*time.Minute + 30*time.Second},
	{ecstypes.DeploymentStrategyCanary, 6*time.Minute + 30*time.Second},
}

// strategyService is prod/web following "web" with alarm web-5xx watched by
// pushdeploy, on the given strategy, stable on its first revision.
func (w *world) strategyService(st ecstypes.DeploymentStrategy) (string, string) {
	w.t.Helper()
	if err := w.CreateAlarm(w.ctx, "web-5xx", nil); err != nil {
		w.t.Fatal(err)
	}
	svc := w.service("prod", "web", map[string]string{"pushdeploy:alarms": "web-5xx", "pushdeploy:rollback-window": "30m"})
	cfg := &ecstypes.DeploymentConfiguration{Strategy: st}
	if st != ecstypes.DeploymentStrategyRolling {
		cfg.BakeTimeInMinutes = aws.Int32(3)
		cfg.LinearConfiguration = &ecstypes.LinearConfiguration{StepPercent: aws.Float64(50), StepBakeTimeInMinutes: aws.Int32(1)}
		cfg.CanaryConfiguration = &ecstypes.CanaryConfiguration{CanaryPercent: aws.Float64(10), CanaryBakeTimeInMinutes: aws.Int32(1)}
	}
	if _, err := ecs.NewFromConfig(w.Config).UpdateService(w.ctx, &ecs.UpdateServiceInput{
		Cluster: aws.String("prod"), Service: aws.String("web"), DeploymentConfiguration: cfg}); err != nil {
		w.t.Fatal(err)
	}
	w.Cloud.ECS().Faults().SetRolloutDuration("", 4*time.Minute)
	td, _ := w.running("prod", "web")
	return svc, td
}

// setTag sets one tag on a service.
func setTag(w *world, serviceARN, key, value string) {
	w.t.Helper()
	if _, err := ecs.NewFromConfig(w.Config).TagResource(w.ctx, &ecs.TagResourceInput{ResourceArn: aws.String(serviceARN),
		Tags: []ecstypes.Tag{{Key: aws.String(key), Value: aws.String(value)}}}); err != nil {
		w.t.Fatal(err)
	}
}

// lastServiceDeployment is the service's newest ECS service deployment.
func (w *world) lastServiceDeployment() lcecs.ServiceDeploymentState {
	w.t.Helper()
	sds := w.Cloud.ECS().ServiceDeployments("", "prod", "web")
	if len(sds) == 0 {
		w.t.Fatal("no service deployments")
	}
	return sds[0]
}

func TestStrategies(t *testing.T) {
	for _, tc := range strategyCases {
		t.Run(string(tc.strategy), func(t *testing.T) {
			t.Run("good push succeeds", func(t *testing.T) {
				w := newWorld(t)
				svc, _ := w.strategyService(tc.strategy)
				digest := w.push("latest", "web v1")
				w.wait(1)
				rec := w.expectOutcomes(svc, history.Succeeded)[0]
				if _, images := w.running("prod", "web"); !strings.HasSuffix(images["app"], digest) {
					t.Fatalf("service runs %s", images["app"])
				}
				if sd := w.lastServiceDeployment(); sd.Status != "SUCCESSFUL" || sd.Strategy != string(tc.strategy) || sd.Weight != 100 {
					t.Errorf("ECS's service deployment: %+v", sd)
				}
				wantStrategy := string(tc.strategy)
				if tc.strategy == ecstypes.DeploymentStrategyRolling {
					wantStrategy = ""
				}
				if rec.Strategy != wantStrategy || rec.UndoPath != "" {
					t.Errorf("record strategy %q undo path %q", rec.Strategy, rec.UndoPath)
				}
				// No double bake: pushdeploy bakes what is left of its 5m after ECS's 3m.
				wantBaked := "baked 300s"
				if tc.strategy != ecstypes.DeploymentStrategyRolling {
					wantBaked = "baked 120s"
				}
				if !strings.Contains(rec.Reason, wantBaked) {
					t.Errorf("reason %q, want %q", rec.Reason, wantBaked)
				}
			})
			t.Run("crash loop rolled back by ECS", func(t *testing.T) {
				w := newWorld(t)
				svc, before := w.strategyService(tc.strategy)
				w.Cloud.ECS().Faults().FailImage(lcecs.ImageFault{Image: digestOf("web crash"), Mode: lcecs.FailToStart, ExitCode: 1, Reason: "Essential container in task exited"})
				w.push("latest", "web crash")
				w.wait(1)
				rec := w.expectOutcomes(svc, history.RolledBack)[0]
				// ECS's reason, from the service deployment's details.
				if !strings.Contains(rec.Reason, "circuit breaker: task failed to start.") || !strings.Contains(rec.Reason, "threshold 3") {
					t.Errorf("reason %q does not carry ECS's circuit breaker details", rec.Reason)
				}
				if rec.UndoPath != history.UndoByECS || rec.ToRevision != before {
					t.Errorf("undo path %q, to %s (want %s)", rec.UndoPath, rec.ToRevision, before)
				}
				if td, _ := w.running("prod", "web"); td != before {
					t.Fatalf("service runs %s, want %s", td, before)
				}
				if sd := w.lastServiceDeployment(); sd.Status != "ROLLBACK_SUCCESSFUL" {
					t.Errorf("ECS's service deployment: %+v", sd)
				}
			})
			t.Run("alarm during ECS's deployment stops it", func(t *testing.T) {
				w := newWorld(t)
				svc, before := w.strategyService(tc.strategy)
				if tc.strategy == ecstypes.DeploymentStrategyRolling {
					w.Cloud.ECS().Faults().SetRolloutDuration("", 10*time.Minute)
				}
				alarmAt := w.clock.Now().Add(tc.inECSBake)
				w.alarmAt("ALARM", alarmAt)
				w.push("latest", "web v1")
				w.wait(1)
				rec := w.expectOutcomes(svc, history.RolledBack)[0]
				if !strings.Contains(rec.Reason, "web-5xx") || !strings.Contains(rec.Reason, "StopServiceDeployment") {
					t.Errorf("reason %q", rec.Reason)
				}
				if rec.UndoPath != history.UndoStopped {
					t.Errorf("undo path %q, want %q", rec.UndoPath, history.UndoStopped)
				}
				if td, _ := w.running("prod", "web"); td != before {
					t.Fatalf("service runs %s, want %s", td, before)
				}
				sd := w.lastServiceDeployment()
				if sd.Status != "ROLLBACK_SUCCESSFUL" || !strings.Contains(sd.RollbackReason, "stop request") {
					t.Errorf("ECS's service deployment: %+v", sd)
				}
				if tc.strategy != ecstypes.DeploymentStrategyRolling {
					// Traffic went back to the running blue tasks: the
					// rollback's completion event ended the wait a tick or
					// two later (a new deployment of the old revision would
					// take its 4-minute rollout and 3-minute bake).
					if took := rec.FinishedAt.Sub(alarmAt); took > 2*time.Minute {
						t.Errorf("rolled back %s after the alarm, want within two minutes", took)
					}
				}
			})
			t.Run("timeout during ECS's deployment stops it", func(t *testing.T) {
				w := newWorld(t)
				svc, before := w.strategyService(tc.strategy)
				setTag(w, svc, "pushdeploy:timeout", "2m")
				// The deploy's rollout is slow; the rollback's (rolling: a
				// deployment of the old revision, started after the timeout)
				// is not.
				w.Cloud.ECS().Faults().SetRolloutDuration("", time.Hour)
				w.holdClock()
				w.clock.AfterFunc(time.Minute, func() { w.Cloud.ECS().Faults().SetRolloutDuration("", time.Minute) })
				w.push("latest", "web v1")
				w.wait(1)
				rec := w.expectOutcomes(svc, history.RolledBack)[0]
				if !strings.Contains(rec.Reason, "did not complete") || rec.UndoPath != history.UndoStopped {
					t.Errorf("reason %q, undo path %q", rec.Reason, rec.UndoPath)
				}
				if td, _ := w.running("prod", "web"); td != before {
					t.Fatalf("service runs %s, want %s", td, before)
				}
			})
			t.Run("alarm after completion deploys the last good revision", func(t *testing.T) {
				w := newWorld(t)
				svc, first := w.strategyService(tc.strategy)
				w.alarmAt("ALARM", w.clock.Now().Add(15*time.Minute))
				w.push("latest", "web v1")
				w.wait(2)
				recs := w.expectOutcomes(svc, history.Succeeded, history.RolledBack)
				if recs[0].Trigger != "alarm" || recs[0].ToRevision != first {
					t.Errorf("rollback: trigger %q to %s, want alarm to %s", recs[0].Trigger, recs[0].ToRevision, first)
				}
				if td, _ := w.running("prod", "web"); td != first {
					t.Fatalf("service runs %s, want %s", td, first)
				}
			})
		})
	}
}

// TestCodeDeployServiceRefused: a service that CodeDeploy deploys is
// refused with UnsupportedDeploymentController and left as it was.
func TestCodeDeployServiceRefused(t *testing.T) {
	for _, ctl := range []ecstypes.DeploymentControllerType{ecstypes.DeploymentControllerTypeCodeDeploy, ecstypes.DeploymentControllerTypeExternal} {
		t.Run(string(ctl), func(t *testing.T) {
			w := newWorld(t)
			first := w.push("base", "web v0")
			client := ecs.NewFromConfig(w.Config)
			if _, err := client.CreateCluster(w.ctx, &ecs.CreateClusterInput{ClusterName: aws.String("prod")}); err != nil {
				t.Fatal(err)
			}
			td, err := client.RegisterTaskDefinition(w.ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("web"),
				ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("app"), Image: aws.String(w.repo + "@" + first), Memory: aws.Int32(256)}}})
			if err != nil {
				t.Fatal(err)
			}
			out, err := client.CreateService(w.ctx, &ecs.CreateServiceInput{Cluster: aws.String("prod"), ServiceName: aws.String("web"),
				TaskDefinition: td.TaskDefinition.TaskDefinitionArn, DesiredCount: aws.Int32(2),
				DeploymentController: &ecstypes.DeploymentController{Type: ctl},
				Tags:                 []ecstypes.Tag{{Key: aws.String("pushdeploy:repository"), Value: aws.String("web")}, {Key: aws.String("pushdeploy:tags"), Value: aws.String("latest")}}})
			if err != nil {
				t.Fatal(err)
			}
			svc := aws.ToString(out.Service.ServiceArn)
			w.push("latest", "web v1")
			w.wait(1)
			rec := w.expectOutcomes(svc, history.Failed)[0]
			if !strings.Contains(rec.Reason, "UnsupportedDeploymentController") || !strings.Contains(rec.Reason, string(ctl)) {
				t.Errorf("reason %q does not name the error and the controller", rec.Reason)
			}
			if now, _ := w.running("prod", "web"); now != aws.ToString(td.TaskDefinition.TaskDefinitionArn) {
				t.Errorf("service moved to %s", now)
			}
			list, err := client.ListTaskDefinitions(w.ctx, &ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String("web")})
			if err != nil || len(list.TaskDefinitionArns) != 1 {
				t.Errorf("task definitions %v %v: nothing may be registered", list.TaskDefinitionArns, err)
			}
		})
	}
}

// BenchmarkStrategyCost is what one good push costs under each strategy
// (4-minute rollout; the shifting strategies' traffic steps and 3-minute
// ECS bake; pushdeploy:bake 5m), and how long it takes on the virtual
// clock: the cost must stay flat while the strategies' durations differ.
func BenchmarkStrategyCost(b *testing.B) {
	for _, tc := range strategyCases {
		b.Run(string(tc.strategy), func(b *testing.B) {
			var states, invocations, calls int
			var took time.Duration
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				w := newWorld(b)
				w.strategyService(tc.strategy)
				settle(b, w)
				start := w.clock.Now()
				c := measureDeploy(b, w)
				states, invocations, calls = states+c.states, invocations+c.invocations, calls+c.calls
				took += w.clock.Now().Sub(start)
			}
			b.ReportMetric(float64(states)/float64(b.N), "states/deploy")
			b.ReportMetric(float64(invocations)/float64(b.N), "invocations/deploy")
			b.ReportMetric(float64(calls)/float64(b.N), "function-calls/deploy")
			b.ReportMetric(took.Minutes()/float64(b.N), "virtual-min/deploy")
		})
	}
}
