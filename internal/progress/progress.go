// Package progress tells people how a ps-fetch run is going, on stderr,
// in the manner of rclone -P: live bars on a terminal (vbauerster/mpb) with
// files done/total, percent, bytes, rate, ETA and an error count; a status
// line every PlainEvery for logs (plain); or nothing live (none, quiet).
// Each failure is printed as it happens (above the bars), and the run ends
// with a short list of what failed and one summary line (not when quiet).
// Counting is lock-free, so the download path pays an atomic add per chunk.
package progress

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/ps-photos/ps/internal/record"
)

// Modes of --progress (after "auto" is resolved) plus quiet.
const (
	Bar   = "bar"   // live bars: stderr is a terminal
	Plain = "plain" // a status line every PlainEvery
	None  = "none"  // only the failures and the final summary
	Quiet = "quiet" // nothing but the list of failures
)

// PlainEvery is how often plain mode prints.
var PlainEvery = 10 * time.Second

// Bounds on what failures print: every one live up to maxLive, and the
// first maxListed again in the list at the end.
const (
	maxLive   = 100
	maxListed = 20
)

// Config says how to show a run.
type Config struct {
	Mode string
	// W gets lines for people (the tool's stderr, which prefixes its name).
	W io.Writer
	// Bars is where live bars draw: the terminal itself. Default W.
	Bars io.Writer
	// Color paints failures red.
	Color bool
	// Log, when set, gets the status lines, failures and summary as
	// structured records instead of W (--log-format json).
	Log *slog.Logger
	// FailuresFile is named where the list of failures is cut short.
	FailuresFile string
	// DryRun makes the summary say what would happen; Mirror adds deletions.
	DryRun, Mirror bool
}

// Progress counts a run and shows it.
type Progress struct {
	cfg   Config
	start time.Time

	seen, seenBytes        atomic.Int64 // items the planner has read
	expect, expectBytes    atomic.Int64 // items the whole input holds, when known ahead
	downloaded, skipped    atomic.Int64
	failed, canceled       atomic.Int64
	planned, plannedBytes  atomic.Int64 // dry run: what would be downloaded
	queuedBytes            atomic.Int64 // sizes of downloads handed to workers
	active, deleted, bytes atomic.Int64 // downloads running; files deleted; bytes received
	liveFailures           atomic.Int64
	failMu                 sync.Mutex
	firstFailures          []string

	onFinish []func()

	bars  *mpb.Progress
	total *mpb.Bar
	stop  chan struct{}
	wg    sync.WaitGroup
	once  sync.Once
}

// New starts showing progress on w in mode.
func New(mode string, w io.Writer) *Progress { return Open(Config{Mode: mode, W: w}) }

// Open starts showing progress as cfg says.
func Open(cfg Config) *Progress {
	if cfg.W == nil {
		cfg.W = io.Discard
	}
	if cfg.Bars == nil {
		cfg.Bars = cfg.W
	}
	p := &Progress{cfg: cfg, start: time.Now(), stop: make(chan struct{})}
	switch cfg.Mode {
	case Bar:
		p.startBars()
	case Plain:
		p.wg.Add(1)
		go p.plainLoop()
	}
	return p
}

func (p *Progress) startBars() {
	p.bars = mpb.New(mpb.WithOutput(p.cfg.Bars), mpb.WithWidth(100), mpb.WithRefreshRate(200*time.Millisecond), mpb.WithAutoRefresh())
	// The overall line is text, as rclone -P's "Transferred:" line, so it
	// fits 80 columns: "12/15 files  45%, 1.2 MB / 2.7 MB, 3.4 MB/s, ETA 12s".
	p.total = p.bars.New(0, mpb.NopStyle(),
		mpb.BarPriority(1<<30), // the overall line stays at the bottom
		mpb.PrependDecorators(decor.Any(func(decor.Statistics) string {
			s := p.Snapshot()
			line := s.Files() + " " + s.Rest()
			if s.Failed > 0 {
				line += ", " + paint(p.cfg.Color, red, fmt.Sprintf("%d failed", s.Failed))
			}
			return line
		})))
	// The total moves as the input is read ahead: keep the bar in step.
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			p.syncTotal()
			select {
			case <-p.stop:
				return
			case <-t.C:
			}
		}
	}()
}

