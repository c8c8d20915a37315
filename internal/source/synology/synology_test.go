package synology

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ps-photos/ps/internal/fault"
	"github.com/ps-photos/ps/internal/record"
	"github.com/ps-photos/ps/internal/retry"
	"github.com/ps-photos/ps/internal/source"
	"github.com/ps-photos/ps/internal/source/sourcetest"
	"github.com/ps-photos/ps/internal/source/synology/synologytest"
	"github.com/ps-photos/ps/internal/state"
)

// TestMain trusts the fakes' CA the way a user's machine trusts a real
// one: through SSL_CERT_FILE, read once by Go's certificate pool.
func TestMain(m *testing.M) {
	pem, err := synologytest.CAPEM()
	if err != nil {
		panic(err)
	}
	dir, err := os.MkdirTemp("", "synology-ca-")
	if err != nil {
		panic(err)
	}
	file := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(file, pem, 0o600); err != nil {
		panic(err)
	}
	os.Setenv("SSL_CERT_FILE", file)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

const testPassword = "correct horse"

var quiet = slog.New(slog.DiscardHandler)

func startFake(t testing.TB, cfg synologytest.Config) *synologytest.Server {
	t.Helper()
	if cfg.Password == "" {
		cfg.Password = testPassword
	}
	srv, err := synologytest.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	t.Cleanup(func() { srv.Faults().Check(t.Errorf) })
	return srv
}

// signIn runs the plain sign-in against link and returns the session
// record ps-auth would print.
func signIn(t testing.TB, link, password string) *record.Record {
	t.Helper()
	l, err := ParseLink(link, false)
	if err != nil {
		t.Fatal(err)
	}
	sess, err := plainSignIn(context.Background(), newHTTPClient(false), l, password, false, quiet)
	if err != nil {
		t.Fatalf("sign in: %v", err)
	}
	return sess.Record(l.Location(), time.Now())
}

// open signs in to srv and opens the source with the session record.
func open(t testing.TB, srv *synologytest.Server, stateDir string) *Source {
	t.Helper()
	rec := signIn(t, srv.Link, testPassword)
	src, err := New(context.Background(), source.Env{StateDir: stateDir, Log: quiet}, rec.Source, rec)
	if err != nil {
		t.Fatal(err)
	}
	src.c.policy.Base = 5 * time.Millisecond // fast retries in tests
	t.Cleanup(func() { src.Close() })
	return src
}

func list(t testing.TB, src *Source, opts source.ListOptions) *sourcetest.Sink {
	t.Helper()
	sink := &sourcetest.Sink{}
	if err := src.List(context.Background(), opts, sink); err != nil {
		t.Fatalf("List: %v", err)
	}
	return sink
}

func TestConformance(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  synologytest.Config
	}{
		{"plain", synologytest.Config{}},
		// A page cap far below the fixture's folder sizes, and a time
		// object with mtime only.
		{"capped pages", synologytest.Config{PageCap: 1, OnlyMtime: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sourcetest.Run(t, sourcetest.Config{
				New: func(t *testing.T, files []sourcetest.File) (source.Source, source.ListOptions) {
					srv := startFake(t, tc.cfg)
					for _, f := range files {
						data := f.Data
						if data == nil {
							data = []byte{}
						}
						srv.AddFile(synologytest.File{Path: f.Path, Data: data, Mtime: f.Mtime})
					}
					return open(t, srv, t.TempDir()), source.ListOptions{Jobs: 4}
				},
			})
		})
	}
}

