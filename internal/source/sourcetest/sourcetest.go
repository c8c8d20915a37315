// Package sourcetest is the conformance suite every source passes against
// its fake (or real) server: the same named subtests for every source, so
// a behaviour one source gets right cannot silently differ in another.
//
// A source's <name>_test.go calls Run with a Config whose New seeds the
// fake with the given files and returns a source that lists exactly them.
package sourcetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ps-photos/ps/internal/fault"
	"github.com/ps-photos/ps/internal/record"
	"github.com/ps-photos/ps/internal/source"
)

// File is one file to seed.
type File struct {
	Path  string // slash-separated, relative to the listed root
	Data  []byte
	Mtime time.Time
}

// Config describes the source under test.
type Config struct {
	// New returns a source (and the options to list it with) whose listing
	// holds exactly files.
	New func(t *testing.T, files []File) (source.Source, source.ListOptions)
	// FlatNames: the source has no folders; items are matched by name.
	FlatNames bool
	// NoOffset: Open cannot start at an offset and must say so with
	// Content.Offset 0.
	NoOffset bool
	// NoMtime: the source does not report modification times exactly
	// (archives round them); mtimes are then only checked to be set.
	NoMtime bool
	// Factory and BadLocation, when set: opening BadLocation through a
	// Registry (as the tools do) fails with a nil Source, never a typed
	// nil that a caller's Close would panic on.
	Factory     *source.Factory
	BadLocation string
}

// Fixture returns the standard files: nested folders, awkward names, an
// empty file and one large enough to need several reads.
func Fixture() []File {
	at := time.Date(2024, 7, 1, 10, 0, 0, 0, time.UTC)
	big := make([]byte, 3<<20+17)
	for i := range big {
		big[i] = byte(i*7 + i>>9)
	}
	return []File{
		{Path: "DCIM/100CANON/IMG_0001.CR3", Data: []byte("raw one"), Mtime: at},
		{Path: "DCIM/100CANON/IMG_0001.JPG", Data: []byte("jpeg one"), Mtime: at.Add(time.Second)},
		{Path: "DCIM/101CANON/IMG_0002.CR3", Data: big, Mtime: at.Add(time.Hour)},
		{Path: "Trips/Zürich 2024/Café #1 (50% off?).jpg", Data: []byte("unicode, spaces, #?% and parentheses"), Mtime: at.Add(2 * time.Hour)},
		{Path: "Trips/it's \"quoted\".MOV", Data: []byte("quotes"), Mtime: at.Add(3 * time.Hour)},
		{Path: "empty.JPG", Data: nil, Mtime: at.Add(4 * time.Hour)},
	}
}

// Run runs the conformance subtests.
func Run(t *testing.T, cfg Config) {
	t.Run("ListsEachFileOnce", func(t *testing.T) { testList(t, cfg) })
	t.Run("OpenReturnsExactBytes", func(t *testing.T) { testOpen(t, cfg) })
	t.Run("OpenAtOffset", func(t *testing.T) { testOffset(t, cfg) })
	t.Run("SinkErrorStopsList", func(t *testing.T) { testSinkError(t, cfg) })
	t.Run("CancelEndsList", func(t *testing.T) { testCancel(t, cfg) })
	t.Run("CancelStopsRead", func(t *testing.T) { testCancelRead(t, cfg) })
	t.Run("VersionIsStable", func(t *testing.T) { testVersion(t, cfg) })
	t.Run("VanishedItemIsNotFound", func(t *testing.T) { testVanished(t, cfg) })
	if cfg.Factory != nil {
		t.Run("FailedOpenIsNil", func(t *testing.T) { testFailedOpen(t, cfg) })
	}
}

func testFailedOpen(t *testing.T, cfg Config) {
	reg := source.NewRegistry(*cfg.Factory)
	src, err := reg.Open(context.Background(), source.Env{StateDir: t.TempDir()}, cfg.BadLocation, nil)
	if err == nil {
		t.Fatalf("opening %q succeeded", cfg.BadLocation)
	}
	if src != nil {
		t.Fatalf("opening %q failed (%v) but returned a non-nil Source %#v", cfg.BadLocation, err, src)
	}
}

func (cfg Config) key(p string) string {
	if cfg.FlatNames {
		return path.Base(p)
	}
	return p
}

// collect lists src and returns its items by key.
func collect(t *testing.T, cfg Config, src source.Source, opts source.ListOptions) map[string]*record.Record {
	t.Helper()
	sink := &Sink{}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := src.List(ctx, opts, sink); err != nil {
		t.Fatalf("List: %v", err)
	}
	if len(sink.Failures) > 0 {
		f := sink.Failures[0]
		t.Fatalf("List reported %d failure(s); first: %s: %s", len(sink.Failures), f.Path, f.Error.Message)
	}
	got := map[string]*record.Record{}
	for _, it := range sink.Items {
		k := cfg.key(it.Path)
		if got[k] != nil {
			t.Errorf("item %q listed twice", k)
		}
		got[k] = it
	}
	return got
}

