package ecs_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// richTaskDefinition uses most of what RegisterTaskDefinition accepts, and
// a member no SDK knows yet, to prove that nothing is dropped.
const richTaskDefinition = `{
  "family": "web",
  "taskRoleArn": "arn:aws:iam::123456789012:role/web-task",
  "executionRoleArn": "arn:aws:iam::123456789012:role/web-exec",
  "networkMode": "awsvpc",
  "requiresCompatibilities": ["FARGATE"],
  "cpu": "512",
  "memory": "1024",
  "runtimePlatform": {"cpuArchitecture": "ARM64", "operatingSystemFamily": "LINUX"},
  "ephemeralStorage": {"sizeInGiB": 30},
  "pidMode": "task",
  "volumes": [{"name": "scratch", "host": {}}],
  "placementConstraints": [],
  "proxyConfiguration": {"type": "APPMESH", "containerName": "envoy", "properties": [{"name": "IgnoredUID", "value": "1337"}]},
  "containerDefinitions": [
    {
      "name": "app",
      "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/web@sha256:aaaa",
      "cpu": 256,
      "memoryReservation": 512,
      "essential": true,
      "portMappings": [{"containerPort": 8080, "protocol": "tcp", "name": "http", "appProtocol": "http"}],
      "environment": [{"name": "MODE", "value": "prod"}],
      "secrets": [{"name": "DB", "valueFrom": "arn:aws:secretsmanager:us-east-1:123456789012:secret:db"}],
      "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/web", "awslogs-region": "us-east-1", "awslogs-stream-prefix": "app"}},
      "healthCheck": {"command": ["CMD-SHELL", "curl -f http://localhost:8080/ || exit 1"], "interval": 30, "timeout": 5, "retries": 3, "startPeriod": 10},
      "dependsOn": [{"containerName": "envoy", "condition": "HEALTHY"}],
      "ulimits": [{"name": "nofile", "softLimit": 65536, "hardLimit": 65536}],
      "dockerLabels": {"team": "web"},
      "readonlyRootFilesystem": true,
      "stopTimeout": 60,
      "linuxParameters": {"initProcessEnabled": true},
      "mountPoints": [{"sourceVolume": "scratch", "containerPath": "/tmp", "readOnly": false}],
      "restartPolicy": {"enabled": true, "restartAttemptPeriod": 60},
      "futureContainerField": {"anything": [1, 2, 3]}
    },
    {
      "name": "envoy",
      "image": "public.ecr.aws/appmesh/aws-appmesh-envoy:v1.29",
      "essential": true,
      "memoryReservation": 128,
      "user": "1337"
    }
  ],
  "futureTaskField": "kept",
  "tags": [{"key": "pushdeploy:repository", "value": "web"}]
}`

func unmarshalMap(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	return m
}

