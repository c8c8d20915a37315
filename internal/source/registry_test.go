package source_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/ps-photos/ps/internal/fault"
	"github.com/ps-photos/ps/internal/record"
	"github.com/ps-photos/ps/internal/source"
	"github.com/ps-photos/ps/internal/source/local"
)

// fakeSource is a Source that only remembers where it was opened and
// whether it was closed.
type fakeSource struct {
	loc    string
	closed atomic.Bool
}

func (s *fakeSource) Location() string { return s.loc }
func (s *fakeSource) List(context.Context, source.ListOptions, source.Sink) error {
	return nil
}
func (s *fakeSource) Open(context.Context, *record.Record, int64) (*source.Content, error) {
	return nil, errors.New("not here")
}
func (s *fakeSource) Close() error { s.closed.Store(true); return nil }

// factory returns a factory of fakeSources that counts its opens; a
// location holding "broken" fails to open.
func factory(name string, opens *atomic.Int64, schemes ...string) source.Factory {
	return source.Factory{Name: name, Schemes: schemes, New: func(_ context.Context, _ source.Env, loc string, _ *record.Record) (source.Source, error) {
		opens.Add(1)
		if strings.Contains(loc, "broken") {
			return nil, fault.Errorf(fault.Auth, "cannot open %s", loc)
		}
		return &fakeSource{loc: loc}, nil
	}}
}

func TestScheme(t *testing.T) {
	for loc, want := range map[string]string{
		"/media/card":         "file",
		"./card":              "file",
		"~/Pictures":          "file",
		"card:2024":           "card", // a relative name with a colon reads as a scheme…
		"./card:2024":         "file", // …unless it is written as a path
		`C:\Photos`:           "file", // a drive letter is not a scheme
		"file:///media/card":  "file",
		"SMB://nas/photos":    "smb",
		"takeout:~/Downloads": "takeout",
		"icloud:":             "icloud",
		"a.b:c":               "file",
	} {
		if got := source.Scheme(loc); got != want {
			t.Errorf("Scheme(%q) = %q, want %q", loc, got, want)
		}
	}
}

func TestLookup(t *testing.T) {
	var opens atomic.Int64
	claimer := factory("syno", &opens, "synology")
	claimer.Claims = func(loc string) bool { return strings.HasPrefix(loc, "https://gofile.me/") }
	reg := source.NewRegistry(factory("local", &opens, "file"), factory("http", &opens, "http", "https"), claimer)
	for loc, want := range map[string]string{
		"/media/card":            "local",
		"https://example.com/x":  "http",
		"https://gofile.me/a/b":  "syno", // a claim wins over the scheme
		"synology://gofile.me/a": "syno",
	} {
		f, err := reg.Lookup(loc)
		if err != nil || f.Name != want {
			t.Errorf("Lookup(%q) = %q, %v; want %q", loc, f.Name, err, want)
		}
	}
	_, err := reg.Lookup("dropbox:photos")
	if err == nil || fault.ClassOf(err) != fault.Permanent || !strings.Contains(err.Error(), "known: file, http, https, synology") {
		t.Errorf("unknown scheme: %v", err)
	}
	if opens.Load() != 0 {
		t.Errorf("Lookup opened %d sources", opens.Load())
	}
}

func TestDuplicatesRefused(t *testing.T) {
	var opens atomic.Int64
	for name, facs := range map[string][]source.Factory{
		"scheme": {factory("a", &opens, "file", "x"), factory("b", &opens, "y", "x")},
		"name":   {factory("a", &opens, "x"), factory("a", &opens, "y")},
	} {
		func() {
			defer func() {
				if r := recover(); r == nil {
					t.Errorf("a duplicate %s was accepted", name)
				}
			}()
			source.NewRegistry(facs...)
		}()
	}
}

// The pool opens each source once however many goroutines ask, sends a
// record without a source to the http source by its url, hands back a
// failed open as it came (to every caller, without opening again), and
// closes what it opened.
func TestPool(t *testing.T) {
	var localOpens, httpOpens atomic.Int64
	reg := source.NewRegistry(factory("local", &localOpens, "file"), factory("http", &httpOpens, "http", "https"))
	pool := source.NewPool(reg, source.Env{})
	var wg sync.WaitGroup
	srcs := make([]source.Source, 16)
	for i := range srcs {
		wg.Go(func() {
			src, key, err := pool.ForRecord(context.Background(), &record.Record{Type: record.TypeItem, Source: "file:///card", ID: "a"})
			if err != nil || key != "file:///card" {
				t.Errorf("ForRecord: %v, %q", err, key)
			}
			srcs[i] = src
		})
	}
	wg.Wait()
	if localOpens.Load() != 1 {
		t.Errorf("16 records of one source opened it %d times", localOpens.Load())
	}
	for _, s := range srcs[1:] {
		if s != srcs[0] {
			t.Fatal("records of one source got different sources")
		}
	}

	src, key, err := pool.ForRecord(context.Background(), &record.Record{Type: record.TypeItem, URL: "https://cdn.example/x.jpg"})
	if err != nil || key != "http:" || src == nil {
		t.Errorf("url record: %v, %q", err, key)
	}
	if _, _, err := pool.ForRecord(context.Background(), &record.Record{Type: record.TypeItem, Path: "x"}); err == nil {
		t.Error("a record with neither source nor url was accepted")
	}
	if _, key, err := pool.ForRecord(context.Background(), &record.Record{Type: record.TypeItem, Source: "dropbox:x"}); err == nil || key != "dropbox:x" {
		t.Errorf("unknown source: %v, %q", err, key)
	}

	broken := &record.Record{Type: record.TypeItem, Source: "file:///broken"}
	for range 3 {
		src, _, err := pool.ForRecord(context.Background(), broken)
		if fault.ClassOf(err) != fault.Auth || src != nil {
			t.Errorf("failed open: %v, %v", src, err)
		}
	}
	if localOpens.Load() != 2 {
		t.Errorf("a failed open was tried %d times, want once", localOpens.Load()-1)
	}

	if err := pool.Close(); err != nil {
		t.Fatal(err)
	}
	if !srcs[0].(*fakeSource).closed.Load() {
		t.Error("Close left a source open")
	}
}

var _ io.Closer = (*fakeSource)(nil)

// A factory that fails returns a typed nil (*local.Source)(nil) inside
// the Source interface; Registry.Open must hand back a nil interface, or
// a caller's "src != nil" holds and Close panics (ps-fetch exited 2
// instead of reporting the error).
func TestOpenFailureIsNilSource(t *testing.T) {
	reg := source.NewRegistry(local.Factory)
	env := source.Env{StateDir: t.TempDir()}
	src, err := reg.Open(context.Background(), env, "file://otherhost/photos", nil)
	if err == nil {
		t.Fatal("opening a file location on another host succeeded")
	}
	if src != nil {
		t.Fatalf("Open failed (%v) but returned a non-nil Source %#v", err, src)
	}

	pool := source.NewPool(reg, env)
	rec := &record.Record{Type: record.TypeItem, Source: "file://otherhost/photos", ID: "a.jpg", Path: "a.jpg"}
	if _, _, err := pool.ForRecord(context.Background(), rec); err == nil {
		t.Fatal("ForRecord succeeded")
	}
	defer func() {
		if p := recover(); p != nil {
			t.Fatalf("Pool.Close panicked after a failed open: %v", p)
		}
	}()
	if err := pool.Close(); err != nil {
		t.Fatal(err)
	}
}
