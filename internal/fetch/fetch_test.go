package fetch

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ps-photos/ps/internal/fault"
	"github.com/ps-photos/ps/internal/fetch/fetchtest"
	"github.com/ps-photos/ps/internal/manifest"
	"github.com/ps-photos/ps/internal/naming"
	"github.com/ps-photos/ps/internal/record"
	"github.com/ps-photos/ps/internal/retry"
	"github.com/ps-photos/ps/internal/source"
	"github.com/ps-photos/ps/internal/source/httpget"
	"github.com/ps-photos/ps/internal/source/local"
)

// --- the fault-injecting HTTP server ----------------------------------------

type faultKind = fetchtest.Fault

const (
	dropMidBody  = fetchtest.Drop
	status500    = fetchtest.E500
	tooMany      = fetchtest.E429
	stallBody    = fetchtest.Stall
	shortBody    = fetchtest.Short
	wrongLength  = fetchtest.Length
	ignoreRange  = fetchtest.Whole
	rangeRefused = fetchtest.E416
)

type fakeHTTP struct{ *fetchtest.Server }

func newFakeHTTP(t *testing.T) *fakeHTTP {
	s := fetchtest.New()
	t.Cleanup(s.Close)
	return &fakeHTTP{s}
}

var fixedMtime = time.Date(2024, 7, 1, 10, 0, 0, 0, time.UTC)

func (f *fakeHTTP) add(name string, data []byte, faults ...faultKind) *record.Record {
	return f.Add(name, data, fixedMtime, faults...)
}

func (f *fakeHTTP) hitCount(name string) int { return f.Hits(name) }

// --- helpers --------------------------------------------------------------

// opener serves url-only records over HTTP and file records locally, and
// can be told to fail a source with an auth error.
type opener struct {
	http     *httpget.Source
	mu       sync.Mutex
	local    map[string]source.Source
	authFail string
	opens    int
}

func (o *opener) ForRecord(_ context.Context, rec *record.Record) (source.Source, string, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.opens++
	if rec.Source != "" && rec.Source == o.authFail {
		return authSource{}, rec.Source, nil
	}
	if rec.Source == "" {
		return o.http, "http:", nil
	}
	if s, ok := o.local[rec.Source]; ok {
		return s, rec.Source, nil
	}
	s, err := local.New(rec.Source)
	if err != nil {
		return nil, "", err
	}
	if o.local == nil {
		o.local = map[string]source.Source{}
	}
	o.local[rec.Source] = s
	return s, rec.Source, nil
}

type authSource struct{ source.Source }

func (authSource) Open(context.Context, *record.Record, int64) (*source.Content, error) {
	return nil, fault.WithHint(fault.Auth, fmt.Errorf("session expired"), "ps-auth test --again")
}

type run struct {
	out   []*record.Record
	stats Stats
	err   error
	waits []time.Duration
}

func (r *run) byPath() map[string]*record.Record {
	m := map[string]*record.Record{}
	for _, rec := range r.out {
		if rec.Path != "" {
			m[rec.Path] = rec
		}
	}
	return m
}

func testOptions(t *testing.T, dir string) Options {
	tmpl, err := naming.Parse("path")
	if err != nil {
		t.Fatal(err)
	}
	return Options{Dir: dir, Jobs: 4, Name: tmpl, Retries: 3, IdleTimeout: 5 * time.Second,
		Opener: &opener{http: httpget.New()}}
}

func runFetch(t *testing.T, opts Options, recs ...*record.Record) *run {
	t.Helper()
	var in bytes.Buffer
	for _, r := range recs {
		b, err := r.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		in.Write(append(b, '\n'))
	}
	return runInput(t, opts, &in)
}

func runInput(t *testing.T, opts Options, in io.Reader) *run {
	t.Helper()
	res := &run{}
	var mu sync.Mutex
	opts.Backoff.Sleep = func(ctx context.Context, d time.Duration) error {
		mu.Lock()
		res.waits = append(res.waits, d)
		mu.Unlock()
		return retry.SleepCtx(ctx, min(d, 20*time.Millisecond))
	}
	var out bytes.Buffer
	enc := record.NewEncoder(&out)
	res.stats, res.err = Run(context.Background(), in, enc, opts)
	enc.Close()
	dec := record.NewDecoder(&out)
	for {
		rec, err := dec.Decode()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		res.out = append(res.out, rec)
	}
	return res
}

func payload(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7) ^ seed
	}
	return b
}

func sha(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

func mustFile(t *testing.T, p string, want []byte) {
	t.Helper()
	got, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s: %d bytes, want %d (content differs)", p, len(got), len(want))
	}
}

func noParts(t *testing.T, dir string) {
	t.Helper()
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && strings.HasSuffix(p, ".part") {
			t.Errorf("left behind: %s", p)
		}
		return nil
	})
}

// --- HTTP faults ----------------------------------------------------------