func TestRegisterKeepsEveryFieldAndAddsWhatECSAdds(t *testing.T) {
	e := newEnv(t)
	status, body := e.raw("RegisterTaskDefinition", richTaskDefinition)
	if status != http.StatusOK {
		t.Fatalf("register: %d %s", status, body)
	}
	status, body = e.raw("DescribeTaskDefinition", `{"taskDefinition":"web:1","include":["TAGS"]}`)
	if status != http.StatusOK {
		t.Fatalf("describe: %d %s", status, body)
	}
	out := unmarshalMap(t, body)
	got := out["taskDefinition"].(map[string]any)
	sent := unmarshalMap(t, []byte(richTaskDefinition))
	delete(sent, "tags")
	for k, v := range sent {
		if k == "containerDefinitions" {
			continue
		}
		if diff := cmp.Diff(v, got[k]); diff != "" {
			t.Errorf("member %s changed (-sent +described):\n%s", k, diff)
		}
	}
	sentC := sent["containerDefinitions"].([]any)
	gotC := got["containerDefinitions"].([]any)
	for i := range sentC {
		for k, v := range sentC[i].(map[string]any) {
			if diff := cmp.Diff(v, gotC[i].(map[string]any)[k]); diff != "" {
				t.Errorf("container %d member %s changed:\n%s", i, k, diff)
			}
		}
	}
	// What ECS adds to a stored container definition left without them.
	envoy := gotC[1].(map[string]any)
	for k, want := range map[string]any{"cpu": 0.0, "portMappings": []any{}, "environment": []any{}, "mountPoints": []any{}, "volumesFrom": []any{}} {
		if diff := cmp.Diff(want, envoy[k]); diff != "" {
			t.Errorf("envoy default %s: %s", k, diff)
		}
	}
	if _, ok := got["tags"]; ok {
		t.Error("tags are stored in the task definition object; ECS returns them beside it")
	}
	if diff := cmp.Diff([]any{map[string]any{"key": "pushdeploy:repository", "value": "web"}}, out["tags"]); diff != "" {
		t.Errorf("tags: %s", diff)
	}
	want := map[string]any{
		"taskDefinitionArn": "arn:aws:ecs:us-east-1:123456789012:task-definition/web:1",
		"revision":          1.0,
		"status":            "ACTIVE",
		"registeredBy":      "arn:aws:iam::123456789012:root",
		"compatibilities":   []any{"EC2", "FARGATE"},
		"registeredAt":      float64(start.Unix()),
	}
	for k, v := range want {
		if diff := cmp.Diff(v, got[k]); diff != "" {
			t.Errorf("%s: %s", k, diff)
		}
	}
	var attrs []string
	for _, a := range got["requiresAttributes"].([]any) {
		attrs = append(attrs, a.(map[string]any)["name"].(string))
	}
	for _, want := range []string{"com.amazonaws.ecs.capability.ecr-auth", "ecs.capability.execution-role-ecr-pull",
		"com.amazonaws.ecs.capability.logging-driver.awslogs", "ecs.capability.execution-role-awslogs",
		"com.amazonaws.ecs.capability.task-iam-role", "ecs.capability.task-eni", "ecs.capability.container-health-check",
		"ecs.capability.secrets.asm.environment-variables"} {
		if !contains(attrs, want) {
			t.Errorf("requiresAttributes %v lacks %s", attrs, want)
		}
	}
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// TestCopyThroughTheSDK is what pushdeploy does: describe a revision, copy
// every field the API accepts back into a new registration, change the
// image. The copy must equal the original but for the image.
func TestCopyThroughTheSDK(t *testing.T) {
	e := newEnv(t)
	if status, body := e.raw("RegisterTaskDefinition", richTaskDefinition); status != http.StatusOK {
		t.Fatalf("register: %s", body)
	}
	d, err := e.client.DescribeTaskDefinition(e.ctx(), &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("web"), Include: []types.TaskDefinitionField{types.TaskDefinitionFieldTags}})
	if err != nil {
		t.Fatal(err)
	}
	td := d.TaskDefinition
	containers := append([]types.ContainerDefinition(nil), td.ContainerDefinitions...)
	containers[0].Image = aws.String("123456789012.dkr.ecr.us-east-1.amazonaws.com/web@sha256:bbbb")
	reg, err := e.client.RegisterTaskDefinition(e.ctx(), &ecs.RegisterTaskDefinitionInput{
		Family: td.Family, ContainerDefinitions: containers, Cpu: td.Cpu, Memory: td.Memory,
		EphemeralStorage: td.EphemeralStorage, ExecutionRoleArn: td.ExecutionRoleArn, TaskRoleArn: td.TaskRoleArn,
		NetworkMode: td.NetworkMode, PidMode: td.PidMode, PlacementConstraints: td.PlacementConstraints,
		ProxyConfiguration: td.ProxyConfiguration, RequiresCompatibilities: td.RequiresCompatibilities,
		RuntimePlatform: td.RuntimePlatform, Volumes: td.Volumes, Tags: d.Tags,
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToInt32(&reg.TaskDefinition.Revision); got != 2 {
		t.Fatalf("revision %d, want 2", got)
	}
	ignore := cmpopts.IgnoreFields(types.TaskDefinition{}, "TaskDefinitionArn", "Revision", "RegisteredAt")
	want := *td
	want.ContainerDefinitions = containers
	if diff := cmp.Diff(want, *reg.TaskDefinition, ignore, cmpopts.IgnoreUnexported(types.TaskDefinition{}, types.ContainerDefinition{},
		types.PortMapping{}, types.KeyValuePair{}, types.Secret{}, types.LogConfiguration{}, types.HealthCheck{},
		types.ContainerDependency{}, types.Ulimit{}, types.LinuxParameters{}, types.MountPoint{}, types.ContainerRestartPolicy{},
		types.Attribute{}, types.Volume{}, types.HostVolumeProperties{}, types.ProxyConfiguration{}, types.RuntimePlatform{},
		types.EphemeralStorage{})); diff != "" {
		t.Errorf("copy differs (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(d.Tags, reg.Tags, cmpopts.IgnoreUnexported(types.Tag{})); diff != "" {
		t.Errorf("tags: %s", diff)
	}
}

func TestRegisterValidation(t *testing.T) {
	const c = `{"name":"app","image":"web:1","memory":128}`
	tests := []struct {
		name, body, want, message string
	}{
		{"no family", `{"containerDefinitions":[` + c + `]}`, "ClientException", "Family"},
		{"bad family", `{"family":"a b","containerDefinitions":[` + c + `]}`, "ClientException", "invalid characters"},
		{"no containers", `{"family":"web"}`, "ClientException", "Container list cannot be empty."},
		{"empty containers", `{"family":"web","containerDefinitions":[]}`, "ClientException", "Container list cannot be empty."},
		{"no name", `{"family":"web","containerDefinitions":[{"image":"x","memory":1}]}`, "ClientException", "Container.name"},
		{"no image", `{"family":"web","containerDefinitions":[{"name":"x","memory":1}]}`, "ClientException", "Container.image"},
		{"duplicate", `{"family":"web","containerDefinitions":[` + c + `,` + c + `]}`, "ClientException", "Duplicate container names"},
		{"no memory", `{"family":"web","containerDefinitions":[{"name":"x","image":"y"}]}`, "ClientException", "At least one of 'memory' or 'memoryReservation'"},
		{"none essential", `{"family":"web","containerDefinitions":[{"name":"x","image":"y","memory":1,"essential":false}]}`, "ClientException", "essential"},
		{"fargate bridge", `{"family":"web","requiresCompatibilities":["FARGATE"],"cpu":"256","memory":"512","containerDefinitions":[` + c + `]}`, "ClientException", "awsvpc"},
		{"fargate no cpu", `{"family":"web","requiresCompatibilities":["FARGATE"],"networkMode":"awsvpc","memory":"512","containerDefinitions":[` + c + `]}`, "ClientException", "'cpu'"},
		{"bad network mode", `{"family":"web","networkMode":"overlay","containerDefinitions":[` + c + `]}`, "ClientException", "overlay"},
		{"reserved tag", `{"family":"web","containerDefinitions":[` + c + `],"tags":[{"key":"aws:x","value":"y"}]}`, "InvalidParameterException", "aws:"},
		{"not json", `{"family":`, "SerializationException", ""},
		{"ok", `{"family":"web","containerDefinitions":[` + c + `]}`, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			status, body := e.raw("RegisterTaskDefinition", tt.body)
			if got := rawType(body); got != tt.want {
				t.Fatalf("error %q (status %d, %s), want %q", got, status, body, tt.want)
			}
			if tt.want != "" && (status != 400 || !strings.Contains(string(body), tt.message)) {
				t.Errorf("status %d body %s, want 400 mentioning %q", status, body, tt.message)
			}
		})
	}
}

func TestDescribeTaskDefinitionReferences(t *testing.T) {
	e := newEnv(t)
	for i := 1; i <= 3; i++ {
		e.register("web", fmt.Sprintf("web:%d", i))
	}
	arn2 := "arn:aws:ecs:us-east-1:123456789012:task-definition/web:2"
	if _, err := e.client.DeregisterTaskDefinition(e.ctx(), &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String("web:3")}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		ref      string
		revision int32
		status   types.TaskDefinitionStatus
		err      string
	}{
		{"web", 2, types.TaskDefinitionStatusActive, ""}, // the latest ACTIVE, not the INACTIVE 3
		{"web:1", 1, types.TaskDefinitionStatusActive, ""},
		{"web:3", 3, types.TaskDefinitionStatusInactive, ""},
		{arn2, 2, types.TaskDefinitionStatusActive, ""},
		{"web:4", 0, "", "ClientException"},
		{"web:0", 0, "", "ClientException"},
		{"api", 0, "", "ClientException"},
		{"arn:aws:ecs:us-east-1:123456789012:task-definition/web", 0, "", "ClientException"},
		{"arn:aws:ecs:eu-west-1:123456789012:task-definition/web:1", 0, "", "ClientException"},
	}
	for _, tt := range tests {
		out, err := e.client.DescribeTaskDefinition(e.ctx(), &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(tt.ref)})
		if got := errCode(err); got != tt.err {
			t.Errorf("%s: error %q, want %q", tt.ref, got, tt.err)
			continue
		}
		if err != nil {
			continue
		}
		if out.TaskDefinition.Revision != tt.revision || out.TaskDefinition.Status != tt.status {
			t.Errorf("%s: revision %d %s, want %d %s", tt.ref, out.TaskDefinition.Revision, out.TaskDefinition.Status, tt.revision, tt.status)
		}
		if out.Tags != nil {
			t.Errorf("%s: tags %v without include TAGS", tt.ref, out.Tags)
		}
	}
	out, err := e.client.DescribeTaskDefinition(e.ctx(), &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("web:3")})
	if err != nil || out.TaskDefinition.DeregisteredAt == nil {
		t.Errorf("deregistered revision lacks deregisteredAt: %v", err)
	}
}

