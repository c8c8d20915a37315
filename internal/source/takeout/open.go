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

	"github.com/ps-photos/ps/internal/fault"
	"github.com/ps-photos/ps/internal/record"
	"github.com/ps-photos/ps/internal/source"
)

// locator is where an item's bytes are: meta.takeout of its record.
type locator struct {
	part  string // archive path relative to the base folder; "" for a plain file
	entry string
	index int // position in a tar archive, -1 when unknown
}

func locate(item *record.Record) (locator, error) {
	loc := locator{index: -1}
	m, _ := item.Meta["takeout"].(map[string]any)
	if m == nil {
		return loc, fault.Errorf(fault.Permanent, "%s: the record has no meta.takeout: list it again with ps-list takeout:…", item.Path)
	}
	loc.part, _ = m["part"].(string)
	loc.entry, _ = m["entry"].(string)
	if v, ok := m["index"]; ok {
		if n, err := strconv.Atoi(fmt.Sprint(v)); err == nil {
			loc.index = n
		}
	}
	// The entry must be the file the record names: a record whose path
	// was changed does not silently fetch another file.
	e := nfc(loc.entry)
	if loc.entry == "" || item.Path == "" || (e != item.Path && !strings.HasSuffix(e, "/"+item.Path)) {
		return loc, fault.Errorf(fault.NotFound, "%s is not in this Takeout (entry %q)", item.Path, loc.entry)
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
	if loc.part == "" {
		return s.openFile(loc.entry, offset)
	}
	abs, err := s.partPath(loc.part)
	if err != nil {
		return nil, err
	}
	kind, ok := archiveKind(abs)
	if !ok {
		return nil, fault.Errorf(fault.Permanent, "%s is not a Takeout archive", loc.part)
	}
	if kind == partZip {
		return s.openZip(abs, loc.entry, offset)
	}
	return s.openTar(ctx, abs, kind == partTgz, loc, offset)
}

// partPath resolves a part id below the base folder.
func (s *Source) partPath(id string) (string, error) {
	p := filepath.FromSlash(id)
	if !filepath.IsLocal(p) {
		return "", fault.Errorf(fault.Permanent, "part %q is not inside %s", id, s.base)
	}
	return filepath.Join(s.base, p), nil
}

func (s *Source) openFile(rel string, offset int64) (*source.Content, error) {
	abs, err := s.partPath(rel)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(abs)
	if err != nil {
		return nil, classifyFS(err)
	}
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		f.Close()
		if err == nil {
			err = fault.Errorf(fault.Permanent, "%s is not a file", rel)
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
	return &source.Content{ReadCloser: f, Offset: offset, Size: st.Size()}, nil
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
	if offset > size {
		return nil, source.ErrBadRange
	}
	if offset > 0 && zf.Method == zip.Store {
		start, err := zf.DataOffset()
		if err != nil {
			return nil, classifyArchive(err)
		}
		r := io.NewSectionReader(z.f, start+offset, size-offset)
		return &source.Content{ReadCloser: io.NopCloser(r), Offset: offset, Size: size}, nil
	}
	rc, err := zf.Open()
	if err != nil {
		return nil, classifyArchive(err)
	}
	return &source.Content{ReadCloser: rc, Offset: 0, Size: size}, nil
}

// tarCursors are open readers of one tar part, positioned after an entry.
// A fetch in listing order reuses the cursor the previous entry left, so
// the archive is decompressed about once instead of once per item.
type tarCursors struct {
	idle []*tarCursor
}

type tarCursor struct {
	tr     *tar.Reader
	closer io.Closer
	pos    int // index of the last header read; -1 before the first
}

// maxIdleCursors bounds the open readers kept per part.
const maxIdleCursors = 4

func (t *tarCursors) closeAll() {
	for _, c := range t.idle {
		c.closer.Close()
	}
	t.idle = nil
}

// take returns the idle cursor closest before index, or nil.
func (s *Source) takeCursor(abs string, index int) *tarCursor {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tars[abs]
	if t == nil || index < 0 {
		return nil
	}
	best := -1
	for i, c := range t.idle {
		if c.pos < index && (best < 0 || c.pos > t.idle[best].pos) {
			best = i
		}
	}
	if best < 0 {
		return nil
	}
	c := t.idle[best]
	t.idle = append(t.idle[:best], t.idle[best+1:]...)
	return c
}

func (s *Source) putCursor(abs string, c *tarCursor) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tars[abs]
	if t == nil {
		t = &tarCursors{}
		s.tars[abs] = t
	}
	if s.closed || len(t.idle) >= maxIdleCursors {
		c.closer.Close()
		return
	}
	t.idle = append(t.idle, c)
}

func (s *Source) openTar(ctx context.Context, abs string, gz bool, loc locator, offset int64) (*source.Content, error) {
	c := s.takeCursor(abs, loc.index)
	if c == nil {
		tr, closer, err := openTar(abs, gz)
		if err != nil {
			return nil, err
		}
		c = &tarCursor{tr: tr, closer: closer, pos: -1}
	}
	for {
		if err := ctx.Err(); err != nil {
			c.closer.Close()
			return nil, fault.Wrap(fault.Canceled, err)
		}
		h, err := c.tr.Next()
		c.pos++
		if errors.Is(err, io.EOF) || (err == nil && loc.index >= 0 && c.pos > loc.index) {
			c.closer.Close()
			if loc.index >= 0 {
				// The archive is not laid out as listed: look by name.
				loc.index = -1
				return s.openTar(ctx, abs, gz, loc, offset)
			}
			return nil, fault.Errorf(fault.NotFound, "%s is not in %s", loc.entry, filepath.Base(abs))
		}
		if err != nil {
			c.closer.Close()
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
