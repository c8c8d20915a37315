package icloud_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ps-photos/ps/internal/fault"
	"github.com/ps-photos/ps/internal/record"
	"github.com/ps-photos/ps/internal/source"
	"github.com/ps-photos/ps/internal/source/icloud"
	"github.com/ps-photos/ps/internal/source/icloud/icloudtest"
	"github.com/ps-photos/ps/internal/source/sourcetest"
	"github.com/ps-photos/ps/internal/state"
)

const (
	user     = "me@example.com"
	password = "correct horse battery"
)

// startFake runs a fake iCloud with one account and points the client at it.
func startFake(t testing.TB, opts icloudtest.Options, zones ...*icloudtest.Zone) *icloudtest.Server {
	t.Helper()
	s := icloudtest.New(opts, zones...)
	t.Cleanup(s.Close)
	t.Cleanup(func() { s.Faults().Check(t.Errorf) })
	for k, v := range s.Env() {
		t.Setenv(k, v)
	}
	t.Setenv("PS_PASSWORD", password)
	s.AddAccount(user, password, "012345")
	return s
}

type authRun struct {
	session *record.Record
	stderr  string
	err     error
}

// signIn runs "ps-auth icloud" in-process with stdin as typed input.
func signIn(t testing.TB, stateDir, stdin string, cmd icloud.AuthCommand) authRun {
	t.Helper()
	var out, errw bytes.Buffer
	enc := record.NewEncoder(&out)
	if cmd.Username == "" {
		cmd.Username = user
	}
	if cmd.Domain == "" {
		cmd.Domain = "com"
	}
	env := &source.AuthEnv{
		Ctx: context.Background(), Env: source.Env{StateDir: stateDir, Log: slog.New(slog.NewTextHandler(&errw, nil))},
		Out: enc, Stdin: strings.NewReader(stdin), Err: &errw,
	}
	err := cmd.Run(env)
	enc.Close()
	run := authRun{stderr: errw.String(), err: err}
	if out.Len() > 0 {
		rec, perr := record.Parse(bytes.TrimSpace(out.Bytes()))
		if perr != nil {
			t.Fatalf("session output %q: %v", out.String(), perr)
		}
		run.session = rec
	}
	return run
}

func TestSignInWithCodeThenTrusted(t *testing.T) {
	fake := startFake(t, icloudtest.Options{RequirePush: true})
	dir := t.TempDir()
	run := signIn(t, dir, "012345\n", icloud.AuthCommand{})
	if run.err != nil {
		t.Fatalf("sign-in: %v\n%s", run.err, run.stderr)
	}
	st := fake.Stats()
	if st.CodePushes != 1 || st.CodeChecks != 1 || st.Trusts != 1 {
		t.Errorf("2FA calls: %+v, want one push, one check, one trust", st)
	}
	s := run.session
	if s == nil || s.Type != "session" || s.Source != "icloud:" || s.Session["photos_url"] != fake.URL {
		t.Fatalf("session record %+v", s)
	}
	if left := time.Until(s.Expires); left < 29*24*time.Hour || left > 31*24*time.Hour {
		t.Errorf("session expires in %v, want about 30 days", left)
	}
	// Saved with mode 0600, and holding no password.
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if info.Mode().IsRegular() {
			if info.Mode().Perm() != 0o600 {
				t.Errorf("%s has mode %v", p, info.Mode().Perm())
			}
			if b, _ := os.ReadFile(p); bytes.Contains(b, []byte(password)) {
				t.Errorf("%s holds the password", p)
			}
		}
		return nil
	})

	// Again, with the web session still good: no code, no password needed.
	t.Setenv("PS_PASSWORD", "")
	os.Unsetenv("PS_PASSWORD")
	if run := signIn(t, dir, "", icloud.AuthCommand{}); run.err != nil {
		t.Fatalf("second sign-in: %v\n%s", run.err, run.stderr)
	}
	// The web session gone: SRP again with the trust token, still no code.
	t.Setenv("PS_PASSWORD", password)
	fake.ExpireWebSessions()
	if run := signIn(t, dir, "", icloud.AuthCommand{}); run.err != nil {
		t.Fatalf("sign-in with the trust token: %v\n%s", run.err, run.stderr)
	}
	// Count signin/complete, not signin/init: one secret in 256 gives an
	// ambiguous premaster secret, and the client starts over with a new one.
	if st2 := fake.Stats(); st2.CodeChecks != 1 || st2.Completes != 2 {
		t.Errorf("after re-runs: %+v, want still one code check and two SRP sign-ins", st2)
	}
	// The trust token expired: a code is needed again, and none is given.
	fake.ExpireWebSessions()
	fake.ExpireTrust()
	run = signIn(t, dir, "", icloud.AuthCommand{})
	if fault.ClassOf(run.err) != fault.Auth || !strings.Contains(run.err.Error(), "verification code") {
		t.Errorf("expired trust without a code: %v, want an auth error asking for the code", run.err)
	}
}