func TestHTTPFaultsAreRetriedAndResumed(t *testing.T) {
	srv := newFakeHTTP(t)
	dir := t.TempDir()
	data := payload(3<<20+123, 1)
	recs := []*record.Record{
		srv.add("drop.bin", data, dropMidBody),
		srv.add("e500.bin", data, status500, status500),
		srv.add("429.bin", data, tooMany),
		srv.add("short.bin", data, shortBody),
		srv.add("restart.bin", data, dropMidBody, ignoreRange),
		srv.add("stall.bin", data, stallBody),
	}
	opts := testOptions(t, dir)
	opts.IdleTimeout = time.Second
	r := runFetch(t, opts, recs...)
	if r.err != nil || r.stats.Failed != 0 || r.stats.Downloaded != int64(len(recs)) {
		t.Fatalf("err %v, stats %+v, out %v", r.err, r.stats, r.out)
	}
	for _, rec := range r.byPath() {
		if rec.Status != record.StatusDownloaded || rec.Hash["sha256"] != sha(data) {
			t.Errorf("%s: status %q hash %q", rec.Path, rec.Status, rec.Hash["sha256"])
		}
		mustFile(t, filepath.Join(dir, rec.Path), data)
		if st, _ := os.Stat(filepath.Join(dir, rec.Path)); !st.ModTime().Equal(rec.Mtime) {
			t.Errorf("%s: mtime %v, want %v", rec.Path, st.ModTime(), rec.Mtime)
		}
	}
	noParts(t, dir)
	// The dropped download resumed from what it had: its second request
	// asked for a range, not the whole file again.
	// (Counts are lower bounds: on a loaded machine a healthy request may
	// also hit the idle timeout and be retried.)
	if rs := srv.Ranges("drop.bin"); len(rs) < 2 || rs[1] == "" {
		t.Errorf("drop.bin requests: %q, want a Range on the second", rs)
	}
	if rs := srv.Ranges("stall.bin"); len(rs) < 2 || rs[1] == "" {
		t.Errorf("stall.bin requests: %q, want the idle timeout to fire and a resume", rs)
	}
	if srv.Hits("e500.bin") < 3 {
		t.Errorf("e500.bin: %d requests, want 3", srv.Hits("e500.bin"))
	}
	foundRetryAfter := false
	for _, w := range r.waits {
		if w > 900*time.Millisecond {
			foundRetryAfter = true
		}
	}
	if !foundRetryAfter {
		t.Errorf("no wait honoured Retry-After: 1 (waits %v)", r.waits)
	}
}

func TestHTTPPermanentFaultsFailOnce(t *testing.T) {
	srv := newFakeHTTP(t)
	dir := t.TempDir()
	data := payload(100<<10, 2)
	lenRec := srv.add("length.bin", data, wrongLength)
	missing := srv.add("missing.bin", data)
	missing.URL += "-nope"
	badHash := srv.add("hash.bin", data)
	badHash.Hash = map[string]string{"sha256": strings.Repeat("0", 64)}
	always500 := srv.add("always.bin", data, status500, status500, status500, status500, status500)
	r := runFetch(t, testOptions(t, dir), lenRec, missing, badHash, always500)
	want := map[string]struct {
		class    fault.Class
		attempts int
		msg      string
	}{
		"length.bin":  {fault.Permanent, 1, "the record says"},
		"missing.bin": {fault.NotFound, 1, "404"},
		"hash.bin":    {fault.Permanent, 1, "sha256 mismatch"},
		"always.bin":  {fault.Transient, 4, "500"},
	}
	got := r.byPath()
	for p, w := range want {
		rec := got[p]
		if rec == nil || rec.Type != record.TypeFailure || rec.Error == nil {
			t.Errorf("%s: %+v, want a failure", p, rec)
			continue
		}
		if rec.Error.Class != string(w.class) || rec.Error.Attempts != w.attempts || !strings.Contains(rec.Error.Message, w.msg) {
			t.Errorf("%s: error %+v, want class %s after %d attempts mentioning %q", p, rec.Error, w.class, w.attempts, w.msg)
		}
		if _, err := os.Stat(filepath.Join(dir, p)); err == nil {
			t.Errorf("%s exists after a failure", p)
		}
	}
	if r.stats.Failed != 4 {
		t.Errorf("stats %+v", r.stats)
	}
	noParts(t, dir) // permanent failures remove their parts; transient ones keep theirs only if bytes came
}

func TestRangeRefusedRestartsFromZero(t *testing.T) {
	srv := newFakeHTTP(t)
	dir := t.TempDir()
	data := payload(1<<20, 3)
	rec := srv.add("a.bin", data, rangeRefused)
	// A stale part that is not a prefix of the file.
	target := filepath.Join(dir, "a.bin")
	os.WriteFile(partPath(target, rec), []byte("not the right bytes"), 0o644)
	r := runFetch(t, testOptions(t, dir), rec)
	if r.stats.Downloaded != 1 {
		t.Fatalf("%+v %v", r.stats, r.out)
	}
	mustFile(t, target, data)
	noParts(t, dir)
}

// --- resume, skip, force, verify -----------------------------------------

// A part left behind is resumed with a Range request when it was begun
// from the version the server has; one that says nothing of its version
// (an older ps-fetch's) is not completed with bytes that may be of
// another: it starts over.
func TestResumeFromPartLeftBehind(t *testing.T) {
	for _, versioned := range []bool{true, false} {
		t.Run(map[bool]string{true: "versioned", false: "unversioned"}[versioned], func(t *testing.T) {
			srv := newFakeHTTP(t)
			dir := t.TempDir()
			data := payload(2<<20, 4)
			rec := srv.add("r.bin", data)
			target := filepath.Join(dir, "r.bin")
			part := partPath(target, rec)
			prefix, want := data[:777777], []string{"bytes=777777-"}
			if !versioned {
				prefix, want = payload(777777, 5), []string{"bytes=777777-", ""}
			}
			os.WriteFile(part, prefix, 0o644)
			if versioned {
				writeVersionXattr(part, srv.ETag("r.bin"))
			}
			r := runFetch(t, testOptions(t, dir), rec)
			if r.stats.Downloaded != 1 {
				t.Fatalf("%+v %v", r.stats, r.out)
			}
			mustFile(t, target, data)
			if got := r.out[0].Hash["sha256"]; got != sha(data) {
				t.Errorf("hash %s: the resumed prefix was not hashed", got)
			}
			if rs := srv.Ranges("r.bin"); !slices.Equal(rs, want) {
				t.Errorf("requests %q, want %q", rs, want)
			}
			if v, _ := readVersionXattr(target); v != "" {
				t.Errorf("the part's version %q went along to the file", v)
			}
		})
	}
}

