package filter

import (
	"bufio"
	"bytes"
	"container/heap"
	"errors"
	"io"
	"runtime"
	"slices"
	"time"

	"github.com/ps-photos/ps/internal/record"
)

// Options control a filter run.
type Options struct {
	Strict  bool // stop at the first malformed line
	Newest  int  // keep only the N newest matching items (0: all)
	Workers int  // 0: one per CPU
	// Report is told about each malformed line, in input order.
	Report func(*record.LineError)
}

// Stats count what a run saw.
type Stats struct {
	Lines, Kept, Dropped, Passed, Bad int64
}

// ErrStopped is returned when --strict stopped the run at a bad line.
var ErrStopped = errors.New("stopped at the first malformed line (--strict)")

type block struct {
	seq       int
	firstLine int    // number of the first line in data
	data      []byte // whole lines
	out       []byte // kept lines, in order
	bad       []*record.LineError
	stopped   bool // strict: the block ended at a bad line
	lines     int64
	kept      int64
	passed    int64
	candidate []candidate // --newest: items and pass-through lines with their order
	dropped   int64       // items dropped in this block
	ends      []endMark   // end records in out
}

// endMark is an end record in a block's output, with the number of items
// the block dropped before it: the end record is rewritten to say how
// many items the filter excluded (see markExcluded).
type endMark struct {
	start, end int // its bytes in out
	dropped    int64
}

type candidate struct {
	date time.Time
	line int
	item bool
	end  bool // an end record
	data []byte
}

// Run filters in into out. Work is spread over several goroutines in
// blocks of whole lines and written back in input order.
func Run(in io.Reader, out io.Writer, c *Criteria, opts Options) (Stats, error) {
	c.Prepare()
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	todo := make(chan *block, workers*2)
	done := make(chan *block, workers*2)
	stop := make(chan struct{})
	readErr := make(chan error, 1)
	go func() { readErr <- readBlocks(in, todo, stop) }()
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		sem := make(chan struct{}, workers)
		for b := range todo {
			sem <- struct{}{}
			go func(b *block) {
				process(b, c, opts)
				done <- b
				<-sem
			}(b)
		}
		for range workers {
			sem <- struct{}{}
		}
		close(done)
	}()
	stats, werr := writeOrdered(done, out, opts, stop)
	close(stop)
	for range done { // drain so the dispatcher can finish
	}
	<-finished
	if err := <-readErr; err != nil && werr == nil {
		werr = err
	}
	return stats, werr
}

