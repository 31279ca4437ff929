package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
)

// BenchmarkDeployCost compares what one deploy costs with pushdeploy and
// with the usual approach (UpdateService, then the services-stable waiter
// polling DescribeServices every 15 seconds), for rollouts of 2, 10 and 30
// minutes on the virtual clock. pushdeploy's figures must not grow with the
// rollout's length; the waiter's grow linearly.
func BenchmarkDeployCost(b *testing.B) {
	for _, rollout := range []time.Duration{2 * time.Minute, 10 * time.Minute, 30 * time.Minute} {
		b.Run(fmt.Sprintf("pushdeploy/rollout=%s", rollout), func(b *testing.B) {
			var transitions, invokes, calls int
			for i := 0; i < b.N; i++ {
				t, l, c := pushdeployDeploy(b, rollout)
				transitions, invokes, calls = transitions+t, invokes+l, calls+c
			}
			b.ReportMetric(float64(transitions)/float64(b.N), "transitions/deploy")
			b.ReportMetric(float64(invokes)/float64(b.N), "lambda-invokes/deploy")
			b.ReportMetric(float64(calls)/float64(b.N), "api-calls/deploy")
		})
		b.Run(fmt.Sprintf("waiter/rollout=%s", rollout), func(b *testing.B) {
			var calls int
			for i := 0; i < b.N; i++ {
				calls += waiterDeploy(b, rollout)
			}
			b.ReportMetric(0, "transitions/deploy")
			b.ReportMetric(0, "lambda-invokes/deploy")
			b.ReportMetric(float64(calls)/float64(b.N), "api-calls/deploy")
		})
	}
}

// pushdeployDeploy runs one push through pushdeploy and counts state
// transitions, Lambda invocations and AWS API calls made by the deploy
// (the seeding of the world is not counted).
func pushdeployDeploy(b *testing.B, rollout time.Duration) (transitions, invokes, calls int) {
	b.StopTimer()
	w := newWorld(b)
	w.service("prod", "web", map[string]string{"pushdeploy:timeout": "1h"})
	w.Cloud.ECS().Faults().SetRolloutDuration("", rollout)
	return deployCost(b, w)
}

// deployCost pushes once to a world set up by the caller and counts what
// the deploy cost, as pushdeployDeploy describes.
func deployCost(b *testing.B, w *world) (transitions, invokes, calls int) {
	w.Cloud.Log().Reset()
	invokesBefore := w.Cloud.Lambda().Invocations()
	b.StartTimer()
	w.push("latest", "web v1")
	execs := w.wait(1)
	b.StopTimer()
	// Not the deploy's: the push itself and the harness polling for the end.
	calls = w.Cloud.Log().Count("", "") - w.Cloud.Log().Count("sfn", "ListExecutions")
	// The push itself (its blob uploads and PutImage) is not pushdeploy's cost.
	for _, op := range []string{"PutImage", "BatchCheckLayerAvailability", "InitiateLayerUpload", "UploadLayerPart", "CompleteLayerUpload"} {
		calls -= w.Cloud.Log().Count("ecr", op)
	}
	invokes = w.Cloud.Lambda().Invocations() - invokesBefore
	history, err := sfn.NewFromConfig(w.Config).GetExecutionHistory(w.ctx, &sfn.GetExecutionHistoryInput{
		ExecutionArn: execs[0].ExecutionArn, MaxResults: 1000,
	})
	if err != nil {
		b.Fatal(err)
	}
	for _, e := range history.Events {
		if e.Type == sfntypes.HistoryEventTypeTaskStateEntered || e.StateEnteredEventDetails != nil {
			transitions++
		}
	}
	return transitions, invokes, calls
}

// waiterDeploy is the usual approach on the same local cloud: UpdateService,
// then DescribeServices every 15 s until the service is stable, exactly as
// the SDK's ServicesStable waiter decides (one deployment, running ==
// desired), on the virtual clock.
func waiterDeploy(b *testing.B, rollout time.Duration) int {
	b.StopTimer()
	w := newWorld(b)
	w.service("prod", "web", map[string]string{"pushdeploy:repository": "not-followed"})
	w.Cloud.ECS().Faults().SetRolloutDuration("", rollout)
	client := ecs.NewFromConfig(w.Config)
	td, _ := w.running("prod", "web")
	w.Cloud.Log().Reset()
	b.StartTimer()
	if _, err := client.UpdateService(w.ctx, &ecs.UpdateServiceInput{
		Cluster: aws.String("prod"), Service: aws.String("web"), TaskDefinition: aws.String(td), ForceNewDeployment: true,
	}); err != nil {
		b.Fatal(err)
	}
	for {
		if err := w.clock.Sleep(w.ctx, 15*time.Second); err != nil {
			b.Fatal(err)
		}
		out, err := client.DescribeServices(w.ctx, &ecs.DescribeServicesInput{Cluster: aws.String("prod"), Services: []string{"web"}})
		if err != nil {
			b.Fatal(err)
		}
		s := out.Services[0]
		if len(s.Deployments) == 1 && s.RunningCount == s.DesiredCount {
			break
		}
	}
	b.StopTimer()
	return w.Cloud.Log().Count("", "")
}
