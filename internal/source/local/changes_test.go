package local_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/ps-photos/ps/internal/source"
	"github.com/ps-photos/ps/internal/source/local"
	"github.com/ps-photos/ps/internal/source/sourcetest"
)

func TestChangesSinceLastListing(t *testing.T) {
	defer local.SetSlack(0)()
	old := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	dir := seed(t, []sourcetest.File{
		{Path: "a/one.jpg", Data: []byte("1"), Mtime: old},
		{Path: "a/two.jpg", Data: []byte("22"), Mtime: old},
		{Path: "b/three.cr3", Data: []byte("333"), Mtime: old},
	})
	src, err := local.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	run := func(since []byte) ([]string, []byte, bool) {
		t.Helper()
		sink := &sourcetest.Sink{}
		next, incremental, err := src.ListChanges(context.Background(), source.ListOptions{Jobs: 2}, since, sink)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, it := range sink.Items {
			ids = append(ids, it.ID)
		}
		slices.Sort(ids)
		return ids, next, incremental
	}
	ids, state, incremental := run(nil)
	if incremental || len(ids) != 3 {
		t.Fatalf("first run: %v (incremental %v), want all three", ids, incremental)
	}
	time.Sleep(20 * time.Millisecond) // file times after the state's
	if ids, _, incremental := run(state); !incremental || len(ids) != 0 {
		t.Fatalf("nothing changed: %v (incremental %v)", ids, incremental)
	}
	// Edited; copied in with an old mtime kept (as cp -p does); removed.
	if err := os.WriteFile(filepath.Join(dir, "a/one.jpg"), []byte("edited"), 0o644); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "b/imported.cr3")
	if err := os.WriteFile(p, []byte("from the card"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p, old, old); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(dir, "a/two.jpg"))
	ids, state, _ = run(state)
	if want := []string{"a/one.jpg", "b/imported.cr3"}; !slices.Equal(ids, want) {
		t.Errorf("changes %v, want %v", ids, want)
	}
	time.Sleep(20 * time.Millisecond)
	if ids, _, _ := run(state); len(ids) != 0 {
		t.Errorf("after catching up: %v", ids)
	}
}