// syncTotal sets the overall bar to bytes (or files, when items carry no
// sizes) done of the total known.
func (p *Progress) syncTotal() {
	s := p.Snapshot()
	done, total := s.Bytes, s.TotalBytes
	if total <= 0 {
		done, total = s.Done(), s.Total
	}
	p.total.SetTotal(max(total, done, 1), false)
	p.total.SetCurrent(done)
}

func (p *Progress) plainLoop() {
	defer p.wg.Done()
	t := time.NewTicker(PlainEvery)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
			s := p.Snapshot()
			p.say(slog.LevelInfo, s.Status(), s.attrs()...)
		}
	}
}

// say prints one line for people, or a structured record.
func (p *Progress) say(level slog.Level, msg string, attrs ...any) {
	if p.cfg.Log != nil {
		p.cfg.Log.Log(context.Background(), level, msg, attrs...)
		return
	}
	switch {
	case level >= slog.LevelError:
		msg = paint(p.cfg.Color, red, "error:") + " " + msg
	case level >= slog.LevelWarn:
		msg = paint(p.cfg.Color, "\x1b[33m", "warn:") + " " + msg
	}
	fmt.Fprintln(p.cfg.W, msg)
}

// paint colours s as the logger does (errors red, warnings yellow).
func paint(on bool, colour, s string) string {
	if !on {
		return s
	}
	return colour + s + "\x1b[0m"
}

const red = "\x1b[31m"

// Above returns a writer whose whole lines are printed above the live
// bars (after them, once they are gone); without bars it is the bar
// output itself. Each caller gets its own, so partial lines do not mix.
func (p *Progress) Above() io.Writer {
	if p.bars == nil {
		return p.cfg.Bars
	}
	return &aboveWriter{bars: p.bars, fallback: p.cfg.Bars}
}

// Expect says the whole input holds files items of bytes in all (counted
// ahead of the planner); it may be called again as the count grows.
func (p *Progress) Expect(files, bytes int64) {
	p.expect.Store(files)
	p.expectBytes.Store(bytes)
}

// Seen counts an item the planner read, before it is planned.
func (p *Progress) Seen(size int64) {
	if size < 0 {
		size = 0
	}
	p.seen.Add(1)
	p.seenBytes.Add(size)
}

// Queued counts an item handed to a worker.
func (p *Progress) Queued(size int64) {
	p.queuedBytes.Add(max(size, 0))
}

// Planned counts an item a dry run would download.
func (p *Progress) Planned(size int64) {
	p.planned.Add(1)
	p.plannedBytes.Add(max(size, 0))
}

// Skipped counts an item already on disk; queued says whether the item had
// been queued (a re-hash).
func (p *Progress) Skipped(queued bool) {
	p.skipped.Add(1)
}

// Deleted counts a file --mirror deleted (or, with --dry-run, would).
func (p *Progress) Deleted() { p.deleted.Add(1) }

