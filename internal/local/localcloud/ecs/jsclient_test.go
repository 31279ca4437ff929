package ecs_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const ecsToolsDir = "../../../../tools/ecs"

// TestJSClientServiceDeployments drives the service deployment API with
// AWS's JavaScript ECS client (tools/ecs/drive.mjs), a second
// implementation of the ECS model beside aws-sdk-go-v2: every answer must
// deserialize by the model's shapes, and say what the Go client reads.
func TestJSClientServiceDeployments(t *testing.T) {
	if _, err := os.Stat(filepath.Join(ecsToolsDir, "node_modules", "@aws-sdk", "client-ecs")); err != nil {
		t.Skip("tools/ecs/node_modules lacks @aws-sdk/client-ecs: run `make tools` (or `make tools-ecs`) to install the pinned client")
	}
	node, err := filepath.Abs(filepath.Join("../../../../tools/asl", "node_modules", "node", "bin", "node"))
	if _, serr := os.Stat(node); err != nil || serr != nil {
		if node, err = exec.LookPath("node"); err != nil {
			t.Skip("no node: run `make tools`")
		}
	}
	e := newEnv(t)
	// Time stands still while the script runs: the blue/green deployment it
	// stops is still in progress when it asks.
	hold := e.clk.Busy()
	defer hold()
	cmd := exec.Command(node, "drive.mjs", e.url)
	cmd.Dir = ecsToolsDir
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("drive.mjs: %v\n%s\n%s", err, out, stderr)
	}
	var got map[string]any
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("drive.mjs printed %s: %v", out, err)
	}
	want := map[string]any{
		"strategy":                "BLUE_GREEN",
		"currentServiceRevisions": 2.0,
		"listed":                  []any{"IN_PROGRESS", "STOPPED"}, // the first one, superseded
		"listedDates":             true,
		"described": map[string]any{
			"status": "IN_PROGRESS", "stage": "RECONCILE_SERVICE", "strategy": "BLUE_GREEN", "dates": true, // the first deployment was still in progress
			"targetWeight": 0.0, "sourceWeight": 100.0,
			"breaker":  map[string]any{"status": "MONITORING", "failureCount": 0.0, "threshold": 3.0},
			"alarms":   "DISABLED",
			"failures": []any{"MISSING"},
		},
		"revisions": []any{
			map[string]any{"taskDefinition": "web:2", "digest": "sha256:next", "dated": true},
			map[string]any{"taskDefinition": "web:1", "digest": "sha256:good", "dated": true},
		},
		"stopped": true,
		"afterStop": map[string]any{"status": "ROLLBACK_IN_PROGRESS", "rollbackDated": true,
			"rollbackReason": "Service deployment rolled back because of a stop request."},
		"continued":   "ConflictException",
		"stopMissing": "ServiceDeploymentNotFoundException",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("what the JavaScript client read (-want +got):\n%s", d)
	}
}
