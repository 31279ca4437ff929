package states

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/pushdeploy/pushdeploy/internal/app/clock"
)

// A watcher sees each state as it is entered, at the virtual time it is
// entered, before the clock can move on; after stop it sees nothing.
func TestWatchSeesStatesAsEntered(t *testing.T) {
	m, err := Parse([]byte(`{"StartAt": "A", "States": {
		"A": {"Type": "Wait", "Seconds": 60, "Next": "B"},
		"B": {"Type": "Pass", "End": true}}}`))
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewVirtual(t0)
	defer clk.AutoAdvance(0)()
	e := NewEngine(EngineOptions{Clock: clk})
	var mu sync.Mutex
	var seen []string
	stop := e.Watch(func(x *Execution, ev HistoryEvent) {
		if d := ev.StateEnteredEventDetails; d != nil {
			mu.Lock()
			seen = append(seen, d.Name+"@"+clk.Now().Sub(t0).String())
			mu.Unlock()
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := e.Start(ctx, m, testInfo(), json.RawMessage(`{}`)).Wait(ctx); err != nil {
		t.Fatal(err)
	}
	stop()
	info := testInfo()
	info.ID += "-2"
	if _, err := e.Start(ctx, m, info, json.RawMessage(`{}`)).Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"A@0s", "B@1m0s"}, seen); diff != "" {
		t.Fatalf("states seen (-want +got):\n%s", diff)
	}
}