func TestParseLink(t *testing.T) {
	for _, tc := range []struct {
		link, location string
		kind           linkKind
	}{
		{"https://gofile.me/7g4WA/ZRnqeWks3", "synology://gofile.me/7g4WA/ZRnqeWks3", kindGofile},
		{"gofile.me/7g4WA/ZRnqeWks3", "synology://gofile.me/7g4WA/ZRnqeWks3", kindGofile},
		{"https://quickconnect.to/MyNas/ZRnqeWks3", "synology://mynas.quickconnect.to/sharing/ZRnqeWks3", kindQuickConnect},
		{"https://MyNas.quickconnect.to/sharing/ZRnqeWks3", "synology://mynas.quickconnect.to/sharing/ZRnqeWks3", kindQuickConnect},
		{"https://mynas.fr2.quickconnect.to/sharing/ZRnqeWks3", "synology://mynas.fr2.quickconnect.to:443/sharing/ZRnqeWks3", kindDirect},
		{"https://nas.example.com:5001/sharing/ZRnqeWks3", "synology://nas.example.com:5001/sharing/ZRnqeWks3", kindDirect},
		{"https://NAS.example.com/sharing/ZRnqeWks3/", "synology://nas.example.com:443/sharing/ZRnqeWks3", kindDirect},
		{"https://example.com/some/landing", "", kindLanding},
	} {
		l, err := ParseLink(tc.link, true)
		if err != nil {
			t.Errorf("%s: %v", tc.link, err)
			continue
		}
		if l.Kind != tc.kind || l.Location() != tc.location {
			t.Errorf("%s: kind %d location %q, want %d %q", tc.link, l.Kind, l.Location(), tc.kind, tc.location)
		}
		if tc.location == "" {
			continue
		}
		back, err := LinkOfLocation(l.Location())
		if err != nil || back.Location() != l.Location() {
			t.Errorf("%s: location does not round-trip: %v %q", tc.link, err, back.Location())
		}
	}
	for _, bad := range []string{"https://user:pw@nas/sharing/x", "ftp://nas/sharing/x", "https://gofile.me/7g4WA/a%2Fb", "https://example.com/x"} {
		if _, err := ParseLink(bad, false); err == nil {
			t.Errorf("%s: accepted", bad)
		} else if strings.Contains(err.Error(), "pw@") {
			t.Errorf("%s: error shows the password: %v", bad, err)
		}
	}
}

func TestListLargeCappedFolder(t *testing.T) {
	srv := startFake(t, synologytest.Config{PageCap: 250})
	const n = 100000
	for i := range n {
		srv.AddFile(synologytest.File{Path: fmt.Sprintf("big/IMG_%06d.CR3", i), Size: int64(i % 7), Mtime: time.Unix(1700000000+int64(i), 0)})
	}
	srv.AddFile(synologytest.File{Path: "big/sub/last.JPG", Data: []byte("x"), Mtime: time.Unix(1, 0)})
	sink := list(t, open(t, srv, t.TempDir()), source.ListOptions{Jobs: 8})
	if len(sink.Failures) > 0 {
		t.Fatalf("failures: %v", sink.Failures[0].Error)
	}
	seen := map[string]bool{}
	for _, it := range sink.Items {
		if seen[it.ID] {
			t.Fatalf("%s listed twice", it.ID)
		}
		seen[it.ID] = true
	}
	if len(seen) != n+1 {
		t.Fatalf("listed %d items, want %d", len(seen), n+1)
	}
	if !seen["/09.26.25 First Last/big/IMG_099999.CR3"] || !seen["/09.26.25 First Last/big/sub/last.JPG"] {
		t.Error("the last page or the subfolder is missing")
	}
}

// A server whose pages shrink after the first: the short pages leave gaps
// that must be asked for again, never skipped.
func TestListFillsShortPages(t *testing.T) {
	srv := startFake(t, synologytest.Config{PageCap: 300, LaterPageCap: 70})
	for i := range 1000 {
		srv.AddFile(synologytest.File{Path: fmt.Sprintf("f%04d.JPG", i), Data: []byte{1}, Mtime: time.Unix(1700000000, 0)})
	}
	sink := list(t, open(t, srv, t.TempDir()), source.ListOptions{Jobs: 4})
	seen := map[string]bool{}
	for _, it := range sink.Items {
		seen[it.Name] = true
	}
	if len(seen) != 1000 || len(sink.Items) != 1000 || len(sink.Failures) != 0 {
		t.Fatalf("%d distinct of %d items, %d failures; want 1000, 1000, 0", len(seen), len(sink.Items), len(sink.Failures))
	}
}

