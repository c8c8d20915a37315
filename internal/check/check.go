// Package check is ps-check's engine: it compares an archive ps-fetch filled
// with its manifest, and optionally with a fresh listing of the source, and
// reports every difference as a record. It reads and never writes: no
// download, no state file, nothing in the archive changes.
//
// What it finds, as "check" records with a status:
//
//   - missing: a file the manifest has is not on disk (where "archive"), or
//     a listed item was never fetched (where "source");
//   - changed: the file on disk is not the bytes ps-fetch wrote (where
//     "archive"; "image" then says whether the picture itself changed or
//     only its metadata), or the source's item has another size or mtime
//     than what was fetched (where "source");
//   - gone: the manifest has an item a complete listing of its source no
//     longer has;
//   - extra: a file in the archive ps-fetch did not write;
//   - ok: the file is as fetched (only with All).
package check

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/ps-photos/ps/internal/fault"
	"github.com/ps-photos/ps/internal/manifest"
	"github.com/ps-photos/ps/internal/record"
	"github.com/ps-photos/ps/internal/source"
)

// Statuses of a check record.
const (
	StatusOK      = "ok"
	StatusMissing = "missing"
	StatusChanged = "changed"
	StatusGone    = "gone"
	StatusExtra   = "extra"
)

// Options configure a run.
type Options struct {
	Dir     string
	Listing io.Reader // a listing to compare with, or nil
	Quick   bool      // compare sizes only, do not re-hash
	All     bool      // also report files that are as fetched
	Jobs    int
	// Opener, when set, is used to read the source's original of a changed
	// JPEG, to tell a metadata-only change from a changed picture.
	Opener    source.Opener
	OnBadLine func(*record.LineError)
}

// Stats count what a run found, by status.
type Stats struct {
	mu       sync.Mutex
	Counts   map[string]int
	BadLines int
}

// Differences is how many records said something is not as fetched.
func (s *Stats) Differences() int {
	return s.Counts[StatusMissing] + s.Counts[StatusChanged] + s.Counts[StatusGone] + s.Counts[StatusExtra]
}

type checker struct {
	opts    Options
	out     *record.Encoder
	stats   *Stats
	entries map[string]*manifest.Entry // by source + "\x00" + id: the latest line wins
	seen    map[string]bool            // entries the listing had
	listed  map[string]bool            // sources whose listing ended complete
}

// Run writes a check record for each difference to out.
func Run(ctx context.Context, out *record.Encoder, opts Options) (*Stats, error) {
	c := &checker{opts: opts, out: out, stats: &Stats{Counts: map[string]int{}},
		entries: map[string]*manifest.Entry{}, seen: map[string]bool{}, listed: map[string]bool{}}
	if err := c.loadManifest(); err != nil {
		return c.stats, err
	}
	if opts.Listing != nil {
		if err := c.compareListing(opts.Listing); err != nil {
			return c.stats, err
		}
	}
	if err := c.compareArchive(ctx); err != nil {
		return c.stats, err
	}
	return c.stats, c.findExtra(ctx)
}

func key(source, id string) string { return source + "\x00" + id }

func (c *checker) loadManifest() error {
	if _, err := os.Stat(filepath.Join(c.opts.Dir, manifest.FileName)); err != nil {
		return fault.Errorf(fault.Local, "%s has no ps-fetch manifest (%s): nothing to check against", c.opts.Dir, manifest.FileName)
	}
	return manifest.Scan(c.opts.Dir, func(e *manifest.Entry) error {
		k := key(e.Source, e.ID)
		if e.Deleted {
			delete(c.entries, k)
			return nil
		}
		if e.Pending {
			return nil // a name reserved for a download that had not finished
		}
		cp := *e
		c.entries[k] = &cp
		return nil
	})
}

