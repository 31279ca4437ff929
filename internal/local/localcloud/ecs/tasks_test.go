package ecs_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// A steady service's running count shows as that many RUNNING tasks of its
// task definition, which keep their ARNs; a new deployment's tasks replace them.
func TestListAndDescribeTasks(t *testing.T) {
	e := newEnv(t)
	e.mustCluster("default")
	td := e.register("web", "web:1")
	if _, err := e.client.CreateService(e.ctx(), createInput("web", 2)); err != nil {
		t.Fatal(err)
	}
	e.waitFor("steady", func() bool { return e.service("default", "web").RunningCount == 2 })
	list, err := e.client.ListTasks(e.ctx(), &ecs.ListTasksInput{ServiceName: aws.String("web")})
	if err != nil || len(list.TaskArns) != 2 {
		t.Fatalf("ListTasks = %v, %v", list, err)
	}
	again, _ := e.client.ListTasks(e.ctx(), &ecs.ListTasksInput{})
	if len(again.TaskArns) != 2 || again.TaskArns[0] != list.TaskArns[0] {
		t.Errorf("ListTasks again = %v, want %v", again.TaskArns, list.TaskArns)
	}
	desc, err := e.client.DescribeTasks(e.ctx(), &ecs.DescribeTasksInput{Tasks: append(list.TaskArns, "0123")})
	if err != nil {
		t.Fatal(err)
	}
	if len(desc.Tasks) != 2 || len(desc.Failures) != 1 || aws.ToString(desc.Failures[0].Reason) != "MISSING" {
		t.Fatalf("DescribeTasks = %+v", desc)
	}
	task := desc.Tasks[0]
	if aws.ToString(task.LastStatus) != "RUNNING" || aws.ToString(task.TaskDefinitionArn) != aws.ToString(td.TaskDefinitionArn) ||
		aws.ToString(task.Group) != "service:web" || len(task.Containers) != 1 || aws.ToString(task.Containers[0].Image) != "web:1" {
		t.Errorf("task = %+v", task)
	}
	stopped, _ := e.client.ListTasks(e.ctx(), &ecs.ListTasksInput{DesiredStatus: types.DesiredStatusStopped})
	if len(stopped.TaskArns) != 0 {
		t.Errorf("stopped tasks = %v: none are kept", stopped.TaskArns)
	}
	if _, err := e.client.ListTasks(e.ctx(), &ecs.ListTasksInput{ServiceName: aws.String("nope")}); errCode(err) != "ServiceNotFoundException" {
		t.Errorf("ListTasks of a missing service: %v", err)
	}

	e.register("web", "web:2")
	if _, err := e.client.UpdateService(e.ctx(), &ecs.UpdateServiceInput{Service: aws.String("web"), TaskDefinition: aws.String("web")}); err != nil {
		t.Fatal(err)
	}
	e.waitFor("rolled out", func() bool {
		s := e.service("default", "web")
		return len(s.Deployments) == 1 && s.RunningCount == 2
	})
	list2, _ := e.client.ListTasks(e.ctx(), &ecs.ListTasksInput{ServiceName: aws.String("web")})
	desc2, _ := e.client.DescribeTasks(e.ctx(), &ecs.DescribeTasksInput{Tasks: list2.TaskArns})
	if len(desc2.Tasks) != 2 || aws.ToString(desc2.Tasks[0].Containers[0].Image) != "web:2" || list2.TaskArns[0] == list.TaskArns[0] {
		t.Errorf("after the rollout: %v %+v", list2.TaskArns, desc2.Tasks)
	}
}
