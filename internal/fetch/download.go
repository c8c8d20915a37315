package fetch

import (
	"cmp"
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"hash/fnv"
	"io"
	"io/fs"
	"os"
	"path"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ps-photos/ps/internal/fault"
	"github.com/ps-photos/ps/internal/manifest"
	"github.com/ps-photos/ps/internal/progress"
	"github.com/ps-photos/ps/internal/record"
	"github.com/ps-photos/ps/internal/source"
)

// Copy buffers. Large reads and writes keep the syscalls and the switches
// between workers per gigabyte low: on 100 × 25 MiB over loopback HTTP,
// 4 MiB buffers took ps-fetch 3.2 s where 1 MiB took 3.5 s (2 cores, -j8). The
// workers share a budget, so -j32 does not hold 128 MiB of buffers; small
// files get a buffer their size, so a run of small files stays small.
const (
	copyBudget = 32 << 20
	minCopyBuf = 1 << 20
	maxCopyBuf = 4 << 20
)

// copyBufSize is each worker's buffer size for jobs parallel downloads.
func copyBufSize(jobs int) int {
	return min(max(copyBudget/max(jobs, 1), minCopyBuf), maxCopyBuf)
}

// buffer returns the worker's copy buffer, sized for the item.
func (j *job) buffer() []byte {
	n := j.bufSize
	if s := j.rec.Size; s > 0 && s < int64(n) {
		n = int(max(s, 64<<10))
	}
	if cap(*j.buf) < n {
		*j.buf = make([]byte, n)
	}
	return (*j.buf)[:n]
}

// work runs one job on a worker.
func (e *engine) work(j *job) {
	e.names.lock(j.local)
	defer e.names.unlock(j.local)
	if err := e.stopped(j.rec.Source); err != nil {
		e.fail(j.rec, err, 0, true)
		return
	}
	if err := e.givenUp(j.rec); err != nil {
		e.fail(j.rec, err, 0, true)
		return
	}
	if e.ctx.Err() != nil {
		e.fail(j.rec, e.classify(nil, e.ctx.Err()), 0, true)
		return
	}
	switch j.mode {
	case modeVerify:
		if e.verify(j) {
			return
		}
	case modeAdopt:
		if e.adopt(j) {
			return
		}
	}
	e.download(j)
}

// fetched is what a finished download produced.
type fetched struct {
	size int64
	sha  string
}

func (e *engine) download(j *job) {
	task := e.prog.Start(j.local, j.rec.Size, 0)
	policy := e.opts.Backoff
	policy.Attempts = e.opts.Retries + 1
	policy.OnRetry = func(attempt int, err error, wait time.Duration) {
		e.log.Debug(fmt.Sprintf("%s: attempt %d failed (%v), retrying in %s", j.local, attempt, err, wait.Round(time.Millisecond)))
	}
	var got fetched
	var gaveUp error
	attempts, err := policy.Do(e.ctx, func(int) error {
		if err := e.stopped(j.rec.Source); err != nil {
			return err
		}
		if gaveUp = e.givenUp(j.rec); gaveUp != nil {
			return fault.Wrap(fault.Permanent, gaveUp) // ends the retries
		}
		var err error
		got, err = e.fetchOnce(j, task)
		return err
	})
	if gaveUp != nil {
		err = gaveUp
	}
	task.Done(err == nil)
	e.outcome(j.rec, err)
	if err != nil {
		if e.ctx.Err() != nil && fault.ClassOf(err) != fault.Local && fault.ClassOf(err) != fault.Canceled {
			err = e.classify(nil, err)
		}
		if fault.ClassOf(err) == fault.Auth {
			e.stopSource(j.rec.Source, err)
		}
		e.fail(j.rec, err, attempts, true)
		return
	}
	e.record(j, got)
	e.result(j.rec, record.StatusDownloaded, j.local, got.sha, got.size)
	e.downloaded.Add(1)
}

// record appends a written file to the manifest.
func (e *engine) record(j *job, got fetched) {
	src, id := manifest.Ident(j.rec)
	err := e.mw.Add(&manifest.Entry{
		Source: src, ID: id, Path: j.rec.Path, Size: got.size, Mtime: manifest.MtimeString(j.rec.Mtime),
		Local: j.local, N: j.suffix, SHA256: got.sha, At: record.FormatTime(e.opts.Now()),
	})
	if err != nil {
		e.log.Error("manifest: " + err.Error())
		if fault.IsDiskFull(err) {
			e.stopDisk(err)
		}
	}
}

