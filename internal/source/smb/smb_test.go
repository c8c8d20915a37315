//go:build unix

package smb

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ps-photos/ps/internal/fault"
	"github.com/ps-photos/ps/internal/record"
	"github.com/ps-photos/ps/internal/source"
	"github.com/ps-photos/ps/internal/source/smb/smbtest"
	"github.com/ps-photos/ps/internal/source/sourcetest"
)

// newServer starts smbd for one test.
func newServer(t *testing.T) *smbtest.Server {
	t.Helper()
	return smbtest.New(t, smbtest.Options{})
}

// sourceFor opens a source on srv at folder with the right password.
func sourceFor(t *testing.T, srv *smbtest.Server, folder string) *Source {
	t.Helper()
	loc := srv.URL()
	if folder != "" {
		loc += "/" + folder
	}
	cfg, err := ParseLocation(loc)
	if err != nil {
		t.Fatal(err)
	}
	s := New(cfg, Credentials{Username: srv.User, Password: srv.Password})
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	srv := newServer(t)
	var n atomic.Int64
	for _, jobs := range []int{1, 8} {
		t.Run(fmt.Sprintf("j%d", jobs), func(t *testing.T) {
			sourcetest.Run(t, sourcetest.Config{
				New: func(t *testing.T, files []sourcetest.File) (source.Source, source.ListOptions) {
					// Each case gets a folder of its own on the one server.
					folder := fmt.Sprintf("case%03d", n.Add(1))
					for _, f := range files {
						if err := srv.WriteFile(path.Join(folder, f.Path), f.Data, f.Mtime); err != nil {
							t.Fatal(err)
						}
					}
					return sourceFor(t, srv, folder), source.ListOptions{Jobs: jobs}
				},
			})
		})
	}
}

// memSink collects a listing.
type memSink struct {
	mu       sync.Mutex
	items    map[string]*record.Record
	dups     []string
	failures []*record.Record
	errs     []error
	onItem   func(n int)
}

func newSink() *memSink { return &memSink{items: map[string]*record.Record{}} }

func (s *memSink) Item(rec *record.Record) error {
	s.mu.Lock()
	if s.items[rec.ID] != nil {
		s.dups = append(s.dups, rec.ID)
	}
	s.items[rec.ID] = rec
	n := len(s.items)
	s.mu.Unlock()
	if s.onItem != nil {
		s.onItem(n)
	}
	return nil
}

func (s *memSink) Failure(rec *record.Record, err error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures = append(s.failures, rec)
	s.errs = append(s.errs, err)
	return nil
}

func listAll(t *testing.T, s *Source, opts source.ListOptions) *memSink {
	t.Helper()
	sink := newSink()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := s.List(ctx, opts, sink); err != nil {
		t.Fatalf("List: %v", err)
	}
	return sink
}

func TestListTreeAndHash(t *testing.T) {
	srv := newServer(t)
	if err := srv.Populate(smbtest.Tree{Small: 300, SmallSize: 100}); err != nil {
		t.Fatal(err)
	}
	s := sourceFor(t, srv, "")
	sink := listAll(t, s, source.ListOptions{Jobs: 4, Hash: "sha256"})
	if len(sink.failures) > 0 || len(sink.dups) > 0 {
		t.Fatalf("failures %v, duplicates %v", sink.errs, sink.dups)
	}
	want := len(smbtest.FixtureFiles) + 300
	if len(sink.items) != want {
		t.Fatalf("listed %d items, want %d", len(sink.items), want)
	}
	for rel, data := range smbtest.FixtureFiles {
		it := sink.items[rel]
		if it == nil {
			t.Errorf("%q not listed", rel)
			continue
		}
		sum := sha256.Sum256([]byte(data))
		if got := it.Hash["sha256"]; got != hex.EncodeToString(sum[:]) {
			t.Errorf("%s: sha256 %q, want %x", rel, got, sum)
		}
		if it.Size != int64(len(data)) || !it.Mtime.Equal(smbtest.FixtureTime) {
			t.Errorf("%s: size %d mtime %s", rel, it.Size, it.Mtime)
		}
	}
}

func TestListFolderKeepsShareIDs(t *testing.T) {
	srv := newServer(t)
	if err := srv.Populate(smbtest.Tree{}); err != nil {
		t.Fatal(err)
	}
	s := sourceFor(t, srv, "Music/Jazz")
	sink := listAll(t, s, source.ListOptions{Jobs: 2})
	it := sink.items["Music/Jazz/Miles Davis/So What.flac"]
	if it == nil || it.Path != "Miles Davis/So What.flac" {
		t.Fatalf("want id within the share and path within the folder, got %+v (all: %v)", it, keysOf(sink.items))
	}
	if len(sink.items) != 3 {
		t.Errorf("listed %d items under Music/Jazz, want 3: %v", len(sink.items), keysOf(sink.items))
	}
	if it.Source != srv.URL()+"/Music/Jazz" {
		t.Errorf("source %q", it.Source)
	}
	c, err := s.Open(context.Background(), it, 3)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(c)
	c.Close()
	if string(b) != "what" {
		t.Errorf("read %q from offset 3, want %q", b, "what")
	}
}

