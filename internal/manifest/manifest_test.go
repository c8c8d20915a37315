package manifest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ps-photos/ps/internal/testenv"
)

func testEntry(i int, local string) *Entry {
	return &Entry{Source: "file:///src", ID: fmt.Sprintf("id%d", i), Size: int64(100 + i),
		Mtime: "2024-07-01T00:00:00Z", Local: local, SHA256: strings.Repeat("ab", 32)}
}

func TestAppendReopenAndIndex(t *testing.T) {
	dir := t.TempDir()
	_, w, err := Open(dir, false, false)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3000 { // several frames
		if err := w.Add(testEntry(i, fmt.Sprintf("f%d.jpg", i))); err != nil {
			t.Fatal(err)
		}
	}
	// A later line for id5 moves it; a tombstone removes id6.
	w.Add(&Entry{Source: "file:///src", ID: "id5", Size: 999, Local: "moved.jpg", N: 2})
	w.Add(&Entry{Source: "file:///src", ID: "id6", Local: "f6.jpg", Deleted: true})
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	ix, w2, err := Open(dir, false, true)
	if err != nil {
		t.Fatal(err)
	}
	defer w2.Close()
	if ix.Len() != 2999 {
		t.Fatalf("index has %d entries, want 2999", ix.Len())
	}
	hit, ok := ix.Lookup(ix.Key("file:///src", "id5"))
	if !ok || hit.Name != ix.NameHash("moved.jpg") || hit.Suffix != 2 || hit.FP != ix.Fingerprint(999, time.Time{}) {
		t.Errorf("id5: %+v %v", hit, ok)
	}
	if _, ok := ix.Lookup(ix.Key("file:///src", "id6")); ok {
		t.Error("the tombstoned entry is still there")
	}
	if !ix.NameTakenByOther(ix.NameHash("f7.jpg"), ix.Key("x", "y")) || ix.NameTakenByOther(ix.NameHash("f7.jpg"), ix.Key("file:///src", "id7")) {
		t.Error("name ownership wrong")
	}
	if sum, ok := ix.SHA256(ix.Key("file:///src", "id7")); !ok || sum != strings.Repeat("ab", 32) {
		t.Errorf("sha %q %v", sum, ok)
	}
	// Only one writer at a time.
	if _, _, err := Open(dir, false, false); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Errorf("second writer: %v", err)
	}
}

func TestTornTailIsCut(t *testing.T) {
	dir := t.TempDir()
	_, w, _ := Open(dir, false, false)
	w.Add(testEntry(1, "a.jpg"))
	w.Flush()
	w.Add(testEntry(2, "b.jpg"))
	w.Close()
	p := filepath.Join(dir, FileName)
	whole, _ := os.ReadFile(p)
	// Keep the first frame whole and only part of the second: a crash mid-write.
	first := frameLen(t, whole)
	torn := whole[:first+(len(whole)-first)/2]
	os.WriteFile(p, torn, 0o644)

	ix, w, err := Open(dir, false, false)
	if err != nil {
		t.Fatal(err)
	}
	if ix.Len() != 1 {
		t.Fatalf("%d entries survive, want 1", ix.Len())
	}
	w.Add(testEntry(3, "c.jpg"))
	w.Close()
	var ids []string
	Scan(dir, func(e *Entry) error { ids = append(ids, e.ID); return nil })
	if strings.Join(ids, ",") != "id1,id3" {
		t.Errorf("entries after repair: %v", ids)
	}
	zstdcat := testenv.LookTool(t, "zstd", "zstdcat")
	out, err := exec.Command(zstdcat, p).Output()
	if err != nil || strings.Count(string(out), "\n") != 2 || !strings.Contains(string(out), `"local":"c.jpg"`) {
		t.Errorf("zstdcat: %v\n%s", err, out)
	}
}

func frameLen(t *testing.T, b []byte) int {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "frame")
	if err != nil {
		t.Fatal(err)
	}
	f.Write(b)
	f.Close()
	n := 0
	good, err := scanFile(f.Name(), func([]byte) error {
		n++
		return errStop
	})
	if err != errStop {
		t.Fatalf("scan: %v", err)
	}
	return int(good)
}

var errStop = fmt.Errorf("stop")

func TestMissingManifestIsEmpty(t *testing.T) {
	ix, w, err := Open(filepath.Join(t.TempDir(), "nope"), true, false)
	if err != nil || w != nil || ix.Len() != 0 {
		t.Fatalf("%v %v %v", ix, w, err)
	}
}

// Names one file on a case-insensitive or normalising file system fold
// alike; names that differ otherwise do not.
func TestFoldName(t *testing.T) {
	same := [][2]string{
		{"1719828000.CR3", "1719828000.cr3"},
		{"a/caf\u00e9.jpg", "a/cafe\u0301.jpg"},
		{"A/CAF\u00c9.JPG", "a/cafe\u0301.jpg"},
		{"plain/name.jpg", "plain/name.jpg"},
	}
	for _, p := range same {
		if FoldName(p[0]) != FoldName(p[1]) {
			t.Errorf("FoldName(%q) = %q, FoldName(%q) = %q: want equal", p[0], FoldName(p[0]), p[1], FoldName(p[1]))
		}
	}
	if FoldName("a/IMG_1.CR3") == FoldName("b/IMG_1.CR3") || FoldName("café.jpg") == FoldName("cafe.jpg") {
		t.Error("different names folded alike")
	}
}