// fetchOnce is one attempt: open or resume the .part, stream the rest,
// verify, then commit it under its final name or discard it.
func (e *engine) fetchOnce(j *job, task *progress.Task) (fetched, error) {
	rec := j.rec
	src, _, err := e.opts.Opener.ForRecord(e.ctx, rec)
	if err != nil {
		return fetched{}, classified(err, fault.Permanent)
	}
	target := e.abs(j.local)
	if err := e.ensureDir(path.Dir(j.local)); err != nil {
		return fetched{}, err
	}
	if err := notALink(target, j.local); err != nil {
		return fetched{}, err
	}
	p, err := openPart(partPath(target, rec), rec)
	if err != nil {
		return fetched{}, e.localErr(err)
	}
	defer p.close()
	want := rec.Size
	if want == 0 {
		want = -1 // no size in the record: trust the source
	}
	if want >= 0 && p.have > want {
		if err := p.restart(); err != nil {
			return fetched{}, e.localErr(err)
		}
	}
	if p.have > 0 {
		if err := p.hashPrefix(j.buffer()); err != nil {
			return fetched{}, e.localErr(err)
		}
	}
	resumed := p.have > 0
	if want < 0 || p.have < want {
		if want, err = e.stream(j, src, p, want, task); err != nil {
			if fault.ClassOf(err) == fault.Permanent {
				p.discard() // its bytes cannot be trusted
			}
			return fetched{}, err
		}
	}
	if want >= 0 && p.have < want {
		return fetched{}, fault.Errorf(fault.Transient, "short body: got %d of %d bytes", p.have, want)
	}
	sum, err := p.hs.verify()
	if err != nil {
		p.discard()
		if resumed {
			return fetched{}, fault.Errorf(fault.Transient, "%v after resuming: starting over", err)
		}
		return fetched{}, fault.Wrap(fault.Permanent, err)
	}
	if err := p.commit(e.opts.partSync, sum, itemTag(rec), cmp.Or(rec.Mtime, j.served), target); err != nil {
		return fetched{}, e.localErr(err)
	}
	return fetched{size: p.have, sha: sum}, nil
}

// stream opens the source where the part ends and appends what it sends.
// It returns the size, once known.
func (e *engine) stream(j *job, src source.Source, p *partFile, want int64, task *progress.Task) (int64, error) {
	wd := e.watch()
	defer wd.stop()
	content, err := e.open(j, src, p, wd, task)
	if err != nil {
		return want, err
	}
	defer content.Close()
	j.served = content.ModTime
	if content.Offset != p.have {
		if content.Offset != 0 {
			return want, fault.Errorf(fault.Transient, "asked for bytes from %d, the source sent from %d", p.have, content.Offset)
		}
		// The source could not seek (HTTP 200 to a Range request): start over.
		if err := p.restart(); err != nil {
			return want, e.localErr(err)
		}
		task.Restart()
	}
	if content.Size >= 0 && want >= 0 && content.Size != want {
		return want, fault.Errorf(fault.Permanent, "the source reports %d bytes, the record says %d", content.Size, want)
	}
	if want < 0 && content.Size >= 0 {
		want = content.Size
	}
	if p.have == 0 {
		p.setVersion(content.Version) // before the first byte
	}
	if err := p.seekEnd(); err != nil {
		return want, e.localErr(err)
	}
	return want, e.copy(j, p, content, want, wd, task)
}

// open opens the source where the part ends, asking for the bytes only
// while the source has the version the part began from. A part that is
// not a prefix of what the source has now starts over from byte 0.
func (e *engine) open(j *job, src source.Source, p *partFile, wd *watchdog, task *progress.Task) (*source.Content, error) {
	ctx := wd.ctx
	if p.have > 0 {
		ctx = source.WithIfRange(ctx, p.version)
	}
	content, err := src.Open(ctx, j.rec, p.have)
	if err == nil && p.have > 0 && content.Offset == p.have && !p.resumable(content.Version) {
		// The source changed since the part was begun (a source that
		// ignores If-Range, or a file): its bytes are of another version.
		e.log.Debug(fmt.Sprintf("%s: the source changed since the partial download began: starting over", j.local))
		content.Close()
		err = errChanged
	}
	if (errors.Is(err, source.ErrBadRange) || err == errChanged) && p.have > 0 {
		// A 416 or another version: the part is not a prefix of the item.
		if err := p.restart(); err != nil {
			return nil, e.localErr(err)
		}
		task.Restart()
		content, err = src.Open(wd.ctx, j.rec, 0)
	}
	if errors.Is(err, source.ErrBadRange) {
		return nil, fault.Errorf(fault.Permanent, "the source rejects reading from byte 0")
	}
	if err != nil {
		return nil, e.classify(wd, err)
	}
	return content, nil
}

