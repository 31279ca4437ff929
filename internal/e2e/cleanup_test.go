package e2e

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/pushdeploy/pushdeploy/internal/app/history"
)

func TestOldRevisionsDeregistered(t *testing.T) {
	w := newWorldWith(t, map[string]string{"KeepRevisions": "2"})
	svc := w.service("prod", "web", nil)
	for i, seed := range []string{"web v1", "web v2", "web v3", "web v4"} {
		w.push("latest", seed)
		w.wait(i + 1)
	}
	w.expectOutcomes(svc, history.Succeeded, history.Succeeded, history.Succeeded, history.Succeeded)
	current, _ := w.running("prod", "web")
	out, err := ecs.NewFromConfig(w.Config).ListTaskDefinitions(w.ctx, &ecs.ListTaskDefinitionsInput{
		FamilyPrefix: aws.String("web"), Status: ecstypes.TaskDefinitionStatusActive,
	})
	if err != nil {
		t.Fatal(err)
	}
	// Five revisions were registered (the first by hand, four deploys); two are kept.
	if len(out.TaskDefinitionArns) != 2 {
		t.Fatalf("active revisions %v, want the newest 2", out.TaskDefinitionArns)
	}
	kept := false
	for _, arn := range out.TaskDefinitionArns {
		kept = kept || arn == current
	}
	if !kept {
		t.Fatalf("the current revision %s was deregistered; active: %v", current, out.TaskDefinitionArns)
	}
}
