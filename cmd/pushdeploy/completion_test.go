package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestCompletionScript(t *testing.T) {
	for _, shell := range []string{"bash", "zsh"} {
		var out, errb bytes.Buffer
		if code := run(context.Background(), []string{"completion", shell}, &out, &errb); code != exitOK || errb.Len() != 0 {
			t.Fatalf("%s: exit %d, %q", shell, code, errb.String())
		}
		script := out.String()
		for name := range commands {
			if !strings.Contains(script, `"`+name+`") echo`) {
				t.Errorf("%s script lacks the command %q", shell, name)
			}
		}
		if shell == "zsh" && !strings.HasPrefix(script, "#compdef pushdeploy\n") {
			t.Errorf("zsh script does not start with #compdef")
		}
	}
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"completion", "fish"}, &out, &errb); code != exitBadInput ||
		!strings.HasPrefix(errb.String(), "pushdeploy: completion: ") || out.Len() != 0 {
		t.Errorf("completion fish: exit %d, %q %q", code, out.String(), errb.String())
	}
}

// TestCompletionSubcommandsExist: every subcommand the script offers
// answers --help with exit 0 (so the table names no command that is gone),
// and every flag of a command's flag set is offered.
func TestCompletionSubcommandsExist(t *testing.T) {
	words := completionWords(context.Background())
	for path, subs := range subcommands {
		for _, sub := range subs {
			parts := strings.Fields(path + " " + sub)
			var out bytes.Buffer
			if code := commands[parts[0]](context.Background(), append(parts[1:], "--help"), &out, &out); code != exitOK {
				t.Errorf("%s --help: exit %d\n%s", strings.Join(parts, " "), code, out.String())
			}
		}
	}
	for _, want := range []struct{ path, word string }{
		{"deploy", "--image"}, {"deploy", "--state-machine"}, {"history", "--wide"},
		{"localcloud", "--install"}, {"localcloud fault throttle", "--rate"}, {"states run", "--definition"}, {"quarantine", "release"},
	} {
		if !slices.Contains(words[want.path], want.word) {
			t.Errorf("%q offers %v, not %s", want.path, words[want.path], want.word)
		}
	}
}

// TestCompletionInBash runs the script in bash: what it offers after a
// partial command line.
func TestCompletionInBash(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	var out bytes.Buffer
	run(context.Background(), []string{"completion", "bash"}, &out, &out)
	script := filepath.Join(t.TempDir(), "pushdeploy.bash")
	if err := os.WriteFile(script, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		line string // the words typed, the last one being completed
		want string
	}{
		{"pushdeploy dep", "deploy"},
		{"pushdeploy quarantine re", "release"},
		{"pushdeploy deploy --cluster prod --ima", "--image"},
		{"pushdeploy localcloud fault thr", "throttle"},
		{"pushdeploy localcloud fault throttle --ra", "--rate"},
		{"pushdeploy history --w", "--wide"},
	}
	for _, tc := range cases {
		words := strings.Fields(tc.line)
		prog := `complete() { :; }; source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _pushdeploy; printf '%s\n' "${COMPREPLY[@]}"`
		got, err := exec.Command(bash, append([]string{"-c", prog, "bash", script}, words...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", tc.line, err, got)
		}
		if lines := strings.Fields(string(got)); !slices.Contains(lines, tc.want) {
			t.Errorf("%q completes to %q, want %s", tc.line, lines, tc.want)
		}
	}
}