func TestListRefusesHostileEntries(t *testing.T) {
	srv := startFake(t, synologytest.Config{})
	srv.AddFile(synologytest.File{Path: "ok/IMG_1.CR3", Data: []byte("one"), Mtime: time.Unix(1700000000, 0)})
	srv.AddFile(synologytest.File{Path: "IMG_2.CR3", Data: []byte("two"), Mtime: time.Unix(1700000000, 0)})
	bad := srv.AddHostile("") + srv.AddHostile("ok")
	// Not hostile: a name in NFD whose path is in NFC (macOS uploads).
	srv.AddRawEntry("ok", `{"name":"Cafe\u0301.JPG","path":"/09.26.25 First Last/ok/Caf\u00e9.JPG","isdir":false,"additional":{"size":1,"time":{"mtime":1700000000}}}`)
	sink := list(t, open(t, srv, t.TempDir()), source.ListOptions{})
	if len(sink.Items) != 3 {
		var ids []string
		for _, it := range sink.Items {
			ids = append(ids, it.ID)
		}
		t.Errorf("items %q, want only the three real files", ids)
	}
	if len(sink.Failures) != bad {
		t.Errorf("%d failure records, want one per hostile entry (%d)", len(sink.Failures), bad)
	}
	for _, f := range sink.Failures {
		if f.Error.Class != string(fault.Permanent) {
			t.Errorf("%q: class %s, want permanent", f.Path, f.Error.Class)
		}
	}
}

func TestListSurvivesTransientFaults(t *testing.T) {
	srv := startFake(t, synologytest.Config{PageCap: 3})
	for i := range 20 {
		srv.AddFile(synologytest.File{Path: fmt.Sprintf("d%d/f%02d.JPG", i%2, i), Data: []byte{byte(i)}, Mtime: time.Unix(1700000000, 0)})
	}
	src := open(t, srv, t.TempDir())
	srv.Inject(synologytest.Fault{Op: "list", Status: 502, Times: 2})
	srv.Inject(synologytest.Fault{Op: "list", Path: "d1", Code: 117})
	srv.Inject(synologytest.Fault{Op: "list", Path: "d0", Status: 503, RetryAfter: 0})
	srv.Inject(synologytest.Fault{Op: "list", Path: "d0", Code: 402})
	srv.Inject(synologytest.Fault{Op: "list", Path: "d1", Status: 429, RetryAfter: 1})
	sink := list(t, src, source.ListOptions{Jobs: 3})
	if len(sink.Items) != 20 || len(sink.Failures) != 0 {
		t.Fatalf("%d items, %d failures; want 20 and 0", len(sink.Items), len(sink.Failures))
	}
}

func TestListBoundsLyingTotals(t *testing.T) {
	srv := startFake(t, synologytest.Config{PageCap: 10})
	for i := range 25 {
		srv.AddFile(synologytest.File{Path: fmt.Sprintf("liar/f%02d.JPG", i), Data: []byte{1}, Mtime: time.Unix(1700000000, 0)})
	}
	srv.ClaimTotal("liar", 1<<40)
	for i := range 25 {
		srv.AddFile(synologytest.File{Path: fmt.Sprintf("untold/f%02d.JPG", i), Data: []byte{1}, Mtime: time.Unix(1700000000, 0)})
	}
	srv.ClaimTotal("untold", -1) // no total: walked page by page
	done := make(chan *sourcetest.Sink)
	go func() { done <- list(t, open(t, srv, t.TempDir()), source.ListOptions{}) }()
	select {
	case sink := <-done:
		if len(sink.Items) != 50 {
			t.Errorf("%d items, want the 50 real ones", len(sink.Items))
		}
		// "claims more than can be listed" and "stopped returning entries".
		if len(sink.Failures) == 0 {
			t.Error("a folder that claims a trillion entries and stops must give a failure record")
		}
		for _, f := range sink.Failures {
			if f.Path != "liar" {
				t.Errorf("failure for %q (%s): only the lying folder may fail", f.Path, f.Error.Message)
			}
		}
	case <-time.After(30 * time.Second):
		t.Fatal("listing a folder with a lying total did not end")
	}
}

func TestListBoundsCycles(t *testing.T) {
	srv := startFake(t, synologytest.Config{})
	srv.AddFile(synologytest.File{Path: "real/IMG_1.CR3", Data: []byte("x"), Mtime: time.Unix(1700000000, 0)})
	srv.AddLoop("real")
	sink := list(t, open(t, srv, t.TempDir()), source.ListOptions{})
	if len(sink.Items) != 1 || len(sink.Failures) != 1 || !strings.Contains(sink.Failures[0].Error.Message, "deeper than") {
		t.Fatalf("%d items, failures %v; want the one file and one failure for the endless folder", len(sink.Items), sink.Failures)
	}
}

