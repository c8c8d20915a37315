// Package manifest is ps-fetch's record of what it wrote into an output
// folder: one JSON line per file (source, id, size, mtime, local name,
// sha256), zstd-compressed, in OutputDir/.ps-manifest.jsonl.zst.
//
// Crash safety: each appended batch is one complete zstd frame written with
// a single write and synced. A crash can only tear the last frame; Open
// finds the end of the last whole frame and cuts the tail there before
// appending, so earlier entries are never lost and the file stays readable
// with zstdcat.
//
// Memory: Open does not keep entries. It builds an Index of 24 bytes per
// file (hashes of the key and the local name, a fingerprint of size and
// mtime, the collision number), so a million files cost about 28 MB.
package manifest

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/ps-photos/ps/internal/fault"
	"github.com/ps-photos/ps/internal/record"
	"github.com/ps-photos/ps/internal/safefile"
)

// FileName is the manifest's name inside the output folder.
const FileName = ".ps-manifest.jsonl.zst"

// Entry is one line of the manifest.
type Entry struct {
	Source string `json:"source,omitempty"`
	// ID is the item's id, or its url, or its path when it has none (see
	// Ident): what makes it the same item on the next run.
	ID    string `json:"id"`
	Path  string `json:"path,omitempty"`
	Size  int64  `json:"size"`
	Mtime string `json:"mtime,omitempty"`
	// Local is the file's name relative to the output folder,
	// slash-separated.
	Local string `json:"local"`
	// N is the collision number ps-fetch appended to the name (_1, _2…).
	N      int    `json:"n,omitempty"`
	SHA256 string `json:"sha256,omitempty"`
	// Pending marks a suffixed name given to an item whose download has not
	// finished yet, so a retry in another order keeps it.
	Pending bool `json:"pending,omitempty"`
	// Deleted marks a file --mirror removed: it cancels earlier lines for
	// the same source and id.
	Deleted bool   `json:"deleted,omitempty"`
	At      string `json:"at,omitempty"`
}

// Ident returns the identity of an item across runs: its source and id,
// falling back to its url, then its path, for records made by hand.
func Ident(r *record.Record) (source, id string) {
	id = r.ID
	if id == "" {
		id = r.URL
	}
	if id == "" {
		id = r.Path
	}
	return r.Source, id
}

// MtimeString is how entries store times.
func MtimeString(t time.Time) string { return record.FormatTime(t) }

// Writer appends entries. It is safe for concurrent use; entries are
// buffered and written as one frame at least every FlushEvery.
type Writer struct {
	mu      sync.Mutex
	f       *os.File
	enc     *zstd.Encoder
	pending []byte
	count   int
	frame   []byte
	err     error
	stop    chan struct{}
	done    chan struct{}
}

// FlushEvery bounds how long an entry waits before it is on disk.
const FlushEvery = 250 * time.Millisecond

// maxBatch bounds a frame, so reading one needs little memory.
const maxBatch = 1024

// ErrInUse is wrapped by the error Lock returns when another ps-fetch
// holds the folder.
var ErrInUse = errors.New("in use by another ps-fetch")

// Lock is the output folder's lock: the manifest file, opened (never
// through a symlink) and locked. A run takes it before it touches any
// state in the folder; closing the manifest's Writer releases it.
type Lock struct {
	f    *os.File
	path string
}

// TakeLock creates dir if needed and locks its manifest. A folder another
// ps-fetch holds is an error wrapping ErrInUse (class local).
func TakeLock(dir string) (*Lock, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fault.Wrap(fault.Local, err)
	}
	p := filepath.Join(dir, FileName)
	f, err := safefile.Open(p, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fault.Wrap(fault.Local, fmt.Errorf("open the manifest: %w", err))
	}
	if err := lock(f); err != nil {
		f.Close()
		return nil, fault.Wrap(fault.Local, fmt.Errorf("the output folder %s is %w (its manifest is locked: %v)", dir, ErrInUse, err))
	}
	return &Lock{f: f, path: p}, nil
}

// Release unlocks without writing (a run that stopped before Open).
func (l *Lock) Release() error { return l.f.Close() }

// Open locks the manifest in dir, reads it into an Index and, unless
// readOnly, returns a Writer that appends to it. withSHA keeps every
// entry's sha256 in the index (for --verify-existing; about 100 bytes per
// entry more).
func Open(dir string, readOnly, withSHA bool) (*Index, *Writer, error) {
	if readOnly {
		ix, _, err := load(filepath.Join(dir, FileName), withSHA)
		return ix, nil, err
	}
	lk, err := TakeLock(dir)
	if err != nil {
		return nil, nil, err
	}
	return OpenLocked(lk, withSHA)
}

// OpenLocked reads the manifest lk holds into an Index and returns a
// Writer that appends to it; the Writer owns the lock from then on (also
// when OpenLocked fails, the lock is released).
func OpenLocked(lk *Lock, withSHA bool) (*Index, *Writer, error) {
	f, p := lk.f, lk.path
	ix, good, err := load(p, withSHA)
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	// Cut a torn last frame, so new frames follow whole ones.
	if st, err := f.Stat(); err == nil && st.Size() > good {
		if err := f.Truncate(good); err != nil {
			f.Close()
			return nil, nil, fault.Wrap(fault.Local, err)
		}
	}
	if _, err := f.Seek(good, io.SeekStart); err != nil {
		f.Close()
		return nil, nil, fault.Wrap(fault.Local, err)
	}
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1))
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	w := &Writer{f: f, enc: enc, stop: make(chan struct{}), done: make(chan struct{})}
	go w.flusher()
	return ix, w, nil
}

