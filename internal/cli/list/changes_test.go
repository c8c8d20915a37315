package list_test

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ps-photos/ps/internal/cli"
	"github.com/ps-photos/ps/internal/cli/auth"
	"github.com/ps-photos/ps/internal/cli/list"
	"github.com/ps-photos/ps/internal/source/icloud/icloudtest"
)

// endBreaker is a reader that goes away just as the end record comes: the
// write that carries it fails as a closed pipe does.
type endBreaker struct{ bytes.Buffer }

func (w *endBreaker) Write(p []byte) (int, error) {
	if i := bytes.Index(p, []byte(`{"type":"end"`)); i >= 0 {
		w.Buffer.Write(p[:i])
		return i, syscall.EPIPE
	}
	return w.Buffer.Write(p)
}

func TestChangeStateIsSavedOnlyAfterTheEndRecord(t *testing.T) {
	zones := icloudtest.Generate(icloudtest.Spec{Assets: 30, Seed: 3})
	fake := icloudtest.New(icloudtest.Options{}, zones...)
	t.Cleanup(fake.Close)
	fake.AddAccount("me@example.com", "pw-secret", "012345")
	for k, v := range fake.Env() {
		t.Setenv(k, v)
	}
	dir := t.TempDir()
	t.Setenv("PS_STATE_DIR", filepath.Join(dir, "state"))
	t.Setenv("PS_PASSWORD", "pw-secret")
	var errw bytes.Buffer
	if code := auth.Main([]string{"icloud", "--username", "me@example.com", "--code", "012345"}, cli.Stdio{In: strings.NewReader(""), Out: io.Discard, Err: &errw}); code != 0 {
		t.Fatalf("sign-in: %d %s", code, errw.String())
	}
	stateFile := filepath.Join(dir, "icloud.changes")
	run := func(out io.Writer) int {
		return list.Main([]string{"icloud:", "--changes-since", stateFile, "-q"}, cli.Stdio{In: strings.NewReader(""), Out: out, Err: &errw})
	}

	// The reader goes away at the end record: no state is saved.
	run(&endBreaker{})
	if _, err := os.Stat(stateFile); err == nil {
		t.Fatal("state saved although the end record was never written")
	}
	var full bytes.Buffer
	if code := run(&full); code != 0 {
		t.Fatalf("full listing: exit %d: %s", code, errw.String())
	}
	saved, err := os.ReadFile(stateFile)
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(stateFile); st.Mode().Perm() != 0o600 {
		t.Errorf("state file mode %v", st.Mode().Perm())
	}

	// A change, and a run killed at its end: the state stays as it was,
	// and the next run lists the same change again.
	fake.AddAsset("PrimarySync", icloudtest.NewFileAsset("IMG_NEW.JPG", []byte("new"), time.Now()))
	broken := &endBreaker{}
	run(broken)
	if !strings.Contains(broken.String(), `"name":"IMG_NEW.JPG"`) {
		t.Fatalf("the broken run did not list the change:\n%s", broken.String())
	}
	if now, _ := os.ReadFile(stateFile); !bytes.Equal(now, saved) {
		t.Fatal("the state changed although the end record was never written")
	}
	var again bytes.Buffer
	if code := run(&again); code != 0 {
		t.Fatalf("exit %d: %s", code, errw.String())
	}
	if !strings.Contains(again.String(), `"name":"IMG_NEW.JPG"`) || !strings.Contains(again.String(), `"changes":true`) {
		t.Errorf("the next run did not list the change again:\n%s", again.String())
	}
	if strings.Contains(again.String(), "IMG_0001") {
		t.Error("the change listing holds unchanged items")
	}
	if now, _ := os.ReadFile(stateFile); bytes.Equal(now, saved) {
		t.Error("the state was not moved on after a whole run")
	}

	// A state file for another location is a usage error.
	if code := list.Main([]string{"icloud:album/Holidays", "--changes-since", stateFile}, cli.Stdio{In: strings.NewReader(""), Out: io.Discard, Err: &errw}); code != cli.ExitUsage {
		t.Errorf("state of another location: exit %d", code)
	}
	// A source without change tracking is a usage error.
	if code := list.Main([]string{"takeout:" + t.TempDir(), "--changes-since", filepath.Join(dir, "takeout.changes")}, cli.Stdio{In: strings.NewReader(""), Out: io.Discard, Err: &errw}); code != cli.ExitUsage {
		t.Errorf("takeout: exit %d", code)
	}
}
