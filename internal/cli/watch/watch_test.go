//go:build unix

package watch_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ps-photos/ps/internal/cli"
	"github.com/ps-photos/ps/internal/cli/watch"
	"github.com/ps-photos/ps/internal/testenv"
)

// TestSIGTERMStopsWithExitZero sends the process a real SIGTERM while a
// cycle runs: ps-watch forwards it, waits for the cycle, writes no new
// cycle and exits 0, as systemd expects of a stopped service.
func TestSIGTERMStopsWithExitZero(t *testing.T) {
	dir := t.TempDir()
	var out, errw testenv.Buffer
	script := "touch " + filepath.Join(dir, "started.$PS_WATCH_CYCLE") + "; trap 'exit 143' TERM; sleep 30 & wait"
	done := make(chan int, 1)
	go func() {
		done <- watch.Main([]string{"--every", "1s", "--", "sh", "-c", script}, cli.Stdio{In: strings.NewReader(""), Out: &out, Err: &errw})
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(filepath.Join(dir, "started.1")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the first cycle did not start")
		}
		time.Sleep(10 * time.Millisecond)
	}
	syscall.Kill(os.Getpid(), syscall.SIGTERM)
	select {
	case code := <-done:
		if code != cli.ExitOK {
			t.Errorf("exit %d after SIGTERM, want 0\n%s", code, errw.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("ps-watch did not stop on SIGTERM\n%s", errw.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "started.2")); err == nil {
		t.Error("a cycle started after SIGTERM")
	}
	if !strings.Contains(out.String(), `"type":"cycle"`) {
		t.Errorf("no cycle record for the stopped cycle:\n%s", out.String())
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{{"--every", "1m"}, {"--every", "10ms", "--", "true"}, {"--", "true"}} {
		var errw bytes.Buffer
		if code := watch.Main(args, cli.Stdio{In: strings.NewReader(""), Out: &bytes.Buffer{}, Err: &errw}); code != cli.ExitUsage {
			t.Errorf("%v: exit %d, want 2 (%s)", args, code, errw.String())
		}
	}
}