func TestSingleFileShare(t *testing.T) {
	srv := startFake(t, synologytest.Config{RootName: "IMG_0001.CR3"})
	data := bytes.Repeat([]byte("single "), 1000)
	srv.ShareSingleFile(data, time.Unix(1700000000, 0))
	src := open(t, srv, t.TempDir())
	sink := list(t, src, source.ListOptions{})
	if len(sink.Items) != 1 || len(sink.Failures) != 0 {
		t.Fatalf("%d items, %d failures; want the one file", len(sink.Items), len(sink.Failures))
	}
	it := sink.Items[0]
	if it.ID != "/IMG_0001.CR3" || it.Size != int64(len(data)) || !it.Mtime.Equal(time.Unix(1700000000, 0)) || it.Media != "raw" {
		t.Fatalf("item %+v", it)
	}
	c, err := src.Open(context.Background(), it, 100)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(c)
	c.Close()
	if c.Offset != 100 || !bytes.Equal(b, data[100:]) {
		t.Fatalf("offset %d, %d bytes", c.Offset, len(b))
	}
}

func TestOpenResumesAndRestarts(t *testing.T) {
	srv := startFake(t, synologytest.Config{})
	data := bytes.Repeat([]byte("0123456789"), 5000)
	srv.AddFile(synologytest.File{Path: "a/IMG_1.CR3", Data: data, Mtime: time.Unix(1700000000, 0)})
	src := open(t, srv, t.TempDir())
	item := &record.Record{ID: "/09.26.25 First Last/a/IMG_1.CR3"}
	read := func(offset int64) ([]byte, int64, error) {
		c, err := src.Open(context.Background(), item, offset)
		if err != nil {
			return nil, 0, err
		}
		defer c.Close()
		b, err := io.ReadAll(c)
		return b, c.Offset, err
	}
	b, off, err := read(1234)
	if err != nil || off != 1234 || !bytes.Equal(b, data[1234:]) {
		t.Fatalf("ranged read: offset %d, %d bytes, %v", off, len(b), err)
	}
	if _, err := src.Open(context.Background(), item, int64(len(data))+5); !errors.Is(err, source.ErrBadRange) {
		t.Errorf("offset past the end: %v, want ErrBadRange", err)
	}
	// Cut mid-body: the read fails (transient), the next Open resumes.
	srv.Inject(synologytest.Fault{Op: "download", CutAfter: 7000})
	c, err := src.Open(context.Background(), item, 0)
	if err != nil {
		t.Fatal(err)
	}
	part, err := io.ReadAll(c)
	c.Close()
	if err == nil || fault.ClassOf(err) != fault.Transient {
		t.Fatalf("cut body: err %v (class %s), want transient", err, fault.ClassOf(err))
	}
	rest, off, err := read(int64(len(part)))
	if err != nil || off != int64(len(part)) || !bytes.Equal(append(part, rest...), data) {
		t.Fatalf("resume after a cut: offset %d, %d+%d bytes, %v", off, len(part), len(rest), err)
	}
	// A server that ignores Range: Offset 0 and the whole file.
	srv.Configure(func(c *synologytest.Config) { c.IgnoreRange = true })
	b, off, err = read(1000)
	if err != nil || off != 0 || !bytes.Equal(b, data) {
		t.Fatalf("200 to a Range: offset %d, %d bytes, %v", off, len(b), err)
	}
}

// A relay that stops sending mid-body: the read fails (transient) after
// the idle time instead of hanging, and the next Open resumes.
func TestOpenStalledBodyTimesOut(t *testing.T) {
	srv := startFake(t, synologytest.Config{})
	data := bytes.Repeat([]byte("abcdefgh"), 4096)
	srv.AddFile(synologytest.File{Path: "IMG_1.CR3", Data: data, Mtime: time.Unix(1700000000, 0)})
	src := open(t, srv, t.TempDir())
	src.idle = 300 * time.Millisecond
	srv.Inject(synologytest.Fault{Op: "download", StallAfter: 5000, Delay: time.Minute})
	item := &record.Record{ID: "/09.26.25 First Last/IMG_1.CR3"}
	c, err := src.Open(context.Background(), item, 0)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	part, err := io.ReadAll(c)
	c.Close()
	if fault.ClassOf(err) != fault.Transient || !strings.Contains(err.Error(), "stalled") || time.Since(start) > 20*time.Second {
		t.Fatalf("stalled body: %v after %s", err, time.Since(start))
	}
	c, err = src.Open(context.Background(), item, int64(len(part)))
	if err != nil {
		t.Fatal(err)
	}
	rest, err := io.ReadAll(c)
	c.Close()
	if err != nil || !bytes.Equal(append(part, rest...), data) {
		t.Fatalf("resume after a stall: %d+%d bytes, %v", len(part), len(rest), err)
	}
}

