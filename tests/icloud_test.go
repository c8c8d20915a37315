package tests

import (
	"bytes"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/ps-photos/ps/internal/source/icloud/icloudtest"
)

// icloud-fake runs a fake iCloud (internal/source/icloud/icloudtest) for
// a script:
//
//	icloud-fake start [-assets N] [-shared N] [-require-push] [-unpadded] [-latency D]
//	icloud-fake throttle PATH COUNT [STATUS [CODE]]   inject throttling (503 THROTTLED by default)
//	icloud-fake expire-url NAME                       the next download of NAME answers 410
//	icloud-fake expire-web | adp                      end web sessions | turn on Advanced Data Protection
//	icloud-fake mark                                  remember the counters
//	icloud-fake since-mark                            print counters since the mark
//	icloud-fake verify DIR SINCE                      DIR holds exactly the library from SINCE, named by date
//	icloud-fake add NAME YYYY-MM-DD                   a new photo in the library
//	icloud-fake trash NAME | expire-tokens            move to Recently Deleted | refuse every sync token so far
var icloudFakes = struct {
	sync.Mutex
	m    map[*testscript.TestScript]*icloudtest.Server
	mark map[*testscript.TestScript]icloudtest.Stats
}{m: map[*testscript.TestScript]*icloudtest.Server{}, mark: map[*testscript.TestScript]icloudtest.Stats{}}

func init() {
	commands["icloud-fake"] = icloudFake
}

func icloudFake(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) == 0 {
		ts.Fatalf("usage: icloud-fake start|throttle|expire-url|expire-web|adp|mark|since-mark|verify …")
	}
	icloudFakes.Lock()
	fake := icloudFakes.m[ts]
	icloudFakes.Unlock()
	if args[0] != "start" && fake == nil {
		ts.Fatalf("icloud-fake start first")
	}
	switch args[0] {
	case "start":
		fs := flag.NewFlagSet("icloud-fake start", flag.ContinueOnError)
		assets := fs.Int("assets", 300, "assets in the library")
		shared := fs.Int("shared", 0, "assets in a shared library")
		push := fs.Bool("require-push", true, "codes arrive only when asked for (iOS 26.4)")
		unpadded := fs.Bool("unpadded", false, "pysrp's unpadded SRP")
		latency := fs.Duration("latency", 0, "added to every request")
		ts.Check(fs.Parse(args[1:]))
		zones := icloudtest.Generate(icloudtest.Spec{Assets: *assets, Shared: *shared, Seed: 42, MinSize: 2000, MaxSize: 40000,
			Newest: time.Date(2025, 3, 1, 9, 30, 0, 0, time.UTC), Step: 5 * 24 * time.Hour})
		fake = icloudtest.New(icloudtest.Options{RequirePush: *push, UnpaddedSRP: *unpadded, Latency: *latency}, zones...)
		fake.AddAccount("me@example.com", "correct horse battery", "012345")
		for k, v := range fake.Env() {
			ts.Setenv(k, v)
		}
		icloudFakes.Lock()
		icloudFakes.m[ts] = fake
		icloudFakes.Unlock()
		ts.Defer(func() {
			fake.Close()
			icloudFakes.Lock()
			delete(icloudFakes.m, ts)
			delete(icloudFakes.mark, ts)
			icloudFakes.Unlock()
		})
		ts.Defer(func() { fake.Faults().Check(ts.Fatalf) })
	case "throttle":
		if len(args) < 3 {
			ts.Fatalf("usage: icloud-fake throttle PATH COUNT [STATUS [CODE]]")
		}
		f := icloudtest.Fault{Path: args[1], Status: 503, Code: "THROTTLED", RetryAfter: 1}
		fmt.Sscan(args[2], &f.Count)
		if len(args) > 3 {
			fmt.Sscan(args[3], &f.Status)
			f.Code = ""
		}
		if len(args) > 4 {
			f.Code = args[4]
		}
		fake.Inject(f)
	case "expire-url":
		if !fake.ExpireURLs(args[1]) {
			ts.Fatalf("no asset %s", args[1])
		}
	case "expire-web":
		fake.ExpireWebSessions()
	case "add":
		taken, err := time.Parse(time.DateOnly, args[2])
		ts.Check(err)
		fake.AddAsset("PrimarySync", icloudtest.NewFileAsset(args[1], []byte("new photo "+args[1]), taken.Add(12*time.Hour)))
	case "trash":
		if !fake.UpdateAsset("PrimarySync", args[1], true, func(a *icloudtest.Asset) { a.Deleted = true }) {
			ts.Fatalf("no asset %s", args[1])
		}
	case "expire-tokens":
		fake.ExpireSyncTokens()
	case "adp":
		fake.SetOptions(func(o *icloudtest.Options) { o.ADP = true })
	case "mark":
		icloudFakes.Lock()
		icloudFakes.mark[ts] = fake.Stats()
		icloudFakes.Unlock()
	case "since-mark":
		icloudFakes.Lock()
		m := icloudFakes.mark[ts]
		icloudFakes.Unlock()
		s := fake.Stats()
		fmt.Fprintf(ts.Stdout(), "signins=%d codes=%d queries=%d downloads=%d expired=%d throttled=%d pages=%d changes=%d refused=%d\n", s.Completes-m.Completes,
			s.CodeChecks-m.CodeChecks, s.Queries-m.Queries, s.Downloads-m.Downloads, s.Expired-m.Expired, s.Throttled-m.Throttled,
			s.PageQueries-m.PageQueries, s.Changes-m.Changes, s.TokensRefused-m.TokensRefused)
	case "verify":
		icloudVerify(ts, fake, ts.MkAbs(args[1]), args[2])
	default:
		ts.Fatalf("unknown icloud-fake command %q", args[0])
	}
}

// icloudVerify checks that dir holds exactly the originals, RAW
// alternatives and live photo videos of the assets taken from since on,
// byte for byte, under --name date's YYYY/MM/DD folders.
func icloudVerify(ts *testscript.TestScript, fake *icloudtest.Server, dir, since string) {
	from, err := time.Parse(time.DateOnly, since)
	ts.Check(err)
	want := map[string][]byte{}
	for _, a := range fake.Zones()[0].Assets {
		if a.Hidden || a.Deleted || a.Taken.Before(from) {
			continue
		}
		day := a.Taken.UTC().Format("2006/01/02/")
		stem := strings.TrimSuffix(a.Name, filepath.Ext(a.Name))
		want[day+a.Name] = icloudtest.Content(a, "resOriginal")
		if a.Resources["resOriginalAlt"] != nil {
			want[day+stem+".CR2"] = icloudtest.Content(a, "resOriginalAlt")
		}
		if a.Resources["resOriginalVidCompl"] != nil {
			want[day+stem+"_HEVC.MOV"] = icloudtest.Content(a, "resOriginalVidCompl")
		}
	}
	got := 0
	ts.Check(filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasPrefix(d.Name(), ".") {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		data, ok := want[rel]
		if !ok {
			ts.Fatalf("unexpected file %s", rel)
		}
		b, err := os.ReadFile(p)
		ts.Check(err)
		if !bytes.Equal(b, data) {
			ts.Fatalf("%s: %d bytes differ from the %d in iCloud", rel, len(b), len(data))
		}
		got++
		return nil
	}))
	if got != len(want) {
		ts.Fatalf("%d files downloaded, want %d", got, len(want))
	}
	fmt.Fprintf(ts.Stdout(), "verified %d files\n", got)
}