// interrupted runs a fetch of rec that Ctrl-C stops after its first
// write, leaving a part, and returns its length.
func interrupted(t *testing.T, opts Options, rec *record.Record) int64 {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	opts.Jobs = 1
	opts.testHookPart = func(string, int64) { cancel() }
	var in bytes.Buffer
	b, _ := rec.MarshalJSON()
	in.Write(append(b, '\n'))
	stats, err := Run(ctx, &in, record.NewEncoder(io.Discard), opts)
	if err != nil || stats.Failed != 1 {
		t.Fatalf("err %v stats %+v", err, stats)
	}
	st, err := os.Stat(partPath(filepath.Join(opts.Dir, filepath.FromSlash(rec.Path)), rec))
	if err != nil || st.Size() == 0 || st.Size() >= rec.Size {
		t.Fatalf("no partial download left: %v", err)
	}
	return st.Size()
}

// The source's bytes change (same size) between an interrupted run and
// the next: the part is of the old version and must not be completed with
// the new one. Over HTTP the server answers the If-Range with the whole
// new file; a local file is told by its mtime and size.
func TestResumeRestartsWhenTheSourceChanged(t *testing.T) {
	size := 8 << 20
	oldData, newData := payload(size, 21), payload(size, 22)
	t.Run("http", func(t *testing.T) {
		srv := newFakeHTTP(t)
		dir := t.TempDir()
		rec := srv.add("v.bin", oldData)
		interrupted(t, testOptions(t, dir), rec)
		srv.add("v.bin", newData)
		r := runFetch(t, testOptions(t, dir), rec)
		if r.stats.Downloaded != 1 {
			t.Fatalf("%+v %v", r.stats, r.out)
		}
		mustFile(t, filepath.Join(dir, "v.bin"), newData)
		if got := r.out[0].Hash["sha256"]; got != sha(newData) {
			t.Errorf("reported sha256 %s, want the new bytes'", got)
		}
		if rs := srv.Ranges("v.bin"); len(rs) != 2 || rs[1] == "" {
			t.Errorf("requests %q: want the resume to ask for a range (and get the whole new file)", rs)
		}
		noParts(t, dir)
	})
	t.Run("local", func(t *testing.T) {
		srcDir, dir := t.TempDir(), t.TempDir()
		p := filepath.Join(srcDir, "v.bin")
		if err := os.WriteFile(p, oldData, 0o644); err != nil {
			t.Fatal(err)
		}
		rec := &record.Record{Type: record.TypeItem, Source: local.Location(srcDir), ID: "v.bin", Path: "v.bin", Size: int64(size)}
		interrupted(t, testOptions(t, dir), rec)
		if err := os.WriteFile(p, newData, 0o644); err != nil {
			t.Fatal(err)
		}
		later := time.Now().Add(time.Second)
		os.Chtimes(p, later, later)
		r := runFetch(t, testOptions(t, dir), rec)
		if r.stats.Downloaded != 1 {
			t.Fatalf("%+v %v", r.stats, r.out)
		}
		mustFile(t, filepath.Join(dir, "v.bin"), newData)
		noParts(t, dir)
	})
	t.Run("unchanged local resumes", func(t *testing.T) {
		srcDir, dir := t.TempDir(), t.TempDir()
		if err := os.WriteFile(filepath.Join(srcDir, "v.bin"), oldData, 0o644); err != nil {
			t.Fatal(err)
		}
		rec := &record.Record{Type: record.TypeItem, Source: local.Location(srcDir), ID: "v.bin", Path: "v.bin", Size: int64(size)}
		have := interrupted(t, testOptions(t, dir), rec)
		var offsets []int64
		opts := testOptions(t, dir)
		opts.testHookPart = func(_ string, n int64) { offsets = append(offsets, n) }
		if r := runFetch(t, opts, rec); r.stats.Downloaded != 1 {
			t.Fatalf("%+v %v", r.stats, r.out)
		}
		mustFile(t, filepath.Join(dir, "v.bin"), oldData)
		if len(offsets) == 0 || offsets[0] <= have {
			t.Errorf("writes ended at %v: the part of %d bytes was not resumed", offsets, have)
		}
	})
}

func TestManifestSkipsWithoutNetwork(t *testing.T) {
	srv := newFakeHTTP(t)
	dir := t.TempDir()
	a, b := payload(1000, 5), payload(2000, 6)
	recs := []*record.Record{srv.add("x/a.jpg", a), srv.add("b.jpg", b)}
	if r := runFetch(t, testOptions(t, dir), recs...); r.stats.Downloaded != 2 {
		t.Fatalf("first run: %+v", r.stats)
	}
	srv.Close() // no network from here on
	opts := testOptions(t, dir)
	op := opts.Opener.(*opener)
	r := runFetch(t, opts, recs...)
	if r.stats.Skipped != 2 || r.stats.Downloaded != 0 || op.opens != 0 {
		t.Fatalf("second run: %+v, %d source opens", r.stats, op.opens)
	}
	for _, rec := range r.out {
		if rec.Status != record.StatusSkipped || rec.Local == "" || len(rec.Hash["sha256"]) != 64 {
			t.Errorf("skipped result %+v", rec)
		}
	}
	// A file that vanished locally, or an item whose size changed, is
	// fetched again (and fails here: the server is gone).
	os.Remove(filepath.Join(dir, "b.jpg"))
	r = runFetch(t, testOptions(t, dir), recs...)
	if r.stats.Skipped != 1 || r.stats.Failed != 1 {
		t.Fatalf("after removing b.jpg: %+v", r.stats)
	}
}

