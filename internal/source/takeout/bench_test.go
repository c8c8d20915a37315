package takeout

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ps-photos/ps/internal/source"
	"github.com/ps-photos/ps/internal/source/sourcetest"
	tt "github.com/ps-photos/ps/internal/source/takeout/takeouttest"
)

// BenchmarkList lists a synthetic Takeout: 5,000 items in 5 zips, or the
// parts in $TAKEOUT_BENCH_DIR (bench/takeout.sh makes 50,000 with KEEP=1).
// It reports items/s and the peak Go heap.
func BenchmarkList(b *testing.B) {
	dir := os.Getenv("TAKEOUT_BENCH_DIR")
	if dir == "" {
		dir = b.TempDir()
		if err := tt.Bench(dir, 5000, 5); err != nil {
			b.Fatal(err)
		}
	}
	sink := &sourcetest.CountSink{FailuresStop: true}
	var peak atomic.Uint64
	stop := make(chan struct{})
	go func() {
		var ms runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
				runtime.ReadMemStats(&ms)
				if ms.HeapInuse > peak.Load() {
					peak.Store(ms.HeapInuse)
				}
			}
		}
	}()
	b.ResetTimer()
	for range b.N {
		src, err := New("takeout:" + filepath.Join(dir, "takeout-*.zip"))
		if err != nil {
			b.Fatal(err)
		}
		if err := src.List(context.Background(), source.ListOptions{Jobs: 2}, sink); err != nil {
			b.Fatal(err)
		}
	}
	close(stop)
	b.ReportMetric(float64(sink.Items.Load())/b.Elapsed().Seconds(), "items/s")
	b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MiB")
}