func testList(t *testing.T, cfg Config) {
	files := Fixture()
	src, opts := cfg.New(t, files)
	defer src.Close()
	got := collect(t, cfg, src, opts)
	if len(got) != len(files) {
		t.Errorf("listed %d items, want %d: %v", len(got), len(files), keys(got))
	}
	for _, f := range files {
		it := got[cfg.key(f.Path)]
		if it == nil {
			t.Errorf("file %q not listed (got %v)", f.Path, keys(got))
			continue
		}
		checkItem(t, cfg, src, it, f)
	}
}

func checkItem(t *testing.T, cfg Config, src source.Source, it *record.Record, f File) {
	t.Helper()
	if it.Type != record.TypeItem {
		t.Errorf("%s: type %q, want item", f.Path, it.Type)
	}
	if it.ID == "" {
		t.Errorf("%s: empty id", f.Path)
	}
	if it.Source != src.Location() {
		t.Errorf("%s: source %q, want the source's location %q", f.Path, it.Source, src.Location())
	}
	if want := path.Base(f.Path); it.Name != want {
		t.Errorf("%s: name %q, want %q", f.Path, it.Name, want)
	}
	if it.Size != int64(len(f.Data)) {
		t.Errorf("%s: size %d, want %d", f.Path, it.Size, len(f.Data))
	}
	if want := record.MediaOf(f.Path); it.Media != want {
		t.Errorf("%s: media %q, want %q", f.Path, it.Media, want)
	}
	switch {
	case it.Mtime.IsZero():
		t.Errorf("%s: no mtime", f.Path)
	case !cfg.NoMtime && !it.Mtime.Equal(f.Mtime):
		t.Errorf("%s: mtime %s, want %s", f.Path, it.Mtime, f.Mtime)
	case it.Mtime.Location() != time.UTC:
		t.Errorf("%s: mtime %s is not UTC", f.Path, it.Mtime)
	}
}

// readAll reads an item from offset; it returns the bytes and the
// content (closed).
func readAll(t *testing.T, src source.Source, it *record.Record, offset int64) ([]byte, *source.Content) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := src.Open(ctx, it, offset)
	if err != nil {
		t.Fatalf("Open %s at %d: %v", it.Path, offset, err)
	}
	defer c.Close()
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("read %s: %v", it.Path, err)
	}
	return b, c
}

func testOpen(t *testing.T, cfg Config) {
	files := Fixture()
	src, opts := cfg.New(t, files)
	defer src.Close()
	got := collect(t, cfg, src, opts)
	for _, f := range files {
		it := got[cfg.key(f.Path)]
		if it == nil {
			t.Fatalf("file %q not listed", f.Path)
		}
		b, c := readAll(t, src, it, 0)
		if off := c.Offset; off != 0 || !bytes.Equal(b, f.Data) {
			t.Errorf("%s: read %d bytes from offset %d, want the %d bytes of the file", f.Path, len(b), c.Offset, len(f.Data))
		}
	}
}

// large opens a source of the fixture and returns it with the large
// file's item.
func large(t *testing.T, cfg Config) (source.Source, *record.Record, File) {
	t.Helper()
	files := Fixture()
	src, opts := cfg.New(t, files)
	got := collect(t, cfg, src, opts)
	f := files[2] // the large one
	it := got[cfg.key(f.Path)]
	if it == nil {
		src.Close()
		t.Fatalf("file %q not listed", f.Path)
	}
	return src, it, f
}

func testOffset(t *testing.T, cfg Config) {
	src, it, f := large(t, cfg)
	defer src.Close()
	for _, offset := range []int64{1, 1 << 20, int64(len(f.Data)) - 1, int64(len(f.Data))} {
		b, c := readAll(t, src, it, offset)
		start := c.Offset
		if cfg.NoOffset {
			if start != 0 || !bytes.Equal(b, f.Data) {
				t.Errorf("offset %d: a source without offsets must restart at 0 with all bytes (got start %d, %d bytes)", offset, start, len(b))
			}
			continue
		}
		if start != offset {
			t.Errorf("offset %d: content starts at %d", offset, start)
			continue
		}
		if !bytes.Equal(b, f.Data[offset:]) {
			t.Errorf("offset %d: got %d bytes that differ from the file's tail (%d bytes)", offset, len(b), len(f.Data)-int(offset))
		}
	}
}

func testSinkError(t *testing.T, cfg Config) {
	var files []File
	at := time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 300 {
		files = append(files, File{Path: fmt.Sprintf("d%02d/f%03d.JPG", i%10, i), Data: []byte{byte(i)}, Mtime: at})
	}
	src, opts := cfg.New(t, files)
	defer src.Close()
	sink := &Sink{StopAfter: 5}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := src.List(ctx, opts, sink)
	if !errors.Is(err, ErrStop) {
		t.Fatalf("List returned %v, want the sink's error unchanged", err)
	}
	// Concurrent listers may have a few calls in flight; hundreds more
	// mean the error was ignored.
	if n := len(sink.Items); n > 5+64 {
		t.Errorf("List went on for %d items after the sink said stop", n-5)
	}
}

