package ecs_test

import (
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// BenchmarkDeploy measures one whole deploy through the SDK over HTTP:
// register a revision, update the service, poll every 5 s of virtual time
// until the two-minute rollout completes.
func BenchmarkDeploy(b *testing.B) {
	e := newEnv(b)
	e.mustCluster("default")
	e.register("web", "web:0")
	if _, err := e.client.CreateService(e.ctx(), createInput("web", 4)); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := range b.N {
		td := e.register("web", fmt.Sprintf("web:%d", i+1))
		if _, err := e.client.UpdateService(e.ctx(), &ecs.UpdateServiceInput{Service: aws.String("web"), TaskDefinition: td.TaskDefinitionArn}); err != nil {
			b.Fatal(err)
		}
		e.waitFor("rollout", func() bool {
			s := e.service("default", "web")
			return len(s.Deployments) == 1 && s.Deployments[0].RolloutState == types.DeploymentRolloutStateCompleted
		})
	}
	b.StopTimer()
	b.ReportMetric(float64(e.server.Log.Count("ecs", ""))/float64(b.N), "calls/op")
}

// BenchmarkDescribeServices is the cost of the call the pipeline makes most.
func BenchmarkDescribeServices(b *testing.B) {
	e := newEnv(b)
	e.mustCluster("default")
	e.register("web", "web:1")
	if _, err := e.client.CreateService(e.ctx(), createInput("web", 4)); err != nil {
		b.Fatal(err)
	}
	in := &ecs.DescribeServicesInput{Services: []string{"web"}}
	b.ResetTimer()
	for range b.N {
		if _, err := e.client.DescribeServices(e.ctx(), in); err != nil {
			b.Fatal(err)
		}
	}
}
