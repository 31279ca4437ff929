package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files of the graph tests")

// TestGraphDeployDefinition renders the real state machine and compares it
// with the golden chart, which README.md's "The state machine" section
// shows too.
func TestGraphDeployDefinition(t *testing.T) {
	var out, errb bytes.Buffer
	code := runGraph(context.Background(), []string{"--definition", "../../statemachine/deploy.asl.json", "--markdown"}, &out, &errb)
	if code != exitOK {
		t.Fatalf("exit %d, stderr: %s", code, errb.String())
	}
	golden := filepath.Join("testdata", "graph_deploy.md")
	if *update {
		if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(string(want), out.String()); d != "" {
		t.Errorf("chart differs from %s (go test -run TestGraph -update rewrites it; then update README.md) (-want +got):\n%s", golden, d)
	}
	// Every state and every Catch of the definition is drawn.
	for _, s := range []string{"Plan", "WaitRollout<br/>waits for a task token", "Bake", "Undo", "Finish", "Failed", "FinishFailed"} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("chart lacks %q", s)
		}
	}
	if !strings.Contains(out.String(), `WaitRollout -.->|"States.Timeout"| CheckRollout`) {
		t.Error("chart lacks the dashed timeout Catch of WaitRollout")
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(readme, []byte("## The state machine"))
	if i < 0 || !bytes.Contains(readme[i:], out.Bytes()) {
		t.Error(`README.md's "## The state machine" section does not show the current chart (pushdeploy graph --markdown)`)
	}
}

func TestGraphShapes(t *testing.T) {
	cases := []struct {
		name string
		def  string
		want string
	}{
		{
			name: "choice rules, default, catch, end",
			def: `{"StartAt":"A","States":{
				"A":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Next":"C",
				     "Catch":[{"ErrorEquals":["Boom","States.Timeout"],"Next":"F"}]},
				"C":{"Type":"Choice","Choices":[
				   {"And":[{"Variable":"$.n","NumericGreaterThan":3},{"Not":{"Variable":"$.s","StringEquals":"x\"y"}}],"Next":"W"},
				   {"Or":[{"Variable":"$.p","IsPresent":false},{"Variable":"$.a","StringEqualsPath":"$.b"}],"Next":"S"}],
				 "Default":"F"},
				"W":{"Type":"Wait","Seconds":5,"Next":"end"},
				"end":{"Type":"Pass","End":true},
				"S":{"Type":"Succeed"},
				"F":{"Type":"Fail","Error":"E"}}}`,
			want: `flowchart TD
    start((start))
    A["A"]
    C{"C"}
    W>"W"]
    s_end[/"end"/]
    S(["S"])
    F(["F"])
    finish((end))
    start --> A
    A --> C
    A -.->|"Boom, States.Timeout"| F
    C -->|"n > 3 AND NOT (s = x#quot;y)"| W
    C -->|"p is not present OR a = b"| S
    C -->|"default"| F
    W --> s_end
    s_end --> finish
    classDef choice fill:#fff4d6,stroke:#b8860b
    class C choice
    classDef wait fill:#e6f0ff,stroke:#1a56db
    class W wait
    classDef succeed fill:#e3f6e5,stroke:#2e7d32
    class S succeed
    classDef fail fill:#fde2e1,stroke:#c62828
    class F fail
`,
		},
		{
			name: "parallel branches and odd names",
			def: `{"StartAt":"Fan out","States":{
				"Fan out":{"Type":"Parallel","End":true,"Branches":[
				  {"StartAt":"1st","States":{"1st":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke.waitForTaskToken","End":true}}},
				  {"StartAt":"B","States":{"B":{"Type":"Pass","End":true}}}]}}}`,
			want: `flowchart TD
    start((start))
    Fan_out[["Fan out (Parallel)"]]
    subgraph Fan_out_1_ ["Fan out: branch 1"]
        Fan_out_1_1st["1st<br/>waits for a task token"]
    end
    subgraph Fan_out_2_ ["Fan out: branch 2"]
        Fan_out_2_B[/"B"/]
    end
    finish((end))
    start --> Fan_out
    Fan_out --> finish
    Fan_out -.-> Fan_out_1_1st
    Fan_out -.-> Fan_out_2_B
    classDef wait fill:#e6f0ff,stroke:#1a56db
    class Fan_out_1_1st wait
`,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := mermaid([]byte(tc.def))
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
			again, _ := mermaid([]byte(tc.def))
			if again != got {
				t.Error("output is not deterministic")
			}
		})
	}
}

func TestGraphErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cases := []struct {
		name string
		args []string
		code int
		err  string
	}{
		{"missing file", []string{"--definition", filepath.Join(dir, "nope.json")}, exitBadInput, "read definition"},
		{"not json", []string{"--definition", write("bad.json", "{")}, exitBadInput, "not an ASL definition"},
		{"dangling next", []string{"--definition", write("dangling.json", `{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"Nowhere"}}}`)}, exitBadInput, `next state "Nowhere" does not exist`},
		{"bad start", []string{"--definition", write("start.json", `{"StartAt":"Z","States":{"A":{"Type":"Succeed"}}}`)}, exitBadInput, `StartAt "Z"`},
		{"unknown flag", []string{"--colour"}, exitBadInput, "flag provided but not defined"},
		{"positional", []string{"extra"}, exitBadInput, "unexpected arguments"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := runGraph(context.Background(), tc.args, &out, &errb)
			if code != tc.code || !strings.Contains(errb.String(), tc.err) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, errb.String(), tc.code, tc.err)
			}
			if out.Len() != 0 {
				t.Errorf("stdout should be empty, got %q", out.String())
			}
		})
	}
}

// Without --definition, graph draws the definition built into the binary,
// wherever it runs.
func TestGraphEmbeddedDefinition(t *testing.T) {
	t.Chdir(t.TempDir())
	var out, errb bytes.Buffer
	if code := runGraph(context.Background(), nil, &out, &errb); code != exitOK || !strings.HasPrefix(out.String(), "flowchart") {
		t.Errorf("graph from elsewhere: exit %d, %q %q", code, out.String()[:min(out.Len(), 40)], errb.String())
	}
}