func keysOf(m map[string]*record.Record) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestWrongPasswordIsAuth(t *testing.T) {
	srv := newServer(t)
	cfg, _ := ParseLocation(srv.URL())
	s := New(cfg, Credentials{Username: srv.User, Password: "wrong"})
	defer s.Close()
	s.policy.Sleep = func(context.Context, time.Duration) error { return nil }
	err := s.List(context.Background(), source.ListOptions{Jobs: 1}, newSink())
	if fault.ClassOf(err) != fault.Auth {
		t.Fatalf("List with a wrong password: %v (class %s), want auth", err, fault.ClassOf(err))
	}
	if h := fault.HintOf(err); h != fmt.Sprintf("ps-auth smb --server 127.0.0.1:%d --share photos --user %s", srv.Port, srv.User) {
		t.Errorf("hint %q", h)
	}
	if bytes.Contains([]byte(err.Error()), []byte("wrong")) {
		t.Errorf("error %q shows the password", err)
	}
}

func TestUnreadableFolderIsAFailure(t *testing.T) {
	srv := newServer(t)
	if err := srv.Populate(smbtest.Tree{}); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(srv.Path("Music/Temp"), 0o000); err != nil {
		t.Fatal(err)
	}
	s := sourceFor(t, srv, "")
	sink := listAll(t, s, source.ListOptions{Jobs: 3})
	if len(sink.failures) != 1 || sink.failures[0].Path != "Music/Temp" || sink.failures[0].Meta["folder"] != true {
		t.Fatalf("want one folder failure for Music/Temp, got %v %v", sink.failures, sink.errs)
	}
	if c := fault.ClassOf(sink.errs[0]); c != fault.Permanent {
		t.Errorf("class %s, want permanent (access denied to one folder)", c)
	}
	if len(sink.items) != len(smbtest.FixtureFiles)-1 {
		t.Errorf("listed %d items, want every other file (%d)", len(sink.items), len(smbtest.FixtureFiles)-1)
	}
}

func TestMissingRootIsNotFound(t *testing.T) {
	srv := newServer(t)
	s := sourceFor(t, srv, "no/such/folder")
	err := s.List(context.Background(), source.ListOptions{}, newSink())
	if fault.ClassOf(err) != fault.NotFound {
		t.Fatalf("List of a missing folder: %v, want not_found", err)
	}
}