func TestForceAndVerifyExisting(t *testing.T) {
	srv := newFakeHTTP(t)
	dir := t.TempDir()
	data := payload(5000, 7)
	rec := srv.add("v.jpg", data)
	runFetch(t, testOptions(t, dir), rec)
	// Corrupt the local copy without changing its size or mtime.
	p := filepath.Join(dir, "v.jpg")
	bad := append([]byte(nil), data...)
	bad[10] ^= 0xff
	os.WriteFile(p, bad, 0o644)
	os.Chtimes(p, rec.Mtime, rec.Mtime)
	if r := runFetch(t, testOptions(t, dir), rec); r.stats.Skipped != 1 {
		t.Fatalf("plain re-run should trust the manifest: %+v", r.stats)
	}
	opts := testOptions(t, dir)
	opts.VerifyExisting = true
	if r := runFetch(t, opts, rec); r.stats.Downloaded != 1 {
		t.Fatalf("--verify-existing should re-fetch the corrupt file: %+v", r.stats)
	}
	mustFile(t, p, data)
	opts = testOptions(t, dir)
	opts.VerifyExisting = true
	if r := runFetch(t, opts, rec); r.stats.Skipped != 1 {
		t.Fatalf("--verify-existing on a good file: %+v", r.stats)
	}
	before := srv.hitCount("v.jpg")
	opts = testOptions(t, dir)
	opts.Force = true
	if r := runFetch(t, opts, rec); r.stats.Downloaded != 1 || srv.hitCount("v.jpg") != before+1 {
		t.Fatalf("--force: %+v", r.stats)
	}
}

// --- names ----------------------------------------------------------------

