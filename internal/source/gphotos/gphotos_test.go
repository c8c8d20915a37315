package gphotos

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ps-photos/ps/internal/fault"
	"github.com/ps-photos/ps/internal/record"
	"github.com/ps-photos/ps/internal/source"
	"github.com/ps-photos/ps/internal/source/gphotos/gphotostest"
	"github.com/ps-photos/ps/internal/source/sourcetest"
	"github.com/ps-photos/ps/internal/state"
)

// syncBuffer is a stderr the test can read while ps-auth writes to it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

var authURL = regexp.MustCompile(`http://127\.0\.0\.1:\d+/o/oauth2/auth\?\S+`)

// signIn runs "ps-auth gphotos" against the fake, playing the browser:
// it follows the printed link, which redirects to the loopback listener.
func signIn(t *testing.T, srv *gphotostest.Server, cmd AuthCmd) (source.Env, *record.Record) {
	t.Helper()
	dir := t.TempDir()
	secret := filepath.Join(dir, "client_secret.json")
	if err := os.WriteFile(secret, srv.ClientSecretJSON(), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd.ClientSecret, cmd.NoBrowser, cmd.Timeout = secret, true, 30*time.Second
	env := source.Env{StateDir: filepath.Join(dir, "state")}
	var out bytes.Buffer
	stderr := &syncBuffer{}
	enc := record.NewEncoder(&out)
	done := make(chan error, 1)
	go func() { done <- cmd.Run(&source.AuthEnv{Ctx: context.Background(), Env: env, Out: enc, Err: stderr}) }()
	var link string
	for deadline := time.Now().Add(10 * time.Second); link == "" && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		link = authURL.FindString(stderr.String())
	}
	if link == "" {
		t.Fatalf("no sign-in link printed: %s", stderr.String())
	}
	if !strings.Contains(link, "code_challenge_method=S256") || !strings.Contains(link, "access_type=offline") {
		t.Errorf("sign-in link without PKCE or offline access: %s", link)
	}
	resp, err := http.Get(link) // the fake redirects to the loopback listener
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "Signed in") {
		t.Errorf("loopback page: %s", body)
	}
	if err := <-done; err != nil {
		t.Fatalf("ps-auth gphotos: %v\n%s", err, stderr.String())
	}
	enc.Close()
	rec, err := record.Parse(bytes.TrimSpace(out.Bytes()))
	if err != nil {
		t.Fatalf("session record: %v: %q", err, out.String())
	}
	return env, rec
}