// Failed counts a failure record f; queued says whether the item had been
// handed to a worker. A canceled item is counted apart and not printed
// (Ctrl-C makes many); any other failure is printed at once.
func (p *Progress) Failed(f *record.Record, queued bool) {
	if queued {
		p.queuedBytes.Add(-max(f.Size, 0)) // its bytes will not come
	}
	if f.Error != nil && f.Error.Class == "canceled" {
		p.canceled.Add(1)
		return
	}
	p.failed.Add(1)
	line := describe(f)
	p.failMu.Lock()
	if len(p.firstFailures) < maxListed {
		p.firstFailures = append(p.firstFailures, line)
	}
	p.failMu.Unlock()
	if p.cfg.Mode != Bar && p.cfg.Mode != Plain && p.cfg.Log == nil {
		return // the list at the end names it
	}
	switch n := p.liveFailures.Add(1); {
	case n <= maxLive:
		p.say(slog.LevelError, "failed: "+line, failureAttrs(f)...)
	case n == maxLive+1:
		p.say(slog.LevelWarn, fmt.Sprintf("more than %d failures: the rest are counted, not printed", maxLive))
	}
}

// describe is one failure on one line: its name and why.
func describe(f *record.Record) string {
	name := f.Path
	if name == "" {
		name = f.ID
	}
	if f.Error == nil {
		return name
	}
	msg := strings.ReplaceAll(f.Error.Message, "\n", " ")
	return fmt.Sprintf("%s: %s (%s)", name, msg, f.Error.Class)
}

func failureAttrs(f *record.Record) []any {
	attrs := []any{"path", f.Path}
	if f.Error != nil {
		attrs = append(attrs, "class", f.Error.Class, "error", f.Error.Message)
	}
	return attrs
}

// Task is one running download.
type Task struct {
	p   *Progress
	bar *mpb.Bar
}

// Start shows a download of size bytes (-1: unknown) resuming at offset.
func (p *Progress) Start(name string, size, offset int64) *Task {
	p.active.Add(1)
	t := &Task{p: p}
	if p.bars != nil {
		total := max(size, 0)
		t.bar = p.bars.AddBar(total,
			mpb.BarRemoveOnComplete(),
			mpb.BarWidth(30),
			mpb.PrependDecorators(decor.Name(shorten(name, 30), decor.WC{W: 31, C: decor.DindentRight})),
			mpb.AppendDecorators(
				decor.Counters(decor.SizeB1000(0), "% .1f / % .1f"),
				decor.Name(" "),
				decor.EwmaSpeed(decor.SizeB1000(0), "% .1f", 30),
			))
		if offset > 0 {
			t.bar.SetCurrent(offset)
			t.bar.DecoratorAverageAdjust(time.Now())
		}
	}
	return t
}

// Add counts n bytes received.
func (t *Task) Add(n int, took time.Duration) {
	t.p.bytes.Add(int64(n))
	if t.bar != nil {
		t.bar.EwmaIncrBy(n, took)
	}
}

// Restart says the source sent the file from 0 again.
func (t *Task) Restart() {
	if t.bar != nil {
		t.bar.SetCurrent(0)
	}
}

// Done ends the download; ok says whether it landed.
func (t *Task) Done(ok bool) {
	t.p.active.Add(-1)
	if ok {
		t.p.downloaded.Add(1)
	}
	if t.bar != nil {
		t.bar.Abort(true)
	}
}

// OnFinish runs f once the live display is gone (before the summary).
func (p *Progress) OnFinish(f func()) { p.onFinish = append(p.onFinish, f) }

// Finish stops the live display and prints the list of failures and the
// summary line.
func (p *Progress) Finish() {
	p.once.Do(func() {
		close(p.stop)
		p.wg.Wait()
		if p.bars != nil {
			p.total.Abort(true)
			p.bars.Wait()
		}
		for _, f := range p.onFinish {
			f()
		}
		s := p.Snapshot()
		p.listFailures(s)
		if p.cfg.Mode != Quiet {
			p.say(slog.LevelInfo, s.Summary(p.cfg.DryRun, p.cfg.Mirror), s.attrs()...)
		}
	})
}

