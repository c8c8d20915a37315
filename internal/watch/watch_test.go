//go:build unix

package watch_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ps-photos/ps/internal/record"
	"github.com/ps-photos/ps/internal/retry"
	"github.com/ps-photos/ps/internal/state"
	"github.com/ps-photos/ps/internal/testenv"
	"github.com/ps-photos/ps/internal/watch"
)

type harness struct {
	dir    string
	out    *testenv.Buffer
	stderr *testenv.Buffer
	waits  []time.Duration
	mu     sync.Mutex
}

func newHarness(t *testing.T) *harness {
	return &harness{dir: t.TempDir(), out: &testenv.Buffer{}, stderr: &testenv.Buffer{}}
}

// options are quick defaults; sleeps are recorded and shortened to 1 ms
// so a test of many cycles takes no time.
func (h *harness) options(cmd string) watch.Options {
	return watch.Options{
		Every: time.Second, Backoff: retry.Policy{Base: 4 * time.Second, Max: 20 * time.Second},
		Command: []string{"/bin/sh", "-c", "cd " + h.dir + " && " + cmd},
		Out:     record.NewEncoder(h.out), Stdout: h.out, Stderr: h.stderr, StopTimeout: 5 * time.Second,
		Sleep: func(ctx context.Context, d time.Duration) error {
			h.mu.Lock()
			h.waits = append(h.waits, d)
			h.mu.Unlock()
			return retry.SleepCtx(ctx, time.Millisecond)
		},
	}
}

func (h *harness) cycles(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(h.out.String()), "\n") {
		var rec struct {
			Type string         `json:"type"`
			Meta map[string]any `json:"meta"`
		}
		if json.Unmarshal([]byte(line), &rec) == nil && rec.Type == "cycle" {
			out = append(out, rec.Meta)
		}
	}
	return out
}

func TestBackoffGrowsWhileFailingAndResets(t *testing.T) {
	h := newHarness(t)
	// Cycles 1–4 fail, 5 succeeds, 6 fails, 7 succeeds.
	script := `n=$PS_WATCH_CYCLE; case $n in 1|2|3|4|6) exit 1;; esac; exit 0`
	opts := h.options(script)
	opts.Cycles = 7
	w := watch.New(opts)
	if code := w.Run(); code != 0 {
		t.Fatalf("last cycle code %d", code)
	}
	cycles := h.cycles(t)
	if len(cycles) != 7 {
		t.Fatalf("%d cycle records: %s", len(cycles), h.out.String())
	}
	for i, c := range cycles {
		want := 0
		if i < 4 || i == 5 {
			want = 1
		}
		if c["exit"] != float64(want) || c["cycle"] != float64(i+1) {
			t.Errorf("cycle record %d: %v", i+1, c)
		}
	}
	if _, ok := cycles[6]["next"]; ok {
		t.Error("the last cycle announces a next one")
	}
	if len(h.waits) != 6 {
		t.Fatalf("waits %v", h.waits)
	}
	// After the k-th failure in a row: Every plus up to Base·2^(k-1), capped.
	ceilings := []time.Duration{4, 8, 16, 20}
	for k, c := range ceilings {
		if w := h.waits[k]; w < time.Second || w > time.Second+c*time.Second {
			t.Errorf("wait after failure %d: %v, want 1s..%v", k+1, w, time.Second+c*time.Second)
		}
	}
	// A success resets: the wait is Every less the cycle's time, and the
	// next failure starts from the first ceiling again.
	if w := h.waits[4]; w > time.Second {
		t.Errorf("wait after a success %v, want at most 1s", w)
	}
	if w := h.waits[5]; w < time.Second || w > 5*time.Second {
		t.Errorf("wait after the first failure following a success %v, want 1s..5s", w)
	}
}

func TestBackoffIsRandomAndGrows(t *testing.T) {
	// Over many failing cycles the largest wait seen after the 4th failure
	// in a row is beyond what the first failure could ever give.
	h := newHarness(t)
	opts := h.options("exit 1")
	opts.Cycles = 40
	watch.New(opts).Run()
	var first, fourth time.Duration
	for i, w := range h.waits {
		if i == 0 {
			first = w
		}
		fourth = max(fourth, w)
	}
	if first > 5*time.Second || fourth <= 5*time.Second {
		t.Errorf("first wait %v (want ≤ 5s), longest %v (want > 5s)", first, fourth)
	}
}

