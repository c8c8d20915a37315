package xmp

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ps-photos/ps/internal/testenv"
)

// TestSidecarRoundTripThroughExiftool writes a sidecar and reads it back
// with exiftool through the Reader: every value, structure, sequence and
// language alternative must come back as written.
func TestSidecarRoundTripThroughExiftool(t *testing.T) {
	bin := testenv.LookTool(t, "libimage-exiftool-perl", "exiftool")
	dir := t.TempDir()
	want := sampleSettings()
	p := filepath.Join(dir, "IMG_0001.xmp")
	if err := WriteSidecar(p, Marshal(want), false); err != nil {
		t.Fatal(err)
	}
	r, err := NewReader(ReaderOptions{Jobs: 2, Binary: bin})
	if err != nil {
		t.Fatal(err)
	}
	edits, errs := r.ReadEdits(context.Background(), []string{p, filepath.Join(dir, "missing.jpg")})
	if errs[0] != nil {
		t.Fatal(errs[0])
	}
	if errs[1] == nil {
		t.Error("a missing file read without error")
	}
	got := edits[0].Settings
	if len(got) != len(want) {
		t.Errorf("read back %v, want %v", got.Names(), want.Names())
	}
	for name, w := range want {
		if g, ok := got[name]; !ok || !g.Equal(w, 0) {
			t.Errorf("%s: read back %s, wrote %s", name, g, w)
		}
	}
	// exiftool itself must see crs:Temperature (its "ColorTemperature").
	out, err := exec.Command(bin, "-s", "-s", "-s", "-XMP-crs:ColorTemperature", p).Output()
	if err != nil || strings.TrimSpace(string(out)) != "5450" {
		t.Errorf("exiftool sees ColorTemperature %q (%v)", out, err)
	}
}

// TestReadShots reads shooting data from the real CR3 fixture.
func TestReadShots(t *testing.T) {
	bin := testenv.LookTool(t, "libimage-exiftool-perl", "exiftool")
	fixture := testenv.Fixture(t, "CanonRaw.cr3")
	r, _ := NewReader(ReaderOptions{Jobs: 1, Binary: bin})
	shots, errs := r.ReadShots(context.Background(), []string{fixture})
	if errs[0] != nil {
		t.Fatal(errs[0])
	}
	s := shots[0]
	if s.ISO != 12800 || s.ExposureTime != 0.0125 || s.FNumber != 3.5 || s.FocalLength != 15 || s.Flash != 0 {
		t.Errorf("shot = %+v (%s)", s, s)
	}
	if s.Taken.Format("2006-01-02 15:04:05.00") != "2018-02-21 12:08:56.21" || !s.SubSec || s.Serial != "613040000565" {
		t.Errorf("taken %v subsec %v serial %q", s.Taken, s.SubSec, s.Serial)
	}
}

// TestParallelReadsKeepTheirOwnData reads many files on several exiftool
// processes at once: each file must come back with its own values. (The
// processes once shared one read buffer: under load a JSON answer was
// overwritten while it was decoded, and ps-xmp panicked.)
func TestParallelReadsKeepTheirOwnData(t *testing.T) {
	bin := testenv.LookTool(t, "libimage-exiftool-perl", "exiftool")
	dir := t.TempDir()
	var paths []string
	for i := range 8 * batchSize {
		s := sampleSettings()
		s["LookName"] = TextValue(fmt.Sprintf("look %04d %s", i, strings.Repeat("x", i)))
		p := filepath.Join(dir, fmt.Sprintf("IMG_%04d.xmp", i))
		if err := WriteSidecar(p, Marshal(s), false); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	r, err := NewReader(ReaderOptions{Jobs: 4, Binary: bin})
	if err != nil {
		t.Fatal(err)
	}
	edits, errs := r.ReadEdits(context.Background(), paths)
	for i := range paths {
		want := fmt.Sprintf("look %04d %s", i, strings.Repeat("x", i))
		if errs[i] != nil {
			t.Fatalf("%s: %v", paths[i], errs[i])
		}
		if got := edits[i].Settings["LookName"]; got.Text != want {
			t.Fatalf("%s: LookName %.20q…, want %.20q…", paths[i], got.Text, want)
		}
	}
}