func TestNamesAreDeterministicUnderParallelism(t *testing.T) {
	srv := newFakeHTTP(t)
	var recs []*record.Record
	for i := range 40 {
		// Every item is named IMG.JPG by {name}; sizes vary so downloads
		// finish in a scrambled order.
		data := payload(1000+((i*7919)%13)*50000, byte(i))
		rec := srv.add(fmt.Sprintf("d%02d/IMG.JPG", i), data)
		recs = append(recs, rec)
	}
	tmpl, _ := naming.Parse("{name}")
	names := func(dir string) map[string]string {
		opts := testOptions(t, dir)
		opts.Jobs = 8
		opts.Name = tmpl
		r := runFetch(t, opts, recs...)
		if r.stats.Downloaded+r.stats.Skipped != 40 {
			t.Fatalf("%+v", r.stats)
		}
		m := map[string]string{}
		for _, rec := range r.out {
			rel, _ := filepath.Rel(dir, rec.Local)
			m[rec.Path] = rel
		}
		return m
	}
	dir := t.TempDir()
	first := names(dir)
	for i, rec := range recs {
		want := naming.WithSuffix("IMG.JPG", i)
		if first[rec.Path] != want {
			t.Fatalf("%s got %s, want %s (input order decides)", rec.Path, first[rec.Path], want)
		}
	}
	again := names(dir) // a re-run: all skipped, same names, no _40…
	second := names(t.TempDir())
	for p := range first {
		if again[p] != first[p] || second[p] != first[p] {
			t.Errorf("%s: %s, then %s, then %s elsewhere", p, first[p], again[p], second[p])
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 41 { // 40 files and the manifest
		t.Errorf("%d entries in the output folder, want 41", len(entries))
	}
}

func TestNameCollisionWithForeignFile(t *testing.T) {
	srv := newFakeHTTP(t)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.jpg"), []byte("mine, not ps-fetch's"), 0o644)
	rec := srv.add("a.jpg", payload(3000, 9))
	r := runFetch(t, testOptions(t, dir), rec)
	if r.stats.Downloaded != 1 || !strings.HasSuffix(r.out[0].Local, "a_1.jpg") {
		t.Fatalf("%+v %+v", r.stats, r.out)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "a.jpg")); string(b) != "mine, not ps-fetch's" {
		t.Error("a file ps-fetch did not write was overwritten")
	}
}

func TestCrashAfterRenameIsAdopted(t *testing.T) {
	srv := newFakeHTTP(t)
	dir := t.TempDir()
	data := payload(4000, 10)
	rec := srv.add("c.jpg", data)
	// A run that renamed the file into place and died before the manifest.
	p := filepath.Join(dir, "c.jpg")
	os.WriteFile(p, data, 0o644)
	os.Chtimes(p, rec.Mtime, rec.Mtime)
	r := runFetch(t, testOptions(t, dir), rec)
	if r.stats.Skipped != 1 || srv.hitCount("c.jpg") != 0 || !strings.HasSuffix(r.out[0].Local, "/c.jpg") {
		t.Fatalf("%+v %+v hits %d", r.stats, r.out, srv.hitCount("c.jpg"))
	}
	srv.Close()
	if r := runFetch(t, testOptions(t, dir), rec); r.stats.Skipped != 1 {
		t.Fatalf("the adopted file is not in the manifest: %+v", r.stats)
	}
}

// A record with only a url and a path (the documented jq recipe) has no
// size or mtime to recognise its file by. A run killed after the rename
// but before its manifest entry was on disk (or whose manifest write hit
// ENOSPC) left the file unrecorded: the next run adopts it by the item
// tag ps-fetch put on it, instead of fetching a second copy as _1.
func TestOrphanWithoutSizeOrMtimeIsAdopted(t *testing.T) {
	srv := newFakeHTTP(t)
	dir := t.TempDir()
	data := payload(5000, 13)
	full := srv.add("u.jpg", data)
	rec := &record.Record{Type: record.TypeItem, URL: full.URL, Path: "u.jpg"}
	if r := runFetch(t, testOptions(t, dir), rec); r.stats.Downloaded != 1 {
		t.Fatalf("%+v %v", r.stats, r.out)
	}
	// The entry never reached the disk.
	if err := os.Remove(filepath.Join(dir, manifest.FileName)); err != nil {
		t.Fatal(err)
	}
	r := runFetch(t, testOptions(t, dir), rec)
	if r.stats.Skipped != 1 || srv.hitCount("u.jpg") != 1 || filepath.Base(r.out[0].Local) != "u.jpg" {
		t.Fatalf("not adopted: %+v %+v, %d requests", r.stats, r.out, srv.hitCount("u.jpg"))
	}
	if got := r.out[0].Hash["sha256"]; got != sha(data) {
		t.Errorf("sha256 %q", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "u_1.jpg")); err == nil {
		t.Error("a second copy was written as u_1.jpg")
	}
	srv.Close()
	if r := runFetch(t, testOptions(t, dir), rec); r.stats.Skipped != 1 {
		t.Fatalf("the adopted file is not in the manifest: %+v %+v", r.stats, r.out)
	}
}

// A file at the name that ps-fetch wrote for another item is not adopted.
func TestOrphanOfAnotherItemIsNotAdopted(t *testing.T) {
	srv := newFakeHTTP(t)
	dir := t.TempDir()
	a := srv.add("a/u.jpg", payload(5000, 14))
	b := srv.add("b/u.jpg", payload(5000, 15))
	tmpl, _ := naming.Parse("{name}")
	opts := testOptions(t, dir)
	opts.Name = tmpl
	recA := &record.Record{Type: record.TypeItem, URL: a.URL, Path: "a/u.jpg", Name: "u.jpg"}
	recB := &record.Record{Type: record.TypeItem, URL: b.URL, Path: "b/u.jpg", Name: "u.jpg"}
	if r := runFetch(t, opts, recA); r.stats.Downloaded != 1 {
		t.Fatalf("%+v %v", r.stats, r.out)
	}
	os.Remove(filepath.Join(dir, manifest.FileName))
	r := runFetch(t, opts, recB)
	if r.stats.Downloaded != 1 || filepath.Base(r.out[0].Local) != "u_1.jpg" {
		t.Fatalf("%+v %+v", r.stats, r.out)
	}
	mustFile(t, filepath.Join(dir, "u.jpg"), payload(5000, 14))
}

func TestHostileNamesArePermanentFailures(t *testing.T) {
	dir := t.TempDir()
	outside := t.TempDir()
	os.Symlink(outside, filepath.Join(dir, "link"))
	os.Symlink(filepath.Join(outside, "target.jpg"), filepath.Join(dir, "file-link.jpg"))
	os.Mkdir(filepath.Join(outside, "b"), 0o755)
	os.Symlink(outside, filepath.Join(dir, "deep"))
	hostile := []string{"../escape.jpg", "a/../../escape.jpg", "/etc/passwd", "nul\x00.jpg", "bell\a.jpg",
		"C:/windows.jpg", `a\..\b.jpg`, "link/x.jpg", "file-link.jpg", "deep/b/x.jpg", "deep/b/y.jpg", "..", "x/y.0123abcd.part", manifest.FileName}
	var recs []*record.Record
	for i, p := range hostile {
		recs = append(recs, &record.Record{Type: record.TypeItem, ID: strconv.Itoa(i), Path: p, Size: 1,
			URL: "http://127.0.0.1:1/never"})
	}
	r := runFetch(t, testOptions(t, dir), recs...)
	if len(r.out) != len(hostile) {
		t.Fatalf("%d records for %d items", len(r.out), len(hostile))
	}
	for _, rec := range r.out {
		if rec.Type != record.TypeFailure || rec.Error.Class != string(fault.Permanent) {
			t.Errorf("%q: %+v %+v", rec.Path, rec, rec.Error)
		}
	}
	filepath.Walk(outside, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			t.Errorf("wrote outside the output folder: %s", p)
		}
		return nil
	})
}

// --- auth, disk full, cancel ----------------------------------------------