func TestStopForwardsTheSignalAndStartsNoNewCycle(t *testing.T) {
	h := newHarness(t)
	// The cycle is a shell that starts a grandchild and waits; SIGTERM to
	// the group reaches both.
	script := `touch started.$PS_WATCH_CYCLE; trap 'echo term >> trapped; exit 143' TERM; sleep 30 & echo $! > sleeper; wait`
	opts := h.options(script)
	opts.Every = 50 * time.Millisecond
	w := watch.New(opts)
	done := make(chan int, 1)
	go func() { done <- w.Run() }()
	waitFile(t, filepath.Join(h.dir, "started.1"))
	waitFile(t, filepath.Join(h.dir, "sleeper"))
	w.Stop(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after Stop")
	}
	if b, _ := os.ReadFile(filepath.Join(h.dir, "trapped")); string(b) != "term\n" {
		t.Errorf("the cycle's trap saw %q", b)
	}
	if _, err := os.Stat(filepath.Join(h.dir, "started.2")); err == nil {
		t.Error("a cycle started after the stop")
	}
	waitGone(t, readPid(t, filepath.Join(h.dir, "sleeper")), 5*time.Second, "the cycle's grandchild outlived the stop")
	if w.StopSignal() != syscall.SIGTERM {
		t.Errorf("stop signal %v", w.StopSignal())
	}
}

func TestStopLeavesNoStragglers(t *testing.T) {
	h := newHarness(t)
	// On TERM the cycle starts a new background process (as a shell does
	// that forks just as the signal arrives) and exits: that process
	// never saw the signal and holds the cycle's output pipe.
	opts := h.options(`trap 'sh -c "echo \$\$ > straggler; exec sleep 30" & sleep 0.2; exit 143' TERM; touch started; sleep 30 & wait`)
	w := watch.New(opts)
	done := make(chan int, 1)
	go func() { done <- w.Run() }()
	waitFile(t, filepath.Join(h.dir, "started"))
	w.Stop(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("ps-watch waited for a process the stopped cycle left behind")
	}
	waitGone(t, readPid(t, filepath.Join(h.dir, "straggler")), 3*time.Second, "the straggler outlived the stopped cycle")
}

