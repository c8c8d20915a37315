package local_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/ps-photos/ps/internal/source"
	"github.com/ps-photos/ps/internal/source/local"
	"github.com/ps-photos/ps/internal/source/sourcetest"
)

func seed(t *testing.T, files []sourcetest.File) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range files {
		p := filepath.Join(dir, filepath.FromSlash(f.Path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, f.Data, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, f.Mtime, f.Mtime); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestConformance(t *testing.T) {
	for _, jobs := range []int{1, 4} {
		t.Run(map[int]string{1: "sequential", 4: "concurrent"}[jobs], func(t *testing.T) {
			sourcetest.Run(t, sourcetest.Config{
				New: func(t *testing.T, files []sourcetest.File) (source.Source, source.ListOptions) {
					src, err := local.New(seed(t, files))
					if err != nil {
						t.Fatal(err)
					}
					return src, source.ListOptions{Jobs: jobs}
				},
				Factory: &local.Factory, BadLocation: "file://otherhost/photos",
			})
		})
	}
}