func TestListTaskDefinitionsAndFamilies(t *testing.T) {
	e := newEnv(t)
	for _, f := range []string{"web", "web", "web", "web-worker", "web-worker", "api"} {
		e.register(f, f+":latest")
	}
	if _, err := e.client.DeregisterTaskDefinition(e.ctx(), &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String("web:2")}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.DeregisterTaskDefinition(e.ctx(), &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String("api:1")}); err != nil {
		t.Fatal(err)
	}
	arn := func(s string) string { return "arn:aws:ecs:us-east-1:123456789012:task-definition/" + s }
	list := func(in ecs.ListTaskDefinitionsInput) []string {
		t.Helper()
		var out []string
		pages := ecs.NewListTaskDefinitionsPaginator(e.client, &in)
		for pages.HasMorePages() {
			p, err := pages.NextPage(e.ctx())
			if err != nil {
				t.Fatal(err)
			}
			if in.MaxResults != nil && len(p.TaskDefinitionArns) > int(*in.MaxResults) {
				t.Fatalf("page of %d > maxResults %d", len(p.TaskDefinitionArns), *in.MaxResults)
			}
			out = append(out, p.TaskDefinitionArns...)
		}
		return out
	}
	tests := []struct {
		name string
		in   ecs.ListTaskDefinitionsInput
		want []string
	}{
		{"all active", ecs.ListTaskDefinitionsInput{}, []string{arn("web:1"), arn("web:3"), arn("web-worker:1"), arn("web-worker:2")}},
		{"paged", ecs.ListTaskDefinitionsInput{MaxResults: aws.Int32(1)}, []string{arn("web:1"), arn("web:3"), arn("web-worker:1"), arn("web-worker:2")}},
		{"one family, not a prefix", ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String("web")}, []string{arn("web:1"), arn("web:3")}},
		{"desc", ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String("web"), Sort: types.SortOrderDesc}, []string{arn("web:3"), arn("web:1")}},
		{"inactive", ecs.ListTaskDefinitionsInput{Status: types.TaskDefinitionStatusInactive}, []string{arn("api:1"), arn("web:2")}},
	}
	for _, tt := range tests {
		got := list(tt.in)
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}

	fams := func(in ecs.ListTaskDefinitionFamiliesInput) []string {
		t.Helper()
		var out []string
		pages := ecs.NewListTaskDefinitionFamiliesPaginator(e.client, &in)
		for pages.HasMorePages() {
			p, err := pages.NextPage(e.ctx())
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, p.Families...)
		}
		return out
	}
	famTests := []struct {
		in   ecs.ListTaskDefinitionFamiliesInput
		want []string
	}{
		{ecs.ListTaskDefinitionFamiliesInput{}, []string{"web", "web-worker"}},
		{ecs.ListTaskDefinitionFamiliesInput{FamilyPrefix: aws.String("web")}, []string{"web", "web-worker"}},
		{ecs.ListTaskDefinitionFamiliesInput{FamilyPrefix: aws.String("web-")}, []string{"web-worker"}},
		{ecs.ListTaskDefinitionFamiliesInput{Status: types.TaskDefinitionFamilyStatusInactive}, []string{"api"}},
		{ecs.ListTaskDefinitionFamiliesInput{Status: types.TaskDefinitionFamilyStatusAll, MaxResults: aws.Int32(2)}, []string{"api", "web", "web-worker"}},
	}
	for _, tt := range famTests {
		if diff := cmp.Diff(tt.want, fams(tt.in)); diff != "" {
			t.Errorf("families %+v (-want +got):\n%s", tt.in, diff)
		}
	}

	_, err := e.client.ListTaskDefinitions(e.ctx(), &ecs.ListTaskDefinitionsInput{NextToken: aws.String("garbage")})
	if errCode(err) != "InvalidParameterException" {
		t.Errorf("bad token: %v", err)
	}
	_, err = e.client.ListTaskDefinitions(e.ctx(), &ecs.ListTaskDefinitionsInput{MaxResults: aws.Int32(101)})
	if errCode(err) != "InvalidParameterException" {
		t.Errorf("maxResults 101: %v", err)
	}
}

