package localrun

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/pushdeploy/pushdeploy/internal/app/clock"
	"github.com/pushdeploy/pushdeploy/internal/app/history"
	lcecr "github.com/pushdeploy/pushdeploy/internal/local/localcloud/ecr"
	"github.com/pushdeploy/pushdeploy/internal/local/localcloud/ecs"
)

// The demo's service: one cluster, one service following repository "web"
// and tag "latest", with one alarm, a four-minute rollout and a five-minute bake.
const (
	DemoCluster  = "demo"
	DemoService  = "web"
	DemoRepo     = "web"
	DemoAlarm    = "web-5xx"
	demoRollout  = 4 * time.Minute
	demoBake     = 5 * time.Minute
	demoBakeTag  = "5m"
	demoTimeout  = "20m"
	demoFirstTag = "v0"
	// An alarm up to 30 minutes after a deploy's bake still rolls it back.
	demoWindowTag = "30m"
)

// Demo runs the main job end to end and tells the story on out: a push
// that deploys, an image whose tasks crash (rolled back by the circuit
// breaker), and a good-looking image whose alarm fires during the bake
// (rolled back by pushdeploy).
func (w *World) Demo(ctx context.Context, out io.Writer) error {
	repoURI, err := w.CreateRepository(ctx, DemoRepo)
	if err != nil {
		return err
	}
	if err := w.CreateAlarm(ctx, DemoAlarm, nil); err != nil {
		return err
	}
	first, err := w.Push(ctx, DemoRepo, demoFirstTag, "web v0")
	if err != nil {
		return err
	}
	serviceARN, err := w.CreateService(ctx, ServiceSpec{
		Cluster: DemoCluster, Name: DemoService, Family: "web",
		Containers: []Container{{Name: "app", Image: repoURI + "@" + first}, {Name: "envoy", Image: "public.ecr.aws/envoy:v1.31"}},
		Tags: map[string]string{
			"pushdeploy:repository": DemoRepo, "pushdeploy:tags": "latest", "pushdeploy:containers": "app",
			"pushdeploy:alarms": DemoAlarm, "pushdeploy:bake": demoBakeTag, "pushdeploy:timeout": demoTimeout,
			"pushdeploy:rollback-window": demoWindowTag,
		},
	})
	if err != nil {
		return err
	}
	w.Cloud.ECS().Faults().SetRolloutDuration("", demoRollout)
	fmt.Fprintf(out, "local cloud at %s; pushdeploy installed from template.yaml (%d functions, %d rules)\n",
		w.URL, len(w.Installed.Functions), len(w.Installed.Rules))
	fmt.Fprintf(out, "service %s/%s follows %s:latest; rollout %s, bake %s, alarm %s\n\n", DemoCluster, DemoService, DemoRepo, demoRollout, demoBake, DemoAlarm)

	steps := []struct {
		title string
		seed  string
		setup func(digest string) error
		// executions the step starts: the deploy, and for an alarm after
		// the bake, the rollback it triggers.
		executions int
	}{
		{"1. push web:latest (a good image)", "web v1", nil, 1},
		{"2. push web:latest whose tasks crash on start", "web v2 crashes", func(digest string) error {
			w.Cloud.ECS().Faults().FailImage(ecs.ImageFault{Image: digest, Mode: ecs.FailToStart, Reason: "Essential container in task exited (exit code 137)"})
			return nil
		}, 1},
		{"3. push web:latest whose 5xx alarm fires two minutes into the bake", "web v3 bad", func(string) error {
			at := w.Clock.Now().Add(demoRollout + 2*time.Minute)
			_, err := w.Cloud.CloudWatch().SetStateAt(ctx, DemoAlarm, string(cwtypes.StateValueAlarm), at)
			return err
		}, 1},
		{"4. push web:latest that passes its bake; its alarm fires ten minutes later", "web v4 slow leak", func(string) error {
			at := w.Clock.Now().Add(demoRollout + demoBake + 10*time.Minute)
			_, err := w.Cloud.CloudWatch().SetStateAt(ctx, DemoAlarm, string(cwtypes.StateValueAlarm), at)
			return err
		}, 2},
	}
	total := 0
	for i, step := range steps {
		fmt.Fprintln(out, step.title)
		digest := lcecr.Digest(lcecr.Manifest(step.seed))
		// An alarm scheduled by the setup must not fire before the push
		// lands: hold a virtual clock across both (it jumps to the next
		// timer whenever nothing holds it).
		release := func() {}
		if v, ok := w.Clock.(*clock.Virtual); ok {
			release = v.Busy()
		}
		if step.setup != nil {
			if err := step.setup(digest); err != nil {
				release()
				return err
			}
		}
		_, err := w.Push(ctx, DemoRepo, "latest", step.seed)
		release()
		if err != nil {
			return err
		}
		total += step.executions
		execs, err := w.WaitIdle(ctx, total)
		if err != nil {
			return err
		}
		records, err := w.History(ctx, serviceARN)
		if err != nil {
			return err
		}
		if len(records) < total {
			return fmt.Errorf("%d history records after step %d, want %d", len(records), i+1, total)
		}
		for j, e := range execs[total-step.executions:] {
			if j > 0 {
				fmt.Fprintf(out, "  then execution %s, started by the alarm:\n", aws.ToString(e.Name))
			}
			if err := w.PrintTimeline(ctx, out, *e.ExecutionArn); err != nil {
				return err
			}
			_, desc, err := w.Output(ctx, *e.ExecutionArn)
			if err != nil {
				return err
			}
			printRecord(out, records[step.executions-1-j], aws.ToTime(desc.StopDate).Sub(aws.ToTime(desc.StartDate)))
		}
		// Put the alarm back to OK so that the next step starts clean.
		if err := w.SetAlarm(ctx, DemoAlarm, cwtypes.StateValueOk); err != nil {
			return err
		}
		fmt.Fprintln(out)
	}
	td, images, err := w.Running(ctx, DemoCluster, DemoService)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "the service runs %s with app=%s\n", td, images["app"])
	return nil
}

// printRecord shows the terminal record. The duration is the execution's,
// on the virtual clock: built functions run as processes on wall-clock time,
// so the record's own finish time is not comparable with its start here.
func printRecord(out io.Writer, r history.Record, took time.Duration) {
	fmt.Fprintf(out, "  outcome %s: %s\n", r.Outcome, short(r.Reason))
	fmt.Fprintf(out, "  revision %s -> %s, %s of virtual time\n", shortRevision(r.FromRevision), shortRevision(r.ToRevision), took.Round(time.Second))
}

func shortRevision(arn string) string {
	for i := len(arn) - 1; i >= 0; i-- {
		if arn[i] == '/' {
			return arn[i+1:]
		}
	}
	return arn
}
