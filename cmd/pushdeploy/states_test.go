package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestStatesRun(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	deploy := write("deploy.json", `{"StartAt":"Deploy","States":{
		"Deploy":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"f","Payload":{"svc.$":"$.svc"}},
		  "ResultSelector":{"msg.$":"$.Payload.msg"},"ResultPath":"$.deploy",
		  "Retry":[{"ErrorEquals":["Flaky"],"IntervalSeconds":3600,"MaxAttempts":1}],"Next":"Bake"},
		"Bake":{"Type":"Wait","Seconds":86400,"Next":"Await"},
		"Await":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke.waitForTaskToken","Parameters":{"FunctionName":"w","Payload":{"t.$":"$$.Task.Token"}},"ResultPath":"$.await","Next":"Check"},
		"Check":{"Type":"Choice","Choices":[{"Variable":"$.deploy.msg","StringEquals":"deployed web","Next":"Done"}],"Default":"Bad"},
		"Bad":{"Type":"Fail","Error":"Deploy.Unexpected","CausePath":"$.deploy.msg"},
		"Done":{"Type":"Succeed"}}}`)
	input := write("input.json", `{"svc":"web"}`)
	invalid := write("invalid.json", `{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"Nowhere"}}}`)

	cases := []struct {
		name string
		args []string
		code int
		out  string // stdout JSON, compared as JSON
		err  string // substring of stderr
	}{
		{"succeeds", []string{"run", "--definition", deploy, "--input", "@" + input,
			"--task", `Deploy=sed 's/.*"svc":"\([a-z]*\)".*/{"msg":"deployed \1"}/'`,
			"--task", `Await=echo '{"healthy":true}'`},
			0, `{"svc":"web","deploy":{"msg":"deployed web"},"await":{"healthy":true}}`, ""},
		{"fails through Fail state", []string{"run", "--definition", deploy, "--input", `{"svc":"api"}`,
			"--task", `Deploy=echo '{"msg":"other"}'`, "--task", `Await=echo 1`},
			1, `{"Error":"Deploy.Unexpected","Cause":"other"}`, ""},
		{"task failure with retry", []string{"run", "--definition", deploy, "--input", `{"svc":"x"}`,
			"--task", `Deploy=echo '{"Error":"Flaky","Cause":"try again"}'; exit 1`},
			1, `{"Error":"Flaky","Cause":"try again"}`, ""},
		{"unmapped task", []string{"run", "--definition", deploy, "--input", `{"svc":"x"}`}, 1, `{"Error":"States.TaskFailed","Cause":"no --task mapping for Task state \"Deploy\" (resource arn:aws:states:::lambda:invoke)"}`, ""},
		{"invalid definition", []string{"run", "--definition", invalid}, 2, ``, `transition to "Nowhere"`},
		{"bad input", []string{"run", "--definition", deploy, "--input", `{nope`}, 2, ``, "not valid JSON"},
		{"missing definition", []string{"run"}, 2, ``, "pushdeploy: states run: want --definition FILE"},
		{"bad task flag", []string{"run", "--definition", deploy, "--task", "Deploy"}, 2, ``, "STATE=COMMAND"},
		{"unknown subcommand", []string{"walk"}, 2, ``, "usage"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := runStates(context.Background(), c.args, &stdout, &stderr)
			if code != c.code {
				t.Fatalf("exit %d, want %d; stdout %s stderr %s", code, c.code, stdout.String(), stderr.String())
			}
			if c.out != "" {
				var got, want any
				if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
					t.Fatalf("stdout %q: %v", stdout.String(), err)
				}
				_ = json.Unmarshal([]byte(c.out), &want)
				g, _ := json.Marshal(got)
				w, _ := json.Marshal(want)
				if string(g) != string(w) {
					t.Errorf("stdout %s, want %s", g, w)
				}
			}
			if !strings.Contains(stderr.String(), c.err) {
				t.Errorf("stderr %q does not mention %q", stderr.String(), c.err)
			}
		})
	}
}