// errChanged stands for a source whose item changed under a part.
var errChanged = errors.New("the item changed since the partial download began")

// copy moves bytes from r to the part in large chunks.
func (e *engine) copy(j *job, p *partFile, r io.Reader, want int64, wd *watchdog, task *progress.Task) error {
	buf := j.buffer()
	for {
		start := time.Now()
		n, rerr := readChunk(r, buf, wd)
		if n > 0 {
			if want >= 0 && p.have+int64(n) > want {
				return fault.Errorf(fault.Permanent, "the source sent more than the %d bytes the record says", want)
			}
			if err := p.write(buf[:n]); err != nil {
				return e.localErr(err)
			}
			task.Add(n, time.Since(start))
			if e.opts.testHookPart != nil {
				e.opts.testHookPart(j.local, p.have)
			}
		}
		if rerr == io.EOF {
			return nil
		}
		if rerr != nil {
			return e.classify(wd, rerr)
		}
	}
}

// readChunk reads until it has at least half a buffer (so each write is
// large), an error, or EOF.
func readChunk(r io.Reader, buf []byte, wd *watchdog) (int, error) {
	n := 0
	for n < len(buf)/2 {
		m, err := r.Read(buf[n:])
		if m > 0 {
			wd.kick()
		}
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// verify re-hashes a file the manifest has; false means download it again.
func (e *engine) verify(j *job) bool {
	want := strings.ToLower(j.rec.Hash["sha256"])
	if want == "" {
		want, _ = e.ix.SHA256(j.key)
	}
	sum, _, err := e.hashFile(j, e.abs(j.local))
	if err != nil {
		e.log.Warn(fmt.Sprintf("%s: cannot re-hash (%v): fetching again", j.local, err))
		return false
	}
	if want != "" && sum != want {
		e.log.Warn(fmt.Sprintf("%s: sha256 %s differs from %s: fetching again", j.local, sum, want))
		return false
	}
	e.result(j.rec, record.StatusSkipped, j.local, sum, 0)
	e.skipped.Add(1)
	e.prog.Skipped(true)
	return true
}

// adopt takes over a file a crashed run renamed into place but never
// recorded (see onDisk). Its bytes must still hash to what the record
// says, and to what ps-fetch stored on it when it wrote it.
func (e *engine) adopt(j *job) bool {
	p := e.abs(j.local)
	sum, size, err := e.hashFile(j, p)
	if err != nil {
		return false
	}
	if want := strings.ToLower(j.rec.Hash["sha256"]); want != "" && want != sum {
		return false
	}
	if stored := readHashXattr(p); stored != "" && stored != sum {
		return false // changed since ps-fetch wrote it
	}
	e.record(j, fetched{size: size, sha: sum})
	e.result(j.rec, record.StatusSkipped, j.local, sum, 0)
	e.skipped.Add(1)
	e.prog.Skipped(true)
	return true
}

// hashFile returns the sha256 and the length of the file at p.
func (e *engine) hashFile(j *job, p string) (string, int64, error) {
	f, err := os.OpenFile(p, os.O_RDONLY|oNoFollow, 0)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.CopyBuffer(h, f, j.buffer())
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// ensureDir creates the folders of a name one by one, refusing symlinks,
// and remembers the ones it checked.
func (e *engine) ensureDir(rel string) error {
	if rel == "." || rel == "" {
		return nil
	}
	if _, ok := e.dirs.Load(rel); ok {
		return nil
	}
	if err := e.ensureDir(path.Dir(rel)); err != nil {
		return err
	}
	p := e.abs(rel)
	st, err := os.Lstat(p)
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.Mkdir(p, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return e.localErr(err)
		}
		st, err = os.Lstat(p)
	}
	switch {
	case err != nil:
		return e.localErr(err)
	case st.Mode()&fs.ModeSymlink != 0:
		return fault.Errorf(fault.Permanent, "refusing to write through the symlink %s in the output folder", rel)
	case !st.IsDir():
		return fault.Errorf(fault.Permanent, "%s in the output folder is a file, not a folder", rel)
	}
	e.dirs.Store(rel, true)
	return nil
}

// notALink refuses a target that is a symlink or not a regular file.
func notALink(target, rel string) error {
	st, err := os.Lstat(target)
	switch {
	case err != nil:
		return nil
	case st.Mode()&fs.ModeSymlink != 0:
		return fault.Errorf(fault.Permanent, "refusing to write through the symlink %s in the output folder", rel)
	case !st.Mode().IsRegular():
		return fault.Errorf(fault.Permanent, "%s in the output folder is not a regular file", rel)
	}
	return nil
}

// partPath names the partial file beside target. The tag ties it to this
// version of the item (source, id, size, mtime), so a part left by an
// older version is never resumed with newer bytes.
func partPath(target string, rec *record.Record) string {
	src, id := manifest.Ident(rec)
	h := fnv.New32a()
	io.WriteString(h, src+"\x00"+id+"\x00"+strconv.FormatInt(rec.Size, 10)+"\x00"+record.FormatTime(rec.Mtime))
	return fmt.Sprintf("%s.%08x.part", target, h.Sum32())
}

// localErr classifies a local file-system error; a full disk stops the run.
func (e *engine) localErr(err error) error {
	if fault.IsDiskFull(err) {
		e.stopDisk(err)
	}
	return fault.Wrap(fault.Local, err)
}

// classify gives an error from a source read its class: the idle timeout
// and a stop are ours; classified errors keep their class; anything else
// on the way from a source is worth a retry.
func (e *engine) classify(wd *watchdog, err error) error {
	if wd != nil && wd.fired.Load() && e.ctx.Err() == nil {
		return fault.Errorf(fault.Transient, "no data for %s (idle timeout)", e.opts.IdleTimeout)
	}
	if e.ctx.Err() != nil {
		e.mu.Lock()
		full := e.diskFull
		e.mu.Unlock()
		if full != nil {
			return fault.Wrap(fault.Local, fmt.Errorf("stopped: the disk is full (%v)", full))
		}
		return fault.Errorf(fault.Canceled, "interrupted before the download finished (a partial file is kept for the next run)")
	}
	return classified(err, fault.Transient)
}

// classified keeps err's class, or gives it class c.
func classified(err error, c fault.Class) error {
	var fe *fault.Error
	if errors.As(err, &fe) {
		return err
	}
	return fault.Wrap(c, err)
}

// watchdog cancels a download that receives nothing for the idle timeout.
type watchdog struct {
	ctx    context.Context
	cancel context.CancelFunc
	t      *time.Timer
	d      time.Duration
	last   atomic.Int64
	fired  atomic.Bool
}

func (e *engine) watch() *watchdog {
	ctx, cancel := context.WithCancel(e.ctx)
	w := &watchdog{ctx: ctx, cancel: cancel, d: e.opts.IdleTimeout}
	w.last.Store(time.Now().UnixNano())
	w.t = time.AfterFunc(w.d, w.check)
	return w
}

// check fires when the timer runs out; reads only move "last", so the
// hot path pays no timer reset.
func (w *watchdog) check() {
	idle := time.Duration(time.Now().UnixNano() - w.last.Load())
	if idle < w.d {
		w.t.Reset(w.d - idle)
		return
	}
	w.fired.Store(true)
	w.cancel()
}

func (w *watchdog) kick() {
	if w != nil {
		w.last.Store(time.Now().UnixNano())
	}
}

func (w *watchdog) stop() {
	w.t.Stop()
	w.cancel()
}

// hashes computes sha256 always, and any other hash the record carries
// that ps-fetch knows (md5, sha1), to check it.
type hashes struct {
	algos []string
	hs    []hash.Hash
	want  []string
}

func newHashes(rec *record.Record) *hashes {
	h := &hashes{}
	add := func(algo string, fn func() hash.Hash) {
		h.algos = append(h.algos, algo)
		h.hs = append(h.hs, fn())
		h.want = append(h.want, strings.ToLower(rec.Hash[algo]))
	}
	add("sha256", sha256.New)
	if rec.Hash["md5"] != "" {
		add("md5", md5.New)
	}
	if rec.Hash["sha1"] != "" {
		add("sha1", sha1.New)
	}
	return h
}

func (h *hashes) Write(p []byte) (int, error) {
	for _, x := range h.hs {
		x.Write(p)
	}
	return len(p), nil
}

func (h *hashes) reset() {
	for _, x := range h.hs {
		x.Reset()
	}
}

// verify returns the sha256, or an error naming the first hash that does
// not match the record.
func (h *hashes) verify() (string, error) {
	var sha string
	for i, x := range h.hs {
		got := hex.EncodeToString(x.Sum(nil))
		if i == 0 {
			sha = got
		}
		if h.want[i] != "" && got != h.want[i] {
			return "", fmt.Errorf("%s mismatch: the record says %s, the bytes hash to %s", h.algos[i], h.want[i], got)
		}
	}
	return sha, nil
}
