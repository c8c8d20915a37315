package fetch

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ps-photos/ps/internal/fetch/fetchtest"
	"github.com/ps-photos/ps/internal/manifest"
	"github.com/ps-photos/ps/internal/naming"
	"github.com/ps-photos/ps/internal/record"
	"github.com/ps-photos/ps/internal/retry"
	"github.com/ps-photos/ps/internal/source/httpget"
	"github.com/ps-photos/ps/internal/source/local"
)

// chaosChildEnv makes the test binary a ps-fetch run into the folder it
// names (stdin to stdout), so the soak can SIGKILL a real process.
const chaosChildEnv = "PS_FETCH_CHAOS_CHILD"

func TestMain(m *testing.M) {
	if dir := os.Getenv(chaosChildEnv); dir != "" {
		os.Exit(chaosChild(dir))
	}
	os.Exit(m.Run())
}

func chaosChild(dir string) int {
	tmpl, err := naming.Parse("path")
	if err != nil {
		return 2
	}
	opts := Options{Dir: dir, Jobs: 4, Name: tmpl, Retries: 2, IdleTimeout: 2 * time.Second,
		Opener:  &opener{http: httpget.New()},
		Backoff: retry.Policy{Base: 20 * time.Millisecond, Max: 100 * time.Millisecond, MaxWait: time.Second}}
	enc := record.NewEncoder(os.Stdout)
	_, err = Run(context.Background(), os.Stdin, enc, opts)
	enc.Close()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// chaosItem is one item of the soak and the bytes its source has now.
type chaosItem struct {
	rec  *record.Record
	name string // on the server, or in the local folder
	data []byte
}

// TestChaosSoak runs ps-fetch over a loopback HTTP server and a local
// folder again and again, SIGKILLing it at random moments, with faults on
// the server between runs (dropped and short bodies, 500s, ignored and
// refused ranges) and sources that change, same size, under a partial
// download. In each round, a run to the end must then leave every item
// byte-identical to its source, once, under its own name, with no .part,
// one manifest entry and one record per item. Bounded: 10 rounds of 10
// runs and 40 s (2 rounds and 15 s with -short). PS_CHAOS_SEED replays a
// run.
func TestChaosSoak(t *testing.T) {
	rounds, budget := 10, 40*time.Second
	if testing.Short() {
		rounds, budget = 2, 15*time.Second
	}
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("PS_CHAOS_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	t.Logf("seed %d (PS_CHAOS_SEED replays it)", seed)
	c := &chaos{t: t, rng: rand.New(rand.NewPCG(seed, 1)), srv: fetchtest.New(), deadline: time.Now().Add(budget)}
	defer c.srv.Close()
	start := time.Now()
	for round := 0; round < rounds && time.Now().Before(c.deadline); round++ {
		c.round(round)
	}
	t.Logf("%d rounds: %d runs, %d SIGKILLed mid-run, %d faults, %d sources changed under a part; %s in all",
		c.rounds, c.runs, c.killed, c.faulted, c.changed, time.Since(start).Round(100*time.Millisecond))
}

type chaos struct {
	t        *testing.T
	rng      *rand.Rand
	srv      *fetchtest.Server
	deadline time.Time

	rounds, runs, killed, faulted, changed int
}

func (c *chaos) bytes(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(c.rng.Uint32())
	}
	return b
}

// round fetches fresh items into a fresh folder through 10 killed runs
// and a last one, and checks the outcome.
func (c *chaos) round(round int) {
	t := c.t
	srcDir, out := t.TempDir(), t.TempDir()
	size := func() int { return 1<<10 + c.rng.IntN(1<<20) }
	var items []*chaosItem
	for i := range 12 {
		name := fmt.Sprintf("r%d/h%02d.bin", round, i)
		it := &chaosItem{name: name, data: c.bytes(size())}
		it.rec = c.srv.Add(name, it.data, fixedMtime)
		it.rec.Path = "http/" + path.Base(name)
		if i%2 == 1 { // the jq recipe: a url and a path, no size, no mtime
			it.rec = &record.Record{Type: record.TypeItem, URL: it.rec.URL, Path: "url/" + path.Base(name)}
		}
		items = append(items, it)
	}
	for i := range 6 {
		name := fmt.Sprintf("l%02d.bin", i)
		it := &chaosItem{name: name, data: c.bytes(size())}
		if err := os.WriteFile(filepath.Join(srcDir, name), it.data, 0o644); err != nil {
			t.Fatal(err)
		}
		st, _ := os.Stat(filepath.Join(srcDir, name))
		it.rec = &record.Record{Type: record.TypeItem, Source: local.Location(srcDir), ID: name, Path: "local/" + name,
			Size: int64(len(it.data)), Mtime: st.ModTime().UTC()}
		items = append(items, it)
	}
	var input bytes.Buffer
	for _, it := range items {
		b, err := it.rec.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		input.Write(append(b, '\n'))
	}
	faults := []fetchtest.Fault{fetchtest.Drop, fetchtest.E500, fetchtest.Short, fetchtest.Whole, fetchtest.E416}
	c.srv.SetRate(1 << 20)
	for range 10 {
		if time.Now().After(c.deadline) {
			break
		}
		for _, it := range items {
			if it.rec.Source == "" && c.rng.IntN(5) == 0 {
				c.srv.Fail(it.name, faults[c.rng.IntN(len(faults))])
				c.faulted++
			}
		}
		// A source that changes under a partial download (not under a
		// finished one, nor a whole part killed before its rename: that is
		// all of the version the record lists, and ps-fetch rightly keeps
		// it).
		if it := items[c.rng.IntN(len(items))]; c.rng.IntN(2) == 0 && !finished(out, it) {
			it.data = c.bytes(len(it.data))
			if it.rec.Source == "" {
				c.srv.Add(it.name, it.data, fixedMtime)
			} else {
				p := filepath.Join(srcDir, it.name)
				if err := os.WriteFile(p, it.data, 0o644); err != nil {
					t.Fatal(err)
				}
				later := time.Now().Add(time.Duration(c.runs+1) * time.Second)
				os.Chtimes(p, later, later)
			}
			c.changed++
		}
		if chaosRun(t, out, input.Bytes(), time.Duration(50+c.rng.IntN(600))*time.Millisecond) == nil {
			c.killed++
		}
		c.runs++
	}
	c.srv.ClearFaults()
	c.srv.SetRate(0)
	final := chaosRun(t, out, input.Bytes(), 0)
	c.runs++
	c.rounds++
	checkChaos(t, out, items, final)
}

// chaosRun runs ps-fetch into out; with kill > 0 it SIGKILLs it after
// that long and returns nil when it did, else its output records.
func chaosRun(t *testing.T, out string, input []byte, kill time.Duration) []*record.Record {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), chaosChildEnv+"="+out)
	cmd.Stdin = bytes.NewReader(input)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	limit := time.NewTimer(90 * time.Second)
	defer limit.Stop()
	var stop <-chan time.Time
	if kill > 0 {
		stop = time.After(kill)
	}
	select {
	case <-stop:
		cmd.Process.Kill() // SIGKILL, to the process this test started
		<-done
		return nil
	case <-limit.C:
		cmd.Process.Kill()
		<-done
		t.Fatalf("ps-fetch did not finish within 90 s; stderr: %s", stderr.String())
	case err := <-done:
		if err != nil && kill == 0 {
			t.Fatalf("the final run failed: %v; stderr: %s", err, stderr.String())
		}
	}
	var recs []*record.Record
	dec := record.NewDecoder(&stdout)
	for {
		rec, err := dec.Decode()
		if err == io.EOF {
			return recs
		}
		if err != nil {
			t.Fatalf("output: %v", err)
		}
		recs = append(recs, rec)
	}
}

