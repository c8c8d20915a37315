//go:build unix

package icloud_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ps-photos/ps/internal/source"
	"github.com/ps-photos/ps/internal/source/icloud/icloudtest"
	"github.com/ps-photos/ps/internal/source/sourcetest"
)

// peakHeap samples the heap in use until stop is closed.
func peakHeap(stop <-chan struct{}) <-chan uint64 {
	out := make(chan uint64, 1)
	go func() {
		var peak uint64
		var ms runtime.MemStats
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
			select {
			case <-stop:
				out <- peak
				return
			case <-t.C:
			}
		}
	}()
	return out
}

// TestMain doubles as the fake iCloud of the benchmark: run in a child
// process, the fake's 100,000-asset library and its CPU stay out of the
// client's measurements.
func TestMain(m *testing.M) {
	if spec := os.Getenv("PS_ICLOUD_BENCH_FAKE"); spec != "" {
		serveBenchFake(spec)
		return
	}
	os.Exit(m.Run())
}

// serveBenchFake serves "ASSETS,LATENCY" until stdin closes.
func serveBenchFake(spec string) {
	n, lat, _ := strings.Cut(spec, ",")
	assets, _ := strconv.Atoi(n)
	latency, _ := time.ParseDuration(lat)
	zones := icloudtest.Generate(icloudtest.Spec{Assets: assets, Seed: 1, MinSize: 10, MaxSize: 20})
	fake := icloudtest.New(icloudtest.Options{Latency: latency}, zones...)
	fake.AddAccount(user, password, "012345")
	fmt.Println(fake.URL)
	// Each line on stdin asks for the request counters, answered as JSON.
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		b, _ := json.Marshal(fake.Stats())
		fmt.Println(string(b))
	}
	fake.Close()
}

// childFake is the benchmark's fake in a child process.
type childFake struct {
	stdin io.Writer
	out   *bufio.Reader
}

// stats asks the child for its counters.
func (c *childFake) stats(b *testing.B) icloudtest.Stats {
	fmt.Fprintln(c.stdin, "stats")
	line, err := c.out.ReadString('\n')
	if err != nil {
		b.Fatal(err)
	}
	var st icloudtest.Stats
	if err := json.Unmarshal([]byte(line), &st); err != nil {
		b.Fatal(err)
	}
	return st
}

// startChildFake runs the fake in a child process and points the client at it.
func startChildFake(b *testing.B, assets int, latency time.Duration) *childFake {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), fmt.Sprintf("PS_ICLOUD_BENCH_FAKE=%d,%s", assets, latency))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { stdin.Close(); cmd.Wait() })
	out := bufio.NewReader(stdout)
	line, err := out.ReadString('\n')
	if err != nil {
		b.Fatalf("fake did not start: %v", err)
	}
	url := strings.TrimSpace(line)
	b.Setenv("PS_ICLOUD_AUTH_URL", url+"/appleauth/auth")
	b.Setenv("PS_ICLOUD_SETUP_URL", url+"/setup/ws/1")
	b.Setenv("PS_PASSWORD", password)
	return &childFake{stdin: stdin, out: out}
}

// BenchmarkChanges100k lists a 100,000-asset library with --changes-since
// twice: the first run lists everything (and keeps the zone's sync
// token), the second finds nothing changed. It reports each run's
// requests and time, with 50 ms added to every request. Run with
// -benchtime=1x:
//
//	go test ./internal/source/icloud -run '^$' -bench Changes100k -benchtime=1x
func BenchmarkChanges100k(b *testing.B) {
	fake := startChildFake(b, 100_000, 50*time.Millisecond)
	dir := signedIn(b, nil)
	for range b.N {
		src := open(b, dir, "icloud:")
		var state []byte
		for run, name := range []string{"first", "second"} {
			before := fake.stats(b).Requests
			sink := &sourcetest.CountSink{Encode: true, FailuresStop: true}
			start := time.Now()
			next, incremental, err := src.ListChanges(context.Background(), source.ListOptions{Jobs: 16}, state, sink)
			elapsed := time.Since(start)
			if err != nil {
				b.Fatal(err)
			}
			requests := fake.stats(b).Requests - before
			switch {
			case run == 0 && (incremental || sink.Items.Load() < 100_000):
				b.Fatalf("first run: incremental %v, %d items", incremental, sink.Items.Load())
			case run == 1 && (!incremental || sink.Items.Load() != 0):
				b.Fatalf("second run: incremental %v, %d items", incremental, sink.Items.Load())
			}
			state = next
			b.ReportMetric(float64(requests), name+"-requests")
			b.ReportMetric(elapsed.Seconds(), name+"-s")
		}
	}
}

// BenchmarkList100k lists a 100,000-asset library with 50 ms added to
// every request, sequentially (jobs=1: one page at a time, what a plain
// pager does) and with concurrent page queries. Run with -benchtime=1x:
//
//	go test ./internal/source/icloud -run '^$' -bench List100k -benchtime=1x
//
// It reports items/s and the client's peak heap above its idle heap (the
// fake runs in a child process).
func BenchmarkList100k(b *testing.B) {
	startChildFake(b, 100_000, 50*time.Millisecond)
	dir := signedIn(b, nil)
	for _, jobs := range []int{1, 8, 16, 32} {
		b.Run(fmt.Sprintf("jobs=%d", jobs), func(b *testing.B) {
			for range b.N {
				src := open(b, dir, "icloud:")
				runtime.GC()
				var base runtime.MemStats
				runtime.ReadMemStats(&base)
				stop := make(chan struct{})
				peak := peakHeap(stop)
				sink := &sourcetest.CountSink{Encode: true, FailuresStop: true}
				cpu0 := cpuTime()
				start := time.Now()
				err := src.List(context.Background(), source.ListOptions{Jobs: jobs}, sink)
				elapsed := time.Since(start)
				cpu := cpuTime() - cpu0
				close(stop)
				p := <-peak
				if err != nil {
					b.Fatal(err)
				}
				if sink.Items.Load() < 100_000 {
					b.Fatalf("listed %d items", sink.Items.Load())
				}
				b.ReportMetric(float64(sink.Items.Load())/elapsed.Seconds(), "items/s")
				b.ReportMetric(float64(p-min(p, base.HeapInuse))/(1<<20), "peak-MiB")
				b.ReportMetric(elapsed.Seconds(), "s/list")
				b.ReportMetric(cpu.Seconds(), "client-cpu-s")
			}
		})
	}
}

// cpuTime is the CPU this process (the client; the fake is a child) used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
