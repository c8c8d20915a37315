// Package fetch is the download engine of ps-fetch: it reads item records,
// names each one, skips what the manifest says is already there, downloads
// the rest with a pool of workers (atomic .part files, resume, verification,
// retries), and writes one result or failure record per item.
//
// One goroutine reads the input and plans every item in input order: that
// is where names (and their _1, _2 suffixes) are assigned, so they never
// depend on which download finishes first. Workers only download.
package fetch

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ps-photos/ps/internal/fault"
	"github.com/ps-photos/ps/internal/manifest"
	"github.com/ps-photos/ps/internal/naming"
	"github.com/ps-photos/ps/internal/progress"
	"github.com/ps-photos/ps/internal/record"
	"github.com/ps-photos/ps/internal/retry"
	"github.com/ps-photos/ps/internal/source"
)

// Opener finds the source that can open a record (a *source.Pool).
type Opener interface {
	ForRecord(ctx context.Context, rec *record.Record) (source.Source, string, error)
}

// Options configure a run.
type Options struct {
	Dir            string           // output folder
	Lock           *manifest.Lock   // the folder's lock, taken by the caller (else Run takes it)
	Refused        error            // the folder is locked by another run: every item fails with this
	Jobs           int              // parallel downloads
	Name           *naming.Template // how files are named
	Retries        int              // extra attempts per item for transient errors
	Force          bool             // download even what the manifest has
	VerifyExisting bool             // re-hash files the manifest has
	DryRun         bool             // write nothing, print what would happen
	Mirror         bool             // delete what left the source
	DeleteExcluded bool             // --mirror also deletes what a filter left out of the listing
	MaxDelete      *int             // --mirror deletes nothing when it would delete more; nil: no limit
	IdleTimeout    time.Duration    // a download that receives nothing this long is retried
	GiveUpAfter    int              // items in a row failing transiently before a source is given up; 0 never
	Opener         Opener
	Failures       *record.Encoder // also gets every failure record, when set
	Progress       *progress.Progress
	Log            *slog.Logger
	Strict         bool                      // stop at the first malformed line
	OnBadLine      func(*record.LineError)   // told about malformed lines
	Backoff        retry.Policy              // Base, Max, MaxWait and Sleep; Attempts comes from Retries
	Now            func() time.Time          // for manifest timestamps
	partSync       func(f *os.File) error    // tests may swap the sync
	testHookPart   func(rel string, n int64) // tests: called after each write
	drainWindow    time.Duration             // tests: shorter than drainWindow
}

// Stats is the outcome of a run.
type Stats struct {
	Downloaded, Skipped, Planned, Failed, Deleted, BadLines int64
	// Auth is the first auth error (exit 3); DiskFull stopped the run;
	// Canceled means the user interrupted it.
	Auth     error
	DiskFull error
	Canceled bool
	// MirrorStopped says why --mirror deleted nothing (--max-delete).
	MirrorStopped error
}

type engine struct {
	opts  Options
	root  string // absolute output folder
	ix    *manifest.Index
	mw    *manifest.Writer
	out   *record.Encoder
	prog  *progress.Progress
	log   *slog.Logger
	names nameLocks
	dirs  sync.Map // verified folders (relative, slash-separated)

	ctx    context.Context // work: cancelled by the user or a full disk
	cancel context.CancelFunc
	user   context.Context

	// Owned by the planning goroutine.
	claims claimSet // local-name hash → key, for names first given out in this run
	// claimedUpTo: candidate-name hash → n such that the candidate and its
	// _1 … _(n-1) are all claimed in this run, so the next item with that
	// candidate starts looking at _n (linear, not quadratic, in collisions).
	claimedUpTo map[uint64]int
	suffixOf    map[uint64]int   // item key → the suffix it was given in this run (n > 0)
	claimed     int              // claims made
	complete    map[string]bool  // sources whose end record said complete
	excluded    map[string]int64 // source → items a filter left out (end records' "excluded")
	items       map[string]int64 // source → items in the input plus end records' counts (0: an empty listing)
	ends        []*record.Record // end records, written after all results
	listFault   bool             // an incomplete end or a folder failure came through

	refused    error // another run holds the folder (Options.Refused)
	mirrorStop error // --max-delete stopped the mirror (under mu)

	mu       sync.Mutex
	authStop map[string]error   // source → the auth error that stopped it
	streaks  map[string]*streak // source → its transient failures in a row
	diskFull error

	downloaded, skipped, planned, failed, deleted, bad atomic.Int64
}