func savedToken(t *testing.T, env source.Env) saved {
	t.Helper()
	var s saved
	if err := (state.Store{Dir: env.StateDir}).LoadSecretJSON(secretSource, secretName, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

func items(n int, start time.Time) []gphotostest.Item {
	var out []gphotostest.Item
	for i := range n {
		it := gphotostest.Item{ID: fmt.Sprintf("AF1Q%04d", i), Filename: fmt.Sprintf("IMG_%04d.JPG", i), MimeType: "image/jpeg",
			Created: start.Add(time.Duration(i) * 24 * time.Hour), Data: []byte(fmt.Sprintf("photo %d bytes", i)), Width: 4000, Height: 3000}
		if i%10 == 9 {
			it.Video, it.Filename, it.MimeType, it.Data = true, fmt.Sprintf("VID_%04d.MP4", i), "video/mp4", []byte(fmt.Sprintf("video %d bytes", i))
		}
		out = append(out, it)
	}
	return out
}

func setEndpoints(t *testing.T, srv *gphotostest.Server) {
	t.Setenv("PS_GPHOTOS_PICKER_URL", srv.URL)
	t.Setenv("PS_GPHOTOS_LIBRARY_URL", srv.URL)
}

// startSource starts a fake with opts and all, signs in for kind ("picker"
// or "library") and opens gphotos:<kind> against it.
func startSource(t *testing.T, opts gphotostest.Options, all []gphotostest.Item, kind string) (*gphotostest.Server, source.Env, *Source) {
	t.Helper()
	srv := gphotostest.Start(opts, all)
	t.Cleanup(srv.Close)
	env, _ := signIn(t, srv, AuthCmd{Picker: kind == "picker", Library: kind == "library"})
	setEndpoints(t, srv)
	src, err := New(env, "gphotos:"+kind)
	if err != nil {
		t.Fatal(err)
	}
	return srv, env, src
}

type sink struct {
	mu    sync.Mutex
	items []*record.Record
	stop  int
}

func (s *sink) Item(r *record.Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.items = append(s.items, r)
	return nil
}
func (s *sink) Failure(r *record.Record, err error) error { return err }

func listAll(t *testing.T, src source.Source, opts source.ListOptions) []*record.Record {
	t.Helper()
	s := &sink{}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := src.List(ctx, opts, s); err != nil {
		t.Fatalf("List: %v", err)
	}
	return s.items
}

func readItem(t *testing.T, src source.Source, it *record.Record) []byte {
	t.Helper()
	c, err := src.Open(context.Background(), it, 0)
	if err != nil {
		t.Fatalf("Open %s: %v", it.Name, err)
	}
	defer c.Close()
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSignInSavesTokenPrivately(t *testing.T) {
	srv := gphotostest.Start(gphotostest.Options{}, nil)
	defer srv.Close()
	env, rec := signIn(t, srv, AuthCmd{})
	if rec.Type != record.TypeSession || rec.Source != "gphotos:picker" {
		t.Errorf("session record %+v", rec)
	}
	if got := fmt.Sprint(rec.Session["scopes"]); got != "["+ScopePicker+"]" {
		t.Errorf("scopes %s, want only the picker's", got)
	}
	s := savedToken(t, env)
	if s.Token.RefreshToken == "" || s.Token.AccessToken == "" {
		t.Errorf("saved token %+v", s.Token)
	}
	matches, _ := filepath.Glob(filepath.Join(env.StateDir, "secrets", "*"))
	for _, m := range matches {
		if st, _ := os.Stat(m); st.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", m, st.Mode().Perm())
		}
		b, _ := os.ReadFile(m)
		if !bytes.Contains(b, []byte(s.Token.RefreshToken)) {
			t.Errorf("%s does not hold the refresh token", m)
		}
	}
	if len(matches) != 1 {
		t.Errorf("secrets: %v", matches)
	}
	// The picker scope does not open the library.
	setEndpoints(t, srv)
	_, err := New(env, "gphotos:library")
	if fault.ClassOf(err) != fault.Auth || !strings.Contains(fault.HintOf(err), "--library") {
		t.Errorf("library with a picker-only sign-in: %v (hint %q)", err, fault.HintOf(err))
	}
}

func TestPickerListsWhatWasPickedAndRenews(t *testing.T) {
	all := items(120, time.Date(2024, 1, 1, 9, 0, 0, 0, time.UTC))
	srv, env, src := startSource(t, gphotostest.Options{PickAfterPolls: 3, ShortPages: true}, all, "picker")
	got := listAll(t, src, source.ListOptions{Flags: &ListFlags{NoBrowser: true}})
	if len(got) != len(all) {
		t.Fatalf("listed %d items, want %d", len(got), len(all))
	}
	for i, it := range got {
		w := all[i]
		if it.ID != w.ID || it.Name != w.Filename || !it.Taken.Equal(w.Created) || (it.Media == record.MediaVideo) != w.Video {
			t.Errorf("item %d: %+v, want %+v", i, it, w)
		}
		if it.Meta["width"] != int64(4000) || it.Meta["picker_session"] == "" {
			t.Errorf("item %d meta %v", i, it.Meta)
		}
	}
	if b := readItem(t, src, got[9]); !bytes.Equal(b, all[9].Data) {
		t.Errorf("video bytes %q", b)
	}

	// An hour later: base URLs and the access token have expired. A fresh
	// process (ps-fetch) renews both instead of failing, and saves the
	// refreshed token.
	srv.ExpireURLs()
	srv.ExpireTokens()
	before := savedToken(t, env).Token.AccessToken
	fetch, err := New(env, "gphotos:picker")
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{0, 57, 119} {
		if b := readItem(t, fetch, got[i]); !bytes.Equal(b, all[i].Data) {
			t.Errorf("item %d after expiry: %q", i, b)
		}
	}
	if srv.Refreshes != 1 || srv.Expired401 == 0 {
		t.Errorf("refreshes %d, 401s %d: want one refresh after a 401", srv.Refreshes, srv.Expired401)
	}
	if after := savedToken(t, env).Token.AccessToken; after == before {
		t.Error("the refreshed token was not saved")
	}
	// A record whose id names nothing in the session is not found.
	gone := got[0].Clone()
	gone.ID = "nope"
	gone.Meta = got[0].Meta
	if _, err := fetch.Open(context.Background(), gone, 0); fault.ClassOf(err) != fault.NotFound {
		t.Errorf("Open of an unknown id: %v", err)
	}
}

func TestLibraryPagesThrottleAndDates(t *testing.T) {
	all := items(230, time.Date(2023, 1, 1, 12, 0, 0, 0, time.UTC))
	all[5].Archived = true
	all[6].Created = time.Time{} // undated: never in date-filtered searches
	srv, _, src := startSource(t, gphotostest.Options{RepeatBoundary: true, ShortPages: true}, all, "library")
	srv.Throttle(2)
	got := listAll(t, src, source.ListOptions{})
	if srv.Throttled != 2 {
		t.Errorf("throttled %d calls, want 2", srv.Throttled)
	}
	ids := map[string]bool{}
	for _, it := range got {
		if ids[it.ID] {
			t.Errorf("%s listed twice (page boundary repeat)", it.ID)
		}
		ids[it.ID] = true
	}
	if len(got) != len(all)-1 || ids[all[5].ID] {
		t.Errorf("unfiltered list: %d items, want %d without the archived one", len(got), len(all)-1)
	}

	since := time.Date(2023, 2, 1, 0, 0, 0, 0, time.UTC)
	until := time.Date(2023, 2, 10, 23, 59, 59, 0, time.UTC)
	got = listAll(t, src, source.ListOptions{Since: since, Until: until})
	var names []string
	for _, it := range got {
		names = append(names, it.Name)
	}
	sort.Strings(names)
	var want []string
	for _, it := range all {
		if !it.Created.Before(since) && !it.Created.After(until) {
			want = append(want, it.Filename)
		}
	}
	sort.Strings(want)
	if len(want) != 10 || !slices.Equal(names, want) {
		t.Errorf("--since/--until: %v, want %v", names, want)
	}

	srv.ExpireURLs()
	if b := readItem(t, src, got[0]); !strings.HasPrefix(string(b), "photo ") && !strings.HasPrefix(string(b), "video ") {
		t.Errorf("after expiry: %q", b)
	}
	if srv.ExpiredURLs == 0 {
		t.Error("the expired base URL was never tried")
	}
}

func TestRevokedSignInIsAuth(t *testing.T) {
	srv := gphotostest.Start(gphotostest.Options{}, items(3, time.Now()))
	defer srv.Close()
	env, _ := signIn(t, srv, AuthCmd{Library: true})
	setEndpoints(t, srv)
	srv.ExpireTokens()
	srv.RevokeRefreshTokens()
	src, err := New(env, "gphotos:library")
	if err != nil {
		t.Fatal(err)
	}
	err = src.List(context.Background(), source.ListOptions{}, &sink{})
	if fault.ClassOf(err) != fault.Auth || !strings.HasPrefix(fault.HintOf(err), "ps-auth gphotos") {
		t.Errorf("List with a revoked refresh token: %v (class %s, hint %q)", err, fault.ClassOf(err), fault.HintOf(err))
	}
}

func TestConformancePicker(t *testing.T)  { sourcetest.Run(t, conformance("picker")) }
func TestConformanceLibrary(t *testing.T) { sourcetest.Run(t, conformance("library")) }

func conformance(kind string) sourcetest.Config {
	return sourcetest.Config{
		FlatNames: true,
		New: func(t *testing.T, files []sourcetest.File) (source.Source, source.ListOptions) {
			var its []gphotostest.Item
			for i, f := range files {
				its = append(its, gphotostest.Item{ID: fmt.Sprintf("id%04d", i), Filename: filepath.Base(f.Path), Data: f.Data,
					Created: f.Mtime, Video: record.MediaOf(f.Path) == record.MediaVideo, MimeType: "application/octet-stream"})
			}
			_, _, src := startSource(t, gphotostest.Options{PickAfterPolls: 1}, its, kind)
			return src, source.ListOptions{Flags: &ListFlags{NoBrowser: true, Sizes: true}}
		},
	}
}

// When the day's quota is spent, retrying cannot help today: the listing
// ends rate_limited after a few backed-off tries, and so does a download.
func TestDailyQuota(t *testing.T) {
	_, _, src := startSource(t, gphotostest.Options{DailyAPICalls: 3, DailyByteCalls: 1, PageSize: 2}, items(10, time.Now().Add(-48*time.Hour)), "library")
	src.policy.Base, src.policy.Max = time.Millisecond, 5*time.Millisecond
	s := &sink{}
	err := src.List(context.Background(), source.ListOptions{}, s)
	if fault.ClassOf(err) != fault.RateLimited || len(s.items) != 6 {
		t.Errorf("List past the daily quota: %v (class %s) after %d items, want rate_limited after 6", err, fault.ClassOf(err), len(s.items))
	}
	readItem(t, src, s.items[0]) // the one byte request the day allows
	_, err = src.Open(context.Background(), s.items[1], 0)
	if fault.ClassOf(err) != fault.RateLimited {
		t.Errorf("download past the daily byte quota: %v (class %s)", err, fault.ClassOf(err))
	}
}

// Once the picking session has expired, its items cannot be fetched any
// more: a permanent failure that says to pick again.
func TestExpiredPickingSession(t *testing.T) {
	srv, env, src := startSource(t, gphotostest.Options{PickAfterPolls: 1}, items(3, time.Now().Add(-time.Hour)), "picker")
	got := listAll(t, src, source.ListOptions{Flags: &ListFlags{NoBrowser: true}})
	srv.ExpireSessions()
	srv.ExpireURLs()
	fetch, err := New(env, "gphotos:picker")
	if err != nil {
		t.Fatal(err)
	}
	_, err = fetch.Open(context.Background(), got[0], 0)
	if fault.ClassOf(err) != fault.Permanent || fault.HintOf(err) != "ps-list gphotos:picker" || !strings.Contains(err.Error(), "PERMISSION_DENIED") {
		t.Errorf("Open after the session expired: %v (class %s, hint %q)", err, fault.ClassOf(err), fault.HintOf(err))
	}
}