// listFailures repeats the first failures at the end, where they are not
// lost under the bars or among thousands of lines.
func (p *Progress) listFailures(s Snapshot) {
	if s.Failed == 0 || p.cfg.Log != nil {
		return
	}
	p.failMu.Lock()
	listed := append([]string(nil), p.firstFailures...)
	p.failMu.Unlock()
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n", paint(p.cfg.Color, red, fmt.Sprintf("%d failed:", s.Failed)))
	for _, l := range listed {
		fmt.Fprintf(&b, "  %s\n", l)
	}
	if more := s.Failed - int64(len(listed)); more > 0 {
		where := "the failure records on stdout (--failures FILE keeps them)"
		if p.cfg.FailuresFile != "" {
			where = p.cfg.FailuresFile
		}
		fmt.Fprintf(&b, "  and %d more; see %s\n", more, where)
	}
	io.WriteString(p.cfg.W, b.String())
}

// Counts returns downloaded, skipped, failed (canceled included) and bytes
// so far.
func (p *Progress) Counts() (downloaded, skipped, failed, bytes int64) {
	return p.downloaded.Load(), p.skipped.Load(), p.failed.Load() + p.canceled.Load(), p.bytes.Load()
}

// Snapshot is the run's counts at one moment.
type Snapshot struct {
	Downloaded, Skipped, Failed, Canceled, Planned, Deleted int64
	Active                                                  int64 // downloads running
	Total                                                   int64 // items known (read, or counted ahead)
	Bytes, TotalBytes, PlannedBytes                         int64 // received; expected to download
	Elapsed                                                 time.Duration
}

// Snapshot reads the counters.
func (p *Progress) Snapshot() Snapshot {
	s := Snapshot{
		Downloaded: p.downloaded.Load(), Skipped: p.skipped.Load(), Failed: p.failed.Load(),
		Canceled: p.canceled.Load(), Planned: p.planned.Load(), Deleted: p.deleted.Load(),
		Active: p.active.Load(), Bytes: p.bytes.Load(), PlannedBytes: p.plannedBytes.Load(),
		Elapsed: time.Since(p.start),
	}
	seen, seenBytes := p.seen.Load(), p.seenBytes.Load()
	s.Total = max(seen, p.expect.Load(), s.Done())
	// Bytes to come: what workers were given, plus what the input holds
	// beyond what the planner has read (some of it may turn out skipped).
	s.TotalBytes = max(p.queuedBytes.Load()+max(p.expectBytes.Load()-seenBytes, 0), s.Bytes)
	return s
}

// Done is the number of items finished one way or another.
func (s Snapshot) Done() int64 {
	return s.Downloaded + s.Skipped + s.Failed + s.Canceled + s.Planned
}

// Files is "done/total files".
func (s Snapshot) Files() string { return fmt.Sprintf("%d/%d files", s.Done(), s.Total) }

// Percent is the share done: of the bytes when sizes are known, else of
// the files.
func (s Snapshot) Percent() int {
	if s.TotalBytes > 0 {
		return int(100 * s.Bytes / s.TotalBytes)
	}
	if s.Total > 0 {
		return int(100 * s.Done() / s.Total)
	}
	return 0
}

// ETA estimates the time left from the average rate so far: of bytes when
// sizes are known, else of files; false when there is no rate yet.
func (s Snapshot) ETA() (time.Duration, bool) {
	secs := s.Elapsed.Seconds()
	if s.TotalBytes > 0 && s.Bytes > 0 {
		left := float64(s.TotalBytes-s.Bytes) / (float64(s.Bytes) / secs)
		return time.Duration(left * float64(time.Second)), true
	}
	if s.TotalBytes <= 0 && s.Done() > 0 {
		left := float64(s.Total-s.Done()) / (float64(s.Done()) / secs)
		return time.Duration(left * float64(time.Second)), true
	}
	return 0, false
}

// Rate is the average download rate in bytes per second.
func (s Snapshot) Rate() float64 { return float64(s.Bytes) / max(s.Elapsed.Seconds(), 1e-9) }

