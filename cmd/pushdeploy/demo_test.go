package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"
)

// TestDemo runs `pushdeploy demo --in-process`: its four stories told in
// an operator's words (registered, updated, woken, baked, judged, rolled
// back), none of the state machine's plumbing names, and the history the
// CLI prints afterwards.
func TestDemo(t *testing.T) {
	var out, errb bytes.Buffer
	if code := runDemo(context.Background(), []string{"--in-process"}, &out, &errb); code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", code, out.String(), errb.String())
	}
	got := out.String()
	for _, want := range []string{
		"planned: deploy web:latest@", "registered web:2", "updated the service web:1 → web:2", "woken: rollout COMPLETED (completed): rollout completed on web:2",
		"baked 5m0s: no alarm woke the wait", "judged: bake COMPLETED (baked)", "recorded SUCCEEDED", "✔ done",
		"woken: rollout FAILED (circuit-breaker)", "rolling back: the service already runs web:2",
		"woken: bake FAILED (alarm): alarm web-5xx is in ALARM", "rolling back: updated the service web:4 → web:2", "woken: rollback COMPLETED", "✘ rolled back",
		"then execution rollback-web-5-", "planned: roll back to web:2", "updated the service web:5 → web:2",
		"$ pushdeploy history --cluster demo --service web\nSTARTED ",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
	for _, raw := range []string{"Init", "Route", "RolloutDecision", "BakeDecision", "WaitRollout", "WaitUndo", "CheckBake", "States.Timeout", "→ Finish"} {
		if regexp.MustCompile(`\+\d\d:\d\d  .*\b` + raw + `\b`).MatchString(got) {
			t.Errorf("the timeline shows the state name %q", raw)
		}
	}
	if t.Failed() {
		t.Log(got)
	}
}