// The guesses of docs/protocols/icloud.md: each way Apple may answer must work.
func TestSignInVariants(t *testing.T) {
	cases := map[string]icloudtest.Options{
		"unpadded SRP (pysrp)":        {UnpaddedSRP: true},
		"s2k_fo":                      {Protocol: "s2k_fo"},
		"200 instead of 409":          {Complete200: true},
		"409 answers a valid code":    {CodeAnswer409: true, RequirePush: true},
		"many iterations, padded SRP": {Iterations: 20064},
	}
	for name, opts := range cases {
		t.Run(name, func(t *testing.T) {
			startFake(t, opts)
			run := signIn(t, t.TempDir(), "", icloud.AuthCommand{Code: "012345"})
			if run.err != nil || run.session == nil {
				t.Fatalf("sign-in: %v\n%s", run.err, run.stderr)
			}
		})
	}
}

func TestSignInFailures(t *testing.T) {
	t.Run("wrong password", func(t *testing.T) {
		fake := startFake(t, icloudtest.Options{})
		t.Setenv("PS_PASSWORD", "wrong horse battery")
		run := signIn(t, t.TempDir(), "012345\n", icloud.AuthCommand{})
		if fault.ClassOf(run.err) != fault.Auth || fault.HintOf(run.err) != "ps-auth icloud --username "+user {
			t.Errorf("wrong password: %v (hint %q)", run.err, fault.HintOf(run.err))
		}
		if st := fake.Stats(); st.CodePushes != 0 {
			t.Errorf("a wrong password still led to a code request: %+v", st)
		}
	})
	t.Run("wrong code then right", func(t *testing.T) {
		fake := startFake(t, icloudtest.Options{})
		run := signIn(t, t.TempDir(), "111111\n012345\n", icloud.AuthCommand{})
		if run.err != nil || fake.Stats().CodeChecks != 2 {
			t.Errorf("second code: %v, %+v", run.err, fake.Stats())
		}
	})
	t.Run("Advanced Data Protection", func(t *testing.T) {
		startFake(t, icloudtest.Options{ADP: true})
		run := signIn(t, t.TempDir(), "012345\n", icloud.AuthCommand{})
		if fault.ClassOf(run.err) != fault.Permanent || !strings.Contains(run.err.Error(), "Advanced Data Protection") ||
			!strings.Contains(run.err.Error(), "Access iCloud Data on the Web") {
			t.Errorf("ADP: %v", run.err)
		}
	})
	t.Run("China", func(t *testing.T) {
		startFake(t, icloudtest.Options{DomainToUse: "iCloud.com.cn"})
		run := signIn(t, t.TempDir(), "012345\n", icloud.AuthCommand{})
		if run.err == nil || !strings.Contains(run.err.Error(), "--region cn") {
			t.Errorf("domainToUse: %v", run.err)
		}
	})
	t.Run("throttled sign-in recovers", func(t *testing.T) {
		fake := startFake(t, icloudtest.Options{})
		fake.Inject(icloudtest.Fault{Path: "signin/init", Status: 503, Text: "Service Temporary Unavailable", RetryAfter: 1})
		if run := signIn(t, t.TempDir(), "012345\n", icloud.AuthCommand{}); run.err != nil {
			t.Errorf("after one 503: %v", run.err)
		}
	})
}