func TestDeregisterAndDeleteTaskDefinitions(t *testing.T) {
	e := newEnv(t)
	e.register("web", "web:1")
	e.register("web", "web:2")
	for _, ref := range []string{"web", "web:9"} {
		if _, err := e.client.DeregisterTaskDefinition(e.ctx(), &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String(ref)}); errCode(err) != "ClientException" {
			t.Errorf("deregister %s: %v, want ClientException", ref, err)
		}
	}
	out, err := e.client.DeregisterTaskDefinition(e.ctx(), &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String("web:1")})
	if err != nil || out.TaskDefinition.Status != types.TaskDefinitionStatusInactive {
		t.Fatalf("deregister: %v %+v", err, out)
	}
	del, err := e.client.DeleteTaskDefinitions(e.ctx(), &ecs.DeleteTaskDefinitionsInput{TaskDefinitions: []string{"web:1", "web:2", "web:7"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(del.TaskDefinitions) != 1 || del.TaskDefinitions[0].Status != types.TaskDefinitionStatusDeleteInProgress || del.TaskDefinitions[0].Revision != 1 {
		t.Errorf("deleted %+v", del.TaskDefinitions)
	}
	var reasons []string
	for _, f := range del.Failures {
		reasons = append(reasons, aws.ToString(f.Reason))
	}
	if diff := cmp.Diff([]string{"TASK_DEFINITION_ACTIVE", "TASK_DEFINITION_NOT_FOUND"}, reasons); diff != "" {
		t.Errorf("failures: %s", diff)
	}
	list, err := e.client.ListTaskDefinitions(e.ctx(), &ecs.ListTaskDefinitionsInput{Status: types.TaskDefinitionStatusInactive})
	if err != nil || len(list.TaskDefinitionArns) != 0 {
		t.Errorf("inactive list after delete: %v %v", list.TaskDefinitionArns, err)
	}
	if !reflect.DeepEqual(e.ecs.TaggedResources(e.ctx())[0].Type, "ecs:task-definition") {
		t.Errorf("tagged resources: %+v", e.ecs.TaggedResources(e.ctx()))
	}
}
