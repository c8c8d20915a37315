package takeout

import (
	"archive/tar"
	"archive/zip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ps-photos/ps/internal/fault"
	"github.com/ps-photos/ps/internal/record"
	"github.com/ps-photos/ps/internal/source"
)

// locator is where an item's bytes are: meta.takeout of its record.
type locator struct {
	archive string // absolute path of the archive; "" for an extracted file
	entry   string // entry name in the archive
	file    string // absolute path of an extracted file
	index   int    // position in a tar archive, -1 when unknown
	after   int    // position of the item listed before it in the same archive, -1 when none
}

func locate(item *record.Record) (locator, error) {
	loc := locator{index: -1, after: -1}
	m, _ := item.Meta["takeout"].(map[string]any)
	if m == nil {
		return loc, fault.Errorf(fault.Permanent, "%s: the record has no meta.takeout: list it again with ps-list takeout:…", item.Path)
	}
	loc.archive, _ = m["archive"].(string)
	loc.entry, _ = m["entry"].(string)
	loc.file, _ = m["file"].(string)
	loc.index, loc.after = intMeta(m["index"]), intMeta(m["after"])
	where := loc.entry
	if loc.archive == "" {
		where = filepath.ToSlash(loc.file)
		if !filepath.IsAbs(loc.file) {
			return loc, fault.Errorf(fault.Permanent, "%s: meta.takeout names no archive nor absolute file", item.Path)
		}
	} else if !filepath.IsAbs(loc.archive) {
		return loc, fault.Errorf(fault.Permanent, "%s: meta.takeout.archive %q is not an absolute path", item.Path, loc.archive)
	}
	// The entry must be the file the record names: a record whose path
	// was changed does not silently fetch another file.
	w := nfc(where)
	if where == "" || item.Path == "" || (w != item.Path && !strings.HasSuffix(w, "/"+item.Path)) {
		return loc, fault.Errorf(fault.NotFound, "%s is not in this Takeout (entry %q)", item.Path, where)
	}
	return loc, nil
}

// Open streams an item out of its archive. Zip entries stored without
// compression start at the offset asked for; compressed zip entries and tar
// entries restart at 0 (Content.Offset 0), since finding an offset means
// decompressing from the start anyway.
func (s *Source) Open(ctx context.Context, item *record.Record, offset int64) (*source.Content, error) {
	if err := ctx.Err(); err != nil {
		return nil, fault.Wrap(fault.Canceled, err)
	}
	loc, err := locate(item)
	if err != nil {
		return nil, err
	}
	var c *source.Content
	if loc.archive == "" {
		c, err = s.openFile(loc.file, offset)
	} else {
		kind, ok := archiveKind(loc.archive)
		switch {
		case !ok:
			return nil, fault.Errorf(fault.Permanent, "%s is not a Takeout archive", loc.archive)
		case kind == partZip:
			c, err = s.openZip(loc.archive, loc.entry, offset)
		default:
			c, err = s.openTar(ctx, loc.archive, kind == partTgz, loc, offset)
		}
	}
	if err != nil {
		return nil, err
	}
	c.ReadCloser = source.BindContext(ctx, c.ReadCloser)
	return c, nil
}

func (s *Source) openFile(abs string, offset int64) (*source.Content, error) {
	f, err := os.Open(abs)
	if err != nil {
		return nil, classifyFS(err)
	}
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		f.Close()
		if err == nil {
			err = fault.Errorf(fault.Permanent, "%s is not a file", abs)
		}
		return nil, classifyFS(err)
	}
	if offset > st.Size() {
		f.Close()
		return nil, source.ErrBadRange
	}
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		f.Close()
		return nil, classifyFS(err)
	}
	return &source.Content{ReadCloser: f, Offset: offset, Size: st.Size(), Version: source.FileVersion(st.ModTime(), st.Size())}, nil
}

// zipPart is an open zip archive, kept for the whole fetch.
type zipPart struct {
	*zip.ReadCloser
	f      *os.File // for stored entries read at an offset
	byName map[string]*zip.File
}

func (z *zipPart) Close() error {
	z.f.Close()
	return z.ReadCloser.Close()
}