// compareListing reads a listing: items never fetched, and items whose
// source version is not the fetched one.
func (c *checker) compareListing(r io.Reader) error {
	lines := record.NewReader(r)
	for {
		line, err := lines.Next()
		if err == io.EOF {
			return nil
		}
		var rec *record.Record
		if err == nil {
			if rec, err = record.Parse(line); err != nil {
				err = &record.LineError{Line: lines.Line(), Err: err}
			}
		}
		var le *record.LineError
		if errors.As(err, &le) {
			c.stats.BadLines++
			if c.opts.OnBadLine != nil {
				c.opts.OnBadLine(le)
			}
			continue
		}
		if err != nil {
			return fault.Wrap(fault.Local, err)
		}
		if err := c.listed1(rec); err != nil {
			return err
		}
	}
}

func (c *checker) listed1(rec *record.Record) error {
	if rec.Type == record.TypeEnd {
		// Only a complete listing that no filter cut proves an item gone.
		filtered := rec.Excluded != nil && *rec.Excluded > 0
		if rec.Complete != nil && *rec.Complete && !filtered {
			c.listed[rec.Source] = true
		}
		return nil
	}
	if !rec.IsFileRecord() || rec.Type == record.TypeFailure {
		return nil
	}
	src, id := manifest.Ident(rec)
	e := c.entries[key(src, id)]
	if e == nil {
		return c.emit(rec, StatusMissing, "source", nil)
	}
	c.seen[key(src, id)] = true
	if (rec.Size > 0 && rec.Size != e.Size) || (!rec.Mtime.IsZero() && e.Mtime != "" && manifest.MtimeString(rec.Mtime) != e.Mtime) {
		return c.emit(rec, StatusChanged, "source", map[string]any{"fetched_size": e.Size, "fetched_mtime": e.Mtime})
	}
	return nil
}

// compareArchive checks every manifest entry's file, Jobs at a time.
func (c *checker) compareArchive(ctx context.Context) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(c.opts.Jobs, 1))
	keys := make([]string, 0, len(c.entries))
	for k := range c.entries {
		keys = append(keys, k)
	}
	sort.Strings(keys) // the same archive reports in the same order
	for _, k := range keys {
		e := c.entries[k]
		if gctx.Err() != nil {
			break
		}
		if c.opts.Listing != nil && c.listed[e.Source] && !c.seen[k] {
			if err := c.emit(entryRecord(c.opts.Dir, e), StatusGone, "source", nil); err != nil {
				return err
			}
		}
		g.Go(func() error { return c.checkFile(gctx, e) })
	}
	if err := g.Wait(); err != nil {
		return err
	}
	if ctx.Err() != nil {
		return fault.Wrap(fault.Canceled, ctx.Err())
	}
	return nil
}

// entryRecord is the record of a manifest entry, with its local path.
func entryRecord(dir string, e *manifest.Entry) *record.Record {
	rec := &record.Record{Source: e.Source, ID: e.ID, Path: e.Path, Size: e.Size,
		Local: filepath.Join(dir, filepath.FromSlash(e.Local))}
	if e.Path != "" {
		rec.Name = path.Base(e.Path)
	}
	rec.Media = record.MediaOf(path.Base(e.Local))
	if t, err := record.ParseTime(e.Mtime); err == nil {
		rec.Mtime = t
	}
	if e.SHA256 != "" {
		rec.Hash = map[string]string{"sha256": e.SHA256}
	}
	return rec
}

func (c *checker) checkFile(ctx context.Context, e *manifest.Entry) error {
	rec := entryRecord(c.opts.Dir, e)
	st, err := os.Lstat(rec.Local)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return c.emit(rec, StatusMissing, "archive", nil)
	case err != nil:
		return c.emit(rec, StatusChanged, "archive", map[string]any{"reason": err.Error()})
	case !st.Mode().IsRegular():
		return c.emit(rec, StatusChanged, "archive", map[string]any{"reason": "not a regular file"})
	case st.Size() != e.Size:
		return c.emit(rec, StatusChanged, "archive", c.classify(ctx, rec, map[string]any{"size_now": st.Size()}))
	}
	if c.opts.Quick || e.SHA256 == "" {
		return c.emitOK(rec)
	}
	sum, err := hashFile(ctx, rec.Local)
	if err != nil {
		return err
	}
	if sum != e.SHA256 {
		return c.emit(rec, StatusChanged, "archive", c.classify(ctx, rec, map[string]any{"sha256_now": sum}))
	}
	return c.emitOK(rec)
}

