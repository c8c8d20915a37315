package fetch

import (
	"bufio"
	"context"
	"io"
	"os"

	"github.com/ps-photos/ps/internal/progress"
	"github.com/ps-photos/ps/internal/record"
)

// countAhead counts the items of a regular-file stdin (ps-fetch < list.jsonl)
// and their sizes, so the progress total and ETA cover the whole input
// from the start rather than what has been read. It reads the file with
// pread (the engine's read position is untouched), one line at a time, so
// memory stays flat however long the list. A pipe cannot be read twice:
// there the engine's own read-ahead (its planned downloads) is the total.
func countAhead(ctx context.Context, in io.Reader, prog *progress.Progress) {
	f, ok := in.(*os.File)
	if !ok {
		return
	}
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		return
	}
	at, err := f.Seek(0, io.SeekCurrent)
	if err != nil {
		return
	}
	sc := bufio.NewScanner(io.NewSectionReader(f, at, st.Size()-at))
	sc.Buffer(make([]byte, 64<<10), record.MaxLine)
	var files, bytes int64
	for n := 1; sc.Scan(); n++ {
		rec, err := record.Parse(sc.Bytes())
		if err == nil && countable(rec) {
			files++
			bytes += max(rec.Size, 0)
		}
		if n%1024 == 0 {
			if ctx.Err() != nil {
				return
			}
			prog.Expect(files, bytes)
		}
	}
	prog.Expect(files, bytes)
}

// countable mirrors the engine: file records count, folder failures do not.
func countable(rec *record.Record) bool {
	if !rec.IsFileRecord() {
		return false
	}
	folder, _ := rec.Meta["folder"].(bool)
	return rec.Type != record.TypeFailure || !folder
}
