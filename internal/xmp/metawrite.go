package xmp

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	exiftool "github.com/barasher/go-exiftool"

	"github.com/ps-photos/ps/internal/fault"
)

// MetaWriter writes metadata through long-running exiftool processes
// (-stay_open): at most Jobs of them, each started on first use and kept
// for the whole run, never one process per file. It is safe for
// concurrent use; each Write borrows one process.
type MetaWriter struct {
	binary  string
	idle    chan *exiftool.Exiftool
	slots   chan struct{} // one per process that may still be started
	mu      sync.Mutex
	started []*exiftool.Exiftool
}

// NewMetaWriter checks that exiftool can be found.
func NewMetaWriter(opts ReaderOptions) (*MetaWriter, error) {
	r, err := NewReader(opts)
	if err != nil {
		return nil, err
	}
	jobs := r.opts.Jobs
	w := &MetaWriter{binary: r.opts.Binary, idle: make(chan *exiftool.Exiftool, jobs), slots: make(chan struct{}, jobs)}
	for range jobs {
		w.slots <- struct{}{}
	}
	return w, nil
}

// WriteSidecar writes m into the XMP sidecar at path. A new sidecar is
// rendered here and written atomically; an existing one (Camera Raw
// settings, Lightroom's own metadata) is merged into by exiftool, which
// keeps what it holds and replaces the file atomically.
func (w *MetaWriter) WriteSidecar(path string, m Meta, zone *time.Location) error {
	if _, err := os.Lstat(path); errors.Is(err, fs.ErrNotExist) {
		err := WriteSidecar(path, m.SidecarXMP(zone), true)
		if !errors.Is(err, ErrExists) { // one appeared meanwhile: merge
			return err
		}
	}
	return w.WriteFile(path, m.Tags(IntoSidecar, zone))
}

// WriteFile writes tags into the file at path with exiftool, which
// replaces it atomically (-overwrite_original writes a copy and renames it).
func (w *MetaWriter) WriteFile(path string, tags Tags) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return fault.Wrap(fault.Local, err)
	}
	if strings.ContainsAny(abs, "\r\n") {
		// exiftool reads its arguments one per line.
		return fault.Errorf(fault.Permanent, "%q: exiftool cannot be given a file name with a line break", path)
	}
	et, err := w.borrow()
	if err != nil {
		return err
	}
	defer func() { w.idle <- et }()
	md := []exiftool.FileMetadata{{File: abs, Fields: map[string]any(tags)}}
	et.WriteMetadata(md)
	return writeResult(path, md[0].Err)
}

// writeResult classifies exiftool's answer. "unchanged" is success: every
// tag already had its value, or was only to be filled in and was present.
func writeResult(path string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, exiftool.ErrNotExist):
		return fault.Errorf(fault.NotFound, "%s: no such file", path)
	}
	msg := err.Error()
	if strings.Contains(msg, "image files unchanged") && !strings.Contains(msg, "Error") {
		return nil
	}
	msg = strings.TrimPrefix(msg, "Error writing metadata: ")
	if i := strings.Index(msg, "Error: "); i >= 0 {
		msg = msg[i+len("Error: "):]
	}
	msg, _, _ = strings.Cut(msg, "\n")
	return fault.Errorf(fault.Permanent, "%s: exiftool: %s", path, strings.TrimSpace(msg))
}

// borrow takes an idle process, or starts one while fewer than Jobs run.
func (w *MetaWriter) borrow() (*exiftool.Exiftool, error) {
	select {
	case et := <-w.idle:
		return et, nil
	default:
	}
	select {
	case et := <-w.idle:
		return et, nil
	case <-w.slots:
		et, err := exiftool.NewExiftool(
			exiftool.SetExiftoolBinaryPath(w.binary),
			exiftool.Buffer(make([]byte, 64<<10), 16<<20),
			exiftool.Charset("filename=utf8"),
			exiftool.Api("Escape=XML"),
		)
		if err != nil {
			w.slots <- struct{}{}
			return nil, fault.Errorf(fault.Permanent, "starting exiftool: %w", err)
		}
		w.mu.Lock()
		w.started = append(w.started, et)
		w.mu.Unlock()
		return et, nil
	}
}

// Close stops the exiftool processes; call it when no Write is running.
func (w *MetaWriter) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	var errs []error
	for _, et := range w.started {
		errs = append(errs, et.Close())
	}
	w.started = nil
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("closing exiftool: %w", err)
	}
	return nil
}
