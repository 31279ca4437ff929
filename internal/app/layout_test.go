package app

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/pushdeploy/pushdeploy/"

// TestProductDoesNotImportTheLocalWorld: no non-test file of the product
// (internal/app, functions) imports the local cloud, the engine, the
// installer or the end-to-end tests, so what ships to Lambda is exactly
// what the paths say.
func TestProductDoesNotImportTheLocalWorld(t *testing.T) {
	forbidden := []string{module + "internal/local", module + "internal/e2e", module + "cmd/"}
	checked := 0
	for _, root := range []string{".", filepath.Join("..", "..", "functions")} {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return err
			}
			f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
			if err != nil {
				return err
			}
			checked++
			for _, imp := range f.Imports {
				p, _ := strconv.Unquote(imp.Path.Value)
				for _, bad := range forbidden {
					if strings.HasPrefix(p, bad) {
						t.Errorf("%s imports %s: the product must not depend on the local world", path, p)
					}
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if checked < 30 {
		t.Fatalf("checked only %d files: is the layout what this test expects?", checked)
	}
}
