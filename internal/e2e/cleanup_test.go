package e2e

import (
	"sort"
	"strings"
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
	// Five revisions were registered: the first by hand (not pushdeploy's
	// to deregister), four by deploys. Kept of those: the current one and
	// the KeepRevisions good ones a rollback may go back to; web:2 goes, and
	// leaves the ledger.
	var names []string
	for _, arn := range out.TaskDefinitionArns {
		names = append(names, arn[strings.LastIndex(arn, "/")+1:])
	}
	sort.Strings(names)
	if strings.Join(names, " ") != "web:1 web:3 web:4 web:5" || !strings.HasSuffix(current, "/web:5") {
		t.Fatalf("active revisions %v (current %s), want web:1 web:3 web:4 web:5", names, current)
	}
	if _, ok := w.ledgerOf(svc).Get(strings.Replace(current, "web:5", "web:2", 1)); ok {
		t.Error("the deregistered web:2 is still in the ledger")
	}
}