// signedIn returns a state folder holding a session for the fake.
func signedIn(t testing.TB, _ *icloudtest.Server) string {
	t.Helper()
	dir := t.TempDir()
	if run := signIn(t, dir, "", icloud.AuthCommand{Code: "012345"}); run.err != nil {
		t.Fatalf("sign-in: %v\n%s", run.err, run.stderr)
	}
	return dir
}

func open(t testing.TB, dir, location string) *icloud.Source {
	t.Helper()
	src, err := icloud.Open(context.Background(), source.Env{StateDir: dir, Log: slog.New(slog.DiscardHandler)}, location, nil)
	if err != nil {
		t.Fatalf("open %s: %v", location, err)
	}
	t.Cleanup(func() { src.Close() })
	return src
}

func list(t *testing.T, src *icloud.Source, opts source.ListOptions) *sourcetest.Sink {
	t.Helper()
	s := &sourcetest.Sink{}
	if err := src.List(context.Background(), opts, s); err != nil {
		t.Fatalf("list: %v", err)
	}
	return s
}

func byID(items []*record.Record) map[string]*record.Record {
	m := map[string]*record.Record{}
	for _, it := range items {
		m[it.ID] = it
	}
	return m
}

func library(n, shared int) []*icloudtest.Zone {
	return icloudtest.Generate(icloudtest.Spec{Assets: n, Shared: shared, Seed: 7, MinSize: 100, MaxSize: 400})
}

func TestListWholeLibrary(t *testing.T) {
	zones := library(450, 0)
	fake := startFake(t, icloudtest.Options{}, zones...)
	src := open(t, signedIn(t, fake), "icloud:")
	for _, jobs := range []int{1, 6} {
		got := byID(list(t, src, source.ListOptions{Jobs: jobs}).Items)
		want := map[string]bool{}
		for _, a := range zones[0].Assets {
			if a.Hidden || a.Deleted {
				continue
			}
			want[a.Record] = true
			it := got[a.Record]
			if it == nil {
				t.Fatalf("jobs %d: asset %s (%s) not listed", jobs, a.Record, a.Name)
			}
			if it.Name != a.Name || it.Size != a.Resources["resOriginal"].Size || !it.Taken.Equal(a.Taken) || it.Meta["favorite"] != a.Favorite {
				t.Errorf("jobs %d: item %+v does not match asset %+v", jobs, it, a)
			}
			if alt := a.Resources["resOriginalAlt"]; alt != nil {
				raw := got[a.Record+"~alternative"]
				if raw == nil || raw.Media != "raw" || raw.Size != alt.Size || raw.Name != strings.TrimSuffix(a.Name, ".JPG")+".CR2" {
					t.Errorf("RAW+JPEG %s: raw item %+v", a.Name, raw)
				}
				want[a.Record+"~alternative"] = true
			}
			if v := a.Resources["resOriginalVidCompl"]; v != nil {
				live := got[a.Record+"~live"]
				if live == nil || live.Media != "video" || live.Meta["live_photo"] != a.Record || !strings.HasSuffix(live.Name, "_HEVC.MOV") {
					t.Errorf("live photo %s: video item %+v", a.Name, live)
				}
				want[a.Record+"~live"] = true
			}
		}
		if len(got) != len(want) {
			t.Errorf("jobs %d: %d items, want %d", jobs, len(got), len(want))
		}
	}
}

