package safefile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func TestRefusesSymlinkAndNonRegular(t *testing.T) {
	dir := t.TempDir()
	outside := filepath.Join(dir, "outside")
	if err := os.WriteFile(outside, []byte("{taken:%Y}/../../x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(outside, link); err != nil {
		t.Skip("no symlinks here:", err)
	}
	if _, err := ReadFile(link); !errors.Is(err, ErrNotRegular) {
		t.Errorf("ReadFile through a symlink: got %v, want ErrNotRegular", err)
	}
	if err := WriteFile(link, []byte("x"), 0o644); !errors.Is(err, ErrNotRegular) {
		t.Errorf("WriteFile through a symlink: got %v, want ErrNotRegular", err)
	}
	if b, _ := os.ReadFile(outside); string(b) != "{taken:%Y}/../../x\n" {
		t.Errorf("the link's target was changed to %q", b)
	}
	if _, err := Open(dir, os.O_RDONLY, 0); !errors.Is(err, ErrNotRegular) {
		t.Errorf("Open of a folder: got %v, want ErrNotRegular", err)
	}
	if _, err := ReadFile(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: got %v, want ErrNotExist", err)
	}
	plain := filepath.Join(dir, "plain")
	if err := WriteFile(plain, []byte("epoch\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if b, err := ReadFile(plain); err != nil || string(b) != "epoch\n" {
		t.Errorf("ReadFile = %q, %v", b, err)
	}
}
