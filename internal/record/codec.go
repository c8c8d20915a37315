package record

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"
)

// MaxLine is the longest line a Reader accepts. Records carrying large
// meta objects (albums, face lists) can reach several MiB.
const MaxLine = 64 << 20

// LineError is a malformed input line. Tools report it, skip the line and
// carry on (exit 2 at the end), or stop at once with --strict.
type LineError struct {
	Line int
	Err  error
}

func (e *LineError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }
func (e *LineError) Unwrap() error { return e.Err }

// LongLine is the error for line n when it passes MaxLine: the line is
// skipped, like any malformed line.
func LongLine(n int) *LineError {
	return &LineError{Line: n, Err: fmt.Errorf("line longer than %d MiB", MaxLine>>20)}
}

// Reader reads raw lines with their numbers. Blank lines are skipped
// but counted, so numbers match what an editor shows.
type Reader struct {
	r    *bufio.Reader
	line int
	long []byte
}

// NewReader reads JSON lines from r.
func NewReader(r io.Reader) *Reader {
	return &Reader{r: bufio.NewReaderSize(r, 256<<10)}
}

// Buffered reports how many bytes can be read without blocking; tools flush
// their output before a read that may block, so pipelines stay interactive.
func (d *Reader) Buffered() int { return d.r.Buffered() }

// Line returns the number of the line last returned by Next.
func (d *Reader) Line() int { return d.line }

// Next returns the next non-blank line, without its "\n". The slice is
// valid until the next call. At the end it returns io.EOF. A line longer
// than MaxLine is a *LineError and is skipped.
func (d *Reader) Next() ([]byte, error) {
	for {
		line, err := d.readLine()
		if err != nil {
			return nil, err
		}
		d.line++
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		if len(line) > MaxLine {
			return nil, LongLine(d.line)
		}
		return line, nil
	}
}

func (d *Reader) readLine() ([]byte, error) {
	line, err := d.r.ReadSlice('\n')
	if err == nil {
		return line[:len(line)-1], nil
	}
	if errors.Is(err, bufio.ErrBufferFull) {
		d.long = append(d.long[:0], line...)
		for {
			line, err = d.r.ReadSlice('\n')
			if len(d.long) <= MaxLine {
				d.long = append(d.long, line...)
			}
			if err == nil {
				return d.long[:len(d.long)-1], nil
			}
			if !errors.Is(err, bufio.ErrBufferFull) {
				break
			}
		}
		line = d.long
	}
	if errors.Is(err, io.EOF) && len(line) > 0 {
		return line, nil // last line without "\n"
	}
	return nil, err
}

// Decoder reads whole records.
type Decoder struct {
	*Reader
}

// NewDecoder reads records from r.
func NewDecoder(r io.Reader) *Decoder { return &Decoder{NewReader(r)} }

// Decode returns the next record. A malformed line is a *LineError naming
// its number; the caller may report it and call Decode again.
func (d *Decoder) Decode() (*Record, error) {
	line, err := d.Next()
	if err != nil {
		return nil, err
	}
	rec, err := Parse(line)
	if err != nil {
		return nil, &LineError{Line: d.line, Err: err}
	}
	return rec, nil
}

// Parse decodes one line and checks the parts of the contract every tool
// relies on.
//
// The checks are ScanFields' (ps-filter's), so both tools find the same
// lines malformed with the same words: the record's own scanner validates
// the JSON (UTF-8 included) and checkField the type of each known field.
func Parse(line []byte) (*Record, error) {
	var rec Record
	if err := rec.UnmarshalJSON(line); err != nil {
		return nil, err
	}
	if err := checkType(rec.Type); err != nil {
		return nil, err
	}
	return &rec, nil
}

// Encoder writes records, one compact object per line. It is safe for
// concurrent use. Output is buffered and flushed at least every
// FlushEvery, so a slow listing still shows up downstream promptly
// while a fast one does not pay a write per record.
type Encoder struct {
	mu     sync.Mutex
	direct io.Writer // NewLineEncoder: each line in one Write, unbuffered
	w      *bufio.Writer
	dirty  bool
	err    error
	stop   chan struct{}
	done   chan struct{}
}

// FlushEvery bounds how long a written record may sit in the buffer.
const FlushEvery = 100 * time.Millisecond

// NewEncoder writes records to w. Call Close to flush and stop.
func NewEncoder(w io.Writer) *Encoder {
	e := &Encoder{w: bufio.NewWriterSize(w, 64<<10), stop: make(chan struct{}), done: make(chan struct{})}
	go e.flusher()
	return e
}

// NewLineEncoder writes each record to w with a single Write of the whole
// line, "\n" included, and buffers nothing: for files that must hold
// whole lines only, even when the process is killed (a killed process
// leaves the writes it made, and a torn line needs a write cut short).
func NewLineEncoder(w io.Writer) *Encoder {
	e := &Encoder{direct: w, stop: make(chan struct{}), done: make(chan struct{})}
	close(e.done)
	return e
}

func (e *Encoder) flusher() {
	defer close(e.done)
	t := time.NewTicker(FlushEvery)
	defer t.Stop()
	for {
		select {
		case <-e.stop:
			return
		case <-t.C:
			e.mu.Lock()
			if e.dirty && e.err == nil {
				e.err = e.w.Flush()
				e.dirty = false
			}
			e.mu.Unlock()
		}
	}
}

// Encode writes one record.
func (e *Encoder) Encode(r *Record) error {
	b, err := r.MarshalJSON()
	if err != nil {
		return err
	}
	return e.WriteLine(b)
}

// WriteLine writes one already-encoded record (without "\n").
func (e *Encoder) WriteLine(b []byte) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.err != nil {
		return e.err
	}
	if e.direct != nil {
		line := append(b[:len(b):len(b)], '\n') // a copy: b is the caller's
		_, e.err = e.direct.Write(line)
		return e.err
	}
	if _, err := e.w.Write(b); err != nil {
		e.err = err
		return err
	}
	if err := e.w.WriteByte('\n'); err != nil {
		e.err = err
		return err
	}
	e.dirty = true
	return nil
}

// Flush writes out what is buffered.
func (e *Encoder) Flush() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.err == nil && e.direct == nil {
		e.err = e.w.Flush()
		e.dirty = false
	}
	return e.err
}

// Close flushes and stops the background flusher.
func (e *Encoder) Close() error {
	select {
	case <-e.stop:
	default:
		close(e.stop)
		<-e.done
	}
	return e.Flush()
}