func (s *Source) zipPart(abs string) (*zipPart, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if z := s.zips[abs]; z != nil {
		return z, nil
	}
	zr, err := zip.OpenReader(abs)
	if err != nil {
		return nil, classifyArchive(err)
	}
	f, err := os.Open(abs)
	if err != nil {
		zr.Close()
		return nil, classifyFS(err)
	}
	z := &zipPart{ReadCloser: zr, f: f, byName: make(map[string]*zip.File, len(zr.File))}
	for _, zf := range zr.File {
		z.byName[zf.Name] = zf
	}
	s.zips[abs] = z
	return z, nil
}

func (s *Source) openZip(abs, entry string, offset int64) (*source.Content, error) {
	z, err := s.zipPart(abs)
	if err != nil {
		return nil, err
	}
	zf := z.byName[entry]
	if zf == nil {
		return nil, fault.Errorf(fault.NotFound, "%s is not in %s", entry, filepath.Base(abs))
	}
	size := int64(zf.UncompressedSize64)
	version := fmt.Sprintf("crc32 %08x size %d", zf.CRC32, size)
	if offset > size {
		return nil, source.ErrBadRange
	}
	if offset > 0 && zf.Method == zip.Store {
		start, err := zf.DataOffset()
		if err != nil {
			return nil, classifyArchive(err)
		}
		r := io.NewSectionReader(z.f, start+offset, size-offset)
		return &source.Content{ReadCloser: io.NopCloser(r), Offset: offset, Size: size, Version: version}, nil
	}
	rc, err := zf.Open()
	if err != nil {
		return nil, classifyArchive(err)
	}
	return &source.Content{ReadCloser: rc, Offset: 0, Size: size, Version: version}, nil
}

// tarCursors are the open readers of one tar part, each positioned after
// an entry. A tgz can only be read from its start, so a fetch in listing
// order (archive order) hands each cursor on to the next entry: a request
// for a later entry waits for the cursor in use before it rather than
// decompressing the archive again from the start, and a request that
// arrives a little early (parallel fetches) waits for the item listed
// before it to be read first.
type tarCursors struct {
	idle    []*tarCursor
	busy    map[*tarCursor]int // the entry each busy cursor was taken for (its pos is its holder's)
	waiting map[int]int        // entries requests are waiting for → how many requests
	changed chan struct{}      // closed (and replaced) whenever a cursor is given back or dropped
}

type tarCursor struct {
	tr     *tar.Reader
	closer io.Closer
	pos    int // index of the last header read; -1 before the first
}

const (
	maxIdleCursors = 4                      // open readers kept per part
	cursorWait     = 30 * time.Second       // how long to wait for a busy cursor before opening another
	aheadWait      = 500 * time.Millisecond // how long an early request waits for the item listed before it
)

func (t *tarCursors) closeAll() {
	for _, c := range t.idle {
		c.closer.Close()
	}
	t.idle = nil
}

func (s *Source) cursors(abs string) *tarCursors {
	t := s.tars[abs]
	if t == nil {
		t = &tarCursors{busy: map[*tarCursor]int{}, waiting: map[int]int{}, changed: make(chan struct{})}
		s.tars[abs] = t
	}
	return t
}

// takeCursor picks a cursor for entry index, whose item was listed after
// the one at entry after (-1: unknown). It returns an idle cursor before
// index; or a channel to wait on when the right cursor is busy, or when
// taking one would skip entries another request wants; or a new, unopened
// cursor (tr nil) reserved for the caller.
func (s *Source) takeCursor(abs string, index, after int, early bool) (*tarCursor, <-chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.cursors(abs)
	best := -1
	for i, c := range t.idle {
		if index >= 0 && c.pos < index && (best < 0 || c.pos > t.idle[best].pos) {
			best = i
		}
	}
	if best >= 0 {
		c := t.idle[best]
		skips := early && after > c.pos // the item before has not been read yet
		for w := range t.waiting {
			skips = skips || (c.pos < w && w < index)
		}
		if !skips {
			t.idle = append(t.idle[:best], t.idle[best+1:]...)
			t.busy[c] = index
			return c, nil
		}
		return nil, t.changed
	}
	for _, target := range t.busy {
		if index >= 0 && target >= 0 && target < index {
			return nil, t.changed
		}
	}
	c := &tarCursor{pos: -1}
	t.busy[c] = index
	return c, nil
}