// TestKilledServerMidWalk drops every connection while the walk is under
// way and brings the server back: the walk reconnects, re-reads the
// folders it was in, and lists every file exactly once.
func TestKilledServerMidWalk(t *testing.T) {
	srv := newServer(t)
	if err := srv.Populate(smbtest.Tree{Small: 2000, SmallSize: 10}); err != nil {
		t.Fatal(err)
	}
	s := sourceFor(t, srv, "")
	var once sync.Once
	restarted := make(chan error, 1)
	sink := newSink()
	sink.onItem = func(n int) {
		if n == 300 {
			once.Do(func() {
				if err := srv.Kill(); err != nil {
					restarted <- err
					return
				}
				go func() {
					time.Sleep(500 * time.Millisecond)
					restarted <- srv.Restart()
				}()
			})
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := s.List(ctx, source.ListOptions{Jobs: 4}, sink); err != nil {
		t.Fatalf("List: %v", err)
	}
	if err := <-restarted; err != nil {
		t.Fatalf("restart: %v", err)
	}
	if len(sink.failures) > 0 || len(sink.dups) > 0 {
		t.Fatalf("failures %v, duplicates %v", sink.errs, sink.dups)
	}
	if want := len(smbtest.FixtureFiles) + 2000; len(sink.items) != want {
		t.Fatalf("listed %d items, want %d", len(sink.items), want)
	}
}

// TestKilledServerMidHash: with --hash, the files being read when smbd
// dies are read again once it is back; every item carries its hash.
func TestKilledServerMidHash(t *testing.T) {
	srv := newServer(t)
	if err := srv.Populate(smbtest.Tree{Small: 600, SmallSize: 256 << 10}); err != nil {
		t.Fatal(err)
	}
	s := sourceFor(t, srv, "Photos/many")
	var once sync.Once
	restarted := make(chan error, 1)
	sink := newSink()
	sink.onItem = func(n int) {
		if n == 100 {
			once.Do(func() {
				if err := srv.Kill(); err != nil {
					restarted <- err
					return
				}
				go func() {
					time.Sleep(300 * time.Millisecond)
					restarted <- srv.Restart()
				}()
			})
		}
	}
	if err := s.List(context.Background(), source.ListOptions{Jobs: 2, Hash: "sha256"}, sink); err != nil {
		t.Fatalf("List: %v", err)
	}
	if err := <-restarted; err != nil {
		t.Fatal(err)
	}
	if len(sink.failures) > 0 || len(sink.dups) > 0 || len(sink.items) != 600 {
		t.Fatalf("%d items, failures %v, duplicates %v", len(sink.items), sink.errs, sink.dups)
	}
	for id, it := range sink.items {
		var i int
		fmt.Sscanf(path.Base(id), "IMG_%05d.JPG", &i)
		sum := sha256.Sum256(smbtest.Generate(uint64(i), 256<<10))
		if it.Hash["sha256"] != hex.EncodeToString(sum[:]) {
			t.Fatalf("%s: hash %q, want %x", id, it.Hash["sha256"], sum)
		}
	}
}

// TestPasswordChangedMidWalk: the server restarts with a new password; the
// walk cannot sign in again and ends with an auth error naming ps-auth,
// rather than a failure per folder.
func TestPasswordChangedMidWalk(t *testing.T) {
	srv := newServer(t)
	if err := srv.Populate(smbtest.Tree{Small: 1500, SmallSize: 10}); err != nil {
		t.Fatal(err)
	}
	s := sourceFor(t, srv, "")
	s.policy.Sleep = func(context.Context, time.Duration) error { return nil }
	var once sync.Once
	var changeErr error
	sink := newSink()
	sink.onItem = func(n int) {
		if n == 100 {
			once.Do(func() {
				changeErr = errors.Join(srv.SetPassword("a-new-password"), srv.Kill(), srv.Restart())
			})
		}
	}
	// One reader: it is the one changing the server (inside the sink), so
	// no other request can meet the server while it is down.
	err := s.List(context.Background(), source.ListOptions{Jobs: 1}, sink)
	if changeErr != nil {
		t.Fatal(changeErr)
	}
	if fault.ClassOf(err) != fault.Auth || fault.HintOf(err) == "" {
		t.Fatalf("List after the password changed: %v (class %s, hint %q), want auth with a hint", err, fault.ClassOf(err), fault.HintOf(err))
	}
	if len(sink.failures) > 0 {
		t.Errorf("want the walk to end, not %d folder failures", len(sink.failures))
	}
}

// TestHungServerMidWalk freezes smbd while the walk is under way: the
// folder read times out, its connection is dropped, and once the server
// answers again the walk finishes with every file once.
func TestHungServerMidWalk(t *testing.T) {
	srv := newServer(t)
	if err := srv.Populate(smbtest.Tree{Small: 1500, SmallSize: 10}); err != nil {
		t.Fatal(err)
	}
	s := sourceFor(t, srv, "")
	s.FolderTimeout = 500 * time.Millisecond
	var retries atomic.Int64
	s.policy.OnRetry = func(_ int, err error, _ time.Duration) {
		var he *hungError
		if errors.As(err, &he) {
			retries.Add(1)
		}
	}
	var once sync.Once
	resumed := make(chan error, 1)
	sink := newSink()
	sink.onItem = func(n int) {
		if n == 100 {
			once.Do(func() {
				if err := srv.Pause(); err != nil {
					resumed <- err
					return
				}
				go func() {
					time.Sleep(1500 * time.Millisecond)
					resumed <- srv.Resume()
				}()
			})
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := s.List(ctx, source.ListOptions{Jobs: 2}, sink); err != nil {
		t.Fatalf("List: %v", err)
	}
	if err := <-resumed; err != nil {
		t.Fatal(err)
	}
	if len(sink.failures) > 0 || len(sink.dups) > 0 {
		t.Fatalf("failures %v, duplicates %v", sink.errs, sink.dups)
	}
	if want := len(smbtest.FixtureFiles) + 1500; len(sink.items) != want {
		t.Fatalf("listed %d items, want %d", len(sink.items), want)
	}
	if retries.Load() == 0 {
		t.Error("no folder read timed out while smbd was frozen")
	}
}

// TestLargeFileOffsets reads a file over 100 MiB from several offsets and
// checks every byte, and a broken connection mid-read is transient.
func TestLargeFileOffsets(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 101 MiB")
	}
	srv := newServer(t)
	const size = 101<<20 + 12345
	if err := srv.WriteLarge("big/large.MOV", size, 7); err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(srv.Path("big/large.MOV"))
	if err != nil {
		t.Fatal(err)
	}
	s := sourceFor(t, srv, "")
	it := &record.Record{ID: "big/large.MOV"}
	for _, off := range []int64{0, 1, 64<<20 + 3, size - 1, size} {
		c, err := s.Open(context.Background(), it, off)
		if err != nil {
			t.Fatalf("Open at %d: %v", off, err)
		}
		got, err := io.ReadAll(c)
		c.Close()
		if err != nil {
			t.Fatalf("read at %d: %v", off, err)
		}
		if c.Size != size || c.Offset != off || !bytes.Equal(got, want[off:]) {
			t.Fatalf("offset %d: size %d offset %d, %d bytes that differ from the file", off, c.Size, c.Offset, len(got))
		}
	}
	if _, err := s.Open(context.Background(), it, size+1); !errors.Is(err, source.ErrBadRange) {
		t.Errorf("Open past the end: %v, want ErrBadRange", err)
	}

	c, err := s.Open(context.Background(), it, 0)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1<<20)
	if _, err := io.ReadFull(c, buf); err != nil {
		t.Fatal(err)
	}
	if err := srv.Kill(); err != nil {
		t.Fatal(err)
	}
	_, err = io.Copy(io.Discard, c)
	c.Close()
	if fault.ClassOf(err) != fault.Transient {
		t.Fatalf("read after the server died: %v (class %s), want transient", err, fault.ClassOf(err))
	}
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	c, err = s.Open(context.Background(), it, 5<<20)
	if err != nil {
		t.Fatalf("Open after restart: %v", err)
	}
	got, err := io.ReadAll(c)
	c.Close()
	if err != nil || !bytes.Equal(got, want[5<<20:]) {
		t.Fatalf("resumed read after restart: %v, %d bytes", err, len(got))
	}
}

// TestPoolLimit: many goroutines at once share the allowed connections
// rather than dialing one each.
func TestPoolLimit(t *testing.T) {
	srv := newServer(t)
	s := sourceFor(t, srv, "")
	s.pool.limit(2)
	var wg sync.WaitGroup
	conns := make(chan *conn, 16)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := s.pool.get(context.Background())
			if err != nil {
				t.Error(err)
				return
			}
			conns <- c
		}()
	}
	wg.Wait()
	close(conns)
	for c := range conns {
		s.pool.put(c, nil)
	}
	if n := s.pool.size(); n != 2 {
		t.Errorf("%d connections open, want the limit of 2", n)
	}
}