// job is one planned download (or check) handed to a worker.
type job struct {
	rec     *record.Record
	local   string // relative, slash-separated
	suffix  int
	key     uint64
	mode    int
	buf     *[]byte // the worker's copy buffer
	bufSize int     // its size for large items
	// served is the mtime the source sent with the bytes (HTTP
	// Last-Modified): the file's time when the record has none.
	served time.Time
}

const (
	modeDownload = iota
	modeVerify   // re-hash an existing file against the manifest
	modeAdopt    // a file our crashed run renamed but never recorded
)

// planAhead bounds the downloads planned but not started: a job holds
// one record (about a kilobyte), so a few MiB at most.
const planAhead = 2048

// Run fetches every item in in, writing records to out.
func Run(ctx context.Context, in io.Reader, out *record.Encoder, opts Options) (Stats, error) {
	e, err := newEngine(ctx, out, opts)
	if err != nil {
		return Stats{}, err
	}
	defer e.cancel()
	// The planner runs up to planAhead downloads ahead of the workers,
	// so the progress total and ETA cover that much of the input.
	jobs := make(chan *job, max(opts.Jobs, planAhead))
	bufSize := copyBufSize(opts.Jobs)
	var wg sync.WaitGroup
	for range max(opts.Jobs, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf []byte // this worker's copy buffer, grown as items need
			for j := range jobs {
				j.buf, j.bufSize = &buf, bufSize
				e.work(j)
			}
		}()
	}
	readErr := e.plan(in, jobs)
	close(jobs)
	wg.Wait()
	if opts.Mirror && readErr == nil && e.refused == nil {
		if err := e.mirror(); err != nil {
			e.log.Error("mirror: " + err.Error())
		}
	}
	for _, end := range e.ends {
		e.emit(end)
	}
	if e.mw != nil {
		if err := e.mw.Close(); err != nil && readErr == nil {
			readErr = err
		}
	}
	return e.stats(), readErr
}

func newEngine(ctx context.Context, out *record.Encoder, opts Options) (*engine, error) {
	if opts.Log == nil {
		opts.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.Progress == nil {
		opts.Progress = progress.New(progress.Quiet, io.Discard)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.partSync == nil {
		opts.partSync = syncData
	}
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = time.Minute
	}
	root, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, err
	}
	if opts.Refused != nil {
		// Another run holds the folder: read nothing of it, fail every item.
		wctx, cancel := context.WithCancel(ctx)
		return &engine{
			opts: opts, root: root, out: out, prog: opts.Progress, log: opts.Log,
			ctx: wctx, cancel: cancel, user: ctx, refused: opts.Refused,
			complete: map[string]bool{}, excluded: map[string]int64{}, items: map[string]int64{}, authStop: map[string]error{}, streaks: map[string]*streak{},
		}, nil
	}
	if !opts.DryRun {
		if err := os.MkdirAll(root, 0o755); err != nil {
			return nil, fault.Wrap(fault.Local, err)
		}
	}
	// A manifest of more than a MiB (tens of thousands of entries) makes
	// a big index: collect tightly from before it is read.
	if st, err := os.Stat(filepath.Join(root, manifest.FileName)); err == nil && st.Size() > 1<<20 {
		lowGC()
	}
	var ix *manifest.Index
	var mw *manifest.Writer
	if opts.Lock != nil {
		ix, mw, err = manifest.OpenLocked(opts.Lock, opts.VerifyExisting)
	} else {
		ix, mw, err = manifest.Open(root, opts.DryRun, opts.VerifyExisting)
	}
	if err != nil {
		return nil, err
	}
	wctx, cancel := context.WithCancel(ctx)
	e := &engine{
		opts: opts, root: root, ix: ix, mw: mw, out: out, prog: opts.Progress, log: opts.Log,
		ctx: wctx, cancel: cancel, user: ctx,
		complete: map[string]bool{}, excluded: map[string]int64{}, items: map[string]int64{}, authStop: map[string]error{}, streaks: map[string]*streak{},
	}
	return e, nil
}

