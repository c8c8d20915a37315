//go:build unix

package synology

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ps-photos/ps/internal/source"
	"github.com/ps-photos/ps/internal/source/sourcetest"
	"github.com/ps-photos/ps/internal/source/synology/synologytest"
)

// BenchmarkList lists 100,000 files in 200 folders with 50 ms added to
// every request (a sequential lister needs about (pages + folders) ×
// 50 ms; the target is well under that). It reports how far the heap grows while
// listing (memory must stay flat, not grow with the share) and the CPU
// spent by client and fake together.
//
//	go test ./internal/source/synology -run '^$' -bench List -benchtime 1x
func BenchmarkList(b *testing.B) {
	srv := startFake(b, synologytest.Config{})
	synologytest.Populate(srv, 100000, 200, 1<<20)
	src := open(b, srv, b.TempDir())
	for _, run := range []struct {
		jobs    int
		latency time.Duration
	}{{1, 50 * time.Millisecond}, {8, 50 * time.Millisecond}, {16, 50 * time.Millisecond}, {8, 0}} {
		jobs := run.jobs
		srv.Configure(func(c *synologytest.Config) { c.Latency = run.latency })
		b.Run(fmt.Sprintf("jobs=%d/latency=%s", jobs, run.latency), func(b *testing.B) {
			// Warm the fake (it caches its rendered entries), then measure
			// how far the heap grows above that while listing: the
			// listing's own memory, which must not scale with the share.
			if err := src.List(context.Background(), source.ListOptions{Jobs: jobs}, &sourcetest.CountSink{}); err != nil {
				b.Fatal(err)
			}
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			base := ms.HeapInuse
			var peak atomic.Uint64
			stop := make(chan struct{})
			go samplePeakHeap(&peak, stop)
			cpu0 := cpuTime()
			for b.Loop() {
				sink := &sourcetest.CountSink{}
				if err := src.List(context.Background(), source.ListOptions{Jobs: jobs}, sink); err != nil {
					b.Fatal(err)
				}
				if sink.Items.Load() != 100000 || sink.Failures.Load() != 0 {
					b.Fatalf("%d items, %d failures", sink.Items.Load(), sink.Failures.Load())
				}
			}
			close(stop)
			b.ReportMetric(float64(peak.Load()-min(base, peak.Load()))/(1<<20), "heap-growth-MiB")
			// CPU of client and fake together: on a loaded machine the
			// wall time cannot drop below what the scheduler grants this.
			b.ReportMetric((cpuTime()-cpu0).Seconds()/float64(b.N), "cpu-s/op")
		})
	}
}

func samplePeakHeap(peak *atomic.Uint64, stop chan struct{}) {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	var ms runtime.MemStats
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
		}
	}
}

// cpuTime is the user+system CPU this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
