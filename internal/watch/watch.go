// Package watch runs a command (a ps pipeline) every so often, unattended:
// an optional sign-in step before each cycle, back-off while cycles fail,
// a notification when the sign-in has expired or is about to, and a clean
// stop on SIGTERM/SIGINT that never starts another cycle. It is ps-watch's
// logic; internal/cli/watch is its command line.
package watch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ps-photos/ps/internal/record"
	"github.com/ps-photos/ps/internal/retry"
	"github.com/ps-photos/ps/internal/state"
)

// ExitAuth is the exit code of a ps tool that needs a new sign-in.
const ExitAuth = 3

// Options configure a watch.
type Options struct {
	Every   time.Duration // from the start of one cycle to the start of the next
	Backoff retry.Policy  // added to Every after failed cycles (Base, Max)
	Cycles  int           // stop after this many cycles (0: run until stopped)
	Command []string      // the cycle: argv
	Before  string        // shell command run before each cycle ("" none)
	Notify  string        // shell command told about sign-in trouble ("" none)
	// ExpiryWarning: notify when a saved session expires within this
	// (0: never look).
	ExpiryWarning time.Duration
	// NotifyAfter: notify once this many cycles in a row failed (0: never),
	// so a NAS that went away or a full disk does not go unnoticed.
	NotifyAfter int
	StateDir    string
	// StopTimeout is how long a stopped cycle may take to exit after the
	// signal is forwarded, before its process group is killed.
	StopTimeout time.Duration

	Log    *slog.Logger
	Out    *record.Encoder // cycle records
	Stdout io.Writer       // the children's stdout and stderr
	Stderr io.Writer
	// Sleep waits between cycles; tests may record the waits.
	Sleep func(ctx context.Context, d time.Duration) error
	Now   func() time.Time
}

// Watcher runs cycles until stopped.
type Watcher struct {
	opts Options

	mu      sync.Mutex
	child   *exec.Cmd // the running cycle or before command
	stopSig os.Signal // the signal that stopped the watch, once one came
	stopped chan struct{}

	warned map[string]time.Time // session source → when we last warned
	// authNotified, failNotified: the expired sign-in, the failing
	// cycles were reported; not again until a cycle succeeds.
	authNotified, failNotified bool
}

