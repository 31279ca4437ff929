package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestREADMEMatchesCLI: README's exit code table is the CLI's (the help's
// lines, one row each), and its CLI table names every command.
func TestREADMEMatchesCLI(t *testing.T) {
	p, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	readme := string(p)
	start := strings.Index(readme, "| exit | meaning |\n|---|---|\n")
	if start < 0 {
		t.Fatal("README has no exit code table")
	}
	table := readme[start:]
	table = table[:strings.Index(table, "\n\n")+1]
	want := "| exit | meaning |\n|---|---|\n"
	for _, e := range exitCodes {
		want += fmt.Sprintf("| %d | %s |\n", e.code, e.meaning)
	}
	if table != want {
		t.Errorf("README's exit code table:\n%s\nwant (from exitcodes.go):\n%s", table, want)
	}
	for name := range commands {
		if name == "demo" || name == "states" {
			continue // in "Run it locally" and "The local cloud"
		}
		if !strings.Contains(readme, "| `pushdeploy "+name) {
			t.Errorf("README's CLI table lacks `pushdeploy %s`", name)
		}
	}
}
