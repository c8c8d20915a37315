package state

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ps-photos/ps/internal/record"
)

// modes returns every path under dir with its permission bits.
func modes(t *testing.T, dir string) map[string]fs.FileMode {
	t.Helper()
	out := map[string]fs.FileMode{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out[rel] = info.Mode().Perm()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Sessions and secrets are 0600 in 0700 folders whatever the umask, also
// when they replace a file someone made readable, and no temporary file
// is left behind.
func TestModes(t *testing.T) {
	old := setUmask(0)
	defer setUmask(old)
	dir := filepath.Join(t.TempDir(), "ps")
	s := Store{Dir: dir}
	sess := &record.Record{Type: record.TypeSession, Source: "smb://me@nas:445/photos", Created: time.Now(), Session: map[string]any{"user": "me"}}
	if err := s.SaveSession(sess); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveSecretJSON(sess.Source, "credentials", map[string]string{"password": "hunter2"}); err != nil {
		t.Fatal(err)
	}
	secret := s.secretPath(sess.Source, "credentials")
	if err := os.Chmod(secret, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveSecretJSON(sess.Source, "credentials", map[string]string{"password": "hunter3"}); err != nil {
		t.Fatal(err)
	}
	got := modes(t, dir)
	if len(got) != 6 { // ., sessions, its file, secrets, its file, latest
		t.Errorf("state folder holds %v", got)
	}
	for p, m := range got {
		want := fs.FileMode(0o600)
		if info, _ := os.Stat(filepath.Join(dir, p)); info.IsDir() {
			want = 0o700
		}
		if m != want || strings.Contains(p, ".tmp-") {
			t.Errorf("%s: mode %v, want %v", p, m, want)
		}
	}
	var creds map[string]string
	if err := s.LoadSecretJSON(sess.Source, "credentials", &creds); err != nil || creds["password"] != "hunter3" {
		t.Errorf("secret read back %v, %v", creds, err)
	}
}

func TestSessions(t *testing.T) {
	s := Store{Dir: t.TempDir()}
	if _, err := s.Latest(); err == nil || !strings.Contains(err.Error(), "run ps-auth first") {
		t.Errorf("no session yet: %v", err)
	}
	if _, err := s.Session("icloud:"); !os.IsNotExist(err) {
		t.Errorf("missing session: %v, want not-exist", err)
	}
	if err := s.SaveSession(&record.Record{Type: record.TypeItem, Source: "x"}); err == nil {
		t.Error("saved an item as a session")
	}
	for _, src := range []string{"icloud:", "synology://gofile.me/a/b"} {
		if err := s.SaveSession(&record.Record{Type: record.TypeSession, Source: src, Session: map[string]any{"sid": src}}); err != nil {
			t.Fatal(err)
		}
	}
	latest, err := s.Latest()
	if err != nil || latest.Source != "synology://gofile.me/a/b" {
		t.Errorf("latest %v, %v", latest, err)
	}
	first, err := s.Session("icloud:")
	if err != nil || first.Session["sid"] != "icloud:" {
		t.Errorf("first session %v, %v", first, err)
	}
}

// A source location becomes one file name inside the folder, whatever it
// holds: no separators, never "." or "..", and distinct locations never share one.
func TestKeys(t *testing.T) {
	seen := map[string]string{}
	for _, src := range []string{"../../etc/passwd", "smb://a/b", "smb://a_b", "smb:__a_b", strings.Repeat("x", 300), strings.Repeat("x", 301), "", "/"} {
		k := keyFor(src)
		if strings.ContainsAny(k, `/\`) || k == "." || k == ".." || len(k) > 80 {
			t.Errorf("keyFor(%q) = %q", src, k)
		}
		if other, ok := seen[k]; ok {
			t.Errorf("%q and %q share the key %q", src, other, k)
		}
		seen[k] = src
	}
}