// New prepares a watch.
func New(opts Options) *Watcher {
	if opts.Sleep == nil {
		opts.Sleep = retry.SleepCtx
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.StopTimeout <= 0 {
		opts.StopTimeout = time.Minute
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	return &Watcher{opts: opts, stopped: make(chan struct{}), warned: map[string]time.Time{}}
}

// Stop ends the watch: the running cycle gets sig (its whole process
// group), no new cycle starts. A second Stop kills the cycle's group.
func (w *Watcher) Stop(sig os.Signal) {
	w.mu.Lock()
	defer w.mu.Unlock()
	first := w.stopSig == nil
	if first {
		w.stopSig = sig
		close(w.stopped)
	} else {
		sig = syscall.SIGKILL
	}
	if w.child != nil && w.child.Process != nil {
		w.opts.Log.Info(fmt.Sprintf("forwarding %v to the running cycle", sig))
		signalGroup(w.child, sig)
	}
}

// StopSignal is the signal that stopped the watch, or nil.
func (w *Watcher) StopSignal() os.Signal {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.stopSig
}

func (w *Watcher) isStopped() bool {
	select {
	case <-w.stopped:
		return true
	default:
		return false
	}
}

// Run runs cycles until Stop, or until Cycles have run. It returns the
// exit code of the last cycle (0 when stopped between cycles).
func (w *Watcher) Run() int {
	failures := 0
	last := 0
	for n := 1; w.opts.Cycles == 0 || n <= w.opts.Cycles; n++ {
		if w.isStopped() {
			return last
		}
		start := w.opts.Now()
		w.checkExpiry()
		code, beforeCode := w.cycle(n)
		if w.isStopped() {
			w.report(n, start, code, beforeCode, time.Time{}, true)
			return code
		}
		last = code
		if code == 0 {
			failures = 0
			w.authNotified, w.failNotified = false, false
		} else {
			failures++
		}
		if w.opts.NotifyAfter > 0 && failures >= w.opts.NotifyAfter && !w.failNotified && code != ExitAuth {
			w.failNotified = true
			w.notify("failing", fmt.Sprintf("ps-watch: %d cycles in a row failed (the last exited %d); see the log for why.", failures, code))
		}
		wait := w.opts.Every - w.opts.Now().Sub(start)
		if failures > 0 {
			wait = w.opts.Every + w.opts.Backoff.Backoff(failures, nil)
		}
		next := start.Add(max(wait, 0))
		if failures > 0 {
			next = w.opts.Now().Add(wait)
		}
		final := w.opts.Cycles != 0 && n == w.opts.Cycles
		w.report(n, start, code, beforeCode, next, final)
		if final {
			break
		}
		if failures > 0 {
			w.opts.Log.Warn(fmt.Sprintf("cycle %d failed (exit %d, %d in a row): next one in %s", n, code, failures, wait.Round(time.Second)))
		}
		if err := w.sleep(next.Sub(w.opts.Now())); err != nil {
			return 0
		}
	}
	return last
}

// sleep waits for d unless the watch is stopped.
func (w *Watcher) sleep(d time.Duration) error {
	if d <= 0 {
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-w.stopped:
			cancel()
		case <-ctx.Done():
		}
	}()
	return w.opts.Sleep(ctx, d)
}

// cycle runs the before command, then (if it succeeded) the command. It
// returns the cycle's exit code, and the before command's (-1: none).
func (w *Watcher) cycle(n int) (code, beforeCode int) {
	beforeCode = -1
	if w.opts.Before != "" {
		beforeCode = w.run(n, "the --before command of cycle", []string{"/bin/sh", "-c", w.opts.Before})
		if beforeCode != 0 {
			if !w.isStopped() {
				w.opts.Log.Warn(fmt.Sprintf("cycle %d: the --before command exited %d: skipping this cycle", n, beforeCode))
			}
			return beforeCode, beforeCode
		}
	}
	if w.isStopped() {
		return 0, beforeCode
	}
	return w.run(n, "cycle", w.opts.Command), beforeCode
}

// run starts argv in its own process group (so a terminal's Ctrl-C
// reaches it only through us, once) and waits for it.
func (w *Watcher) run(n int, what string, argv []string) int {
	tail := &tailWriter{max: 4096}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout = w.opts.Stdout
	cmd.Stderr = io.MultiWriter(w.opts.Stderr, tail)
	cmd.Env = append(os.Environ(), fmt.Sprintf("PS_WATCH_CYCLE=%d", n))
	ownGroup(cmd)
	// A process the cycle left in the background may hold its output
	// pipes: do not wait for it once the cycle itself has exited.
	cmd.WaitDelay = 2 * time.Second
	w.mu.Lock()
	if w.stopSig != nil {
		w.mu.Unlock()
		return 0
	}
	err := cmd.Start()
	if err == nil {
		w.child = cmd
	}
	w.mu.Unlock()
	if err != nil {
		w.opts.Log.Error(fmt.Sprintf("cycle %d: cannot start %s: %v", n, argv[0], err))
		return 127
	}
	done := make(chan struct{})
	go w.killLate(cmd, done)
	err = cmd.Wait()
	close(done)
	w.mu.Lock()
	w.child = nil
	if w.stopSig != nil {
		// Whatever of a stopped cycle is left (a process it forked just
		// as the signal went out) goes with it.
		signalGroup(cmd, syscall.SIGKILL)
	}
	w.mu.Unlock()
	code := exitCode(err)
	if code == ExitAuth && !w.authNotified {
		w.authNotified = true
		w.notify("auth-expired", fmt.Sprintf("ps-watch: the sign-in has expired (%s %d exited %d).%s", what, n, code, hintIn(tail.String())))
	}
	return code
}

// killLate kills a stopped cycle's group that outlives StopTimeout.
func (w *Watcher) killLate(cmd *exec.Cmd, done <-chan struct{}) {
	select {
	case <-done:
		return
	case <-w.stopped:
	}
	select {
	case <-done:
	case <-time.After(w.opts.StopTimeout):
		w.opts.Log.Warn(fmt.Sprintf("the cycle did not stop within %s: killing it", w.opts.StopTimeout))
		signalGroup(cmd, syscall.SIGKILL)
	}
}

func exitCode(err error) int {
	if err == nil {
		return 0
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return ee.ExitCode()
	}
	return 1
}

// hintIn finds the ps-auth command a failed tool named on stderr.
func hintIn(stderr string) string {
	lines := strings.Split(stderr, "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		l := strings.TrimSpace(lines[i])
		if j := strings.Index(l, "ps-auth "); j >= 0 {
			hint := strings.Trim(l[j:], `"'}`)
			if k := strings.IndexAny(hint, `"`); k > 0 {
				hint = hint[:k]
			}
			return " Run: " + hint
		}
	}
	return " Run the ps-auth command for the source again."
}

// report writes the cycle record.
func (w *Watcher) report(n int, start time.Time, code, beforeCode int, next time.Time, last bool) {
	if w.opts.Out == nil {
		return
	}
	meta := map[string]any{
		"cycle": n, "exit": code, "started": record.FormatTime(start),
		"seconds": w.opts.Now().Sub(start).Round(time.Millisecond).Seconds(),
	}
	if beforeCode >= 0 {
		meta["before_exit"] = beforeCode
	}
	if !last {
		meta["next"] = record.FormatTime(next)
	}
	if err := w.opts.Out.Encode(&record.Record{Type: record.TypeCycle, Source: "ps-watch:", Meta: meta}); err == nil {
		w.opts.Out.Flush()
	}
}

// checkExpiry notifies, once a day per session, about saved sessions
// that expire within ExpiryWarning.
func (w *Watcher) checkExpiry() {
	if w.opts.ExpiryWarning <= 0 || w.opts.StateDir == "" {
		return
	}
	sessions, err := state.Store{Dir: w.opts.StateDir}.Sessions()
	if err != nil {
		w.opts.Log.Debug("read saved sessions: " + err.Error())
		return
	}
	now := w.opts.Now()
	for _, s := range sessions {
		if s.Expires.IsZero() || s.Expires.Sub(now) > w.opts.ExpiryWarning {
			continue
		}
		if t, ok := w.warned[s.Source]; ok && now.Sub(t) < 24*time.Hour {
			continue
		}
		w.warned[s.Source] = now
		msg := fmt.Sprintf("ps-watch: the sign-in for %s expires on %s", s.Source, s.Expires.UTC().Format(time.DateTime+" MST"))
		if !s.Expires.After(now) {
			msg = fmt.Sprintf("ps-watch: the sign-in for %s expired on %s", s.Source, s.Expires.UTC().Format(time.DateTime+" MST"))
		}
		w.notify("auth-expiring", msg+": sign in again with ps-auth before then.")
	}
}

// notify runs the notify command with the message in PS_WATCH_MESSAGE and
// on stdin (never a password or token: messages name the source and the
// ps-auth command only).
func (w *Watcher) notify(event, msg string) {
	w.opts.Log.Warn(msg)
	if w.opts.Notify == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", w.opts.Notify)
	cmd.Env = append(os.Environ(), "PS_WATCH_EVENT="+event, "PS_WATCH_MESSAGE="+msg)
	cmd.Stdin = strings.NewReader(msg + "\n")
	cmd.Stdout, cmd.Stderr = w.opts.Stderr, w.opts.Stderr
	if err := cmd.Run(); err != nil {
		w.opts.Log.Error(fmt.Sprintf("the --notify-command failed: %v", err))
	}
}

// tailWriter keeps the last bytes written.
type tailWriter struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailWriter) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = append([]byte(nil), t.b[len(t.b)-t.max:]...)
	}
	return len(p), nil
}

func (t *tailWriter) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}
