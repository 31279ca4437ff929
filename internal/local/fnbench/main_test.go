package main

import (
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// The minimal function, built by the Makefile's build-package, reaches its
// first invocation/next under the stand-in Runtime API, and its rusage is
// read; a bootstrap that dies at init is an error naming it, not a figure.
func TestColdStart(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a function")
	}
	dir := t.TempDir()
	if err := makeTarget("../../..", dir, runtime.GOARCH, "build-package", "PKG="+references[0].pkg); err != nil {
		t.Fatal(err)
	}
	cpu, rss, wall, err := coldStart(filepath.Join(dir, "bootstrap"), "minimal")
	if err != nil {
		t.Fatal(err)
	}
	if cpu <= 0 || rss < 1e6 || wall <= 0 {
		t.Errorf("cpu %v s, rss %v B, wall %v s", cpu, rss, wall)
	}
	if _, _, _, err := coldStart("/bin/false", "false"); err == nil || !strings.Contains(err.Error(), "exited before asking for an invocation") {
		t.Errorf("a bootstrap that exits: %v", err)
	}
}

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want float64
	}{{[]float64{3, 1, 2}, 2}, {[]float64{4, 1, 3, 2}, 2.5}, {[]float64{7}, 7}} {
		if got := median(c.in); got != c.want {
			t.Errorf("median(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}