func TestAuthStopsTheSource(t *testing.T) {
	srcDir := t.TempDir()
	for i := range 5 {
		os.WriteFile(filepath.Join(srcDir, fmt.Sprintf("f%d.jpg", i)), []byte("x"), 0o644)
	}
	loc := local.Location(srcDir)
	var recs []*record.Record
	for i := range 5 {
		n := fmt.Sprintf("f%d.jpg", i)
		recs = append(recs, &record.Record{Type: record.TypeItem, Source: loc, ID: n, Path: n, Size: 1})
	}
	other := t.TempDir()
	os.WriteFile(filepath.Join(other, "ok.jpg"), []byte("y"), 0o644)
	recs = append(recs, &record.Record{Type: record.TypeItem, Source: local.Location(other), ID: "ok.jpg", Path: "ok.jpg", Size: 1})
	opts := testOptions(t, t.TempDir())
	opts.Jobs = 1
	opts.Opener.(*opener).authFail = loc
	r := runFetch(t, opts, recs...)
	if r.stats.Auth == nil || fault.HintOf(r.stats.Auth) != "ps-auth test --again" {
		t.Fatalf("stats.Auth = %v", r.stats.Auth)
	}
	auth := 0
	for _, rec := range r.out {
		switch {
		case rec.Type == record.TypeFailure && rec.Error.Class == "auth" && rec.Error.Hint == "ps-auth test --again":
			auth++
		case rec.Type == record.TypeResult && rec.Path == "ok.jpg":
		default:
			t.Errorf("unexpected %+v", rec)
		}
	}
	if auth != 5 {
		t.Errorf("%d auth failures, want 5", auth)
	}
}

func TestDiskFullStopsTheRun(t *testing.T) {
	srv := newFakeHTTP(t)
	var recs []*record.Record
	for i := range 10 {
		recs = append(recs, srv.add(fmt.Sprintf("f%d", i), payload(1000, byte(i))))
	}
	opts := testOptions(t, t.TempDir())
	opts.Jobs = 1
	opts.partSync = func(*os.File) error { return &os.PathError{Op: "sync", Path: "x", Err: syscall.ENOSPC} }
	r := runFetch(t, opts, recs...)
	if r.stats.DiskFull == nil || len(r.out) != 10 || r.stats.Downloaded != 0 {
		t.Fatalf("%+v, %d records", r.stats, len(r.out))
	}
	for _, rec := range r.out {
		if rec.Error == nil || rec.Error.Class != string(fault.Local) {
			t.Errorf("%+v", rec)
		}
	}
	if srv.hitCount("f9") != 0 {
		t.Error("kept downloading after the disk filled up")
	}
}

func TestCancelMakesCanceledFailuresAndKeepsParts(t *testing.T) {
	srv := newFakeHTTP(t)
	dir := t.TempDir()
	data := payload(4<<20, 11)
	rec := srv.add("slow.bin", data, stallBody)
	ctx, cancel := context.WithCancel(context.Background())
	opts := testOptions(t, dir)
	opts.testHookPart = func(string, int64) { cancel() }
	var in bytes.Buffer
	b, _ := rec.MarshalJSON()
	in.Write(append(b, '\n'))
	var out bytes.Buffer
	enc := record.NewEncoder(&out)
	start := time.Now()
	stats, err := Run(ctx, &in, enc, opts)
	enc.Close()
	if err != nil || !stats.Canceled || stats.Failed != 1 || time.Since(start) > 5*time.Second {
		t.Fatalf("err %v stats %+v after %v", err, stats, time.Since(start))
	}
	if !strings.Contains(out.String(), `"class":"canceled"`) {
		t.Errorf("output %s", out.String())
	}
	if st, err := os.Stat(partPath(filepath.Join(dir, "slow.bin"), rec)); err != nil || st.Size() == 0 {
		t.Errorf("the part was not kept for resume: %v", err)
	}
}

// --- mirror, dry run, pass-through -----------------------------------------

func TestMirrorDeletesOnlyWhatItWrote(t *testing.T) {
	srcDir, dir := t.TempDir(), t.TempDir()
	loc := local.Location(srcDir)
	item := func(n string) *record.Record {
		os.WriteFile(filepath.Join(srcDir, n), []byte("data of "+n), 0o644)
		return &record.Record{Type: record.TypeItem, Source: loc, ID: n, Path: n, Size: int64(len("data of " + n))}
	}
	end := record.NewEnd(loc, true, 2)
	a, b := item("a.jpg"), item("b.jpg")
	runFetch(t, testOptions(t, dir), a, b, end)
	os.WriteFile(filepath.Join(dir, "mine.jpg"), []byte("not from ps-fetch"), 0o644)

	opts := testOptions(t, dir)
	opts.Mirror = true
	// An incomplete listing deletes nothing.
	r := runFetch(t, opts, a, record.NewEnd(loc, false, 1))
	if r.stats.Deleted != 0 {
		t.Fatalf("deleted after an incomplete listing: %+v", r.stats)
	}
	// A dry run says what it would delete.
	opts.DryRun = true
	r = runFetch(t, opts, a, end)
	if r.stats.Deleted != 1 {
		t.Fatalf("dry run: %+v", r.stats)
	}
	if _, err := os.Stat(filepath.Join(dir, "b.jpg")); err != nil {
		t.Fatal("a dry run deleted b.jpg")
	}
	opts.DryRun = false
	r = runFetch(t, opts, a, end)
	var deleted []*record.Record
	for _, rec := range r.out {
		if rec.Type == record.TypeDeleted {
			deleted = append(deleted, rec)
		}
	}
	if len(deleted) != 1 || deleted[0].Path != "b.jpg" || !strings.HasSuffix(deleted[0].Local, "/b.jpg") {
		t.Fatalf("deleted %+v", deleted)
	}
	for n, want := range map[string]bool{"a.jpg": true, "b.jpg": false, "mine.jpg": true} {
		if _, err := os.Stat(filepath.Join(dir, n)); (err == nil) != want {
			t.Errorf("%s exists: %v, want %v", n, err == nil, want)
		}
	}
	// The tombstone keeps the next mirror from reporting it again.
	if r := runFetch(t, opts, a, end); r.stats.Deleted != 0 {
		t.Errorf("deleted again: %+v", r.stats)
	}
}