func TestListSelections(t *testing.T) {
	zones := library(300, 40)
	fake := startFake(t, icloudtest.Options{}, zones...)
	dir := signedIn(t, fake)
	count := func(keep func(a *icloudtest.Asset) bool, z *icloudtest.Zone) int {
		n := 0
		for _, a := range z.Assets {
			if keep(a) {
				n++
			}
		}
		return n
	}
	visible := func(a *icloudtest.Asset) bool { return !a.Hidden && !a.Deleted }
	opts := source.ListOptions{Jobs: 3, Flags: &icloud.ListFlags{LivePhotos: "skip"}}
	originals := func(items []*record.Record) int {
		n := 0
		for _, it := range items {
			if it.Meta["variant"] == "original" {
				n++
			}
		}
		return n
	}
	checks := []struct {
		location string
		opts     source.ListOptions
		want     int
	}{
		{"icloud:favorites", opts, count(func(a *icloudtest.Asset) bool { return visible(a) && a.Favorite }, zones[0])},
		{"icloud:videos", opts, count(func(a *icloudtest.Asset) bool { return visible(a) && slices.Contains(a.Smart, "VIDEO") }, zones[0])},
		{"icloud:screenshots", opts, count(func(a *icloudtest.Asset) bool { return visible(a) && a.Subtype == 3 }, zones[0])},
		{"icloud:hidden", opts, count(func(a *icloudtest.Asset) bool { return a.Hidden && !a.Deleted }, zones[0])},
		{"icloud:album/Family & Friends", opts, count(func(a *icloudtest.Asset) bool { return !a.Deleted && slices.Contains(a.Albums, "album-family") }, zones[0])},
		{"icloud:", source.ListOptions{Jobs: 3, Flags: &icloud.ListFlags{Library: "shared"}}, count(visible, zones[1])},
	}
	for _, c := range checks {
		got := list(t, open(t, dir, c.location), c.opts).Items
		if n := originals(got); n != c.want || n == 0 {
			t.Errorf("%s %+v: %d originals, want %d (and more than none)", c.location, c.opts.Flags, n, c.want)
		}
		if f, _ := c.opts.Flags.(*icloud.ListFlags); f != nil && f.Library == "shared" && !strings.HasPrefix(got[0].Source, "icloud:library/shared") {
			t.Errorf("shared item source %q", got[0].Source)
		}
	}

	albums := list(t, open(t, dir, "icloud:"), source.ListOptions{Flags: &icloud.ListFlags{ListAlbums: true}}).Items
	var names []string
	for _, a := range albums {
		names = append(names, a.Name+"="+a.Source)
	}
	if want := []string{"Holidays=icloud:album/Holidays", "Family & Friends=icloud:album/Family & Friends"}; !slices.Equal(names, want) {
		t.Errorf("albums %v, want %v (no folders, root or deleted albums)", names, want)
	}
	for _, a := range albums {
		// The parent folder has its own key: meta.folder marks failures
		// about folders, which ps-fetch passes through.
		if _, ok := a.Meta[record.MetaFolder]; ok || a.Type != record.TypeAlbum {
			t.Errorf("album %s: type %q, meta %v", a.Name, a.Type, a.Meta)
		}
		if parent := a.Meta[record.MetaParentFolder]; (a.Name == "Family & Friends") != (parent == "folder-trips") {
			t.Errorf("album %s: parent folder %v", a.Name, parent)
		}
	}
	libs := list(t, open(t, dir, "icloud:"), source.ListOptions{Flags: &icloud.ListFlags{ListLibraries: true}}).Items
	if len(libs) != 2 || libs[0].Name != "PrimarySync" || !strings.HasPrefix(libs[1].Name, "SharedSync-") {
		t.Errorf("libraries %v", libs)
	}
	if _, err := icloud.ParseLocation("icloud:nonsense"); err == nil {
		t.Error("accepted an unknown smart folder")
	}
	err := open(t, dir, "icloud:album/Nope").List(context.Background(), opts, &sourcetest.Sink{})
	if fault.ClassOf(err) != fault.NotFound {
		t.Errorf("missing album: %v", err)
	}
}