func (w *Writer) flusher() {
	defer close(w.done)
	t := time.NewTicker(FlushEvery)
	defer t.Stop()
	for {
		select {
		case <-w.stop:
			return
		case <-t.C:
			w.Flush()
		}
	}
}

// Add queues one entry.
func (w *Writer) Add(e *Entry) error {
	line, err := json.Marshal(e)
	if err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return w.err
	}
	w.pending = append(append(w.pending, line...), '\n')
	w.count++
	if w.count >= maxBatch {
		return w.flushLocked()
	}
	return nil
}

// Flush writes the queued entries as one frame and syncs it.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.flushLocked()
}

func (w *Writer) flushLocked() error {
	if w.err != nil || w.count == 0 {
		return w.err
	}
	w.frame = w.enc.EncodeAll(w.pending, w.frame[:0])
	if _, err := w.f.Write(w.frame); err != nil {
		w.err = fault.Wrap(fault.Local, fmt.Errorf("write the manifest: %w", err))
		return w.err
	}
	if err := w.f.Sync(); err != nil {
		w.err = fault.Wrap(fault.Local, fmt.Errorf("sync the manifest: %w", err))
		return w.err
	}
	w.pending = w.pending[:0]
	w.count = 0
	if cap(w.pending) > 4<<20 {
		w.pending = nil
	}
	return nil
}

// Close flushes, unlocks and closes the manifest.
func (w *Writer) Close() error {
	select {
	case <-w.stop:
	default:
		close(w.stop)
		<-w.done
	}
	err := w.Flush()
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	return err
}

// Scan calls fn for every entry of the manifest in dir, in the order they
// were written. A missing manifest has no entries.
func Scan(dir string, fn func(e *Entry) error) error {
	var e Entry
	_, err := scanLines(filepath.Join(dir, FileName), func(line []byte) error {
		e = Entry{}
		if json.Unmarshal(line, &e) != nil {
			return nil // a line a newer ps-fetch wrote differently
		}
		return fn(&e)
	})
	return err
}

// scanFile decodes the manifest frame by frame and returns the offset just
// past the last whole frame. A frame cut short at the end is a torn write
// and ends the scan quietly; a whole frame that does not decode is skipped.
func scanFile(p string, fn func(line []byte) error) (int64, error) {
	f, err := safefile.Open(p, os.O_RDONLY, 0)
	if errors.Is(err, safefile.ErrNotRegular) {
		return 0, fault.Wrap(fault.Local, err)
	}
	if err != nil {
		return 0, err
	}
	defer f.Close()
	dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true))
	if err != nil {
		return 0, err
	}
	defer dec.Close()
	br := bufio.NewReaderSize(f, 256<<10)
	var (
		good  int64
		frame []byte
		plain []byte
	)
	for {
		frame, err = readFrame(br, frame[:0])
		if err == io.EOF {
			return good, nil
		}
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return good, nil // torn tail
		}
		if err != nil {
			return good, fault.Errorf(fault.Local, "%s: %v after byte %d", p, err, good)
		}
		good += int64(len(frame))
		plain, err = dec.DecodeAll(frame, plain[:0])
		if err != nil {
			continue // a damaged frame loses its batch, not the rest
		}
		for len(plain) > 0 {
			line := plain
			if i := indexByte(plain, '\n'); i >= 0 {
				line, plain = plain[:i], plain[i+1:]
			} else {
				plain = nil
			}
			if len(line) == 0 {
				continue
			}
			if err := fn(line); err != nil {
				return good, err
			}
		}
	}
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}

// readFrame reads one whole zstd frame (or skippable frame) into buf by
// walking its header and block headers (RFC 8878, section 3.1).
func readFrame(r *bufio.Reader, buf []byte) ([]byte, error) {
	read := func(n int) error {
		start := len(buf)
		buf = append(buf, make([]byte, n)...)
		_, err := io.ReadFull(r, buf[start:])
		if err == io.EOF && start > 0 {
			err = io.ErrUnexpectedEOF
		}
		return err
	}
	if err := read(4); err != nil {
		return buf, err
	}
	magic := binary.LittleEndian.Uint32(buf)
	if magic&0xFFFFFFF0 == 0x184D2A50 { // skippable frame
		if err := read(4); err != nil {
			return buf, err
		}
		return buf, read(int(binary.LittleEndian.Uint32(buf[4:8])))
	}
	if magic != 0xFD2FB528 {
		return buf, errors.New("not a zstd frame")
	}
	if err := read(1); err != nil {
		return buf, err
	}
	fhd := buf[4]
	single := fhd&0x20 != 0
	n := 0
	if !single {
		n++ // window descriptor
	}
	n += []int{0, 1, 2, 4}[fhd&3]
	switch fhd >> 6 {
	case 0:
		if single {
			n++
		}
	case 1:
		n += 2
	case 2:
		n += 4
	case 3:
		n += 8
	}
	if err := read(n); err != nil {
		return buf, err
	}
	for {
		start := len(buf)
		if err := read(3); err != nil {
			return buf, err
		}
		h := uint32(buf[start]) | uint32(buf[start+1])<<8 | uint32(buf[start+2])<<16
		last := h&1 != 0
		size := int(h >> 3)
		if (h>>1)&3 == 1 { // RLE: one byte stands for size bytes
			size = 1
		}
		if err := read(size); err != nil {
			return buf, err
		}
		if last {
			break
		}
	}
	if fhd&0x04 != 0 {
		if err := read(4); err != nil { // content checksum
			return buf, err
		}
	}
	return buf, nil
}