func TestDryRunWritesNothing(t *testing.T) {
	srv := newFakeHTTP(t)
	dir := filepath.Join(t.TempDir(), "out")
	opts := testOptions(t, dir)
	opts.DryRun = true
	r := runFetch(t, opts, srv.add("a/b.jpg", payload(10, 1)))
	if len(r.out) != 1 || r.out[0].Status != record.StatusPlanned || r.out[0].Local != filepath.Join(dir, "a/b.jpg") {
		t.Fatalf("%+v", r.out)
	}
	if _, err := os.Stat(dir); err == nil {
		t.Error("a dry run created the output folder")
	}
	if srv.hitCount("a/b.jpg") != 0 {
		t.Error("a dry run downloaded")
	}
}

func TestPassThroughAndBadLines(t *testing.T) {
	srcDir := t.TempDir()
	os.WriteFile(filepath.Join(srcDir, "a.jpg"), []byte("abc"), 0o644)
	loc := local.Location(srcDir)
	in := strings.Join([]string{
		`{"type":"session","source":"x","created":"2024-01-01T00:00:00Z"}`,
		`not json`,
		`{"type":"failure","source":"` + loc + `","path":"private","meta":{"folder":true},"error":{"class":"permanent","message":"denied","attempts":1}}`,
		`{"type":"failure","source":"` + loc + `","id":"a.jpg","path":"a.jpg","size":3,"error":{"class":"transient","message":"x","attempts":4},"extra":[1]}`,
		`{"type":"end","source":"` + loc + `","complete":false,"count":1}`,
	}, "\n")
	r := runInput(t, testOptions(t, t.TempDir()), strings.NewReader(in))
	if r.stats.BadLines != 1 || len(r.out) != 4 {
		t.Fatalf("%+v %d records", r.stats, len(r.out))
	}
	types := map[string]int{}
	for _, rec := range r.out {
		types[rec.Type]++
		if rec.Type == record.TypeResult {
			if rec.Error != nil || rec.Status != record.StatusDownloaded {
				t.Errorf("result from a failure record: %+v", rec)
			}
			if v, ok := rec.Get("extra"); !ok || string(v) != "[1]" {
				t.Errorf("unknown field lost: %+v", rec.Extra)
			}
		}
	}
	if types["session"] != 1 || types["failure"] != 1 || types["end"] != 1 || types["result"] != 1 {
		t.Errorf("types %v", types)
	}
}

// A failures file lists items in the order they failed. Re-fed in another
// order, colliding items keep the names (and .part files) they got first.
func TestRetriedCollisionsKeepTheirNames(t *testing.T) {
	srv := newFakeHTTP(t)
	dir := t.TempDir()
	tmpl, _ := naming.Parse("{name}")
	a, b := payload(3<<20, 1), payload(3<<20, 2)
	recA := srv.add("a/IMG.JPG", a, dropMidBody)
	recB := srv.add("b/IMG.JPG", b, dropMidBody)
	opts := testOptions(t, dir)
	opts.Name, opts.Retries, opts.Jobs = tmpl, 0, 1
	r := runFetch(t, opts, recA, recB)
	if r.stats.Failed != 2 {
		t.Fatalf("first run: %+v", r.stats)
	}
	opts = testOptions(t, dir)
	opts.Name = tmpl
	r = runFetch(t, opts, r.out[1], r.out[0]) // B's failure first
	got := map[string]string{}
	for _, rec := range r.out {
		got[rec.Path] = filepath.Base(rec.Local)
	}
	if got["a/IMG.JPG"] != "IMG.JPG" || got["b/IMG.JPG"] != "IMG_1.JPG" {
		t.Fatalf("names after the retry: %v", got)
	}
	mustFile(t, filepath.Join(dir, "IMG.JPG"), a)
	mustFile(t, filepath.Join(dir, "IMG_1.JPG"), b)
	noParts(t, dir)
	if rs := srv.Ranges("b/IMG.JPG"); len(rs) != 2 || rs[1] == "" {
		t.Errorf("b was not resumed: %q", rs)
	}
}

func TestCopyBufSizeSharesABudget(t *testing.T) {
	for jobs, want := range map[int]int{0: 4 << 20, 1: 4 << 20, 8: 4 << 20, 16: 2 << 20, 32: 1 << 20, 64: 1 << 20} {
		if got := copyBufSize(jobs); got != want {
			t.Errorf("copyBufSize(%d) = %d KiB, want %d KiB", jobs, got>>10, want>>10)
		}
	}
}

func TestGivesUpOnASourceThatKeepsFailing(t *testing.T) {
	dead, alive := newFakeHTTP(t), newFakeHTTP(t)
	var recs []*record.Record
	for i := range 30 {
		recs = append(recs, dead.add(fmt.Sprintf("d%02d.jpg", i), payload(100, byte(i)), status500, status500))
	}
	recs = append(recs, alive.add("ok.jpg", payload(100, 1)))
	opts := testOptions(t, t.TempDir())
	opts.Jobs, opts.Retries, opts.GiveUpAfter = 2, 1, 3
	r := runFetch(t, opts, recs...)

	tried, notTried := 0, 0
	for i := range 30 {
		if dead.hitCount(fmt.Sprintf("d%02d.jpg", i)) > 0 {
			tried++
		}
	}
	for _, rec := range r.out {
		switch {
		case rec.Type == record.TypeResult && rec.Path == "ok.jpg": // another host goes on
		case rec.Type == record.TypeFailure && rec.Error.Class == "transient":
			if strings.Contains(rec.Error.Message, "stopped trying") {
				notTried++
			}
		default:
			t.Errorf("unexpected %+v", rec)
		}
	}
	// Three items fail in a row; the two workers may each have one more
	// under way. Everything else fails without a request.
	if tried < 3 || tried > 3+opts.Jobs {
		t.Errorf("%d items reached the dead server, want 3 to %d", tried, 3+opts.Jobs)
	}
	if notTried < 30-tried {
		t.Errorf("%d items say ps-fetch stopped trying, want at least %d", notTried, 30-tried)
	}
	if len(r.out) != 31 {
		t.Errorf("%d records, want 31", len(r.out))
	}
}

