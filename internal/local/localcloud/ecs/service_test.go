package ecs_test

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"

	"github.com/pushdeploy/pushdeploy/internal/local/localcloud"
)

func TestClusters(t *testing.T) {
	e := newEnv(t)
	for _, n := range []string{"a", "b", "c", "d", "e"} {
		e.mustCluster(n)
	}
	again, err := e.client.CreateCluster(e.ctx(), &ecs.CreateClusterInput{ClusterName: aws.String("a"), Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}})
	if err != nil || aws.ToString(again.Cluster.ClusterArn) != "arn:aws:ecs:us-east-1:123456789012:cluster/a" {
		t.Fatalf("create again: %v %+v", err, again)
	}
	var arns []string
	pages := ecs.NewListClustersPaginator(e.client, &ecs.ListClustersInput{MaxResults: aws.Int32(2)})
	for pages.HasMorePages() {
		p, err := pages.NextPage(e.ctx())
		if err != nil {
			t.Fatal(err)
		}
		arns = append(arns, p.ClusterArns...)
	}
	if len(arns) != 5 || !sort.StringsAreSorted(arns) {
		t.Errorf("listed %v", arns)
	}
	d, err := e.client.DescribeClusters(e.ctx(), &ecs.DescribeClustersInput{Clusters: []string{"a", "arn:aws:ecs:us-east-1:123456789012:cluster/b", "zzz"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Clusters) != 2 || len(d.Failures) != 1 || aws.ToString(d.Failures[0].Reason) != "MISSING" ||
		aws.ToString(d.Failures[0].Arn) != "arn:aws:ecs:us-east-1:123456789012:cluster/zzz" {
		t.Errorf("describe: %+v %+v", d.Clusters, d.Failures)
	}

	e.register("web", "web:1")
	if _, err := e.client.CreateService(e.ctx(), &ecs.CreateServiceInput{Cluster: aws.String("a"), ServiceName: aws.String("web"), TaskDefinition: aws.String("web")}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.DeleteCluster(e.ctx(), &ecs.DeleteClusterInput{Cluster: aws.String("a")}); errCode(err) != "ClusterContainsServicesException" {
		t.Errorf("delete busy cluster: %v", err)
	}
	if _, err := e.client.DeleteCluster(e.ctx(), &ecs.DeleteClusterInput{Cluster: aws.String("b")}); err != nil {
		t.Fatal(err)
	}
	d, _ = e.client.DescribeClusters(e.ctx(), &ecs.DescribeClustersInput{Clusters: []string{"a", "b"}, Include: []types.ClusterField{types.ClusterFieldTags}})
	if aws.ToString(d.Clusters[1].Status) != "INACTIVE" || d.Clusters[0].ActiveServicesCount != 1 || len(d.Clusters[0].Tags) != 0 {
		t.Errorf("after delete: %+v", d.Clusters)
	}
	if _, err := e.client.DeleteCluster(e.ctx(), &ecs.DeleteClusterInput{Cluster: aws.String("b")}); errCode(err) != "ClusterNotFoundException" {
		t.Errorf("delete twice: %v", err)
	}
	if _, err := e.client.CreateService(e.ctx(), &ecs.CreateServiceInput{Cluster: aws.String("b"), ServiceName: aws.String("x"), TaskDefinition: aws.String("web")}); errCode(err) != "ClusterNotFoundException" {
		t.Errorf("service in inactive cluster: %v", err)
	}
}

func TestServiceErrors(t *testing.T) {
	e := newEnv(t)
	e.mustCluster("default")
	e.register("web", "web:1")
	e.register("web", "web:2")
	if _, err := e.client.DeregisterTaskDefinition(e.ctx(), &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String("web:2")}); err != nil {
		t.Fatal(err)
	}
	_, err := e.client.RegisterTaskDefinition(e.ctx(), &ecs.RegisterTaskDefinitionInput{Family: aws.String("vpc"), NetworkMode: types.NetworkModeAwsvpc,
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("a"), Image: aws.String("b"), Memory: aws.Int32(1)}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.CreateService(e.ctx(), &ecs.CreateServiceInput{ServiceName: aws.String("web"), TaskDefinition: aws.String("web:1"), DesiredCount: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		call func() error
		want string
	}{
		{"create: no cluster", func() error {
			_, err := e.client.CreateService(e.ctx(), &ecs.CreateServiceInput{Cluster: aws.String("nope"), ServiceName: aws.String("x"), TaskDefinition: aws.String("web")})
			return err
		}, "ClusterNotFoundException"},
		{"create: duplicate", func() error {
			_, err := e.client.CreateService(e.ctx(), &ecs.CreateServiceInput{ServiceName: aws.String("web"), TaskDefinition: aws.String("web")})
			return err
		}, "InvalidParameterException"},
		{"create: unknown task definition", func() error {
			_, err := e.client.CreateService(e.ctx(), &ecs.CreateServiceInput{ServiceName: aws.String("x"), TaskDefinition: aws.String("api")})
			return err
		}, "ClientException"},
		{"create: inactive task definition", func() error {
			_, err := e.client.CreateService(e.ctx(), &ecs.CreateServiceInput{ServiceName: aws.String("x"), TaskDefinition: aws.String("web:2")})
			return err
		}, "ClientException"},
		{"create: awsvpc without network configuration", func() error {
			_, err := e.client.CreateService(e.ctx(), &ecs.CreateServiceInput{ServiceName: aws.String("x"), TaskDefinition: aws.String("vpc")})
			return err
		}, "InvalidParameterException"},
		{"create: fargate on an EC2-only task definition", func() error {
			_, err := e.client.CreateService(e.ctx(), &ecs.CreateServiceInput{ServiceName: aws.String("x"), TaskDefinition: aws.String("web"), LaunchType: types.LaunchTypeFargate})
			return err
		}, "InvalidParameterException"},
		{"create: launch type and capacity providers", func() error {
			_, err := e.client.CreateService(e.ctx(), &ecs.CreateServiceInput{ServiceName: aws.String("x"), TaskDefinition: aws.String("web"), LaunchType: types.LaunchTypeEc2,
				CapacityProviderStrategy: []types.CapacityProviderStrategyItem{{CapacityProvider: aws.String("FARGATE")}}})
			return err
		}, "InvalidParameterException"},
		{"create: bad name", func() error {
			_, err := e.client.CreateService(e.ctx(), &ecs.CreateServiceInput{ServiceName: aws.String("no spaces"), TaskDefinition: aws.String("web")})
			return err
		}, "InvalidParameterException"},
		{"create: negative count", func() error {
			_, err := e.client.CreateService(e.ctx(), &ecs.CreateServiceInput{ServiceName: aws.String("x"), TaskDefinition: aws.String("web"), DesiredCount: aws.Int32(-1)})
			return err
		}, "InvalidParameterException"},
		{"create: alarms enabled without names", func() error {
			_, err := e.client.CreateService(e.ctx(), &ecs.CreateServiceInput{ServiceName: aws.String("x"), TaskDefinition: aws.String("web"),
				DeploymentConfiguration: &types.DeploymentConfiguration{Alarms: &types.DeploymentAlarms{Enable: true, AlarmNames: []string{}}}})
			return err
		}, "InvalidParameterException"},
		{"create: maximumPercent below 100", func() error {
			_, err := e.client.CreateService(e.ctx(), &ecs.CreateServiceInput{ServiceName: aws.String("x"), TaskDefinition: aws.String("web"),
				DeploymentConfiguration: &types.DeploymentConfiguration{MaximumPercent: aws.Int32(50)}})
			return err
		}, "InvalidParameterException"},
		{"update: no service", func() error {
			_, err := e.client.UpdateService(e.ctx(), &ecs.UpdateServiceInput{Service: aws.String("nope"), DesiredCount: aws.Int32(1)})
			return err
		}, "ServiceNotFoundException"},
		{"update: no cluster", func() error {
			_, err := e.client.UpdateService(e.ctx(), &ecs.UpdateServiceInput{Cluster: aws.String("nope"), Service: aws.String("web")})
			return err
		}, "ClusterNotFoundException"},
		{"update: unknown task definition", func() error {
			_, err := e.client.UpdateService(e.ctx(), &ecs.UpdateServiceInput{Service: aws.String("web"), TaskDefinition: aws.String("web:9")})
			return err
		}, "ClientException"},
		{"delete: scaled above 0", func() error {
			_, err := e.client.DeleteService(e.ctx(), &ecs.DeleteServiceInput{Service: aws.String("web")})
			return err
		}, "InvalidParameterException"},
		{"delete: no service", func() error {
			_, err := e.client.DeleteService(e.ctx(), &ecs.DeleteServiceInput{Service: aws.String("nope")})
			return err
		}, "ServiceNotFoundException"},
		{"describe: no cluster", func() error {
			_, err := e.client.DescribeServices(e.ctx(), &ecs.DescribeServicesInput{Cluster: aws.String("nope"), Services: []string{"web"}})
			return err
		}, "ClusterNotFoundException"},
		{"describe: eleven services", func() error {
			_, err := e.client.DescribeServices(e.ctx(), &ecs.DescribeServicesInput{Services: strings.Split("a,b,c,d,e,f,g,h,i,j,k", ",")})
			return err
		}, "InvalidParameterException"},
		{"list: no cluster", func() error {
			_, err := e.client.ListServices(e.ctx(), &ecs.ListServicesInput{Cluster: aws.String("nope")})
			return err
		}, "ClusterNotFoundException"},
	}
	for _, tt := range tests {
		if got := errCode(tt.call()); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestServiceLifecycle(t *testing.T) {
	e := newEnv(t)
	e.mustCluster("prod")
	td := e.register("web", "web:1")
	created, err := e.client.CreateService(e.ctx(), &ecs.CreateServiceInput{
		Cluster: aws.String("prod"), ServiceName: aws.String("web"), TaskDefinition: aws.String("web:1"), DesiredCount: aws.Int32(2),
		LaunchType: types.LaunchTypeEc2, EnableExecuteCommand: true, HealthCheckGracePeriodSeconds: aws.Int32(30),
		PlacementStrategy: []types.PlacementStrategy{{Type: types.PlacementStrategyTypeSpread, Field: aws.String("attribute:ecs.availability-zone")}},
		Tags:              []types.Tag{{Key: aws.String("pushdeploy:repository"), Value: aws.String("web")}},
		DeploymentConfiguration: &types.DeploymentConfiguration{
			DeploymentCircuitBreaker: &types.DeploymentCircuitBreaker{Enable: true, Rollback: true},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	s := created.Service
	if aws.ToString(s.ServiceArn) != "arn:aws:ecs:us-east-1:123456789012:service/prod/web" || aws.ToString(s.Status) != "ACTIVE" ||
		aws.ToString(s.TaskDefinition) != aws.ToString(td.TaskDefinitionArn) || !s.EnableExecuteCommand ||
		aws.ToInt32(s.HealthCheckGracePeriodSeconds) != 30 || len(s.PlacementStrategy) != 1 || s.SchedulingStrategy != types.SchedulingStrategyReplica ||
		s.DeploymentController.Type != types.DeploymentControllerTypeEcs || aws.ToInt32(s.DeploymentConfiguration.MaximumPercent) != 200 ||
		aws.ToInt32(s.DeploymentConfiguration.MinimumHealthyPercent) != 100 || !s.DeploymentConfiguration.DeploymentCircuitBreaker.Rollback {
		t.Errorf("created service: %+v", s)
	}
	e.waitFor("stable", func() bool { return e.service("prod", "web").RunningCount == 2 })

	// Only desiredCount: no new deployment, the service scales.
	up, err := e.client.UpdateService(e.ctx(), &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("web"), DesiredCount: aws.Int32(3)})
	if err != nil || len(up.Service.Deployments) != 1 || up.Service.DesiredCount != 3 {
		t.Fatalf("scale: %v %+v", err, up)
	}
	e.waitFor("scaled", func() bool { return e.service("prod", "web").RunningCount == 3 })
	// The same task definition: no new deployment either.
	up, err = e.client.UpdateService(e.ctx(), &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("web"), TaskDefinition: aws.String("web")})
	if err != nil || len(up.Service.Deployments) != 1 {
		t.Fatalf("same task definition: %v %d deployments", err, len(up.Service.Deployments))
	}
	// forceNewDeployment: a new one; deploymentConfiguration merges member by member.
	up, err = e.client.UpdateService(e.ctx(), &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("web"), ForceNewDeployment: true,
		DeploymentConfiguration: &types.DeploymentConfiguration{Alarms: &types.DeploymentAlarms{AlarmNames: []string{"a"}, Enable: true}}})
	if err != nil || len(up.Service.Deployments) != 2 || !up.Service.DeploymentConfiguration.DeploymentCircuitBreaker.Enable ||
		!up.Service.DeploymentConfiguration.Alarms.Enable {
		t.Fatalf("force: %v %+v", err, up.Service.DeploymentConfiguration)
	}

	d, err := e.client.DescribeServices(e.ctx(), &ecs.DescribeServicesInput{Cluster: aws.String("prod"), Services: []string{"web", "gone"}, Include: []types.ServiceField{types.ServiceFieldTags}})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Services[0].Tags) != 1 || aws.ToString(d.Failures[0].Arn) != "arn:aws:ecs:us-east-1:123456789012:service/prod/gone" || aws.ToString(d.Failures[0].Reason) != "MISSING" {
		t.Errorf("describe with tags and a missing service: %+v %+v", d.Services[0].Tags, d.Failures)
	}
	d, _ = e.client.DescribeServices(e.ctx(), &ecs.DescribeServicesInput{Cluster: aws.String("prod"), Services: []string{"web"}})
	if len(d.Services[0].Tags) != 0 {
		t.Errorf("tags without include TAGS: %v", d.Services[0].Tags)
	}

	// Hold the clock while checking the DRAINING service, or the drain may
	// finish between two calls.
	hold := e.clk.Busy()
	del, err := e.client.DeleteService(e.ctx(), &ecs.DeleteServiceInput{Cluster: aws.String("prod"), Service: aws.String("arn:aws:ecs:us-east-1:123456789012:service/prod/web"), Force: aws.Bool(true)})
	if err != nil || aws.ToString(del.Service.Status) != "DRAINING" || del.Service.DesiredCount != 0 {
		t.Fatalf("delete: %v %+v", err, del)
	}
	if _, err := e.client.UpdateService(e.ctx(), &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("web"), DesiredCount: aws.Int32(1)}); errCode(err) != "ServiceNotActiveException" {
		t.Errorf("update draining: %v", err)
	}
	if _, err := e.client.CreateService(e.ctx(), &ecs.CreateServiceInput{Cluster: aws.String("prod"), ServiceName: aws.String("web"), TaskDefinition: aws.String("web")}); errCode(err) != "InvalidParameterException" {
		t.Errorf("recreate draining: %v", err)
	}
	hold()
	e.waitFor("inactive", func() bool { return aws.ToString(e.service("prod", "web").Status) == "INACTIVE" })
	if s := e.service("prod", "web"); s.RunningCount != 0 {
		t.Errorf("inactive service still runs %d tasks", s.RunningCount)
	}
	if _, err := e.client.UpdateService(e.ctx(), &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("web")}); errCode(err) != "ServiceNotActiveException" {
		t.Errorf("update inactive: %v", err)
	}
	l, err := e.client.ListServices(e.ctx(), &ecs.ListServicesInput{Cluster: aws.String("prod")})
	if err != nil || len(l.ServiceArns) != 0 {
		t.Errorf("inactive service listed: %v %v", l.ServiceArns, err)
	}
	// An INACTIVE service's name can be used again.
	if _, err := e.client.CreateService(e.ctx(), &ecs.CreateServiceInput{Cluster: aws.String("prod"), ServiceName: aws.String("web"), TaskDefinition: aws.String("web")}); err != nil {
		t.Errorf("recreate inactive: %v", err)
	}
}

func TestListServicesPagination(t *testing.T) {
	e := newEnv(t)
	e.mustCluster("default")
	e.register("web", "web:1")
	var want []string
	for i := range 23 {
		name := fmt.Sprintf("svc-%02d", i)
		lt := types.LaunchTypeEc2
		if i%2 == 1 {
			lt = types.LaunchTypeExternal
		}
		if _, err := e.client.CreateService(e.ctx(), &ecs.CreateServiceInput{ServiceName: aws.String(name), TaskDefinition: aws.String("web"), LaunchType: lt}); err != nil {
			t.Fatal(err)
		}
		want = append(want, "arn:aws:ecs:us-east-1:123456789012:service/default/"+name)
	}
	var got []string
	pages := 0
	p := ecs.NewListServicesPaginator(e.client, &ecs.ListServicesInput{})
	for p.HasMorePages() {
		out, err := p.NextPage(e.ctx())
		if err != nil {
			t.Fatal(err)
		}
		if len(out.ServiceArns) > 10 {
			t.Errorf("page of %d, default maxResults is 10", len(out.ServiceArns))
		}
		pages++
		got = append(got, out.ServiceArns...)
	}
	if diff := cmp.Diff(want, got); diff != "" || pages != 3 {
		t.Errorf("%d pages (-want +got):\n%s", pages, diff)
	}
	out, err := e.client.ListServices(e.ctx(), &ecs.ListServicesInput{LaunchType: types.LaunchTypeExternal, MaxResults: aws.Int32(100)})
	if err != nil || len(out.ServiceArns) != 11 || out.NextToken != nil {
		t.Errorf("EXTERNAL filter: %d %v", len(out.ServiceArns), err)
	}
}

func TestTags(t *testing.T) {
	e := newEnv(t)
	e.mustCluster("default")
	td := e.register("web", "web:1")
	if _, err := e.client.CreateService(e.ctx(), &ecs.CreateServiceInput{ServiceName: aws.String("web"), TaskDefinition: aws.String("web")}); err != nil {
		t.Fatal(err)
	}
	arns := []string{"arn:aws:ecs:us-east-1:123456789012:cluster/default", "arn:aws:ecs:us-east-1:123456789012:service/default/web", aws.ToString(td.TaskDefinitionArn)}
	for _, arn := range arns {
		_, err := e.client.TagResource(e.ctx(), &ecs.TagResourceInput{ResourceArn: aws.String(arn), Tags: []types.Tag{
			{Key: aws.String("pushdeploy:repository"), Value: aws.String("web")}, {Key: aws.String("team"), Value: aws.String("a")}}})
		if err != nil {
			t.Fatalf("tag %s: %v", arn, err)
		}
		if _, err := e.client.UntagResource(e.ctx(), &ecs.UntagResourceInput{ResourceArn: aws.String(arn), TagKeys: []string{"team"}}); err != nil {
			t.Fatalf("untag %s: %v", arn, err)
		}
		out, err := e.client.ListTagsForResource(e.ctx(), &ecs.ListTagsForResourceInput{ResourceArn: aws.String(arn)})
		if err != nil || len(out.Tags) != 1 || aws.ToString(out.Tags[0].Key) != "pushdeploy:repository" {
			t.Errorf("tags of %s: %v %+v", arn, err, out)
		}
	}
	for arn, want := range map[string]string{
		"arn:aws:ecs:us-east-1:123456789012:service/default/nope":     "ServiceNotFoundException",
		"arn:aws:ecs:us-east-1:123456789012:cluster/nope":             "ClusterNotFoundException",
		"arn:aws:ecs:us-east-1:123456789012:task-definition/nope:1":   "ResourceNotFoundException",
		"arn:aws:sqs:us-east-1:123456789012:queue":                    "InvalidParameterException",
		"arn:aws:ecs:us-east-1:123456789012:container-instance/x/abc": "InvalidParameterException",
	} {
		if _, err := e.client.ListTagsForResource(e.ctx(), &ecs.ListTagsForResourceInput{ResourceArn: aws.String(arn)}); errCode(err) != want {
			t.Errorf("%s: %v, want %s", arn, err, want)
		}
	}
	_, err := e.client.TagResource(e.ctx(), &ecs.TagResourceInput{ResourceArn: aws.String(arns[1]), Tags: []types.Tag{{Key: aws.String("aws:x"), Value: aws.String("y")}}})
	if errCode(err) != "InvalidParameterException" {
		t.Errorf("reserved prefix: %v", err)
	}
	got := map[string]string{}
	for _, r := range e.ecs.TaggedResources(e.ctx()) {
		got[r.ARN] = r.Type + " " + r.Tags["pushdeploy:repository"]
	}
	want := map[string]string{arns[0]: "ecs:cluster web", arns[1]: "ecs:service web", arns[2]: "ecs:task-definition web"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("TaggedResources (-want +got):\n%s", diff)
	}
}

func TestUnknownOperationIsNamed(t *testing.T) {
	e := newEnv(t)
	_, err := e.client.RunTask(e.ctx(), &ecs.RunTaskInput{TaskDefinition: aws.String("web")})
	if errCode(err) != "UnknownOperationException" || !strings.Contains(err.Error(), "ecs:RunTask") {
		t.Errorf("RunTask: %v", err)
	}
}

func TestAccessDeniedFault(t *testing.T) {
	e := newEnv(t)
	e.mustCluster("default")
	e.register("web", "web:1")
	for _, n := range []string{"web", "api"} {
		if _, err := e.client.CreateService(e.ctx(), &ecs.CreateServiceInput{ServiceName: aws.String(n), TaskDefinition: aws.String("web")}); err != nil {
			t.Fatal(err)
		}
	}
	e.ecs.Faults().Deny("UpdateService", "web")
	_, err := e.client.UpdateService(e.ctx(), &ecs.UpdateServiceInput{Service: aws.String("web"), DesiredCount: aws.Int32(1)})
	if errCode(err) != "AccessDeniedException" || !strings.Contains(err.Error(), "ecs:UpdateService") {
		t.Errorf("denied update: %v", err)
	}
	if _, err := e.client.UpdateService(e.ctx(), &ecs.UpdateServiceInput{Service: aws.String("api"), DesiredCount: aws.Int32(1)}); err != nil {
		t.Errorf("other service: %v", err)
	}
	e.ecs.Faults().Clear()
	if _, err := e.client.UpdateService(e.ctx(), &ecs.UpdateServiceInput{Service: aws.String("web"), DesiredCount: aws.Int32(1)}); err != nil {
		t.Errorf("after Clear: %v", err)
	}
}

func TestSDKRetriesInjectedThrottling(t *testing.T) {
	e := newEnv(t)
	e.mustCluster("default")
	e.server.Faults.AddThrottle(localcloud.Throttle{Service: "ecs", Operation: "DescribeClusters", Rate: 0.5})
	// Rate 0.5 throttles every second call: the second describe is
	// throttled once and succeeds on the SDK's retry.
	for range 2 {
		out, err := e.client.DescribeClusters(e.ctx(), &ecs.DescribeClustersInput{}, func(o *ecs.Options) {
			o.Retryer = noBackoff(o.Retryer)
		})
		if err != nil || len(out.Clusters) != 1 {
			t.Fatalf("describe with throttling: %v", err)
		}
	}
	if n := e.server.Log.Count("ecs", "DescribeClusters"); n != 3 {
		t.Errorf("%d DescribeClusters calls, want 3 (ok, throttled, retried)", n)
	}
	// Without retries the next throttled call surfaces to the caller.
	_, err := e.client.DescribeClusters(e.ctx(), &ecs.DescribeClustersInput{}, func(o *ecs.Options) { o.RetryMaxAttempts = 1 })
	if errCode(err) != "ThrottlingException" {
		t.Errorf("no retries: %v, want ThrottlingException", err)
	}
	if !strings.Contains(e.log.String(), "ecs:DescribeClusters -> ThrottlingException") {
		t.Errorf("the log does not show the throttled call:\n%s", e.log.String())
	}
}

func TestRegionsAreSeparate(t *testing.T) {
	e := newEnv(t)
	eu := ecs.New(e.client.Options(), func(o *ecs.Options) { o.Region = "eu-west-1" })
	if _, err := eu.CreateCluster(e.ctx(), &ecs.CreateClusterInput{ClusterName: aws.String("prod")}); err != nil {
		t.Fatal(err)
	}
	out, err := eu.RegisterTaskDefinition(e.ctx(), &ecs.RegisterTaskDefinitionInput{Family: aws.String("web"),
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("a"), Image: aws.String("b"), Memory: aws.Int32(1)}}})
	if err != nil || aws.ToString(out.TaskDefinition.TaskDefinitionArn) != "arn:aws:ecs:eu-west-1:123456789012:task-definition/web:1" {
		t.Fatalf("register in eu-west-1: %v %+v", err, out)
	}
	if _, err := e.client.DescribeTaskDefinition(e.ctx(), &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("web")}); errCode(err) != "ClientException" {
		t.Errorf("us-east-1 sees eu-west-1's task definition: %v", err)
	}
	l, err := e.client.ListClusters(e.ctx(), &ecs.ListClustersInput{})
	if err != nil || len(l.ClusterArns) != 0 {
		t.Errorf("us-east-1 clusters: %v %v", l.ClusterArns, err)
	}
}
