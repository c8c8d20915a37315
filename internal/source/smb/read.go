package smb

import (
	"context"
	"errors"
	"io"
	"sync"

	smb2 "github.com/cloudsoda/go-smb2"

	"github.com/ps-photos/ps/internal/fault"
	"github.com/ps-photos/ps/internal/record"
	"github.com/ps-photos/ps/internal/source"
)

const (
	// defaultChunk is one read request: go-smb2 caps reads at 1 MiB (what
	// Windows accepts), and fewer, larger requests beat many small ones.
	defaultChunk = 1 << 20
	// defaultReadAhead keeps this many reads of one file in flight, so the
	// server works on the next chunk while we write the last one. Measured
	// in BenchmarkRead (see the package's test).
	defaultReadAhead = 4
)

// Open returns an item's bytes from offset. ps-fetch resumes a partial
// download by asking for the rest.
func (s *Source) Open(ctx context.Context, item *record.Record, offset int64) (*source.Content, error) {
	p, err := s.itemPath(item)
	if err != nil {
		return nil, err
	}
	if offset < 0 {
		return nil, source.ErrBadRange
	}
	r := &reader{
		ctx: ctx, src: s, name: p, off: offset, chunk: max(s.ChunkSize, 4096), depth: max(s.ReadAhead, 1),
	}
	_, err = s.policy.Do(ctx, func(int) error {
		if err := ctx.Err(); err != nil {
			return fault.Wrap(fault.Canceled, err)
		}
		c, err := s.pool.get(ctx)
		if err != nil {
			return err
		}
		r.conn = c
		if err = r.open(c.share.WithContext(ctx)); err != nil {
			s.pool.put(c, err)
			if ctx.Err() != nil {
				return fault.Wrap(fault.Canceled, ctx.Err())
			}
			if errors.Is(err, source.ErrBadRange) {
				return fault.Wrap(fault.Permanent, err)
			}
			return errorf(s.cfg, err, "open %s", p)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &source.Content{ReadCloser: r, Offset: offset, Size: r.size, Version: r.version}, nil
}

// open opens the file and reads its first chunk. Most photos and songs fit
// in one chunk, and a short first read ends at the end of the file, so
// they need no separate size query: three requests a file (open, read,
// close) rather than four.
func (r *reader) open(share *smb2.Share) error {
	f, err := share.Open(sharePath(r.name))
	if err != nil {
		return err
	}
	buf := r.getBuf()[:r.chunk]
	n, rerr := f.ReadAt(buf, r.off)
	read := rerr == nil || errors.Is(rerr, io.EOF)
	switch {
	case read && (n == len(buf) || n == 0 || r.off > 0):
		// More may follow, nothing is at offset (the end, or past it), or
		// this resumes a download (which needs the version): ask for the
		// size and the modification time.
		st, err := f.Stat()
		if err != nil {
			r.putBuf(buf)
			f.Close()
			return err
		}
		r.size = st.Size()
		r.version = source.FileVersion(st.ModTime(), st.Size())
	case read:
		// A whole small file in one read: no version, so a download of
		// it that is cut short starts over rather than resume.
		r.size = r.off + int64(n)
	default:
		r.putBuf(buf)
		if st, err := f.Stat(); err == nil && st.IsDir() {
			rerr = fault.Errorf(fault.Permanent, "%s is a folder", r.name)
		}
		f.Close()
		return rerr
	}
	if r.off > r.size {
		r.putBuf(buf)
		f.Close()
		return source.ErrBadRange
	}
	r.f, r.buf, r.cur = f, buf, buf[:n]
	r.next = r.off + int64(n)
	return nil
}

// reader streams a file in chunk-sized reads, keeping up to depth of them
// in flight. Errors are classified; a transport error marks the connection
// broken, and ps-fetch resumes from the offset it reached.
type reader struct {
	ctx  context.Context // a cancelled one ends the reads
	src  *Source
	conn *conn
	f    *smb2.File
	name string
	off  int64 // next byte Read delivers
	next int64 // next byte to request
	size int64
	// version is the file's modification time and size, when the open
	// asked for them (see open).
	version string
	chunk   int
	depth   int

	pending []chan chunkResult
	cur     []byte // the unread part of the current chunk
	buf     []byte // the current chunk's buffer, returned to bufPool
	err     error
	closed  bool
}

type chunkResult struct {
	buf []byte // full buffer
	n   int
	err error
}

var bufPool = sync.Pool{New: func() any { return make([]byte, defaultChunk) }}

func (r *reader) getBuf() []byte {
	if r.chunk == defaultChunk {
		return bufPool.Get().([]byte)
	}
	return make([]byte, r.chunk)
}

func (r *reader) putBuf(b []byte) {
	if cap(b) == defaultChunk {
		bufPool.Put(b[:defaultChunk])
	}
}

func (r *reader) Read(p []byte) (int, error) {
	if len(r.cur) == 0 {
		if err := r.fill(); err != nil {
			return 0, err
		}
	}
	n := copy(p, r.cur)
	r.cur = r.cur[n:]
	r.off += int64(n)
	return n, nil
}

// WriteTo hands whole chunks to w, saving a copy when the caller uses
// io.Copy.
func (r *reader) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for {
		if len(r.cur) == 0 {
			if err := r.fill(); err == io.EOF {
				return total, nil
			} else if err != nil {
				return total, err
			}
		}
		n, err := w.Write(r.cur)
		total += int64(n)
		r.cur = r.cur[n:]
		r.off += int64(n)
		if err != nil {
			return total, err
		}
	}
}

// fill makes the next chunk current, starting reads ahead of it.
func (r *reader) fill() error {
	if r.err != nil {
		return r.err
	}
	if err := r.ctx.Err(); err != nil {
		return fault.Wrap(fault.Canceled, err) // not kept: Close still returns the connection
	}
	if r.buf != nil {
		r.putBuf(r.buf)
		r.buf = nil
	}
	for len(r.pending) < r.depth && r.next < r.size {
		n := int(min(int64(r.chunk), r.size-r.next))
		ch := make(chan chunkResult, 1)
		buf := r.getBuf()[:n]
		go func(off int64) {
			m, err := r.f.ReadAt(buf, off)
			ch <- chunkResult{buf: buf, n: m, err: err}
		}(r.next)
		r.pending = append(r.pending, ch)
		r.next += int64(n)
	}
	if len(r.pending) == 0 {
		r.err = io.EOF
		return r.err
	}
	res := <-r.pending[0]
	r.pending = r.pending[1:]
	r.buf = res.buf
	switch {
	case res.err == nil || (errors.Is(res.err, io.EOF) && res.n > 0):
	case errors.Is(res.err, io.EOF):
		// The file shrank since it was opened: deliver what there was;
		// the caller sees the size differ from the item's.
		r.err = io.EOF
		return r.err
	default:
		r.err = errorf(r.src.cfg, res.err, "read %s at %d", r.name, r.off)
		r.markBroken(res.err)
		return r.err
	}
	r.cur = res.buf[:res.n]
	if res.n < len(res.buf) {
		r.next = r.off + int64(res.n) // short read: ask again from there
		r.dropPending()
	}
	return nil
}

func (r *reader) markBroken(err error) {
	if brokenConn(err) {
		r.src.pool.markBroken(r.conn)
	}
}

// dropPending waits for reads in flight and discards them.
func (r *reader) dropPending() {
	for _, ch := range r.pending {
		res := <-ch
		r.putBuf(res.buf)
	}
	r.pending = nil
}

// Close waits for reads in flight, closes the file and releases the
// connection.
func (r *reader) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	r.dropPending()
	if r.buf != nil {
		r.putBuf(r.buf)
		r.buf = nil
	}
	// A broken connection has no handle left to close.
	r.src.pool.mu.Lock()
	broken := r.conn.broken
	r.src.pool.mu.Unlock()
	if !broken {
		// A read-only handle: a failed close loses nothing, and the
		// server frees it with the connection at the latest.
		r.f.Close()
	}
	perr := r.err
	if errors.Is(perr, io.EOF) {
		perr = nil
	}
	r.src.pool.put(r.conn, perr)
	return nil
}
