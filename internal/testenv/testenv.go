// Package testenv holds test helpers shared by every package: finding the
// real tools tests need (smbd, chromium, exiftool) and refusing to skip
// when CI=true, where a skipped test would hide a missing install step.
package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// InCI reports whether skips are forbidden (CI=true).
func InCI() bool { return os.Getenv("CI") == "true" }

// Skip skips the test with reason, or fails it under CI.
func Skip(t testing.TB, reason string) {
	t.Helper()
	if InCI() {
		t.Fatalf("CI=true forbids skipping: %s", reason)
	}
	t.Skip(reason)
}

// LookTool returns the path of a program the test needs, skipping (or
// failing under CI) with a message that says how to install it.
func LookTool(t testing.TB, install string, names ...string) string {
	t.Helper()
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
		for _, dir := range []string{"/usr/sbin", "/usr/bin", "/usr/local/sbin"} {
			p := dir + "/" + n
			if st, err := os.Stat(p); err == nil && !st.IsDir() {
				return p
			}
		}
	}
	Skip(t, names[0]+" is not installed (apt-get install "+install+", or run make test, which installs it)")
	return ""
}

// Fixture returns the absolute path of a file in the repository's testdata/
// folder. It walks up from the test's working directory to go.mod, so it works
// from any package, and fails the test when the file is missing: test data
// lives in the repository, never beside it.
func Fixture(t testing.TB, name string) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("no go.mod above the test's folder: cannot find testdata/%s", name)
		}
		dir = parent
	}
	p := filepath.Join(dir, "testdata", name)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("test fixture missing: %v", err)
	}
	return p
}
