package states

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pushdeploy/pushdeploy/internal/app/clock"
)

// FuzzParseRun checks that no definition or input makes Parse or an
// execution panic or hang. Seeds: the benchmark machine and the conformance
// corpus when present.
func FuzzParseRun(f *testing.F) {
	f.Add([]byte(benchDefinition), []byte(`{"service":"web","items":[1,2]}`))
	f.Add([]byte(`{"StartAt":"A","States":{"A":{"Type":"Pass","Parameters":{"a.$":"States.Format('{}', $.x)"},"End":true}}}`), []byte(`{"x":[1]}`))
	files, _ := filepath.Glob("testdata/conformance/*.json")
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			continue
		}
		var c struct {
			Definition json.RawMessage
			Input      json.RawMessage
		}
		if json.Unmarshal(b, &c) == nil && len(c.Definition) > 0 {
			f.Add([]byte(c.Definition), []byte(c.Input))
		}
	}
	f.Fuzz(func(t *testing.T, def, input []byte) {
		m, err := Parse(def)
		if err != nil {
			return
		}
		clk := clock.NewVirtual(t0)
		stop := clk.AutoAdvance(0)
		defer stop()
		runner := TaskRunnerFunc(func(_ context.Context, req TaskRequest) (json.RawMessage, error) {
			if len(req.Input)%3 == 0 {
				return nil, &TaskFailure{ErrorName: "Fuzz", Cause: "x"}
			}
			return req.Input, nil
		})
		x := NewEngine(EngineOptions{Clock: clk, Tasks: runner}).Start(context.Background(), m, testInfo(), input)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := x.Wait(ctx); err != nil {
			// Loops without a Wait can run forever; stopping must work.
			x.Stop("Fuzz.Stop", "")
			if _, err := x.Wait(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
	})
}