func TestVariantsAndLivePhotos(t *testing.T) {
	zones := library(60, 0)
	fake := startFake(t, icloudtest.Options{}, zones...)
	src := open(t, signedIn(t, fake), "icloud:")
	got := byID(list(t, src, source.ListOptions{Jobs: 2, Flags: &icloud.ListFlags{Size: []string{"medium", "thumb", "adjusted"}, LivePhotos: "skip"}}).Items)
	for _, a := range zones[0].Assets {
		if a.Hidden || a.Deleted {
			continue
		}
		for v, prefix := range map[string]string{"medium": "resJPEGMed", "thumb": "resJPEGThumb", "adjusted": "resJPEGFull"} {
			if a.UTI == "com.apple.quicktime-movie" && v != "adjusted" {
				prefix = map[string]string{"medium": "resVidMed", "thumb": "resVidSmall"}[v]
			}
			it, res := got[a.Record+"~"+v], a.Resources[prefix]
			switch {
			case res == nil && it != nil:
				t.Errorf("%s: %s listed but the asset has none", a.Name, v)
			case res != nil && (it == nil || it.Size != res.Size || it.Meta["variant"] != v):
				t.Errorf("%s: %s item %+v, want size %d", a.Name, v, it, res.Size)
			}
		}
		if got[a.Record] != nil || got[a.Record+"~live"] != nil {
			t.Errorf("%s: original or live video listed without being asked for", a.Name)
		}
	}
	only := list(t, src, source.ListOptions{Jobs: 2, Flags: &icloud.ListFlags{LivePhotos: "only"}}).Items
	for _, it := range only {
		if it.Meta["variant"] != "live" || it.Media != "video" {
			t.Errorf("--live-photos only gave %s (%v)", it.Name, it.Meta["variant"])
		}
	}
	if len(only) == 0 {
		t.Error("--live-photos only gave nothing")
	}
}

func TestOpenResumesAndRefreshesExpiredURLs(t *testing.T) {
	zones := library(250, 0)
	fake := startFake(t, icloudtest.Options{}, zones...)
	dir := signedIn(t, fake)
	items := list(t, open(t, dir, "icloud:"), source.ListOptions{Jobs: 4}).Items
	// A fresh source, as ps-fetch opens one.
	src := open(t, dir, "icloud:")
	var target *record.Record
	var asset *icloudtest.Asset
	for _, it := range items {
		if it.Meta["rank"].(int) > 180 && it.Meta["variant"] == "original" {
			target = it
			break
		}
	}
	for _, a := range zones[0].Assets {
		if a.Record == target.ID {
			asset = a
		}
	}
	wantAll := content(t, fake, asset, "resOriginal")
	fake.ExpireURLs(asset.Record)
	before := fake.Stats()
	c, err := src.Open(context.Background(), target, 10)
	if err != nil {
		t.Fatalf("open after the URL expired: %v", err)
	}
	b, _ := io.ReadAll(c)
	c.Close()
	if c.Offset != 10 || !bytes.Equal(b, wantAll[10:]) {
		t.Errorf("read %d bytes from %d, want the %d bytes from 10", len(b), c.Offset, len(wantAll)-10)
	}
	if after := fake.Stats(); after.Expired != before.Expired+1 {
		t.Errorf("expired downloads %d → %d, want one 410", before.Expired, after.Expired)
	}

	// URLs past their own expiry are not even tried.
	fake.SetOptions(func(o *icloudtest.Options) { o.URLTTL = time.Second })
	src2 := open(t, dir, "icloud:")
	if _, err := src2.Open(context.Background(), target, 0); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond)
	expired := fake.Stats().Expired
	for _, it := range items[:5] {
		c, err := src2.Open(context.Background(), it, 0)
		if err != nil {
			t.Fatalf("open %s: %v", it.Name, err)
		}
		c.Close()
	}
	if fake.Stats().Expired > expired+1 {
		t.Errorf("URLs past their e= time were tried: %d 410s", fake.Stats().Expired-expired)
	}
}

func content(t *testing.T, fake *icloudtest.Server, a *icloudtest.Asset, prefix string) []byte {
	t.Helper()
	return icloudtest.Content(a, prefix)
}