func (e *engine) stats() Stats {
	s := Stats{
		Downloaded: e.downloaded.Load(), Skipped: e.skipped.Load(), Planned: e.planned.Load(),
		Failed: e.failed.Load(), Deleted: e.deleted.Load(), BadLines: e.bad.Load(),
		Canceled: e.user.Err() != nil,
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	s.DiskFull = e.diskFull
	s.MirrorStopped = e.mirrorStop
	for _, err := range e.authStop {
		s.Auth = err
		break
	}
	return s
}

// line is one decoded input line, or why it could not be decoded.
type line struct {
	rec *record.Record
	err error
}

// plan reads the input and plans each record in order.
func (e *engine) plan(in io.Reader, jobs chan<- *job) error {
	stopRead := make(chan struct{})
	defer close(stopRead)
	lines := readInput(in, stopRead)
	for {
		var l line
		var ok bool
		select {
		case l, ok = <-lines:
		case <-e.user.Done():
			e.drainCanceled(lines)
			return nil
		}
		if !ok {
			return nil
		}
		if l.err != nil {
			if err := e.badLine(l.err); err != nil {
				return err
			}
			continue
		}
		if isItem(l.rec) {
			e.prog.Seen(l.rec.Size)
		}
		if j := e.planOne(l.rec); j != nil {
			e.prog.Queued(j.rec.Size)
			select {
			case jobs <- j:
			case <-e.user.Done():
				e.fail(j.rec, errNotStarted(), 0, true)
				e.drainCanceled(lines)
				return nil
			}
		}
	}
}

// badLine reports a malformed line; the error is what ends the run: a
// failure to read, or any bad line under --strict.
func (e *engine) badLine(err error) error {
	var le *record.LineError
	if !errors.As(err, &le) {
		return fault.Wrap(fault.Local, fmt.Errorf("reading the input: %w", err))
	}
	e.bad.Add(1)
	if e.opts.OnBadLine != nil {
		e.opts.OnBadLine(le)
	}
	if e.opts.Strict {
		return le
	}
	return nil
}

// drainWindow bounds how long an interrupted run goes on reading its
// input so that every item gets a record. Ctrl-C reaches the whole
// pipeline, so a listing upstream ends at once; a file is read to its end
// in moments. Only a producer that did not get the signal keeps us here.
const drainWindow = 5 * time.Second // Options.drainWindow in tests

// drainCanceled plans the rest of the input without downloading: what the
// manifest has is still skipped, everything else becomes a canceled
// failure, so a failures file written during an interrupted run holds
// every item still to fetch.
func (e *engine) drainCanceled(lines <-chan line) {
	window := cmp.Or(e.opts.drainWindow, drainWindow)
	deadline := time.NewTimer(window)
	defer deadline.Stop()
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				return
			}
			if l.err != nil {
				if e.badLine(l.err) != nil {
					return
				}
				continue
			}
			if isItem(l.rec) {
				e.prog.Seen(l.rec.Size)
			}
			if j := e.planOne(l.rec); j != nil {
				e.fail(j.rec, errNotStarted(), 0, false)
			}
		case <-deadline.C:
			e.log.Warn(fmt.Sprintf("interrupted: stopped reading the input after %s; the items after this point have no record, so feed the listing again to go on", window))
			return
		}
	}
}

func errNotStarted() error {
	return fault.Wrap(fault.Canceled, errors.New("interrupted before it started"))
}

