package cleanup_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"

	"github.com/pushdeploy/pushdeploy/internal/app/cleanup"
	"github.com/pushdeploy/pushdeploy/internal/app/clock"
	"github.com/pushdeploy/pushdeploy/internal/local/localcloud"
	ecslocal "github.com/pushdeploy/pushdeploy/internal/local/localcloud/ecs"
	"github.com/pushdeploy/pushdeploy/internal/local/localtest"
)

func TestRunLocalCloud(t *testing.T) {
	c := localtest.New(t, func(clk *clock.Virtual) []localcloud.RPCService {
		e, err := ecslocal.New(ecslocal.Options{Clock: clk, Account: localtest.Account, Region: localtest.Region})
		if err != nil {
			t.Fatal(err)
		}
		return []localcloud.RPCService{e}
	})
	e := ecs.NewFromConfig(c.Config())
	ctx := context.Background()
	for _, fam := range []string{"web", "web-worker"} {
		for range 8 {
			if _, err := e.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
				Family:               aws.String(fam),
				ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("nginx"), Memory: aws.Int32(64)}},
			}); err != nil {
				t.Fatal(err)
			}
		}
	}
	arn := func(fam string, n int) string {
		return fmt.Sprintf("arn:aws:ecs:us-east-1:123456789012:task-definition/%s:%d", fam, n)
	}
	cl, err := cleanup.New(e)
	if err != nil {
		t.Fatal(err)
	}
	got, err := cl.Run(ctx, "web", 3, arn("web", 5), "web:3")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{arn("web", 4), arn("web", 2), arn("web", 1)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("deregistered (-want +got)\n%s", diff)
	}
	left, err := e.ListTaskDefinitions(ctx, &ecs.ListTaskDefinitionsInput{Status: ecstypes.TaskDefinitionStatusActive, Sort: ecstypes.SortOrderAsc})
	if err != nil {
		t.Fatal(err)
	}
	var web []string
	workers := 0
	for _, a := range left.TaskDefinitionArns {
		if strings.Contains(a, "/web-worker:") {
			workers++
		} else {
			web = append(web, a)
		}
	}
	if diff := cmp.Diff([]string{arn("web", 3), arn("web", 5), arn("web", 6), arn("web", 7), arn("web", 8)}, web); diff != "" {
		t.Errorf("web revisions left (-want +got)\n%s", diff)
	}
	if workers != 8 {
		t.Errorf("web-worker revisions left = %d, want all 8", workers)
	}
	// Nothing more to do on a second run.
	if got, err := cl.Run(ctx, "web", 3, arn("web", 5), "web:3"); err != nil || len(got) != 0 {
		t.Errorf("second run: %v, %v", got, err)
	}
}
