// Package progress tells people how a ps-fetch run is going, on stderr:
// live bars on a terminal (vbauerster/mpb), periodic one-line summaries
// for logs (plain), or nothing (quiet); and, unless quiet, one summary line
// at the end. Counting is lock-free, so the download path pays an atomic
// add per chunk.
package progress

import (
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
)

// Modes of --progress (after "auto" is resolved) plus quiet.
const (
	Bar   = "bar"   // live bars: stderr is a terminal
	Plain = "plain" // a summary line every PlainEvery
	None  = "none"  // only the final summary
	Quiet = "quiet" // nothing at all
)

// PlainEvery is how often plain mode prints.
var PlainEvery = 10 * time.Second

// Progress counts a run and shows it.
type Progress struct {
	mode  string
	w     io.Writer
	start time.Time

	downloaded, skipped, failed atomic.Int64
	deleted                     atomic.Int64 // --mirror
	queued, queuedBytes         atomic.Int64 // items handed to workers, and their sizes
	failedQueued                atomic.Int64 // queued items that ended without a download
	bytes                       atomic.Int64 // bytes received this run

	bars  *mpb.Progress
	total *mpb.Bar
	stop  chan struct{}
	wg    sync.WaitGroup
	once  sync.Once
}

// New starts showing progress on w in mode.
func New(mode string, w io.Writer) *Progress {
	p := &Progress{mode: mode, w: w, start: time.Now(), stop: make(chan struct{})}
	switch mode {
	case Bar:
		p.bars = mpb.New(mpb.WithOutput(w), mpb.WithWidth(40), mpb.WithRefreshRate(200*time.Millisecond), mpb.WithAutoRefresh())
		p.total = p.bars.AddBar(0,
			mpb.BarPriority(1<<30), // the overall bar stays at the bottom
			mpb.PrependDecorators(decor.Any(func(decor.Statistics) string {
				return fmt.Sprintf("%d/%d files", p.downloaded.Load()+p.skipped.Load()+p.failed.Load(), p.queued.Load()+p.skipped.Load()+p.failed.Load()-p.failedQueued.Load())
			}, decor.WC{W: 16, C: decor.DindentRight})),
			mpb.AppendDecorators(
				decor.Counters(decor.SizeB1000(0), "% .1f / % .1f"),
				decor.Name(" "),
				decor.AverageSpeed(decor.SizeB1000(0), "% .1f"),
				decor.Name(" ETA "),
				decor.AverageETA(decor.ET_STYLE_GO),
			))
	case Plain:
		p.wg.Add(1)
		go p.plainLoop()
	}
	return p
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
			fmt.Fprintf(p.w, "ps-fetch: %s (%d in progress)\n", p.line(), p.inFlight())
		}
	}
}

func (p *Progress) inFlight() int64 {
	return p.queued.Load() - p.downloaded.Load() - p.failedQueued.Load()
}

// Queued counts an item handed to a worker.
func (p *Progress) Queued(size int64) {
	p.queued.Add(1)
	if size > 0 {
		total := p.queuedBytes.Add(size)
		if p.total != nil {
			p.total.SetTotal(total, false)
		}
	}
}

// Skipped counts an item already on disk; queued says whether the item had
// been queued (a re-hash).
func (p *Progress) Skipped(queued bool) {
	p.skipped.Add(1)
	if queued {
		p.failedQueued.Add(1)
	}
}

// Failed counts a failure; queued says whether the item had been queued.
func (p *Progress) Failed(queued bool) {
	p.failed.Add(1)
	if queued {
		p.failedQueued.Add(1)
	}
}

// Task is one running download.
type Task struct {
	p   *Progress
	bar *mpb.Bar
	got int64
}

// Start shows a download of size bytes (-1: unknown) resuming at offset.
func (p *Progress) Start(name string, size, offset int64) *Task {
	t := &Task{p: p}
	if p.bars != nil {
		total := max(size, 0)
		t.bar = p.bars.AddBar(total,
			mpb.BarRemoveOnComplete(),
			mpb.PrependDecorators(decor.Name(shorten(name, 30), decor.WC{W: 31, C: decor.DindentRight})),
			mpb.AppendDecorators(
				decor.CountersKiloByte("% .1f / % .1f"),
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
	t.got += int64(n)
	t.p.bytes.Add(int64(n))
	if t.bar != nil {
		t.bar.EwmaIncrBy(n, took)
		t.p.total.IncrBy(n)
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
	if ok {
		t.p.downloaded.Add(1)
	}
	if t.bar != nil {
		t.bar.Abort(true)
	}
}

// Finish stops the live display and prints the summary line.
func (p *Progress) Finish() {
	p.once.Do(func() {
		close(p.stop)
		p.wg.Wait()
		if p.bars != nil {
			p.total.Abort(true)
			p.bars.Wait()
		}
		if p.mode != Quiet {
			fmt.Fprintf(p.w, "ps-fetch: %s\n", p.line())
		}
	})
}

// Counts returns downloaded, skipped, failed and bytes so far.
func (p *Progress) Counts() (downloaded, skipped, failed, bytes int64) {
	return p.downloaded.Load(), p.skipped.Load(), p.failed.Load(), p.bytes.Load()
}

// line is the summary: downloaded, skipped, failed, bytes, elapsed, MB/s.
func (p *Progress) line() string {
	d, s, f, b := p.Counts()
	elapsed := time.Since(p.start)
	rate := float64(b) / 1e6 / max(elapsed.Seconds(), 1e-9)
	line := fmt.Sprintf("%d downloaded, %d skipped, %d failed", d, s, f)
	if n := p.deleted.Load(); n > 0 {
		line += fmt.Sprintf(", %d deleted", n)
	}
	return fmt.Sprintf("%s, %s in %s (%.1f MB/s)", line, HumanBytes(b), elapsed.Round(10*time.Millisecond), rate)
}

// Deleted counts a file --mirror deleted (or, with --dry-run, would).
func (p *Progress) Deleted() { p.deleted.Add(1) }

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
