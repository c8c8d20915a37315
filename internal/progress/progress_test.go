package progress

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ps-photos/ps/internal/record"
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

func failure(path, class, msg string, size int64) *record.Record {
	return (&record.Record{Type: record.TypeItem, Path: path, Size: size}).AsFailure(class, msg, 1, "")
}

func TestPlainPrintsStatusWithTotalETAAndInProgress(t *testing.T) {
	old := PlainEvery
	PlainEvery = 20 * time.Millisecond
	defer func() { PlainEvery = old }()
	var buf syncBuffer
	p := New(Plain, &buf)
	for _, size := range []int64{3000, 1000, 10} {
		p.Seen(size)
	}
	p.Queued(3000)
	p.Queued(1000)
	task := p.Start("a.jpg", 3000, 0)
	task.Add(3000, time.Millisecond)
	task.Done(true)
	running := p.Start("b.jpg", 1000, 0) // still running at the status line
	p.Skipped(false)
	time.Sleep(70 * time.Millisecond)
	running.Add(1000, time.Millisecond)
	running.Done(false)
	p.Failed(failure("b.jpg", "transient", "HTTP 503", 1000), true)
	p.Finish()
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	status := regexp.MustCompile(`^2/3 files, +75%, 3\.0 kB / 4\.0 kB, .*/s, ETA [0-9.]+m?s, 1 in progress, 0 failed$`)
	if !status.MatchString(lines[0]) {
		t.Errorf("status line %q", lines[0])
	}
	if !slicesContain(lines, "error: failed: b.jpg: HTTP 503 (transient)") {
		t.Errorf("the failure was not printed: %q", lines)
	}
	summary := regexp.MustCompile(`^1 downloaded, 1 skipped, 1 failed, 4\.0 kB in \d+ms \(\d+\.\d MB/s\)$`)
	if !summary.MatchString(lines[len(lines)-1]) {
		t.Errorf("summary %q", lines[len(lines)-1])
	}
}