func TestOpenRetriesBusyAndBadGateway(t *testing.T) {
	srv := startFake(t, synologytest.Config{})
	srv.AddFile(synologytest.File{Path: "IMG_1.CR3", Data: []byte("raw"), Mtime: time.Unix(1700000000, 0)})
	src := open(t, srv, t.TempDir())
	srv.Inject(synologytest.Fault{Op: "download", Code: 117})
	srv.Inject(synologytest.Fault{Op: "download", Status: 502})
	c, err := src.Open(context.Background(), &record.Record{ID: "/09.26.25 First Last/IMG_1.CR3"}, 0)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	b, _ := io.ReadAll(c)
	c.Close()
	if string(b) != "raw" {
		t.Fatalf("got %q", b)
	}
}

func TestExpiredSessionNeedsSignIn(t *testing.T) {
	srv := startFake(t, synologytest.Config{})
	srv.AddFile(synologytest.File{Path: "IMG_1.CR3", Data: []byte("raw"), Mtime: time.Unix(1700000000, 0)})
	src := open(t, srv, t.TempDir())
	sid := src.c.sid
	srv.ExpireSessions()
	item := &record.Record{ID: "/09.26.25 First Last/IMG_1.CR3"}
	_, err := src.Open(context.Background(), item, 0)
	if fault.ClassOf(err) != fault.Auth || fault.HintOf(err) != "ps-auth synology --link "+srv.Link {
		t.Fatalf("expired session: %v (class %s, hint %q)", err, fault.ClassOf(err), fault.HintOf(err))
	}
	if strings.Contains(err.Error(), sid) {
		t.Error("the error shows the sid")
	}
	before := srv.Stats().Downloads
	for range 5 {
		if _, err := src.Open(context.Background(), item, 0); fault.ClassOf(err) != fault.Auth {
			t.Fatalf("later Open: %v", err)
		}
	}
	if n := srv.Stats().Downloads - before; n != 0 {
		t.Errorf("%d more download requests after the session was known dead", n)
	}
}

// openRemembering signs in as ps-auth --remember-password does and opens
// the source from the saved session (closed at the end of the test); it
// also returns the store and the session record it saved.
func openRemembering(t *testing.T, srv *synologytest.Server) (*Source, state.Store, *record.Record) {
	t.Helper()
	dir := t.TempDir()
	rec := signIn(t, srv.Link, testPassword)
	store := state.Store{Dir: dir}
	if err := store.SaveSession(rec); err != nil {
		t.Fatal(err)
	}
	if err := store.SaveSecretJSON(rec.Source, secretName, rememberedPassword{Password: testPassword}); err != nil {
		t.Fatal(err)
	}
	src, err := New(context.Background(), source.Env{StateDir: dir, Log: quiet}, rec.Source, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close() })
	return src, store, rec
}

func TestExpiredSessionRenewedWithRememberedPassword(t *testing.T) {
	srv := startFake(t, synologytest.Config{SingleSession: true})
	srv.AddFile(synologytest.File{Path: "IMG_1.CR3", Data: []byte("raw"), Mtime: time.Unix(1700000000, 0)})
	src, store, rec := openRemembering(t, srv)
	srv.ExpireSessions()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := src.Open(context.Background(), &record.Record{ID: "/09.26.25 First Last/IMG_1.CR3"}, 0)
			if err == nil {
				c.Close()
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("Open after expiry: %v", err)
		}
	}
	if n := srv.Stats().Logins; n != 2 {
		t.Errorf("%d logins, want 2 (one renewal shared by 8 requests)", n)
	}
	saved, err := store.Session(rec.Source)
	if err != nil || saved.Session["sid"] == rec.Session["sid"] {
		t.Errorf("the renewed session was not saved: %v", err)
	}
}

