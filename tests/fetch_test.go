package tests

import (
	"bytes"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/ps-photos/ps/internal/fetch/fetchtest"
)

// Commands for the fetch_*.txtar scripts:
//
//	fetchserve [-rate BYTES/S] DIR [NAME=FAULT,FAULT…]…
//	    serve the files under DIR over HTTP on 127.0.0.1, with faults on
//	    the first requests for NAME (drop 500 429 stall short length 200
//	    416), and print an item record (url, path, name, size, mtime) per
//	    file, in name order. Sets FETCH_URL.
//	fetchctl fail NAME FAULT…    queue more faults for NAME
//	fetchctl rate BYTES/S        change the bandwidth limit (0: none)
//	fetchctl hits NAME N         assert the server saw N requests for NAME
//	fetchctl replace NAME FILE   serve FILE's bytes as NAME from now on
//	mkbig FILE MIB [SEED]        write MIB MiB of pseudo-random bytes
//	waitpart DIR BYTES           wait (up to 60 s) until a *.part file under
//	                             DIR holds at least BYTES
func init() {
	commands["fetchserve"] = fetchServe
	commands["fetchctl"] = fetchCtl
	commands["mkbig"] = mkBig
	commands["waitpart"] = waitPart
}

var fetchServers sync.Map // work dir → *fetchtest.Server

func fetchServe(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! fetchserve")
	}
	var rate int64
	if len(args) >= 2 && args[0] == "-rate" {
		r, err := strconv.ParseInt(args[1], 10, 64)
		ts.Check(err)
		rate, args = r, args[2:]
	}
	if len(args) < 1 {
		ts.Fatalf("usage: fetchserve [-rate BYTES/S] DIR [NAME=FAULT,…]…")
	}
	faults := map[string][]fetchtest.Fault{}
	for _, a := range args[1:] {
		name, list, ok := strings.Cut(a, "=")
		if !ok {
			ts.Fatalf("fault %q: want NAME=FAULT,FAULT", a)
		}
		faults[name] = parseFaults(ts, strings.Split(list, ","))
	}
	srv := fetchtest.New()
	srv.SetRate(rate)
	ts.Defer(srv.Close)
	fetchServers.Store(ts.Getenv("WORK"), srv)
	ts.Setenv("FETCH_URL", srv.URL)

	root := ts.MkAbs(args[0])
	var names []string
	ts.Check(filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		names = append(names, filepath.ToSlash(rel))
		return nil
	}))
	sort.Strings(names)
	var out bytes.Buffer
	for _, name := range names {
		p := filepath.Join(root, filepath.FromSlash(name))
		data, err := os.ReadFile(p)
		ts.Check(err)
		st, err := os.Stat(p)
		ts.Check(err)
		rec := srv.Add(name, data, st.ModTime().UTC().Truncate(time.Second), faults[name]...)
		line, err := rec.MarshalJSON()
		ts.Check(err)
		out.Write(append(line, '\n'))
	}
	ts.Stdout().Write(out.Bytes())
}

func parseFaults(ts *testscript.TestScript, names []string) []fetchtest.Fault {
	var out []fetchtest.Fault
	for _, n := range names {
		found := false
		for _, f := range fetchtest.Faults {
			if string(f) == n {
				out, found = append(out, f), true
			}
		}
		if !found {
			ts.Fatalf("unknown fault %q (known: %v)", n, fetchtest.Faults)
		}
	}
	return out
}

func fetchCtl(ts *testscript.TestScript, neg bool, args []string) {
	v, ok := fetchServers.Load(ts.Getenv("WORK"))
	if !ok {
		ts.Fatalf("fetchctl: run fetchserve first")
	}
	srv := v.(*fetchtest.Server)
	if len(args) < 2 {
		ts.Fatalf("usage: fetchctl fail NAME FAULT… | rate BYTES/S | replace NAME FILE | hits NAME N")
	}
	switch args[0] {
	case "fail":
		srv.Fail(args[1], parseFaults(ts, args[2:])...)
	case "rate":
		r, err := strconv.ParseInt(args[1], 10, 64)
		ts.Check(err)
		srv.SetRate(r)
	case "replace":
		if len(args) != 3 {
			ts.Fatalf("usage: fetchctl replace NAME FILE")
		}
		data, err := os.ReadFile(ts.MkAbs(args[2]))
		ts.Check(err)
		srv.Add(args[1], data, time.Now().UTC().Truncate(time.Second))
	case "hits":
		if len(args) != 3 {
			ts.Fatalf("usage: fetchctl hits NAME N")
		}
		want, err := strconv.Atoi(args[2])
		ts.Check(err)
		if got := srv.Hits(args[1]); (got == want) == neg {
			ts.Fatalf("%s: %d requests, want %d", args[1], got, want)
		}
	default:
		ts.Fatalf("fetchctl: unknown %q", args[0])
	}
}

func mkBig(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 || len(args) > 3 {
		ts.Fatalf("usage: mkbig FILE MIB [SEED]")
	}
	mib, err := strconv.Atoi(args[1])
	ts.Check(err)
	seed := [32]byte{byte(mib)}
	if len(args) == 3 {
		n, err := strconv.Atoi(args[2])
		ts.Check(err)
		seed[1] = byte(n)
	}
	rng := rand.NewChaCha8(seed)
	data := make([]byte, mib<<20)
	rng.Read(data)
	p := ts.MkAbs(args[0])
	ts.Check(os.MkdirAll(filepath.Dir(p), 0o755))
	ts.Check(os.WriteFile(p, data, 0o644))
}

func waitPart(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: waitpart DIR BYTES")
	}
	want, err := strconv.ParseInt(args[1], 10, 64)
	ts.Check(err)
	dir := ts.MkAbs(args[0])
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		var biggest int64
		filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(p, ".part") {
				if info, err := d.Info(); err == nil {
					biggest = max(biggest, info.Size())
				}
			}
			return nil
		})
		if biggest >= want {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	ts.Fatalf("no .part file under %s reached %d bytes in 60s", args[0], want)
}