// classify adds "image": "same" when only a changed JPEG's metadata
// differs from the source's original, "changed" when its picture does, and
// "unknown" when that cannot be told (not a JPEG, or the source cannot be
// read).
func (c *checker) classify(ctx context.Context, rec *record.Record, extra map[string]any) map[string]any {
	extra["image"] = "unknown"
	if !isJPEG(rec.Local) || c.opts.Opener == nil {
		return extra
	}
	local, err := jpegImageHashFile(rec.Local)
	if err != nil {
		return extra
	}
	orig, err := c.sourceImageHash(ctx, rec)
	if err != nil {
		extra["image_reason"] = "the source's original could not be read: " + err.Error()
		return extra
	}
	extra["image"] = "changed"
	if orig == local {
		extra["image"] = "same"
	}
	return extra
}

func (c *checker) sourceImageHash(ctx context.Context, rec *record.Record) (string, error) {
	src, _, err := c.opts.Opener.ForRecord(ctx, rec)
	if err != nil {
		return "", err
	}
	content, err := src.Open(ctx, rec, 0)
	if err != nil {
		return "", err
	}
	defer content.Close()
	return JPEGImageHash(content)
}

func (c *checker) emitOK(rec *record.Record) error {
	if !c.opts.All {
		c.count(StatusOK)
		return nil
	}
	return c.emit(rec, StatusOK, "archive", nil)
}

func (c *checker) count(status string) {
	c.stats.mu.Lock()
	c.stats.Counts[status]++
	c.stats.mu.Unlock()
}

// emit writes one check record: the item's fields, type "check", its
// status, where the difference is, and any details.
func (c *checker) emit(item *record.Record, status, where string, details map[string]any) error {
	c.count(status)
	rec := item.Clone()
	rec.Type = record.TypeCheck
	rec.Status = status
	rec.Error = nil
	if err := rec.Set("where", where); err != nil {
		return err
	}
	if len(details) > 0 {
		if err := rec.Set("check", details); err != nil {
			return err
		}
	}
	return c.out.Encode(rec)
}

// findExtra walks the archive for files ps-fetch did not write.
func (c *checker) findExtra(ctx context.Context) error {
	known := make(map[string]bool, len(c.entries))
	for _, e := range c.entries {
		known[e.Local] = true
	}
	return filepath.WalkDir(c.opts.Dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fault.Wrap(fault.Local, err)
		}
		if ctx.Err() != nil {
			return fault.Wrap(fault.Canceled, ctx.Err())
		}
		if d.IsDir() || strings.HasPrefix(d.Name(), ".ps-") || strings.HasSuffix(d.Name(), ".part") {
			return nil
		}
		rel, _ := filepath.Rel(c.opts.Dir, p)
		if known[filepath.ToSlash(rel)] {
			return nil
		}
		rec := &record.Record{Path: filepath.ToSlash(rel), Name: d.Name(), Media: record.MediaOf(d.Name()), Local: p}
		if info, err := d.Info(); err == nil {
			rec.Size, rec.Mtime = info.Size(), info.ModTime().UTC()
		}
		return c.emit(rec, StatusExtra, "archive", nil)
	})
}

func hashFile(ctx context.Context, p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", fault.Wrap(fault.Local, err)
	}
	defer f.Close()
	h := sha256.New()
	buf := make([]byte, 1<<20)
	for {
		if ctx.Err() != nil {
			return "", fault.Wrap(fault.Canceled, ctx.Err())
		}
		n, err := f.Read(buf)
		h.Write(buf[:n])
		if err == io.EOF {
			return hex.EncodeToString(h.Sum(nil)), nil
		}
		if err != nil {
			return "", fault.Wrap(fault.Local, err)
		}
	}
}

func isJPEG(p string) bool {
	switch strings.ToLower(filepath.Ext(p)) {
	case ".jpg", ".jpeg", ".jpe":
		return true
	}
	return false
}