// readBlocks cuts the input into blocks of whole lines. A single Read per
// block keeps latency low on slow pipes; blocks grow for long lines. A
// line longer than record.MaxLine becomes a block holding only its error,
// and is skipped up to its end, as ps-fetch's reader does.
func readBlocks(in io.Reader, todo chan<- *block, stop <-chan struct{}) error {
	defer close(todo)
	const size = 1 << 20
	var carry []byte
	seq, line := 0, 1
	skipping := false // inside a line too long to keep
	send := func(b *block) bool {
		b.seq = seq
		seq++
		select {
		case todo <- b:
			return true
		case <-stop:
			return false
		}
	}
	for {
		buf := make([]byte, len(carry), max(size, 2*len(carry)))
		copy(buf, carry)
		n, err := in.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if skipping {
			i := bytes.IndexByte(buf, '\n')
			if i < 0 {
				buf = buf[:0] // still inside the long line
			} else {
				buf, skipping = buf[i+1:], false
				line++
			}
		}
		if err == io.EOF && len(buf) > 0 && buf[len(buf)-1] != '\n' && !skipping {
			buf = append(buf, '\n')
		}
		cut := bytes.LastIndexByte(buf, '\n') + 1
		if cut > 0 {
			b := &block{firstLine: line, data: buf[:cut]}
			line += bytes.Count(b.data, []byte{'\n'})
			if !send(b) {
				return nil
			}
		}
		carry = buf[cut:]
		if len(carry) > record.MaxLine {
			if !send(&block{firstLine: line, lines: 1, bad: []*record.LineError{record.LongLine(line)}}) {
				return nil
			}
			carry, skipping = nil, true
			if err == io.EOF {
				return nil
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func process(b *block, c *Criteria, opts Options) {
	if len(b.bad) > 0 && opts.Strict { // a line too long (readBlocks)
		b.stopped = true
		return
	}
	var f record.Fields
	data := b.data
	lineNo := b.firstLine
	keepAll := opts.Newest > 0
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		line, full := data[:i], data[:i+1]
		data = data[i+1:]
		n := lineNo
		lineNo++
		if len(line) > 0 && line[len(line)-1] == '\r' {
			line = line[:len(line)-1]
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		b.lines++
		if len(line) > record.MaxLine {
			b.bad = append(b.bad, record.LongLine(n))
			if opts.Strict {
				b.stopped = true
				return
			}
			continue
		}
		err := record.ScanFields(line, &f)
		verdict, date := Drop, time.Time{}
		if err == nil {
			verdict, date, err = c.Decide(&f)
		}
		if err != nil {
			b.bad = append(b.bad, &record.LineError{Line: n, Err: err})
			if opts.Strict {
				b.stopped = true
				return
			}
			continue
		}
		isEnd := verdict == NotItem && isEndType(f.Type)
		switch {
		case verdict == Drop:
			b.dropped++
		case keepAll:
			b.candidate = append(b.candidate, candidate{date: date, line: n, item: verdict == Keep, end: isEnd, data: slices.Clone(full)})
		case isEnd:
			b.ends = append(b.ends, endMark{start: len(b.out), end: len(b.out) + len(full), dropped: b.dropped})
			b.out = append(b.out, full...)
		default:
			b.out = append(b.out, full...)
		}
		switch verdict {
		case Keep:
			b.kept++
		case NotItem:
			b.passed++
		}
	}
}

// writeOrdered writes blocks back in sequence. It flushes whenever no
// finished block is waiting, so output keeps pace with a slow input.
func writeOrdered(done <-chan *block, out io.Writer, opts Options, stop chan struct{}) (Stats, error) {
	w := bufio.NewWriterSize(out, 1<<20)
	var st Stats
	pending := map[int]*block{}
	next := 0
	var newest newestSet
	var werr error
	var dropped int64 // items dropped before the current block
	for b := range done {
		pending[b.seq] = b
		for pb := pending[next]; pb != nil; pb = pending[next] {
			delete(pending, next)
			next++
			st.Lines += pb.lines
			st.Kept += pb.kept
			st.Passed += pb.passed
			for _, e := range pb.bad {
				st.Bad++
				if opts.Report != nil {
					opts.Report(e)
				}
			}
			if werr == nil {
				if opts.Newest > 0 {
					newest.add(pb.candidate, opts.Newest)
				} else if err := writeBlock(w, pb, dropped); err != nil {
					werr = err
				}
			}
			dropped += pb.dropped
			if pb.stopped && werr == nil {
				werr = ErrStopped
			}
			if werr != nil {
				return st, stopWith(w, werr)
			}
		}
		if len(done) == 0 {
			if err := w.Flush(); err != nil {
				return st, stopWith(w, err)
			}
		}
	}
	if opts.Newest > 0 {
		kept := newest.inOrder()
		st.Kept = 0
		for _, cd := range kept {
			if cd.item {
				st.Kept++
			}
		}
		// --newest decides at the end: every end record says how many
		// items were left out in all.
		excluded := st.Lines - st.Kept - st.Passed - st.Bad
		for _, cd := range kept {
			data := cd.data
			if cd.end {
				data = markExcluded(data, excluded)
			}
			if _, err := w.Write(data); err != nil {
				return st, err
			}
		}
	}
	st.Dropped = st.Lines - st.Kept - st.Passed - st.Bad
	return st, w.Flush()
}

// writeBlock writes a block's kept lines, its end records marked with the
// items dropped before them (dropped: in earlier blocks).
func writeBlock(w io.Writer, b *block, dropped int64) error {
	prev := 0
	for _, m := range b.ends {
		if _, err := w.Write(b.out[prev:m.start]); err != nil {
			return err
		}
		if _, err := w.Write(markExcluded(b.out[m.start:m.end], dropped+m.dropped)); err != nil {
			return err
		}
		prev = m.end
	}
	_, err := w.Write(b.out[prev:])
	return err
}

func isEndType(raw []byte) bool {
	typ, _ := record.RawString(raw)
	return typ == record.TypeEnd
}

// markExcluded adds n to an end record's "excluded" count, so that a
// ps-fetch --mirror downstream knows the listing is no longer whole and
// does not delete what the filter left out. An end record after which
// nothing was dropped passes byte for byte, like every other line.
func markExcluded(line []byte, n int64) []byte {
	if n == 0 {
		return line
	}
	rec, err := record.Parse(bytes.TrimRight(line, "\r\n"))
	if err != nil {
		return line // validated already; cannot happen
	}
	total := n
	if rec.Excluded != nil {
		total += *rec.Excluded
	}
	rec.Excluded = &total
	out, err := rec.MarshalJSON()
	if err != nil {
		return line
	}
	return append(out, '\n')
}

func stopWith(w *bufio.Writer, err error) error {
	if ferr := w.Flush(); ferr != nil && err == ErrStopped {
		return ferr
	}
	return err
}

// newestSet keeps the N newest items (a min-heap on date, ties broken by
// input order: the later line wins) and every pass-through line.
type newestSet struct {
	items  candHeap
	others []candidate
}

func (s *newestSet) add(cs []candidate, n int) {
	for _, cd := range cs {
		if !cd.item {
			s.others = append(s.others, cd)
			continue
		}
		if len(s.items) < n {
			heap.Push(&s.items, cd)
		} else if older(s.items[0], cd) {
			s.items[0] = cd
			heap.Fix(&s.items, 0)
		}
	}
}

func (s *newestSet) inOrder() []candidate {
	all := append(append([]candidate(nil), s.items...), s.others...)
	slices.SortFunc(all, func(a, b candidate) int { return a.line - b.line })
	return all
}

func older(a, b candidate) bool {
	if !a.date.Equal(b.date) {
		return a.date.Before(b.date)
	}
	return a.line < b.line
}

type candHeap []candidate

func (h candHeap) Len() int           { return len(h) }
func (h candHeap) Less(i, j int) bool { return older(h[i], h[j]) }
func (h candHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *candHeap) Push(x any)        { *h = append(*h, x.(candidate)) }
func (h *candHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
