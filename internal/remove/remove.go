// Package remove is ps-remove's engine: it deletes from the source the items
// ps-fetch has safely on disk, and nothing else.
//
// An item is removed only when every one of these holds, checked in this
// order, each refusal saying why:
//
//  1. the record is a result whose status is downloaded or skipped (never a
//     failure, an item, a planned result or anything else: those pass
//     through unchanged);
//  2. it is not newer than --keep-recent (such results pass through too);
//  3. it carries hash.sha256, its local file is a regular file of the
//     record's size, and re-hashing that file gives the same sha256;
//  4. its source can delete (source.Remover), and the source still holds
//     the version that was listed (size, and mtime where it has one).
//
// Without Yes nothing is deleted: each removal is reported as planned.
package remove

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/ps-photos/ps/internal/fault"
	"github.com/ps-photos/ps/internal/record"
	"github.com/ps-photos/ps/internal/source"
)

// Options configure a run.
type Options struct {
	Yes        bool          // really delete; otherwise report what would be removed
	KeepRecent time.Duration // keep items taken (else modified) less than this long ago
	Jobs       int           // files verified and removed at once
	Strict     bool          // stop at the first malformed line
	Now        func() time.Time
	Opener     source.Opener
	OnBadLine  func(*record.LineError)
}

// Stats count what a run did.
type Stats struct {
	mu       sync.Mutex
	Removed  int // deleted from the source (planned, without Yes)
	Kept     int // results newer than KeepRecent
	Refused  int // results that failed a check: failure records
	Passed   int // other records, passed through
	BadLines int
	Auth     error // the first auth failure: the run exits 3
}

func (s *Stats) add(f func(*Stats)) {
	s.mu.Lock()
	f(s)
	s.mu.Unlock()
}

// Run reads records from in and writes to out: a "removed" record for each
// item removed (status "removed", or "planned" without Yes), a failure for
// each result that failed a check, and every other line unchanged.
func Run(ctx context.Context, in io.Reader, out *record.Encoder, opts Options) (*Stats, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	stats := &Stats{}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(opts.Jobs, 1))
	lines := record.NewReader(in)
	var readErr error
	for gctx.Err() == nil {
		line, err := lines.Next()
		if err == io.EOF {
			break
		}
		var rec *record.Record
		if err == nil {
			rec, err = record.Parse(line)
			if err != nil {
				err = &record.LineError{Line: lines.Line(), Err: err}
			}
		}
		if err != nil {
			var le *record.LineError
			if !errors.As(err, &le) {
				readErr = fault.Wrap(fault.Local, err)
				break
			}
			stats.add(func(s *Stats) { s.BadLines++ })
			if opts.OnBadLine != nil {
				opts.OnBadLine(le)
			}
			if opts.Strict {
				readErr = le
				break
			}
			continue
		}
		if !removable(rec) {
			stats.add(func(s *Stats) { s.Passed++ })
			if err := out.WriteLine(line); err != nil {
				readErr = fault.Wrap(fault.Local, err)
				break
			}
			continue
		}
		g.Go(func() error { return handle(gctx, rec, out, opts, stats) })
	}
	if err := g.Wait(); err != nil && readErr == nil {
		readErr = err
	}
	if readErr == nil && ctx.Err() != nil {
		readErr = fault.Wrap(fault.Canceled, ctx.Err())
	}
	return stats, readErr
}

// removable reports whether rec is a result that may lead to a removal.
func removable(rec *record.Record) bool {
	return rec.Type == record.TypeResult &&
		(rec.Status == record.StatusDownloaded || rec.Status == record.StatusSkipped)
}

// handle checks one result and removes its item. Only an output error ends
// the run; everything about the item itself becomes a record.
func handle(ctx context.Context, rec *record.Record, out *record.Encoder, opts Options, stats *Stats) error {
	if recent(rec, opts) {
		stats.add(func(s *Stats) { s.Kept++ })
		return out.Encode(rec)
	}
	err := verifyLocal(ctx, rec)
	if err == nil {
		err = removeAtSource(ctx, rec, opts)
	}
	if err != nil {
		class := fault.ClassOf(err)
		stats.add(func(s *Stats) {
			s.Refused++
			if class == fault.Auth && s.Auth == nil {
				s.Auth = err
			}
		})
		return out.Encode(rec.AsFailure(string(class), err.Error(), 1, fault.HintOf(err)))
	}
	stats.add(func(s *Stats) { s.Removed++ })
	return out.Encode(asRemoved(rec, opts.Yes))
}

// recent reports whether the item is newer than --keep-recent.
func recent(rec *record.Record, opts Options) bool {
	if opts.KeepRecent <= 0 {
		return false
	}
	t := rec.Taken
	if t.IsZero() {
		t = rec.Mtime
	}
	return !t.IsZero() && opts.Now().Sub(t) < opts.KeepRecent
}

// verifyLocal proves the local copy is whole: a regular file of the
// record's size whose sha256 is the one ps-fetch recorded.
func verifyLocal(ctx context.Context, rec *record.Record) error {
	want := rec.Hash["sha256"]
	if want == "" {
		return fault.Errorf(fault.Permanent, "not removed: the result carries no sha256 to verify the local copy against")
	}
	if rec.Local == "" {
		return fault.Errorf(fault.Permanent, "not removed: the result has no local path")
	}
	f, err := os.Open(rec.Local)
	if err != nil {
		return fault.Errorf(fault.Local, "not removed: the local copy cannot be read: %v", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fault.Errorf(fault.Local, "not removed: %v", err)
	}
	if !st.Mode().IsRegular() || st.Size() != rec.Size {
		return fault.Errorf(fault.Permanent, "not removed: the local copy %s is %d bytes, the record says %d", rec.Local, st.Size(), rec.Size)
	}
	h := sha256.New()
	if _, err := io.Copy(h, ctxReader{ctx, f}); err != nil {
		if ctx.Err() != nil {
			return fault.Wrap(fault.Canceled, ctx.Err())
		}
		return fault.Errorf(fault.Local, "not removed: reading the local copy: %v", err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		return fault.Errorf(fault.Permanent, "not removed: the local copy %s has sha256 %s, the record says %s", rec.Local, got, want)
	}
	return nil
}

// removeAtSource deletes the item from its source (or, without Yes, checks
// only that the source could).
func removeAtSource(ctx context.Context, rec *record.Record, opts Options) error {
	src, _, err := opts.Opener.ForRecord(ctx, rec)
	if err != nil {
		return err
	}
	rm, ok := src.(source.Remover)
	if !ok {
		return fault.Errorf(fault.Permanent, "not removed: %s cannot delete files (ps-remove supports local folders, SMB shares and iCloud)", src.Location())
	}
	if !opts.Yes {
		return nil
	}
	return rm.Remove(ctx, rec)
}

// asRemoved is the record of a removal: the result's fields, type
// "removed", status "removed" or (a dry run) "planned".
func asRemoved(rec *record.Record, done bool) *record.Record {
	r := rec.Clone()
	r.Type = record.TypeRemoved
	r.Status = record.StatusPlanned
	if done {
		r.Status = record.StatusRemoved
	}
	return r
}

// ctxReader stops a long hash when the run is interrupted.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// Summary is the line ps-remove prints on stderr.
func (s *Stats) Summary(yes bool) string {
	verb := "removed from the source"
	if !yes {
		verb = "would be removed (dry run: add --yes to remove)"
	}
	return fmt.Sprintf("%d %s, %d kept as recent, %d refused, %d other records passed through", s.Removed, verb, s.Kept, s.Refused, s.Passed)
}