func TestASuccessResetsTheStreak(t *testing.T) {
	f := newFakeHTTP(t)
	var recs []*record.Record
	for i := range 10 {
		if i%2 == 0 {
			recs = append(recs, f.add(fmt.Sprintf("f%02d.jpg", i), payload(100, byte(i)), status500))
		} else {
			recs = append(recs, f.add(fmt.Sprintf("f%02d.jpg", i), payload(100, byte(i))))
		}
	}
	opts := testOptions(t, t.TempDir())
	opts.Jobs, opts.Retries, opts.GiveUpAfter = 1, 0, 2
	r := runFetch(t, opts, recs...)
	for i := range 10 {
		if f.hitCount(fmt.Sprintf("f%02d.jpg", i)) != 1 {
			t.Errorf("f%02d.jpg: %d requests, want 1 (failures never came two in a row)", i, f.hitCount(fmt.Sprintf("f%02d.jpg", i)))
		}
	}
	if r.stats.Failed != 5 || r.stats.Downloaded != 5 {
		t.Errorf("failed %d, downloaded %d; want 5 and 5", r.stats.Failed, r.stats.Downloaded)
	}
}

// Items still in the pipe at Ctrl-C get a record too: the failures file of
// an interrupted run holds everything left to fetch.
func TestCancelGivesEveryItemARecord(t *testing.T) {
	srv := newFakeHTTP(t)
	first := srv.add("slow.bin", payload(4<<20, 11), stallBody)
	ctx, cancel := context.WithCancel(context.Background())
	interrupted := make(chan struct{})
	var once sync.Once
	opts := testOptions(t, t.TempDir())
	opts.testHookPart = func(string, int64) { once.Do(func() { cancel(); close(interrupted) }) }
	var failures bytes.Buffer
	opts.Failures = record.NewEncoder(&failures)
	pr, pw := io.Pipe()
	go func() {
		b, _ := first.MarshalJSON()
		pw.Write(append(b, '\n'))
		<-interrupted // the rest is written after the interrupt
		for i := range 300 {
			pw.Write([]byte(fmt.Sprintf(`{"type":"item","url":"%s/f%03d.jpg","path":"f%03d.jpg","size":1}`+"\n", srv.URL, i, i)))
		}
		pw.Write([]byte("{not json\n"))
		pw.Close()
	}()
	var out bytes.Buffer
	enc := record.NewEncoder(&out)
	stats, err := Run(ctx, pr, enc, opts)
	enc.Close()
	opts.Failures.Close()
	if err != nil || !stats.Canceled || stats.Failed != 301 || stats.BadLines != 1 {
		t.Fatalf("err %v, stats %+v; want 301 canceled failures and a bad line", err, stats)
	}
	if n := strings.Count(failures.String(), `"class":"canceled"`); n != 301 {
		t.Errorf("failures file has %d canceled items, want 301", n)
	}
	for i := range 300 {
		if srv.hitCount(fmt.Sprintf("f%03d.jpg", i)) != 0 {
			t.Fatalf("f%03d.jpg was requested after the interrupt", i)
		}
	}
}

// A producer that never ends does not hold an interrupted run for long.
func TestCancelStopsReadingAnEndlessInput(t *testing.T) {
	srv := newFakeHTTP(t)
	first := srv.add("slow.bin", payload(4<<20, 11), stallBody)
	ctx, cancel := context.WithCancel(context.Background())
	opts := testOptions(t, t.TempDir())
	opts.testHookPart = func(string, int64) { cancel() }
	opts.drainWindow = 200 * time.Millisecond
	pr, pw := io.Pipe()
	defer pw.Close()
	go func() {
		b, _ := first.MarshalJSON()
		pw.Write(append(b, '\n'))
	}()
	enc := record.NewEncoder(io.Discard)
	start := time.Now()
	stats, err := Run(ctx, pr, enc, opts)
	enc.Close()
	if err != nil || !stats.Canceled || stats.Failed != 1 || time.Since(start) > 5*time.Second {
		t.Fatalf("err %v, stats %+v after %v", err, stats, time.Since(start))
	}
}

// Ctrl-C stops a copy from a local folder in flight, not after the file:
// the part holds a few chunks of a file many times their size.
func TestCancelStopsALocalCopy(t *testing.T) {
	srcDir, dir := t.TempDir(), t.TempDir()
	size := 64 << 20
	if err := os.WriteFile(filepath.Join(srcDir, "big.mov"), payload(size, 12), 0o644); err != nil {
		t.Fatal(err)
	}
	rec := &record.Record{Type: record.TypeItem, Source: local.Location(srcDir), ID: "big.mov", Path: "big.mov", Size: int64(size)}
	if have := interrupted(t, testOptions(t, dir), rec); have > int64(size)/4 {
		t.Errorf("the copy went on after Ctrl-C: the part holds %d of %d bytes", have, size)
	}
}