func testCancel(t *testing.T, cfg Config) {
	src, opts := cfg.New(t, Fixture())
	defer src.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	done := make(chan error, 1)
	go func() { done <- src.List(ctx, opts, &Sink{}) }()
	select {
	case err := <-done:
		if err == nil {
			// A source may finish a tiny listing before it notices; it
			// must not hang. Nothing more to check.
			return
		}
		if c := fault.ClassOf(err); c != fault.Canceled && !errors.Is(err, context.Canceled) {
			t.Errorf("List on a cancelled context: %v (class %s), want canceled", err, c)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("List did not return within 10s of cancellation")
	}
}

// testCancelRead cancels the context of an open item after its first
// bytes: the reads after that must fail (Ctrl-C stops a copy in flight,
// not only the next request).
func testCancelRead(t *testing.T, cfg Config) {
	src, it, _ := large(t, cfg)
	defer src.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c, err := src.Open(ctx, it, 0)
	if err != nil {
		t.Fatalf("Open %s: %v", it.Path, err)
	}
	defer c.Close()
	if _, err := io.ReadFull(c, make([]byte, 4096)); err != nil {
		t.Fatalf("read %s: %v", it.Path, err)
	}
	cancel()
	done := make(chan error, 1)
	var n int64
	go func() {
		var err error
		n, err = io.Copy(io.Discard, c)
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Errorf("read the remaining %d bytes after the context was cancelled, want an error", n)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a read did not return within 10s of cancellation")
	}
}

// testVersion opens the large file at 0 and at an offset: a source that
// reports a version reports the same one both times, or every resume
// would start over.
func testVersion(t *testing.T, cfg Config) {
	src, it, _ := large(t, cfg)
	defer src.Close()
	version := func(offset int64) string {
		_, c := readAll(t, src, it, offset)
		return c.Version
	}
	v0 := version(0)
	if v1 := version(1 << 20); v0 != "" && v1 != v0 {
		t.Errorf("version %q at 0, %q at 1 MiB", v0, v1)
	}
	t.Logf("version %q", v0)
}

func testVanished(t *testing.T, cfg Config) {
	src, opts := cfg.New(t, Fixture())
	defer src.Close()
	got := collect(t, cfg, src, opts)
	var it *record.Record
	for _, v := range got {
		it = v.Clone()
		break
	}
	it.ID += ".vanished"
	it.Path += ".vanished"
	it.Name += ".vanished"
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := src.Open(ctx, it, 0)
	if err == nil {
		c.Close()
		t.Fatal("Open of a missing item succeeded")
	}
	if cl := fault.ClassOf(err); cl != fault.NotFound {
		t.Errorf("Open of a missing item: %v (class %s), want not_found", err, cl)
	}
}

func keys(m map[string]*record.Record) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Sink collects what List finds, for source tests to inspect. Failures
// are kept as the failure records ps-list would write.
type Sink struct {
	mu       sync.Mutex
	Items    []*record.Record
	Failures []*record.Record
	// StopAfter, when positive, makes Item fail once that many items
	// have arrived (to test that List stops promptly).
	StopAfter int
}

// ErrStop is what Item returns past StopAfter.
var ErrStop = errors.New("sink says stop")

// Item keeps one item.
func (s *Sink) Item(rec *record.Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.StopAfter > 0 && len(s.Items) >= s.StopAfter {
		return ErrStop
	}
	s.Items = append(s.Items, rec)
	return nil
}

// Failure keeps one listing problem as a failure record.
func (s *Sink) Failure(rec *record.Record, err error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Failures = append(s.Failures, rec.AsFailure(string(fault.ClassOf(err)), err.Error(), 1, fault.HintOf(err)))
	return nil
}

// CountSink counts what List finds and keeps nothing, as ps-list's
// streaming sink does: benchmarks use it so memory measured is the
// lister's own. It is safe for concurrent use.
type CountSink struct {
	Items, Failures atomic.Int64
	// Encode renders each item to JSON, as ps-list does, so the benchmark
	// includes that work.
	Encode bool
	// FailuresStop makes Failure return the listing problem, ending List:
	// for benchmarks whose fixture has none, a failure is a broken run.
	FailuresStop bool
}

// Item counts one item.
func (s *CountSink) Item(rec *record.Record) error {
	if s.Encode {
		if _, err := rec.MarshalJSON(); err != nil {
			return err
		}
	}
	s.Items.Add(1)
	return nil
}

// Failure counts one listing problem.
func (s *CountSink) Failure(rec *record.Record, err error) error {
	s.Failures.Add(1)
	if s.FailuresStop {
		return fmt.Errorf("%s: %w", rec.Path, err)
	}
	return nil
}