func TestWrongPasswordIsAuthAndNotRetried(t *testing.T) {
	srv := startFake(t, synologytest.Config{})
	l, _ := ParseLink(srv.Link, false)
	_, err := plainSignIn(context.Background(), newHTTPClient(false), l, "wrong", false, quiet)
	if fault.ClassOf(err) != fault.Auth {
		t.Fatalf("wrong password: %v, want auth", err)
	}
	if n := srv.Stats().BadLogins; n != 1 {
		t.Errorf("%d login attempts with the wrong password, want 1", n)
	}
}

func TestQuickConnectPicksTheRightNAS(t *testing.T) {
	srv := startFake(t, synologytest.Config{Decoy: true, Redirects: 1})
	t.Setenv("PS_QUICKCONNECT_URL", srv.Coordinator)
	for _, link := range []string{srv.GofileLink, srv.QCLink} {
		rec := signIn(t, link, testPassword)
		if got := rec.Session["base"]; got != srv.URL {
			t.Errorf("%s: base %v, want %s", link, got, srv.URL)
		}
	}
	if st := srv.Stats(); st.DecoyLogins != 0 || st.DecoyRequests == 0 {
		t.Errorf("decoy saw %d requests and %d logins; want probes only", st.DecoyRequests, st.DecoyLogins)
	}
	l, _ := ParseLink("https://gofile.me/7nope/AbCdEf123", false)
	if _, err := plainSignIn(context.Background(), newHTTPClient(false), l, testPassword, false, quiet); err == nil || fault.ClassOf(err) == fault.Auth {
		t.Errorf("unknown gofile id: %v, want a resolution error", err)
	}
}

func TestUntrustedCertificateIsPermanent(t *testing.T) {
	srv := startFake(t, synologytest.Config{})
	hc := newHTTPClient(false)
	hc.Transport.(*http.Transport).TLSClientConfig.RootCAs = x509.NewCertPool() // trusts nothing
	c := &client{base: mustURL(t, srv.URL), sharingID: "AbCdEf123", http: hc, policy: retry.Default}
	_, err := c.login(context.Background(), testPassword)
	if fault.ClassOf(err) != fault.Permanent || !strings.Contains(err.Error(), "--insecure") {
		t.Fatalf("untrusted certificate: %v (class %s), want permanent with the --insecure hint", err, fault.ClassOf(err))
	}
	if srv.Stats().Logins+srv.Stats().BadLogins != 0 {
		t.Error("the password reached a server whose certificate did not verify")
	}
}

func mustURL(t testing.TB, s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// DSM ties a session to the address that signed in; after the client's
// address changes (a laptop moving networks) every request gets 150.
func TestAddressChangeRenewsOrAsksForSignIn(t *testing.T) {
	srv := startFake(t, synologytest.Config{})
	srv.AddFile(synologytest.File{Path: "IMG_1.CR3", Data: []byte("raw"), Mtime: time.Unix(1700000000, 0)})
	item := &record.Record{ID: "/09.26.25 First Last/IMG_1.CR3"}

	// Without a remembered password: an auth error naming the fix.
	src := open(t, srv, t.TempDir())
	srv.MoveClient()
	_, err := src.Open(context.Background(), item, 0)
	if fault.ClassOf(err) != fault.Auth || fault.HintOf(err) != "ps-auth synology --link "+srv.Link || !strings.Contains(err.Error(), "network address") {
		t.Fatalf("after the address changed: %v (class %s, hint %q)", err, fault.ClassOf(err), fault.HintOf(err))
	}

	// With one: a fresh sign-in from the new address, and the download works.
	src2, _, _ := openRemembering(t, srv)
	srv.MoveClient()
	logins := srv.Stats().Logins
	c, err := src2.Open(context.Background(), item, 0)
	if err != nil {
		t.Fatalf("Open after the address changed, password remembered: %v", err)
	}
	b, _ := io.ReadAll(c)
	c.Close()
	if string(b) != "raw" || srv.Stats().Logins != logins+1 {
		t.Errorf("got %q after %d new logins, want the file after one", b, srv.Stats().Logins-logins)
	}
}