// isItem reports whether rec is a file to fetch. A failure record is one
// only when it names the file: a listing failure (a folder, or an entry
// ps-list refused, such as a hostile name, which has no id and no url)
// passes through with its own reason.
func isItem(rec *record.Record) bool {
	if !rec.IsFileRecord() {
		return false
	}
	if rec.IsFolderFailure() {
		return false
	}
	// A failure without id or url is an entry the listing refused.
	return rec.Type != record.TypeFailure || rec.ID != "" || rec.URL != ""
}

// emit writes a record to stdout.
func (e *engine) emit(rec *record.Record) {
	if err := e.out.Encode(rec); err != nil {
		e.log.Debug("write: " + err.Error())
	}
}

// fail writes the failure record for rec.
func (e *engine) fail(rec *record.Record, err error, attempts int, queued bool) {
	class := fault.ClassOf(err)
	f := rec.AsFailure(string(class), err.Error(), attempts, fault.HintOf(err))
	e.emit(f)
	if e.opts.Failures != nil {
		if werr := e.opts.Failures.Encode(f); werr != nil {
			e.log.Error("writing the failures file: " + werr.Error())
		}
	}
	e.failed.Add(1)
	e.prog.Failed(f, queued)
}

// result writes the result record for rec.
func (e *engine) result(rec *record.Record, status, local, sha string, size int64) {
	r := rec.Clone()
	r.Type = record.TypeResult
	r.Status = status
	r.Error = nil
	r.Local = filepath.Join(e.root, filepath.FromSlash(local))
	if size > 0 {
		r.Size = size
	}
	if sha != "" {
		if r.Hash == nil {
			r.Hash = map[string]string{}
		}
		r.Hash["sha256"] = sha
	}
	e.emit(r)
}

// stopSource records an auth error: the rest of that source's items fail
// without touching the network.
func (e *engine) stopSource(src string, err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, done := e.authStop[src]; done {
		return
	}
	e.authStop[src] = err
	msg := fmt.Sprintf("%s: authentication failed, stopping work on this source: %v", src, err)
	if hint := fault.HintOf(err); hint != "" {
		msg += "; run: " + hint
	}
	e.log.Error(msg)
}

func (e *engine) stopped(src string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.diskFull; err != nil {
		return fault.Wrap(fault.Local, fmt.Errorf("not attempted: the disk is full (%v)", err))
	}
	return e.authStop[src]
}

// stopDisk ends the run after the disk filled up.
func (e *engine) stopDisk(err error) {
	e.mu.Lock()
	first := e.diskFull == nil
	if first {
		e.diskFull = err
	}
	e.mu.Unlock()
	if first {
		e.log.Error("the disk is full: stopping (" + err.Error() + ")")
		e.cancel()
	}
}

// nameLocks keeps two jobs from writing one file at once (the same item
// twice in the input).
type nameLocks struct {
	mu   sync.Mutex
	busy map[string]chan struct{}
}

func (n *nameLocks) lock(name string) {
	for {
		n.mu.Lock()
		if n.busy == nil {
			n.busy = map[string]chan struct{}{}
		}
		ch, held := n.busy[name]
		if !held {
			n.busy[name] = make(chan struct{})
			n.mu.Unlock()
			return
		}
		n.mu.Unlock()
		<-ch
	}
}

func (n *nameLocks) unlock(name string) {
	n.mu.Lock()
	close(n.busy[name])
	delete(n.busy, name)
	n.mu.Unlock()
}

// bigTable is the number of new names from which ps-fetch lowers the
// collector's target (see lowGC).
const bigTable = 200_000

var lowGCOnce sync.Once

// lowGC lowers GOGC to 10 once ps-fetch holds a large table (the manifest
// index, the claim table): those tables hold no pointers, so collecting
// often costs little, and the heap stays close to what is live instead of
// doubling, which keeps a million-record run under 64 MiB. Small runs keep
// Go's default pacing, which matters at thousands of small files a second.
// A GOGC set by the user wins.
func lowGC() {
	lowGCOnce.Do(func() {
		if os.Getenv("GOGC") == "" {
			debug.SetGCPercent(10)
		}
	})
}
