package main

import (
	"strings"
	"testing"

	"github.com/pushdeploy/pushdeploy/internal/app/history"
)

// TestCLIFreeze drives freeze and unfreeze against the local world: their
// output and exit codes, a push recorded SKIPPED while frozen, and
// unfreeze --deploy-latest deploying the push the freeze held back.
func TestCLIFreeze(t *testing.T) {
	e := newE2E(t)
	svc := []string{"--cluster", "prod", "--service", "web"}
	for _, tc := range []struct {
		name string
		args []string
		want string // on stderr
	}{
		{"no reason", svc, "missing --reason"},
		{"no scope", []string{"--cluster", "prod", "--reason", "x"}, "give --service S, or --all"},
		{"both scopes", append(svc, "--all", "--reason", "x"), "give --service or --all, not both"},
		{"until in the past", append(svc, "--reason", "x", "--until", "-5m"), `--until: "-5m" is not in the future`},
		{"until not a time", append(svc, "--reason", "x", "--until", "tomorrow"), "neither an RFC 3339 time nor a duration"},
		{"no such service", []string{"--cluster", "prod", "--service", "nope", "--reason", "x"}, "nope"},
	} {
		code, out, errs := e.cli(runFreeze, tc.args...)
		if code != exitBadInput || out != "" || !strings.Contains(errs, tc.want) || strings.Count(errs, "\n") != 1 {
			t.Errorf("freeze %s: exit %d, stdout %q, stderr %q; want exit 2 and one line with %q", tc.name, code, out, errs, tc.want)
		}
	}

	code, out, errs := e.cli(runFreeze, append(svc, "--reason", "incident 42", "--until", "2h")...)
	if code != exitOK || !strings.HasPrefix(out, "froze "+e.svc+": incident 42 by alice until ") {
		t.Fatalf("freeze: exit %d, %q %q", code, out, errs)
	}
	code, _, errs = e.cli(runFreeze, append(svc, "--reason", "again")...)
	if code != exitBadInput || !strings.Contains(errs, "is already frozen (incident 42 by alice until ") {
		t.Fatalf("freeze twice: exit %d, %q", code, errs)
	}

	d1 := e.push("latest", "web v1")
	if _, err := e.WaitIdle(e.ctx, 1); err != nil {
		t.Fatal(err)
	}
	recs := e.history()
	if len(recs) != 1 || recs[0].Outcome != history.Skipped || !strings.HasPrefix(recs[0].Reason, "frozen: incident 42 by alice until ") {
		t.Fatalf("push while frozen: %+v", recs)
	}
	if td, _ := e.running(); td != e.first {
		t.Fatalf("the freeze let the push change the service to %s", td)
	}

	code, out, errs = e.cli(runUnfreeze, append(svc, "--deploy-latest", "--interval", "5ms")...)
	if code != exitOK || !strings.Contains(out, "unfroze "+e.svc) || !strings.Contains(out, "deploying "+e.repo+"@"+d1) || !strings.Contains(out, "== SUCCEEDED") {
		t.Fatalf("unfreeze --deploy-latest: exit %d\n%s\n%s", code, out, errs)
	}
	if _, images := e.running(); images["app"] != e.repo+"@"+d1 {
		t.Fatalf("after unfreeze --deploy-latest: %v", images)
	}
	// The two may start at the same virtual instant, so that the history's
	// order between them is the ARNs': find the deploy by its trigger.
	recs = e.history()
	var manual *history.Record
	for i := range recs {
		if recs[i].Trigger == "manual" {
			manual = &recs[i]
		}
	}
	if len(recs) != 2 || manual == nil || manual.Outcome != history.Succeeded || manual.Reason == "" {
		t.Fatalf("records after unfreeze: %+v", recs)
	}

	code, _, errs = e.cli(runUnfreeze, svc...)
	if code != exitBadInput || !strings.Contains(errs, e.svc+" is not frozen") {
		t.Fatalf("unfreeze twice: exit %d, %q", code, errs)
	}
	code, out, _ = e.cli(runFreeze, "--cluster", "prod", "--all", "--reason", "window", "--output", "json")
	if code != exitOK || !strings.Contains(out, `"reason": "window"`) || !strings.Contains(out, `"by": "alice"`) {
		t.Fatalf("freeze --all --output json: exit %d %s", code, out)
	}
	code, out, _ = e.cli(runUnfreeze, "--cluster", "prod", "--all", "--deploy-latest")
	if code != exitBadInput {
		t.Fatalf("unfreeze --all --deploy-latest: exit %d %s, want 2", code, out)
	}
	code, out, _ = e.cli(runUnfreeze, "--cluster", "prod", "--all")
	if code != exitOK || out != "unfroze every service of cluster prod (was: window by alice until unfrozen)\n" {
		t.Fatalf("unfreeze --all: exit %d %q", code, out)
	}
}
