//go:build unix

package smb

import (
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/ps-photos/ps/internal/record"
	"github.com/ps-photos/ps/internal/source"
	"github.com/ps-photos/ps/internal/source/smb/smbtest"
	"github.com/ps-photos/ps/internal/source/sourcetest"
)

// The benchmarks run against a real smbd on loopback:
//
//	go test -run '^$' -bench . -benchtime 3x ./internal/source/smb/
//
// BenchmarkReadLarge measures how many reads of one file to keep in flight
// (ReadAhead); BenchmarkReadSmall the per-file cost with 8 files at once;
// BenchmarkList a 5,000-file walk.

func BenchmarkReadLarge(b *testing.B) {
	srv := smbtest.New(b, smbtest.Options{})
	const size = 256 << 20
	if err := srv.WriteLarge("large.MOV", size, 1); err != nil {
		b.Fatal(err)
	}
	for _, depth := range []int{1, 2, 4, 8} {
		b.Run(fmt.Sprintf("readahead%d", depth), func(b *testing.B) {
			s := benchSource(b, srv)
			s.ReadAhead = depth
			b.SetBytes(size)
			for b.Loop() {
				c, err := s.Open(context.Background(), &record.Record{ID: "large.MOV"}, 0)
				if err != nil {
					b.Fatal(err)
				}
				if n, err := io.Copy(io.Discard, c); err != nil || n != size {
					b.Fatalf("read %d bytes: %v", n, err)
				}
				c.Close()
			}
		})
	}
}

func BenchmarkReadSmall(b *testing.B) {
	srv := smbtest.New(b, smbtest.Options{})
	const files, size = 1000, 64 << 10
	for i := range files {
		if err := srv.WriteFile(fmt.Sprintf("small/%04d.JPG", i), smbtest.Generate(uint64(i), size), smbtest.FixtureTime); err != nil {
			b.Fatal(err)
		}
	}
	s := benchSource(b, srv)
	b.SetBytes(files * size)
	for b.Loop() {
		var next atomic.Int64
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := next.Add(1) - 1; i < files; i = next.Add(1) - 1 {
					c, err := s.Open(context.Background(), &record.Record{ID: fmt.Sprintf("small/%04d.JPG", i)}, 0)
					if err != nil {
						b.Error(err)
						return
					}
					if n, err := io.Copy(io.Discard, c); err != nil || n != size {
						b.Errorf("read %d bytes: %v", n, err)
					}
					c.Close()
				}
			}()
		}
		wg.Wait()
	}
	b.ReportMetric(float64(files*b.N)/b.Elapsed().Seconds(), "files/s")
}

func BenchmarkList(b *testing.B) {
	srv := smbtest.New(b, smbtest.Options{})
	const files = 5000
	for i := range files {
		if err := srv.WriteFile(fmt.Sprintf("tree/d%02d/IMG_%05d.JPG", i/100, i), nil, smbtest.FixtureTime); err != nil {
			b.Fatal(err)
		}
	}
	for _, jobs := range []int{1, 4, 8} {
		b.Run(fmt.Sprintf("j%d", jobs), func(b *testing.B) {
			s := benchSource(b, srv)
			for b.Loop() {
				sink := &sourcetest.CountSink{FailuresStop: true}
				if err := s.List(context.Background(), source.ListOptions{Jobs: jobs}, sink); err != nil {
					b.Fatal(err)
				}
				if sink.Items.Load() != files {
					b.Fatalf("listed %d files", sink.Items.Load())
				}
			}
			b.ReportMetric(float64(files*b.N)/b.Elapsed().Seconds(), "files/s")
		})
	}
}

func benchSource(b *testing.B, srv *smbtest.Server) *Source {
	cfg, err := ParseLocation(srv.URL())
	if err != nil {
		b.Fatal(err)
	}
	s := New(cfg, Credentials{Username: srv.User, Password: srv.Password})
	b.Cleanup(func() { s.Close() })
	return s
}

func BenchmarkListHash(b *testing.B) {
	srv := smbtest.New(b, smbtest.Options{})
	const size = 256 << 20
	if err := srv.WriteLarge("v/large.MOV", size, 1); err != nil {
		b.Fatal(err)
	}
	s := benchSource(b, srv)
	b.SetBytes(size)
	for b.Loop() {
		sink := &sourcetest.CountSink{FailuresStop: true}
		if err := s.List(context.Background(), source.ListOptions{Jobs: 1, Hash: "sha256"}, sink); err != nil {
			b.Fatal(err)
		}
	}
}