// Rest is what follows the files count: "45%, 1.2 MB / 2.7 MB, 3.4 MB/s, ETA 12s".
func (s Snapshot) Rest() string {
	eta := "ETA -"
	if d, ok := s.ETA(); ok {
		eta = "ETA " + roundETA(d).String()
	}
	return fmt.Sprintf("%3d%%, %s / %s, %s/s, %s", s.Percent(), HumanBytes(s.Bytes), HumanBytes(s.TotalBytes), HumanBytes(int64(s.Rate())), eta)
}

// Status is plain mode's periodic line.
func (s Snapshot) Status() string {
	return fmt.Sprintf("%s, %s, %d in progress, %d failed", s.Files(), s.Rest(), s.Active, s.Failed)
}

func roundETA(d time.Duration) time.Duration {
	if d > time.Minute {
		return d.Round(time.Second)
	}
	return d.Round(100 * time.Millisecond)
}

// Summary is the line that ends every run: "3 downloaded, 0 skipped,
// 0 failed, 26 B in 1.2s (0.0 MB/s)", with canceled items when there are
// some and deletions with --mirror; a dry run says what it would do.
func (s Snapshot) Summary(dryRun, mirror bool) string {
	var b strings.Builder
	if dryRun {
		fmt.Fprintf(&b, "dry run: would download %d (%s), %d skipped, %d failed", s.Planned, HumanBytes(s.PlannedBytes), s.Skipped, s.Failed)
		if mirror {
			fmt.Fprintf(&b, ", would delete %d", s.Deleted)
		}
		return b.String()
	}
	fmt.Fprintf(&b, "%d downloaded, %d skipped, %d failed", s.Downloaded, s.Skipped, s.Failed)
	if s.Canceled > 0 {
		fmt.Fprintf(&b, ", %d canceled", s.Canceled)
	}
	if mirror {
		fmt.Fprintf(&b, ", %d deleted", s.Deleted)
	}
	fmt.Fprintf(&b, ", %s in %s (%.1f MB/s)", HumanBytes(s.Bytes), s.Elapsed.Round(10*time.Millisecond), s.Rate()/1e6)
	return b.String()
}

// attrs are the counts as structured fields (--log-format json).
func (s Snapshot) attrs() []any {
	a := []any{"downloaded", s.Downloaded, "skipped", s.Skipped, "failed", s.Failed, "canceled", s.Canceled,
		"deleted", s.Deleted, "planned", s.Planned, "files_total", s.Total, "bytes", s.Bytes, "bytes_total", s.TotalBytes,
		"in_progress", s.Active, "seconds", s.Elapsed.Seconds()}
	if d, ok := s.ETA(); ok && s.Done() < s.Total {
		a = append(a, "eta_seconds", d.Seconds())
	}
	return a
}

// HumanBytes prints n in decimal units (kB, MB, GB).
func HumanBytes(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %cB", float64(n)/float64(div), "kMGTP"[exp])
}

func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return "…" + string(r[len(r)-n+1:])
}

// aboveWriter hands whole lines to the bars to print above them; once
// the bars are gone it writes straight through.
type aboveWriter struct {
	mu       sync.Mutex
	bars     *mpb.Progress
	fallback io.Writer
	pending  []byte
	done     bool
}

func (a *aboveWriter) Write(b []byte) (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.pending = append(a.pending, b...)
	i := bytes.LastIndexByte(a.pending, '\n')
	if a.done {
		// no bars to tear: write everything
		_, err := a.fallback.Write(a.pending)
		a.pending = a.pending[:0]
		return len(b), err
	}
	if i < 0 {
		return len(b), nil
	}
	whole := append([]byte(nil), a.pending[:i+1]...)
	a.pending = append(a.pending[:0], a.pending[i+1:]...)
	if _, err := a.bars.Write(whole); err != nil {
		a.done = true
		_, err = a.fallback.Write(append(whole, a.pending...))
		a.pending = a.pending[:0]
		return len(b), err
	}
	return len(b), nil
}
