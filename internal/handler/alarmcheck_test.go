package handler

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/pushdeploy/pushdeploy/internal/contract"
	"github.com/pushdeploy/pushdeploy/internal/target"
)

// TestPlanWarnsOfMissingAlarms: an alarm named in pushdeploy:alarms that
// does not exist leaves the deploy planned, with a warning naming it.
func TestPlanWarnsOfMissingAlarms(t *testing.T) {
	many := make([]string, 0, 101)
	for i := range 101 {
		many = append(many, fmt.Sprintf("a-%03d", i))
	}
	tests := []struct {
		name   string
		alarms string
		setup  func(*fakeCW)
		want   []string // substrings, one a warning
		calls  int
	}{
		{"all exist", "web-5xx", nil, nil, 1},
		{"a composite alarm exists", "web-5xx,web-health", func(f *fakeCW) {
			f.composites = []cwtypes.CompositeAlarm{{AlarmName: aws.String("web-health"), StateValue: cwtypes.StateValueOk}}
		}, nil, 1},
		{"one missing", "web-5xx,web-latncy", nil, []string{"alarm web-latncy (pushdeploy:alarms) does not exist"}, 1},
		{"more names than one call takes", strings.Join(many, ","), func(f *fakeCW) {
			for _, n := range many[1:] {
				f.alarms = append(f.alarms, cwtypes.MetricAlarm{AlarmName: aws.String(n), StateValue: cwtypes.StateValueOk})
			}
		}, []string{"alarm a-000 "}, 2},
		{"the check fails", "web-5xx", func(f *fakeCW) { f.err = errors.New("AccessDenied") },
			[]string{"could not check that the alarms web-5xx exist: AccessDenied"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			w.addService("web", td(41), map[string]string{
				target.TagRepository: "web", target.TagTags: "v*,latest", target.TagContainers: "app", target.TagAlarms: tt.alarms,
			})
			if tt.setup != nil {
				tt.setup(w.cw)
			}
			p, err := w.plan(t).Handle(context.Background(), planInput(`{"action":"deploy","cluster":"prod","service":"web","image":"`+registry+`/web@`+digestNew+`"}`))
			if err != nil {
				t.Fatal(err)
			}
			if p.Action != contract.ActionDeploy {
				t.Errorf("action %s, want deploy", p.Action)
			}
			if len(p.Warnings) != len(tt.want) {
				t.Fatalf("warnings %q, want %d", p.Warnings, len(tt.want))
			}
			for i, w := range tt.want {
				if !strings.Contains(p.Warnings[i], w) {
					t.Errorf("warning %q, want it to contain %q", p.Warnings[i], w)
				}
			}
			if w.cw.calls != tt.calls {
				t.Errorf("%d DescribeAlarms calls, want %d", w.cw.calls, tt.calls)
			}
		})
	}
}

func TestFinishRecordsWarnings(t *testing.T) {
	w := newWorld(t)
	warnings := []string{"alarm web-latncy (pushdeploy:alarms) does not exist: it cannot roll this deploy back"}
	in := doc(w, func(in *contract.FinishInput) {
		in.Plan.Payload.Warnings = warnings
		in.Outcome = outcomeOf(contract.StatusCompleted, "completed", td(42))
		in.Bake = outcomeOf(contract.StatusCompleted, "baked", td(42))
	})
	if _, err := w.finish(t).Handle(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	if len(w.history.records) != 1 || !slices.Equal(w.history.records[0].Warnings, warnings) {
		t.Errorf("records %+v, want one with the plan's warnings", w.history.records)
	}
}
