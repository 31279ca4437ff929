package handler

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/pushdeploy/pushdeploy/internal/contract"
)

// TestPlanRefusesOversizedFields: a field over its limit is BadInput naming
// the field and the limit, never quoting the value, and nothing changes.
func TestPlanRefusesOversizedFields(t *testing.T) {
	x := func(n int) string { return strings.Repeat("x", n) }
	many := `"a","b","c","d","e","f","g","h","i","j","k"`
	tests := []struct{ field, input string }{
		{"reason", `{"action":"redeploy","cluster":"prod","service":"web","reason":"` + x(200*1024) + `"}`},
		{"requestedBy", `{"action":"redeploy","cluster":"prod","service":"web","requestedBy":"` + x(3000) + `"}`},
		{"cluster", `{"action":"redeploy","cluster":"` + x(256) + `","service":"web"}`},
		{"service", `{"action":"redeploy","cluster":"prod","service":"` + x(256) + `"}`},
		{"image", `{"action":"deploy","cluster":"prod","service":"web","image":"` + registry + `/` + x(400) + `:v1"}`},
		{"digest", `{"action":"deploy","cluster":"prod","service":"web","digest":"sha256:` + x(100) + `"}`},
		{"revision", `{"action":"rollback","cluster":"prod","service":"web","revision":"` + x(600) + `"}`},
		{"containers", `{"action":"deploy","cluster":"prod","service":"web","digest":"` + digestNew + `","containers":[` + many + `]}`},
		{"containers[0]", `{"action":"deploy","cluster":"prod","service":"web","digest":"` + digestNew + `","containers":["` + x(300) + `"]}`},
		{"action", `{"action":"` + x(1000) + `","cluster":"prod","service":"web"}`},
		{"trigger", `{"action":"redeploy","cluster":"prod","service":"web","trigger":"` + x(1000) + `"}`},
		{"input", `{"action":"rollback","cluster":"prod","service":"web","trigger":"alarm","alarm":{"alarmName":"a","reason":"` + x(20000) + `"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.field, func(t *testing.T) {
			w := newWorld(t)
			_, err := w.plan(t).Handle(context.Background(), planInput(tt.input))
			var bad *contract.BadInput
			if !errors.As(err, &bad) || bad.Field != tt.field || !strings.Contains(bad.Reason, "the limit is") {
				t.Fatalf("err = %.300v, want BadInput naming %s and its limit", err, tt.field)
			}
			if strings.Contains(err.Error(), x(16)) {
				t.Fatalf("message quotes the value: %.300s", err)
			}
			if w.ecs.mutations() != 0 || w.leases.acquires != 0 {
				t.Errorf("changed something: %d ECS mutations, %d lease acquires", w.ecs.mutations(), w.leases.acquires)
			}
		})
	}
}