func TestThrottlingAndSessionErrors(t *testing.T) {
	zones := library(500, 0)
	fake := startFake(t, icloudtest.Options{}, zones...)
	dir := signedIn(t, fake)
	src := open(t, dir, "icloud:")
	fake.Inject(icloudtest.Fault{Path: "records/query", Status: 503, Code: "THROTTLED", RetryAfter: 1, Count: 2})
	fake.Inject(icloudtest.Fault{Path: "records/query", Status: 421, Count: 1})
	start := time.Now()
	s := list(t, src, source.ListOptions{Jobs: 4})
	if len(s.Failures) != 0 || len(s.Items) < 450 {
		t.Errorf("throttled listing: %d items, failures %v", len(s.Items), s.Failures)
	}
	if time.Since(start) < time.Second {
		t.Errorf("a THROTTLED with retryAfter 1 did not pause the listing")
	}
	if fake.Stats().Throttled != 3 {
		t.Errorf("%d faults answered, want 3", fake.Stats().Throttled)
	}

	fake.ExpireWebSessions()
	err := open(t, dir, "icloud:").List(context.Background(), source.ListOptions{}, &sourcetest.Sink{})
	if fault.ClassOf(err) != fault.Auth || fault.HintOf(err) != "ps-auth icloud --username "+user {
		t.Errorf("expired session: %v (class %s, hint %q)", err, fault.ClassOf(err), fault.HintOf(err))
	}

	fake2 := startFake(t, icloudtest.Options{}, library(10, 0)...)
	dir2 := signedIn(t, fake2)
	fake2.SetOptions(func(o *icloudtest.Options) { o.ADP = true })
	err = open(t, dir2, "icloud:").List(context.Background(), source.ListOptions{}, &sourcetest.Sink{})
	if fault.ClassOf(err) != fault.Permanent || !strings.Contains(err.Error(), "Access iCloud Data on the Web") {
		t.Errorf("ACCESS_DENIED: %v", err)
	}
	fake2.SetOptions(func(o *icloudtest.Options) { o.ADP = false })
	fake2.IndexingRunning(1)
	err = open(t, dir2, "icloud:").List(context.Background(), source.ListOptions{}, &sourcetest.Sink{})
	if fault.ClassOf(err) != fault.Transient || !strings.Contains(err.Error(), "indexing") {
		t.Errorf("indexing: %v", err)
	}
}

func TestTrustExpiryWarnings(t *testing.T) {
	fake := startFake(t, icloudtest.Options{}, library(5, 0)...)
	dir := signedIn(t, fake)
	sess, err := state.Store{Dir: dir}.Session("icloud:")
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	env := source.Env{StateDir: dir, Log: slog.New(slog.NewTextHandler(&logs, nil))}
	sess.Expires = time.Now().Add(3 * 24 * time.Hour)
	sess.Session["trust_expires"] = record.FormatTime(sess.Expires)
	if _, err := icloud.Open(context.Background(), env, "icloud:", sess); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "expires in 3 day(s)") || !strings.Contains(logs.String(), "ps-auth icloud --username "+user) {
		t.Errorf("no near-expiry warning: %q", logs.String())
	}
	sess.Session["trust_expires"] = record.FormatTime(time.Now().Add(-time.Hour))
	_, err = icloud.Open(context.Background(), env, "icloud:", sess)
	if fault.ClassOf(err) != fault.Auth || !strings.Contains(fault.HintOf(err), "ps-auth icloud") {
		t.Errorf("expired trust: %v", err)
	}
	if _, err := icloud.Open(context.Background(), source.Env{StateDir: t.TempDir()}, "icloud:", nil); fault.ClassOf(err) != fault.Auth {
		t.Errorf("no session: %v", err)
	}
}

func TestSinceStopsPaging(t *testing.T) {
	zones := library(450, 0)
	fake := startFake(t, icloudtest.Options{}, zones...)
	src := open(t, signedIn(t, fake), "icloud:")
	var visible []*icloudtest.Asset
	for _, a := range zones[0].Assets {
		if !a.Hidden && !a.Deleted {
			visible = append(visible, a)
		}
	}
	since := visible[150].Taken
	before := fake.Stats().PageQueries
	items := list(t, src, source.ListOptions{Jobs: 1, Since: since, Flags: &icloud.ListFlags{LivePhotos: "skip"}}).Items
	if pages := fake.Stats().PageQueries - before; pages != 2 {
		t.Errorf("--since read %d pages, want 2 (ranks 0-199; the rest are older)", pages)
	}
	n := 0
	for _, it := range items {
		if it.Taken.Before(since) {
			t.Errorf("%s taken %s, before --since %s", it.Name, it.Taken, since)
		}
		if it.Meta["variant"] == "original" {
			n++
		}
	}
	if n != 151 {
		t.Errorf("%d originals since %s, want 151", n, since)
	}

	// A window in the middle: bisection skips the newer pages.
	until := visible[250].Taken
	since = visible[330].Taken
	before = fake.Stats().PageQueries
	items = list(t, src, source.ListOptions{Jobs: 2, Since: since, Until: until, Flags: &icloud.ListFlags{LivePhotos: "skip"}}).Items
	if pages := fake.Stats().PageQueries - before; pages > 6 {
		t.Errorf("--since/--until read %d pages (bisection and window), want at most 6", pages)
	}
	n = 0
	for _, it := range items {
		if it.Taken.Before(since) || it.Taken.After(until) {
			t.Errorf("%s taken %s, outside %s..%s", it.Name, it.Taken, since, until)
		}
		if it.Meta["variant"] == "original" {
			n++
		}
	}
	if n != 81 {
		t.Errorf("%d originals in the window, want 81", n)
	}
}

