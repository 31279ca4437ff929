package ecs_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
)

// TestConcurrentCalls mixes writes and reads of the same task definitions
// and service while rollouts tick, for the race detector (-race).
func TestConcurrentCalls(t *testing.T) {
	e := newEnv(t)
	e.mustCluster("default")
	for i := range 16 {
		e.register("web", fmt.Sprintf("web:%d", i))
	}
	if _, err := e.client.CreateService(e.ctx(), createInput("web", 3)); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 15 {
				var err error
				switch w {
				case 0:
					td := e.register("web", fmt.Sprintf("web:%d", i+100))
					_, err = e.client.UpdateService(e.ctx(), &ecs.UpdateServiceInput{Service: aws.String("web"), TaskDefinition: td.TaskDefinitionArn})
				case 1:
					_, err = e.client.DeregisterTaskDefinition(e.ctx(), &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String(fmt.Sprintf("web:%d", i+1))})
				case 2:
					_, err = e.client.DescribeTaskDefinition(e.ctx(), &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(fmt.Sprintf("web:%d", i+1))})
				case 3:
					_, err = e.client.DescribeServices(e.ctx(), &ecs.DescribeServicesInput{Services: []string{"web"}})
					e.ecs.TaggedResources(e.ctx())
				}
				if err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
