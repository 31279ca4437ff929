package cleanup

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/google/go-cmp/cmp"

	"github.com/pushdeploy/pushdeploy/internal/awsapi"
)

func arn(fam string, n int) string {
	return fmt.Sprintf("arn:aws:ecs:us-east-1:123456789012:task-definition/%s:%d", fam, n)
}

func TestPlan(t *testing.T) {
	revs := []string{arn("web", 3), arn("web", 10), arn("web", 7), arn("web", 1), arn("web", 9)}
	tests := []struct {
		name    string
		keep    int
		protect []string
		want    []string
	}{
		{"keep 3", 3, nil, []string{arn("web", 3), arn("web", 1)}},
		{"keep 3, protect current and last good", 3, []string{arn("web", 1), "web:3"}, nil},
		{"keep 1, current newest, last good old", 1, []string{arn("web", 10), arn("web", 3)}, []string{arn("web", 9), arn("web", 7), arn("web", 1)}},
		{"keep more than there are", 10, nil, nil},
		{"empty protect entries are ignored", 4, []string{""}, []string{arn("web", 1)}},
	}
	for _, tt := range tests {
		got, err := Plan(revs, tt.keep, tt.protect...)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s (-want +got)\n%s", tt.name, diff)
		}
	}
	if _, err := Plan(revs, -1); err == nil {
		t.Error("negative keep accepted")
	}
	if _, err := Plan([]string{"nonsense"}, 1); err == nil {
		t.Error("bad revision accepted")
	}
}

// fakeECS lists revisions in pages of 2, newest first, and records deregistrations.
type fakeECS struct {
	awsapi.ECS
	arns         []string // newest first
	deregistered []string
	failOn       string
}

func (f *fakeECS) ListTaskDefinitions(_ context.Context, in *ecs.ListTaskDefinitionsInput, _ ...func(*ecs.Options)) (*ecs.ListTaskDefinitionsOutput, error) {
	if in.Status != "ACTIVE" || in.Sort != "DESC" {
		return nil, errors.New("want ACTIVE, DESC")
	}
	start, _ := strconv.Atoi(aws.ToString(in.NextToken))
	end := min(start+2, len(f.arns))
	out := &ecs.ListTaskDefinitionsOutput{TaskDefinitionArns: f.arns[start:end]}
	if end < len(f.arns) {
		out.NextToken = aws.String(strconv.Itoa(end))
	}
	return out, nil
}

func (f *fakeECS) DeregisterTaskDefinition(_ context.Context, in *ecs.DeregisterTaskDefinitionInput, _ ...func(*ecs.Options)) (*ecs.DeregisterTaskDefinitionOutput, error) {
	if aws.ToString(in.TaskDefinition) == f.failOn {
		return nil, errors.New("throttled")
	}
	f.deregistered = append(f.deregistered, aws.ToString(in.TaskDefinition))
	return &ecs.DeregisterTaskDefinitionOutput{}, nil
}

func TestRun(t *testing.T) {
	// "web-worker" shares the prefix: ListTaskDefinitions' FamilyPrefix returns it too.
	f := &fakeECS{arns: []string{arn("web", 6), arn("web-worker", 9), arn("web", 5), arn("web", 4), arn("web", 3), arn("web", 2), arn("web", 1)}}
	c, err := New(f)
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Run(context.Background(), "web", 2, arn("web", 5), arn("web", 2))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{arn("web", 4), arn("web", 3), arn("web", 1)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
	if diff := cmp.Diff(want, f.deregistered); diff != "" {
		t.Errorf("deregistered (-want +got)\n%s", diff)
	}

	f = &fakeECS{arns: f.arns, failOn: arn("web", 3)}
	c, _ = New(f)
	got, err = c.Run(context.Background(), "web", 2, arn("web", 6), "")
	if err == nil || len(got) != 1 || got[0] != arn("web", 4) {
		t.Errorf("on failure got %v, %v; want the one done before and an error", got, err)
	}
}