func TestFactoryWithoutCredentials(t *testing.T) {
	t.Setenv("PS_PASSWORD", "")
	os.Unsetenv("PS_PASSWORD")
	src, err := Factory.New(context.Background(), source.Env{StateDir: t.TempDir()}, "smb://me@nas/photos", nil)
	if src != nil {
		t.Errorf("Factory.New returned a source (%#v) with its error", src)
	}
	if fault.ClassOf(err) != fault.Auth || fault.HintOf(err) != "ps-auth smb --server nas --share photos --user me" {
		t.Errorf("no credentials: %v (class %s, hint %q)", err, fault.ClassOf(err), fault.HintOf(err))
	}
}

func TestParseLocation(t *testing.T) {
	for _, tc := range []struct {
		in, loc, share, folder, user string
		port                         int
	}{
		{"smb://nas/photos", "smb://nas:445/photos", "photos", "", "", 445},
		{"smb://me@nas:1445/photos/2024/Trip A", "smb://me@nas:1445/photos/2024/Trip%20A", "photos", "2024/Trip A", "me", 1445},
		{"smb://WORK;me@nas/music/", "smb://WORK;me@nas:445/music", "music", "", "me", 445},
		{"smb://[::1]:1445/x/y", "smb://[::1]:1445/x/y", "x", "y", "", 1445},
	} {
		c, err := ParseLocation(tc.in)
		if err != nil {
			t.Errorf("%s: %v", tc.in, err)
			continue
		}
		if c.Location() != tc.loc || c.Share != tc.share || c.Folder != tc.folder || c.User != tc.user || c.Port != tc.port {
			t.Errorf("%s: got %+v location %s", tc.in, c, c.Location())
		}
		// The canonical location parses to itself.
		if c2, err := ParseLocation(c.Location()); err != nil || c2 != c {
			t.Errorf("%s: round trip %+v, %v", tc.in, c2, err)
		}
	}
	for _, bad := range []string{"smb://nas", "smb:///share", "smb://me:secret@nas/share", "smb://nas/share/../x", "smb://nas:99999/s"} {
		_, err := ParseLocation(bad)
		if err == nil {
			t.Errorf("%s: accepted", bad)
		} else if bytes.Contains([]byte(err.Error()), []byte("secret")) {
			t.Errorf("%s: error shows the password: %v", bad, err)
		}
	}
	if got := Redact("smb://me:secret@nas/share"); got != "smb://me:REDACTED@nas/share" {
		t.Errorf("Redact: %s", got)
	}
}
