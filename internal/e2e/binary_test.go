package e2e

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pushdeploy/pushdeploy/internal/app/clock"
	"github.com/pushdeploy/pushdeploy/internal/app/history"
	lcecs "github.com/pushdeploy/pushdeploy/internal/local/localcloud/ecs"
	"github.com/pushdeploy/pushdeploy/internal/local/localrun"
	"github.com/pushdeploy/pushdeploy/internal/local/samlocal"
)

// The built bootstrap binaries, run by the local Lambda through the Lambda
// Runtime API as AWS runs them: what sam build packages is what deploys.
// They are built once per run, before the tests, by `make build` (which
// `make test` runs) into build/<LogicalId>/bootstrap; PUSHDEPLOY_BUILD_DIR
// points elsewhere. Without them the test skips, or fails when
// PUSHDEPLOY_REQUIRE_BUILD is set, as `make test` and so CI set it.
func TestBuiltFunctionsDeployAndRollBack(t *testing.T) {
	if testing.Short() {
		t.Skip("runs every built function")
	}
	root := filepath.Join("..", "..")
	tmpl, err := samlocal.Load(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	bin := os.Getenv("PUSHDEPLOY_BUILD_DIR")
	if bin == "" {
		bin = filepath.Join(root, "build")
	}
	for _, id := range tmpl.ResourcesOfType("AWS::Serverless::Function") {
		if _, err := os.Stat(filepath.Join(bin, id, "bootstrap")); err != nil {
			if os.Getenv("PUSHDEPLOY_REQUIRE_BUILD") != "" {
				t.Fatalf("built function missing (make build builds it): %v", err)
			}
			t.Skipf("built function missing: run `make build` first (make test does): %v", err)
		}
	}
	t.Logf("built functions from %s (make build refreshes them)", bin)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// Built functions read the wall clock: start virtual time at now so that
	// their deadlines and the engine's agree.
	clk := clock.NewVirtual(time.Now().UTC().Truncate(time.Second))
	defer clk.AutoAdvance(0)()
	lw, err := localrun.Start(ctx, localrun.Options{Clock: clk, BinDir: bin})
	if err != nil {
		t.Fatal(err)
	}
	defer lw.Close()
	repo, err := lw.CreateRepository(ctx, "web")
	if err != nil {
		t.Fatal(err)
	}
	w := &world{World: lw, t: t, ctx: ctx, clock: clk, repo: repo}
	svc := w.service("prod", "web", nil)
	first, _ := w.running("prod", "web")
	digest := w.push("latest", "web v1")
	w.wait(1)
	good, images := w.running("prod", "web")
	if images["app"] != repo+"@"+digest {
		w.dump()
		t.Fatalf("app runs %s, want %s; records: %s", images["app"], digest, reasons(w.records(svc)))
	}
	w.Cloud.ECS().Faults().FailImage(lcecs.ImageFault{Image: digestOf("web crash"), Mode: lcecs.FailToStart})
	w.push("latest", "web crash")
	w.wait(2)
	recs := w.expectOutcomes(svc, history.Succeeded, history.RolledBack)
	if after, _ := w.running("prod", "web"); after != good || after == first {
		t.Fatalf("service runs %s after the rollback, want %s", after, good)
	}
	if recs[0].FinishedAt.Before(recs[0].StartedAt) {
		t.Errorf("record finished %s before it started %s", recs[0].FinishedAt, recs[0].StartedAt)
	}
}