// finished reports whether the item's file is in place, or all its bytes
// are in its part.
func finished(out string, it *chaosItem) bool {
	target := filepath.Join(out, filepath.FromSlash(it.rec.Path))
	if _, err := os.Lstat(target); err == nil {
		return true
	}
	parts, _ := filepath.Glob(target + ".*.part")
	for _, p := range parts {
		if st, err := os.Stat(p); err == nil && st.Size() >= int64(len(it.data)) {
			return true
		}
	}
	return false
}

// checkChaos checks the folder and the final run's records.
func checkChaos(t *testing.T, out string, items []*chaosItem, final []*record.Record) {
	t.Helper()
	want := map[string][]byte{}
	for _, it := range items {
		want[it.rec.Path] = it.data
	}
	// Byte-identity, and nothing else in the folder: no _1 copy, no .part.
	filepath.WalkDir(out, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(out, p)
		rel = filepath.ToSlash(rel)
		data, ok := want[rel]
		switch {
		case rel == manifest.FileName:
		case !ok:
			t.Errorf("unexpected file %s (a duplicate or a leftover part)", rel)
		default:
			got, err := os.ReadFile(p)
			if err != nil || !bytes.Equal(got, data) {
				t.Errorf("%s: %d bytes that differ from the source's %d (%v)", rel, len(got), len(data), err)
			}
			delete(want, rel)
		}
		return nil
	})
	for rel := range want {
		t.Errorf("%s is missing", rel)
	}
	// One record per item, and not a failure.
	seen := map[string]int{}
	for _, rec := range final {
		if rec.Type != record.TypeResult {
			t.Errorf("final run: %s %s: %+v", rec.Type, rec.Path, rec.Error)
			continue
		}
		seen[rec.Path]++
		if !strings.HasSuffix(filepath.ToSlash(rec.Local), "/"+rec.Path) {
			t.Errorf("%s went to %s", rec.Path, rec.Local)
		}
	}
	for _, it := range items {
		if seen[it.rec.Path] != 1 {
			t.Errorf("%s: %d records in the final run, want 1", it.rec.Path, seen[it.rec.Path])
		}
	}
	// One current manifest entry per item, under its own name.
	latest := map[string]manifest.Entry{}
	if err := manifest.Scan(out, func(e *manifest.Entry) error {
		latest[e.Source+"\x00"+e.ID] = *e
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(latest) != len(items) {
		t.Errorf("the manifest lists %d items, want %d", len(latest), len(items))
	}
	for _, it := range items {
		src, id := manifest.Ident(it.rec)
		if e, ok := latest[src+"\x00"+id]; !ok || e.Local != it.rec.Path || e.Pending {
			t.Errorf("%s: manifest entry %+v", it.rec.Path, e)
		}
	}
}