// wait counts a request for index as waiting (delta +1) or not (-1).
func (s *Source) wait(abs string, index, delta int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.cursors(abs)
	if t.waiting[index] += delta; t.waiting[index] <= 0 {
		delete(t.waiting, index)
	}
}

// putCursor gives a cursor back for the next entry; dropCursor closes it.
func (s *Source) putCursor(abs string, c *tarCursor)  { s.releaseCursor(abs, c, true) }
func (s *Source) dropCursor(abs string, c *tarCursor) { s.releaseCursor(abs, c, false) }

func (s *Source) releaseCursor(abs string, c *tarCursor, keep bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.cursors(abs)
	delete(t.busy, c)
	if keep && c.tr != nil && !s.closed && len(t.idle) < maxIdleCursors {
		t.idle = append(t.idle, c)
	} else if c.closer != nil {
		c.closer.Close()
	}
	close(t.changed)
	t.changed = make(chan struct{})
}

// cursorFor returns a cursor before entry index (see takeCursor), waiting
// at most cursorWait for a busy one.
func (s *Source) cursorFor(ctx context.Context, abs string, gz bool, index, after int) (*tarCursor, error) {
	deadline := time.NewTimer(cursorWait)
	defer deadline.Stop()
	early := time.NewTimer(aheadWait)
	defer early.Stop()
	isEarly, waiting := true, false
	defer func() {
		if waiting {
			s.wait(abs, index, -1)
		}
	}()
	for {
		c, ch := s.takeCursor(abs, index, after, isEarly)
		if c != nil {
			if c.tr == nil {
				tr, closer, err := openTar(abs, gz)
				if err != nil {
					s.dropCursor(abs, c)
					return nil, err
				}
				c.tr, c.closer = tr, closer
			}
			return c, nil
		}
		if !waiting && index >= 0 {
			waiting = true
			s.wait(abs, index, +1)
			continue // look again now that others see this request waiting
		}
		select {
		case <-ch:
		case <-early.C:
			isEarly = false
		case <-deadline.C:
			index = -1 // give up waiting: a cursor of its own
		case <-ctx.Done():
			return nil, fault.Wrap(fault.Canceled, ctx.Err())
		}
	}
}

func (s *Source) openTar(ctx context.Context, abs string, gz bool, loc locator, offset int64) (*source.Content, error) {
	c, err := s.cursorFor(ctx, abs, gz, loc.index, loc.after)
	if err != nil {
		return nil, err
	}
	for {
		if err := ctx.Err(); err != nil {
			s.dropCursor(abs, c)
			return nil, fault.Wrap(fault.Canceled, err)
		}
		h, err := c.tr.Next()
		c.pos++
		s.tarHeaders.Add(1)
		if errors.Is(err, io.EOF) || (err == nil && loc.index >= 0 && c.pos > loc.index) {
			s.dropCursor(abs, c)
			if loc.index >= 0 {
				// The archive is not laid out as listed: look by name.
				loc.index = -1
				return s.openTar(ctx, abs, gz, loc, offset)
			}
			return nil, fault.Errorf(fault.NotFound, "%s is not in %s", loc.entry, filepath.Base(abs))
		}
		if err != nil {
			s.dropCursor(abs, c)
			return nil, classifyArchive(err)
		}
		if h.Name != loc.entry || (loc.index >= 0 && c.pos != loc.index) {
			continue
		}
		if offset > h.Size {
			s.putCursor(abs, c)
			return nil, source.ErrBadRange
		}
		r := &tarEntry{Reader: io.LimitReader(c.tr, h.Size), done: func() { s.putCursor(abs, c) }}
		return &source.Content{ReadCloser: r, Offset: 0, Size: h.Size}, nil
	}
}

// tarEntry gives its cursor back when the caller is done with the entry.
type tarEntry struct {
	io.Reader
	done func()
}

func (t *tarEntry) Close() error {
	if t.done != nil {
		t.done()
		t.done = nil
	}
	return nil
}

// intMeta reads a number of meta.takeout (an int in process, a json.Number
// after a pipe); -1 when absent.
func intMeta(v any) int {
	if v == nil {
		return -1
	}
	n, err := strconv.Atoi(fmt.Sprint(v))
	if err != nil {
		return -1
	}
	return n
}
