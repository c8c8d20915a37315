//go:build unix

package fetch

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ps-photos/ps/internal/manifest"
	"github.com/ps-photos/ps/internal/naming"
	"github.com/ps-photos/ps/internal/record"
	"github.com/ps-photos/ps/internal/source/httpget"
)

// Throughput against a loopback HTTP server, as the comparison
// with rclone and aria2c does with nginx (bench/run.sh runs that one):
//
//	go test ./internal/fetch -run '^$' -bench HTTP -benchtime 1x
//
// Reported: MB/s and files/s over the whole run, sync included.
// BenchmarkHashes is the floor under every download: ps-fetch hashes each
// byte with sha256 (SHA-NI where the CPU has it), one core per stream. At
// the 1.3 GB/s measured here, 100 × 25 MiB costs 2.0 CPU-seconds that a
// tool which does not hash (rclone over HTTP) never spends.
func BenchmarkHashes(b *testing.B) {
	buf := make([]byte, minCopyBuf)
	hs := newHashes(&record.Record{})
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		hs.Write(buf)
	}
}

func BenchmarkHTTPLarge(b *testing.B) { benchHTTP(b, 100, 25<<20) }
func BenchmarkHTTPSmall(b *testing.B) { benchHTTP(b, 5000, 64<<10) }

func benchHTTP(b *testing.B, files, size int) {
	data := bytes.Repeat([]byte("0123456789abcdef"), size/16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data))
	}))
	defer srv.Close()
	var in bytes.Buffer
	for i := range files {
		fmt.Fprintf(&in, `{"type":"item","url":"%s/f%d","path":"f%d","size":%d}`+"\n", srv.URL, i, i, size)
	}
	jobs := 8
	if v, err := strconv.Atoi(os.Getenv("PS_BENCH_JOBS")); err == nil {
		jobs = v
	}
	tmpl, _ := naming.Parse("path")
	var elapsed time.Duration
	for b.Loop() {
		dir := b.TempDir()
		opts := Options{Dir: dir, Jobs: jobs, Name: tmpl, Retries: 1, Opener: &opener{http: httpget.New()}}
		if os.Getenv("PS_BENCH_NOSYNC") == "1" {
			opts.partSync = func(*os.File) error { return nil }
		}
		enc := record.NewEncoder(io.Discard)
		start := time.Now()
		stats, err := Run(context.Background(), strings.NewReader(in.String()), enc, opts)
		elapsed += time.Since(start)
		enc.Close()
		if err != nil || stats.Downloaded != int64(files) {
			b.Fatalf("%v %+v", err, stats)
		}
		os.RemoveAll(dir)
	}
	secs := elapsed.Seconds() / float64(b.N)
	b.ReportMetric(float64(files*size)/1e6/secs, "MB/s")
	b.ReportMetric(float64(files)/secs, "files/s")
}

// BenchmarkMemory1M measures ps-fetch's peak RSS on 1,000,000 input
// records of which 990,000 are already in the manifest (skipped after a
// stat) and 10,000 are new local files. It builds the real binary and
// reads the kernel's maxrss for it:
//
//	go test ./internal/fetch -run '^$' -bench Memory1M -benchtime 1x
func BenchmarkMemory1M(b *testing.B) { benchMemory(b, 1_000_000, 10_000, false) }

// BenchmarkSkip100K is the same in-process, for -cpuprofile and -memprofile.
func BenchmarkSkip100K(b *testing.B) { benchMemory(b, 100_000, 1_000, true) }

func benchMemory(b *testing.B, total, fresh int, inProcess bool) {
	tmp := b.TempDir()
	if d := os.Getenv("PS_BENCH_DIR"); d != "" {
		tmp = d // kept, to run the binary by hand (GODEBUG=gctrace=1)
		os.MkdirAll(d, 0o755)
	}
	bin := filepath.Join(tmp, "ps-fetch")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/ps-photos/ps/cmd/ps-fetch").CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	src, out := filepath.Join(tmp, "src"), filepath.Join(tmp, "out")
	seed := filepath.Join(tmp, "seed")
	os.WriteFile(seed, []byte("x"), 0o644)
	name := func(i int) string { return fmt.Sprintf("d%04d/IMG_%07d.JPG", i/1000, i) }
	mtime := "2024-07-01T00:00:00Z"
	loc := "file://" + src
	// The files a previous run wrote: hard links to one byte, and their
	// manifest lines.
	os.MkdirAll(out, 0o755)
	_, mw, err := manifest.Open(out, false, false)
	if err != nil {
		b.Fatal(err)
	}
	for i := fresh; i < total; i++ {
		p := filepath.Join(out, name(i))
		if i%1000 == 0 || i == fresh {
			os.MkdirAll(filepath.Dir(p), 0o755)
		}
		if i%60000 == 0 { // ext4 allows 65,000 links to one file
			seed = filepath.Join(tmp, fmt.Sprintf("seed%d", i))
			os.WriteFile(seed, []byte("x"), 0o644)
		}
		if err := os.Link(seed, p); err != nil {
			b.Fatal(err)
		}
		mw.Add(&manifest.Entry{Source: loc, ID: name(i), Path: name(i), Size: 1, Mtime: mtime, Local: name(i),
			SHA256: "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881"})
	}
	if err := mw.Close(); err != nil {
		b.Fatal(err)
	}
	for i := range fresh {
		p := filepath.Join(src, name(i))
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.Link(seed, p)
	}
	input := func(pw *io.PipeWriter) {
		w := bufio.NewWriterSize(pw, 1<<20)
		for i := range total {
			fmt.Fprintf(w, `{"type":"item","source":"%s","id":"%s","path":"%s","name":"IMG_%07d.JPG","size":1,"mtime":"%s","media":"photo"}`+"\n",
				loc, name(i), name(i), i, mtime)
		}
		w.Flush()
		pw.Close()
	}
	if inProcess {
		tmpl, _ := naming.Parse("path")
		for b.Loop() {
			pr, pw := io.Pipe()
			go input(pw)
			enc := record.NewEncoder(io.Discard)
			stats, err := Run(context.Background(), pr, enc, Options{Dir: out, Jobs: 8, Name: tmpl, Opener: &opener{http: httpget.New()}})
			enc.Close()
			if err != nil || stats.Skipped+stats.Downloaded != int64(total) {
				b.Fatalf("%v %+v", err, stats)
			}
		}
		return
	}
	for b.Loop() {
		cmd := exec.Command(bin, "-q", "-j8", "-o", out)
		pr, pw := io.Pipe()
		cmd.Stdin = pr
		cmd.Stdout = io.Discard
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		go input(pw)
		start := time.Now()
		if err := cmd.Run(); err != nil {
			b.Fatalf("ps-fetch: %v\n%s", err, stderr.String())
		}
		b.ReportMetric(time.Since(start).Seconds(), "s")
		ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
		b.ReportMetric(float64(ru.Maxrss)/1024, "peak-MiB") // Maxrss is KiB on Linux
		b.ReportMetric((time.Duration(ru.Utime.Nano()) + time.Duration(ru.Stime.Nano())).Seconds(), "cpu-s")
	}
}