func TestStopKillsACycleThatIgnoresTheSignal(t *testing.T) {
	h := newHarness(t)
	opts := h.options(`trap '' TERM INT; touch started; sleep 30`)
	opts.StopTimeout = 300 * time.Millisecond
	w := watch.New(opts)
	done := make(chan int, 1)
	go func() { done <- w.Run() }()
	waitFile(t, filepath.Join(h.dir, "started"))
	start := time.Now()
	w.Stop(syscall.SIGINT)
	select {
	case code := <-done:
		if code != 128+int(syscall.SIGKILL) {
			t.Errorf("killed cycle's code %d", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a cycle ignoring SIGINT was not killed")
	}
	if d := time.Since(start); d < 250*time.Millisecond {
		t.Errorf("killed after %v, before the stop timeout", d)
	}
}

func TestStopBetweenCyclesEndsTheWait(t *testing.T) {
	h := newHarness(t)
	opts := h.options("touch ran.$PS_WATCH_CYCLE")
	opts.Every = time.Hour
	opts.Sleep = retry.SleepCtx // really wait
	w := watch.New(opts)
	done := make(chan int, 1)
	go func() { done <- w.Run() }()
	waitFile(t, filepath.Join(h.dir, "ran.1"))
	time.Sleep(50 * time.Millisecond)
	w.Stop(syscall.SIGTERM)
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("code %d", code)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the wait between cycles did not end on Stop")
	}
}

func TestNotifyWhenTheSignInExpired(t *testing.T) {
	h := newHarness(t)
	// The cycle fails like ps-list with an expired session; the secret it
	// was given must not reach the notification.
	script := `echo 'ps-list: icloud: HTTP 421: the iCloud session has expired' >&2; echo '  run: ps-auth icloud --username me@example.com' >&2; exit 3`
	opts := h.options(script)
	opts.Cycles = 3
	notes := filepath.Join(h.dir, "notes")
	opts.Notify = fmt.Sprintf(`{ echo "event=$PS_WATCH_EVENT"; echo "env=$PS_WATCH_MESSAGE"; echo "stdin=$(cat)"; } >> %s`, notes)
	t.Setenv("PS_PASSWORD", "hunter2")
	w := watch.New(opts)
	if code := w.Run(); code != 3 {
		t.Errorf("code %d, want 3", code)
	}
	b, err := os.ReadFile(notes)
	if err != nil {
		t.Fatal(err)
	}
	got := string(b)
	if strings.Count(got, "event=auth-expired") != 1 {
		t.Errorf("want one notification for three failing cycles:\n%s", got)
	}
	for _, want := range []string{"env=ps-watch: the sign-in has expired", "stdin=ps-watch: the sign-in has expired", "Run: ps-auth icloud --username me@example.com"} {
		if !strings.Contains(got, want) {
			t.Errorf("notification lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "hunter2") {
		t.Error("the notification holds the password")
	}
}

func TestNotifyWhenBeforeCommandNeedsSignIn(t *testing.T) {
	h := newHarness(t)
	opts := h.options("touch cycle-ran")
	opts.Cycles = 1
	opts.Before = "exit 3"
	notes := filepath.Join(h.dir, "notes")
	opts.Notify = "echo $PS_WATCH_EVENT >> " + notes
	if code := watch.New(opts).Run(); code != 3 {
		t.Errorf("code %d", code)
	}
	if _, err := os.Stat(filepath.Join(h.dir, "cycle-ran")); err == nil {
		t.Error("the cycle ran although --before failed")
	}
	if b, _ := os.ReadFile(notes); string(b) != "auth-expired\n" {
		t.Errorf("notes %q", b)
	}
	if c := h.cycles(t); len(c) != 1 || c[0]["before_exit"] != float64(3) {
		t.Errorf("cycle records %v", c)
	}
}

func TestNotifyWhenCyclesKeepFailing(t *testing.T) {
	h := newHarness(t)
	// Cycles 1–3 fail, 4 succeeds, 5–7 fail: one notification for each run
	// of failures that reaches NotifyAfter.
	opts := h.options(`case $PS_WATCH_CYCLE in 4) exit 0;; esac; exit 1`)
	opts.Cycles = 7
	opts.NotifyAfter = 2
	notes := filepath.Join(h.dir, "notes")
	opts.Notify = `{ echo "$PS_WATCH_EVENT"; cat; } >> ` + notes
	watch.New(opts).Run()
	b, _ := os.ReadFile(notes)
	if got := string(b); strings.Count(got, "failing\nps-watch: 2 cycles in a row failed (the last exited 1)") != 2 || strings.Count(got, "failing") != 2 {
		t.Errorf("want two failing notifications, got:\n%s", got)
	}
}

func TestNotifyBeforeASessionExpires(t *testing.T) {
	h := newHarness(t)
	stateDir := filepath.Join(h.dir, "state")
	store := state.Store{Dir: stateDir}
	now := time.Now()
	for src, left := range map[string]time.Duration{"icloud:": 2 * 24 * time.Hour, "synology://nas:5001/sharing/x": 60 * 24 * time.Hour} {
		rec := &record.Record{Type: record.TypeSession, Source: src, Created: now, Expires: now.Add(left),
			Session: map[string]any{"cookies": map[string]any{"X-APPLE-WEBAUTH-TOKEN": "secret-cookie"}}}
		if err := store.SaveSession(rec); err != nil {
			t.Fatal(err)
		}
	}
	opts := h.options("true")
	opts.Cycles = 3
	opts.StateDir = stateDir
	opts.ExpiryWarning = 7 * 24 * time.Hour
	notes := filepath.Join(h.dir, "notes")
	opts.Notify = `{ echo "$PS_WATCH_EVENT"; cat; } >> ` + notes
	watch.New(opts).Run()
	b, _ := os.ReadFile(notes)
	got := string(b)
	if strings.Count(got, "auth-expiring") != 1 || !strings.Contains(got, "the sign-in for icloud: expires on") {
		t.Errorf("want one warning about icloud:, got:\n%s", got)
	}
	if strings.Contains(got, "synology") || strings.Contains(got, "secret-cookie") {
		t.Errorf("warning names the wrong session or a secret:\n%s", got)
	}
}

func waitFile(t *testing.T, p string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if b, err := os.ReadFile(p); err == nil && (filepath.Base(p) != "sleeper" || len(bytes.TrimSpace(b)) > 0) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not appear", p)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitGone waits for a process the test did not start itself to end; past
// the timeout it kills it (by PID: the test's own grandchild) and fails.
func waitGone(t *testing.T, pid int, timeout time.Duration, failure string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for syscall.Kill(pid, 0) == nil {
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatal(failure)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func readPid(t *testing.T, p string) int {
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return pid
}