func slicesContain(lines []string, want string) bool {
	for _, l := range lines {
		if l == want {
			return true
		}
	}
	return false
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

// The total and ETA count the whole input once it is known ahead, not
// only what was read: 6 of 15 files read, 300 of 1500 bytes in 1 s leaves
// 4 s, not the 1 s that the 600 bytes read so far would give.
func TestSnapshotCountsTheInputKnownAhead(t *testing.T) {
	p := New(Quiet, nil)
	p.Expect(15, 1500)
	for range 6 {
		p.Seen(100)
		p.Queued(100)
	}
	task := p.Start("x", 100, 0)
	task.Add(300, time.Millisecond)
	s := p.Snapshot()
	s.Elapsed = time.Second
	if s.Total != 15 || s.TotalBytes != 1500 || s.Percent() != 20 {
		t.Fatalf("total %d files %d bytes, %d%%; want 15, 1500, 20%%", s.Total, s.TotalBytes, s.Percent())
	}
	if eta, ok := s.ETA(); !ok || eta != 4*time.Second {
		t.Errorf("ETA %v %v, want 4s", eta, ok)
	}
	// A failed download's bytes no longer count as to come.
	p.Failed(failure("y", "permanent", "gone", 100), true)
	if got := p.Snapshot().TotalBytes; got != 1400 {
		t.Errorf("after a failure the total is %d bytes, want 1400", got)
	}
}

func TestSnapshotWithoutSizesCountsFiles(t *testing.T) {
	s := Snapshot{Downloaded: 2, Skipped: 1, Total: 6, Elapsed: 3 * time.Second}
	if s.Percent() != 50 {
		t.Errorf("percent %d, want 50", s.Percent())
	}
	if eta, ok := s.ETA(); !ok || eta != 3*time.Second {
		t.Errorf("ETA %v %v, want 3s", eta, ok)
	}
	if _, ok := (Snapshot{Total: 3, Elapsed: time.Second}).ETA(); ok {
		t.Error("an ETA before anything finished")
	}
}

func TestFailuresListedAtTheEndBoundedAndCanceledApart(t *testing.T) {
	var buf syncBuffer
	p := Open(Config{Mode: None, W: &buf, FailuresFile: "failed.jsonl"})
	for i := range 23 {
		p.Failed(failure(fmt.Sprintf("f%02d.jpg", i), "transient", "HTTP 503", 10), true)
	}
	p.Failed(failure("c.jpg", "canceled", "interrupted before it started", 10), false)
	p.Finish()
	out := buf.String()
	if strings.Contains(out, "failed: f00.jpg") {
		t.Errorf("--progress none printed failures live: %q", out)
	}
	for _, want := range []string{"23 failed:\n", "  f00.jpg: HTTP 503 (transient)\n", "  f19.jpg: HTTP 503", "  and 3 more; see failed.jsonl\n",
		"0 downloaded, 0 skipped, 23 failed, 1 canceled, "} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
	if strings.Contains(out, "f20.jpg") || strings.Contains(out, "c.jpg") {
		t.Errorf("listed more than 20, or the canceled item:\n%s", out)
	}
}

func TestSummaryDryRunAndMirror(t *testing.T) {
	s := Snapshot{Planned: 3, PlannedBytes: 26, Skipped: 2, Deleted: 1}
	if got, want := s.Summary(true, true), "dry run: would download 3 (26 B), 2 skipped, 0 failed, would delete 1"; got != want {
		t.Errorf("dry run summary %q, want %q", got, want)
	}
	s = Snapshot{Downloaded: 1, Deleted: 4, Bytes: 10, Elapsed: time.Second}
	if got := s.Summary(false, true); !strings.HasPrefix(got, "1 downloaded, 0 skipped, 0 failed, 4 deleted, 10 B in 1s") {
		t.Errorf("mirror summary %q", got)
	}
	if got := s.Summary(false, false); strings.Contains(got, "deleted") {
		t.Errorf("summary without --mirror %q", got)
	}
}

func TestJSONSummaryAndFailures(t *testing.T) {
	var buf syncBuffer
	p := Open(Config{Mode: None, W: &buf, Log: slog.New(slog.NewJSONHandler(&buf, nil))})
	p.Seen(5)
	p.Failed(failure("a.jpg", "permanent", "HTTP 404", 5), false)
	p.Deleted()
	p.Deleted()
	p.Finish()
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("want a failure and a summary object, got %q", lines)
	}
	var fail, sum map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &fail); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(lines[1]), &sum); err != nil {
		t.Fatal(err)
	}
	if fail["level"] != "ERROR" || fail["path"] != "a.jpg" || fail["class"] != "permanent" {
		t.Errorf("failure object %v", fail)
	}
	if sum["failed"] != 1.0 || sum["deleted"] != 2.0 || sum["files_total"] != 1.0 || !strings.HasPrefix(sum["msg"].(string), "0 downloaded") {
		t.Errorf("summary object %v", sum)
	}
}

func TestBarsRenderAndPrintLinesAbove(t *testing.T) {
	var buf syncBuffer
	p := Open(Config{Mode: Bar, W: &buf})
	p.Seen(1 << 20)
	p.Queued(1 << 20)
	above := p.Above()
	fmt.Fprint(above, "half a ")
	task := p.Start("big.MOV", 1<<20, 1<<10)
	fmt.Fprint(above, "line\n")
	for range 6 {
		task.Add(128<<10, 10*time.Millisecond)
		time.Sleep(40 * time.Millisecond)
	}
	p.Failed(failure("bad.jpg", "permanent", "HTTP 404", 0), false)
	time.Sleep(250 * time.Millisecond)
	task.Done(true)
	p.Finish()
	out := buf.String()
	for _, want := range []string{"big.MOV", "0/1 files", "2/2 files", ", 1 failed", "ETA", "half a line\n", "error: failed: bad.jpg: HTTP 404 (permanent)\n", "1 downloaded"} {
		if !strings.Contains(out, want) {
			t.Errorf("bar output lacks %q: %q", want, out)
		}
	}
}

func TestHumanBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 999: "999 B", 1000: "1.0 kB", 1_500_000: "1.5 MB", 2_000_000_000: "2.0 GB"} {
		if got := HumanBytes(n); got != want {
			t.Errorf("HumanBytes(%d) = %q, want %q", n, got, want)
		}
	}
}
