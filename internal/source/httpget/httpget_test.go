package httpget

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ps-photos/ps/internal/fault"
	"github.com/ps-photos/ps/internal/record"
	"github.com/ps-photos/ps/internal/source"
)

func TestOpenStatuses(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/file":
			http.ServeContent(w, r, "file", time.Time{}, strings.NewReader("0123456789"))
		case "/norange":
			w.Write([]byte("0123456789"))
		case "/429":
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(429)
		case "/503":
			w.WriteHeader(503)
		case "/403":
			w.WriteHeader(403)
		case "/gone":
			w.WriteHeader(410)
		}
	}))
	defer srv.Close()
	s := New()
	now := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	s.now = func() time.Time { return now }
	ctx := context.Background()
	open := func(path string, off int64) (*source.Content, error) {
		return s.Open(ctx, &record.Record{URL: srv.URL + path + "?token=secret"}, off)
	}

	c, err := open("/file", 4)
	if err != nil || c.Offset != 4 || c.Size != 10 {
		t.Fatalf("range: %+v %v", c, err)
	}
	b, _ := io.ReadAll(c)
	c.Close()
	if string(b) != "456789" {
		t.Errorf("range body %q", b)
	}
	if _, err := open("/file", 11); !errors.Is(err, source.ErrBadRange) {
		t.Errorf("past the end: %v", err)
	}
	c, err = open("/norange", 4)
	if err != nil || c.Offset != 0 {
		t.Fatalf("a 200 to a range must say offset 0: %+v %v", c, err)
	}
	c.Close()

	err429 := func() error { _, err := open("/429", 0); return err }()
	if fault.ClassOf(err429) != fault.RateLimited || !fault.RetryAfterOf(err429).Equal(now.Add(7*time.Second)) {
		t.Errorf("429: %v class %s retry %v", err429, fault.ClassOf(err429), fault.RetryAfterOf(err429))
	}
	for path, class := range map[string]fault.Class{"/503": fault.Transient, "/403": fault.Permanent, "/gone": fault.NotFound} {
		_, err := open(path, 0)
		if fault.ClassOf(err) != class {
			t.Errorf("%s: %v is %s, want %s", path, err, fault.ClassOf(err), class)
		}
		if strings.Contains(err.Error(), "secret") {
			t.Errorf("%s: the query leaked into %q", path, err)
		}
	}
	// A connection refused is worth a retry; a cancelled one is not.
	dead := &record.Record{URL: "http://127.0.0.1:1/x"}
	if _, err := s.Open(ctx, dead, 0); fault.ClassOf(err) != fault.Transient {
		t.Errorf("refused: %v %s", err, fault.ClassOf(err))
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.Open(cctx, &record.Record{URL: srv.URL + "/file"}, 0); fault.ClassOf(err) != fault.Canceled {
		t.Errorf("cancelled: %v %s", err, fault.ClassOf(err))
	}
}

func TestParseContentRange(t *testing.T) {
	for in, want := range map[string][2]int64{"bytes 5-9/10": {5, 10}, "bytes 0-0/*": {0, -1}} {
		s, total, ok := parseContentRange(in)
		if !ok || s != want[0] || total != want[1] {
			t.Errorf("%q: %d %d %v", in, s, total, ok)
		}
	}
	for _, bad := range []string{"", "bytes */10", "items 1-2/3", "bytes x-1/2"} {
		if _, _, ok := parseContentRange(bad); ok {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestRedact(t *testing.T) {
	if got := redact("https://user:pw@host/a/b?sig=1#x"); got != "https://host/a/b" {
		t.Errorf("redact: %q", got)
	}
}

// A redirect ps-fetch refuses (to another scheme, or round in a loop) is
// permanent: retrying cannot change where the server sends us.
func TestRefusedRedirectsArePermanent(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/file":
			http.Redirect(w, r, "file:///etc/passwd", http.StatusFound)
		case "/ftp":
			http.Redirect(w, r, "ftp://127.0.0.1/x.jpg", http.StatusMovedPermanently)
		case "/loop":
			http.Redirect(w, r, "/loop", http.StatusFound)
		case "/ok":
			http.Redirect(w, r, "/data", http.StatusFound)
		case "/data":
			w.Write([]byte("data"))
		}
	}))
	defer srv.Close()
	s := New()
	for _, p := range []string{"/file", "/ftp", "/loop"} {
		_, err := s.Open(context.Background(), &record.Record{URL: srv.URL + p}, 0)
		if err == nil || fault.ClassOf(err) != fault.Permanent {
			t.Errorf("%s: got %v (class %s), want a permanent error", p, err, fault.ClassOf(err))
		}
	}
	c, err := s.Open(context.Background(), &record.Record{URL: srv.URL + "/ok"}, 0)
	if err != nil {
		t.Fatalf("a plain redirect: %v", err)
	}
	c.Close()
}

// A URL record without an mtime takes the server's Last-Modified, as curl -R
// and rclone copyurl do: on the content for the file's time, and through
// Describe (a HEAD request) before ps-fetch names the file.
func TestLastModified(t *testing.T) {
	modified := time.Date(2021, 3, 4, 5, 6, 7, 0, time.UTC)
	var heads int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodHead {
			heads++
		}
		switch r.URL.Path {
		case "/dated.jpg":
			http.ServeContent(w, r, "dated.jpg", modified, strings.NewReader("0123456789"))
		case "/undated.jpg":
			w.Write([]byte("0123456789"))
		case "/garbled.jpg":
			w.Header().Set("Last-Modified", "yesterday-ish")
			w.Write([]byte("0123456789"))
		}
	}))
	defer srv.Close()
	s := New()
	ctx := context.Background()

	c, err := s.Open(ctx, &record.Record{URL: srv.URL + "/dated.jpg"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if !c.ModTime.Equal(modified) {
		t.Errorf("Open: ModTime %v, want %v", c.ModTime, modified)
	}
	c, err = s.Open(ctx, &record.Record{URL: srv.URL + "/dated.jpg"}, 4)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if !c.ModTime.Equal(modified) {
		t.Errorf("Open from byte 4: ModTime %v, want %v", c.ModTime, modified)
	}

	rec := &record.Record{URL: srv.URL + "/dated.jpg"}
	if err := s.Describe(ctx, rec); err != nil {
		t.Fatal(err)
	}
	if !rec.Mtime.Equal(modified) || heads != 1 {
		t.Errorf("Describe: mtime %v after %d HEAD requests, want %v after 1", rec.Mtime, heads, modified)
	}
	// A record's own mtime wins: no request at all.
	own := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	rec = &record.Record{URL: srv.URL + "/dated.jpg", Mtime: own}
	if err := s.Describe(ctx, rec); err != nil || !rec.Mtime.Equal(own) || heads != 1 {
		t.Errorf("Describe with an mtime: %v, mtime %v, %d HEAD requests", err, rec.Mtime, heads)
	}
	// No or a garbled header leaves the record as it was.
	for _, p := range []string{"/undated.jpg", "/garbled.jpg"} {
		rec = &record.Record{URL: srv.URL + p}
		if err := s.Describe(ctx, rec); err != nil || !rec.Mtime.IsZero() {
			t.Errorf("Describe %s: %v, mtime %v", p, err, rec.Mtime)
		}
		c, err := s.Open(ctx, &record.Record{URL: srv.URL + p}, 0)
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
		if !c.ModTime.IsZero() {
			t.Errorf("Open %s: ModTime %v, want none", p, c.ModTime)
		}
	}
}
