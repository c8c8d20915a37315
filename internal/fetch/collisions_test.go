package fetch

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"path/filepath"
	"testing"
	"time"

	"github.com/ps-photos/ps/internal/naming"
	"github.com/ps-photos/ps/internal/record"
	"github.com/ps-photos/ps/internal/source/httpget"
)

// sameName writes n url records that all render to the name x.jpg, then
// the records at the given positions again (the same items twice).
func sameName(n int, again ...int) *bytes.Buffer {
	var in bytes.Buffer
	line := func(i int) {
		r := &record.Record{Type: record.TypeItem, URL: fmt.Sprintf("http://127.0.0.1:1/%d/x.jpg", i), Path: "x.jpg",
			Size: 1, Mtime: time.Date(2024, 7, 1, 0, 0, 0, 0, time.UTC)}
		b, _ := r.MarshalJSON()
		in.Write(append(b, '\n'))
	}
	for i := range n {
		line(i)
	}
	for _, i := range again {
		line(i)
	}
	return &in
}

// TestSameNameCollisionsInInputOrder: n items with one name get x.jpg, x_1.jpg,
// … in input order, and an item given twice keeps the name it got first.
func TestSameNameCollisionsInInputOrder(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	opts := testOptions(t, dir)
	opts.DryRun, opts.Jobs = true, 1
	r := runInput(t, opts, sameName(300, 0, 7, 299))
	byURL := map[string][]string{}
	for _, rec := range r.out {
		byURL[rec.URL] = append(byURL[rec.URL], filepath.Base(rec.Local))
	}
	for i := range 300 {
		want := "x.jpg"
		if i > 0 {
			want = fmt.Sprintf("x_%d.jpg", i)
		}
		got := byURL[fmt.Sprintf("http://127.0.0.1:1/%d/x.jpg", i)]
		if len(got) == 0 || got[0] != want {
			t.Fatalf("item %d named %v, want %s", i, got, want)
		}
		for _, g := range got[1:] {
			if g != want {
				t.Errorf("item %d given again was named %s, not its first name %s", i, g, want)
			}
		}
	}
}

// BenchmarkSameNameCollisions plans 40,000 items that share one name
// (--dry-run): naming must stay linear in the number of collisions.
func BenchmarkSameNameCollisions(b *testing.B) {
	for _, n := range []int{10000, 40000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			in := sameName(n).Bytes()
			tmpl, err := naming.Parse("path")
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				opts := Options{Dir: filepath.Join(b.TempDir(), "out"), Jobs: 4, Name: tmpl, DryRun: true,
					Opener: &opener{http: httpget.New()}}
				enc := record.NewEncoder(io.Discard)
				if _, err := Run(context.Background(), bytes.NewReader(in), enc, opts); err != nil {
					b.Fatal(err)
				}
				enc.Close()
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "items/s")
		})
	}
}
