package testenv

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"testing"
)

// ExiftoolJSON runs exiftool -j with args and returns each file's tags by
// its base name, for tests that read back what ps wrote.
func ExiftoolJSON(t testing.TB, exiftool string, args ...string) map[string]map[string]any {
	t.Helper()
	out, err := exec.Command(exiftool, append([]string{"-j"}, args...)...).Output()
	if err != nil {
		t.Fatalf("exiftool %v: %v", args, err)
	}
	var list []map[string]any
	if err := json.Unmarshal(out, &list); err != nil {
		t.Fatal(err)
	}
	got := map[string]map[string]any{}
	for _, m := range list {
		got[filepath.Base(m["SourceFile"].(string))] = m
	}
	return got
}