func TestFileNameEncodings(t *testing.T) {
	at := time.Date(2024, 5, 1, 8, 0, 0, 0, time.UTC)
	plain := icloudtest.NewFileAsset("Plain Name.JPG", []byte("plain"), at)
	plain.StringFilename = true
	missing := icloudtest.NewFileAsset("ignored.HEIC", []byte("no name"), at.Add(-time.Hour))
	missing.NoFilename = true
	missing.Master = "AY6c+BsE0jjaXx9tmVGJM1D2VcEO"
	utf := icloudtest.NewFileAsset("Fête à Zürich 📷.PNG", []byte("unicode"), at.Add(-2*time.Hour))
	zone := &icloudtest.Zone{Name: "PrimarySync", Assets: []*icloudtest.Asset{plain, missing, utf}}
	fake := startFake(t, icloudtest.Options{}, zone)
	items := byID(list(t, open(t, signedIn(t, fake), "icloud:"), source.ListOptions{}).Items)
	for asset, want := range map[string]string{plain.Record: "Plain Name.JPG", missing.Record: "AY6c_BsE0jja.HEIC", utf.Record: "Fête à Zürich 📷.PNG"} {
		if it := items[asset]; it == nil || it.Name != want || it.Path != want {
			t.Errorf("asset %s: item %+v, want name %q", asset, it, want)
		}
	}
}

func TestStaleCountsAndEmptyPages(t *testing.T) {
	zones := library(430, 0)
	visible := 0
	for _, a := range zones[0].Assets {
		if !a.Hidden && !a.Deleted {
			visible++
		}
	}
	fake := startFake(t, icloudtest.Options{}, zones...)
	dir := signedIn(t, fake)
	originals := func(s *sourcetest.Sink) int {
		n := 0
		for _, it := range s.Items {
			if it.Meta["variant"] == "original" {
				n++
			}
		}
		return n
	}
	for _, c := range []struct {
		name     string
		offset   int
		emptyAt  int
		times    int
		failures int
	}{
		{"count too high", 250, 0, 0, 0},
		{"count too low", -250, 0, 0, 0},
		{"one transient empty page", 0, 200, 1, 0},
		{"a page that stays empty", 0, 200, 2, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			fake.SetOptions(func(o *icloudtest.Options) { o.CountOffset = c.offset })
			if c.times > 0 {
				fake.EmptyPageAt(c.emptyAt, c.times)
			}
			s := &sourcetest.Sink{}
			if err := open(t, dir, "icloud:").List(context.Background(), source.ListOptions{Jobs: 3}, s); err != nil {
				t.Fatal(err)
			}
			want := visible
			if c.failures > 0 {
				want -= 100
			}
			if n := originals(s); n != want || len(s.Failures) != c.failures {
				t.Errorf("%d originals (want %d), failures %v (want %d)", n, want, s.Failures, c.failures)
			}
		})
	}
}

func TestSignInBySMSWithoutAppleDevice(t *testing.T) {
	fake := startFake(t, icloudtest.Options{RequirePush: true})
	fake.SetAccount(user, func(a *icloudtest.Account) { a.NoDevice = true })
	run := signIn(t, t.TempDir(), "012345\n", icloud.AuthCommand{})
	if run.err != nil || !strings.Contains(run.stderr, "by SMS") {
		t.Fatalf("SMS sign-in: %v\n%s", run.err, run.stderr)
	}
	if st := fake.Stats(); st.CodePushes != 1 || st.CodeChecks != 1 {
		t.Errorf("SMS: %+v", st)
	}
}
