package progress

import (
	"bytes"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for the plain ticker's goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestPlainPrintsPeriodicallyAndASummary(t *testing.T) {
	old := PlainEvery
	PlainEvery = 20 * time.Millisecond
	defer func() { PlainEvery = old }()
	var buf syncBuffer
	p := New(Plain, &buf)
	p.Queued(3000)
	p.Queued(10)
	task := p.Start("a.jpg", 3000, 0)
	task.Add(3000, time.Millisecond)
	task.Done(true)
	p.Skipped(false)
	p.Failed(true)
	time.Sleep(70 * time.Millisecond)
	p.Finish()
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) < 2 {
		t.Fatalf("want periodic lines and a summary, got %q", buf.String())
	}
	if !strings.Contains(lines[0], "(0 in progress)") {
		t.Errorf("periodic line %q", lines[0])
	}
	summary := regexp.MustCompile(`^ps-fetch: 1 downloaded, 1 skipped, 1 failed, 3\.0 kB in \d+ms \(\d+\.\d MB/s\)$`)
	if !summary.MatchString(lines[len(lines)-1]) {
		t.Errorf("summary %q", lines[len(lines)-1])
	}
}

func TestQuietPrintsNothingAndNoneOnlyTheSummary(t *testing.T) {
	var quiet, none syncBuffer
	q := New(Quiet, &quiet)
	q.Skipped(false)
	q.Finish()
	n := New(None, &none)
	n.Skipped(false)
	n.Finish()
	if quiet.String() != "" {
		t.Errorf("quiet printed %q", quiet.String())
	}
	if strings.Count(none.String(), "\n") != 1 || !strings.Contains(none.String(), "0 downloaded, 1 skipped") {
		t.Errorf("none printed %q", none.String())
	}
}

func TestBarsRenderAndStop(t *testing.T) {
	var buf syncBuffer
	p := New(Bar, &buf)
	p.Queued(1 << 20)
	task := p.Start("big.MOV", 1<<20, 1<<10)
	for range 8 {
		task.Add(128<<10, 10*time.Millisecond)
		time.Sleep(40 * time.Millisecond)
	}
	task.Done(true)
	p.Finish()
	out := buf.String()
	if !strings.Contains(out, "big.MOV") || !strings.Contains(out, "1 downloaded") {
		t.Errorf("bar output %q", out)
	}
}

func TestHumanBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 999: "999 B", 1000: "1.0 kB", 1_500_000: "1.5 MB", 2_000_000_000: "2.0 GB"} {
		if got := HumanBytes(n); got != want {
			t.Errorf("HumanBytes(%d) = %q, want %q", n, got, want)
		}
	}
}
