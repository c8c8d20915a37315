package fetch

import (
	"errors"
	"io"
	"runtime"

	"github.com/ps-photos/ps/internal/record"
)

// batchLines bounds a batch of input lines parsed together.
const batchLines = 256

// inputBatch is a run of consecutive input lines, parsed by one parser.
type inputBatch struct {
	raw   [][]byte
	nums  []int
	lines []line // raw[i] parsed, or the error that stands in for it
	done  chan struct{}
}

// readInput decodes in on a few goroutines and delivers the records in
// input order on the returned channel, which is closed at the end of the
// input (or after a read error, delivered as the last line). JSON decoding
// is most of the cost of a mostly-skipped run, so it is spread over the
// cores while planning stays in order. A batch is cut whenever the next
// read could block, so a slow listing's records arrive as they come.
func readInput(in io.Reader, stop <-chan struct{}) <-chan line {
	// Few batches in flight: enough to keep the parsers busy, few enough
	// that parsed records waiting for the planner cost little memory.
	parsers := max(2, min(runtime.GOMAXPROCS(0), 8))
	out := make(chan line, 64)
	order := make(chan *inputBatch, parsers+1) // batches in input order
	work := make(chan *inputBatch, parsers)    // batches to parse, any order
	for range parsers {
		go func() {
			for b := range work {
				b.parse()
			}
		}()
	}
	go func() {
		defer close(work)
		defer close(order)
		r := record.NewReader(in)
		b := &inputBatch{done: make(chan struct{})}
		flush := func() bool {
			if len(b.lines) == 0 {
				return true
			}
			for _, ch := range []chan *inputBatch{order, work} {
				select {
				case ch <- b:
				case <-stop:
					return false
				}
			}
			b = &inputBatch{done: make(chan struct{})}
			return true
		}
		for {
			raw, err := r.Next()
			var le *record.LineError
			switch {
			case errors.Is(err, io.EOF):
				flush()
				return
			case errors.As(err, &le):
				b.add(nil, 0, le)
			case err != nil:
				b.add(nil, 0, err)
				flush()
				return
			default:
				b.add(append([]byte(nil), raw...), r.Line(), nil)
			}
			if len(b.lines) >= batchLines || r.Buffered() == 0 {
				if !flush() {
					return
				}
			}
		}
	}()
	go func() {
		defer close(out)
		for b := range order {
			select {
			case <-b.done:
			case <-stop:
				return
			}
			for _, l := range b.lines {
				select {
				case out <- l:
				case <-stop:
					return
				}
			}
		}
	}()
	return out
}

func (b *inputBatch) add(raw []byte, num int, err error) {
	b.raw = append(b.raw, raw)
	b.nums = append(b.nums, num)
	b.lines = append(b.lines, line{err: err})
}

// parse decodes the batch's lines; a malformed one becomes a LineError.
func (b *inputBatch) parse() {
	for i, raw := range b.raw {
		if b.lines[i].err != nil {
			continue
		}
		rec, err := record.Parse(raw)
		if err != nil {
			b.lines[i].err = &record.LineError{Line: b.nums[i], Err: err}
			continue
		}
		b.lines[i].rec = rec
	}
	b.raw = nil
	close(b.done)
}
