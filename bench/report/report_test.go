package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const sample = "http\tloopback\t100 × 25 MiB\tps-fetch -j8\twarmup\t9\t2621440000\t100\t30000\t5\tok\t\n" +
	"http\tloopback\t100 × 25 MiB\tps-fetch -j8\t1\t4\t2621440000\t100\t30000\t5\tok\t\n" +
	"http\tloopback\t100 × 25 MiB\tps-fetch -j8\t2\t6\t2621440000\t100\t31000\t5\tok\t\n" +
	"http\tloopback\t100 × 25 MiB\tps-fetch -j8\t3\t5\t2621440000\t100\t30500\t5\tok\t\n" +
	"http\tloopback\t100 × 25 MiB\trclone --transfers 4\t1\t12\t2621440000\t100\t1\t3\tok\t\n" +
	"http\tloopback\t100 × 25 MiB\trclone --transfers 4\t2\t10\t2621440000\t100\t1\t3\tok\t\n" +
	"http\tloopback\t100 × 25 MiB\trclone --transfers 4\t3\t11\t2621440000\t100\t1\t3\tok\t\n" +
	"http\tloopback\t100 × 25 MiB\trclone --transfers 8\t1\t7\t2621440000\t100\t1\t3\tok\t\n" +
	"http\tloopback\t100 × 25 MiB\trclone --transfers 8\t2\t8\t2621440000\t100\t1\t3\tfail\tmissing files\n" +
	"http\tloopback\t100 × 25 MiB\trclone --transfers 8\t3\t9\t2621440000\t100\t1\t3\tok\t\n" +
	"http\tloopback\t100 × 25 MiB\tverified: rclone copy + hashsum sha256\t1\t20\t2621440000\t100\t1\t3\tok\t\n" +
	"http\tloopback\t5,000 × 64 KiB\tps-fetch -j8\t-\t0\t0\t0\t0\t0\tskip\tps-fetch is not built\n" +
	"filter\tloopback\t1,000,000 records\tps-filter --ext CR3\t1\t2\t0\t1000000\t0\t0\tok\t\n" +
	"filter\tloopback\t1,000,000 records\tjq select\t1\t15\t0\t1000000\t0\t0\tok\t\n"

func sampleGroups(t *testing.T) []*group {
	t.Helper()
	name := filepath.Join(t.TempDir(), "results.tsv")
	if err := os.WriteFile(name, []byte(sample), 0o644); err != nil {
		t.Fatal(err)
	}
	rows, err := readRows(name)
	if err != nil {
		t.Fatal(err)
	}
	return collect(rows)
}

func TestCollectUsesTimedRunsOnly(t *testing.T) {
	g := find(sampleGroups(t), "http", "loopback", "25 MiB")
	ps := g.ps()
	if ps == nil || ps.label != "ps-fetch -j8" {
		t.Fatalf("ps tool = %+v", ps)
	}
	if got := ps.median(); got != 5 { // the 9 s warm-up must not count
		t.Errorf("median = %v, want 5", got)
	}
	r8 := g.tool("rclone --transfers 8")
	if r8.median() != 8 || r8.failedRuns != 1 { // runs 7 and 9 count, the failed 8 does not
		t.Errorf("rclone -t8: median %v, failed runs %d; want 8 and 1", r8.median(), r8.failedRuns)
	}
	if best := g.best("rclone"); best != r8 {
		t.Errorf("best rclone = %s, want --transfers 8", best.label)
	}
}

func TestRatioTargets(t *testing.T) {
	groups := sampleGroups(t)
	m, v := ratioTarget("http", "loopback", "× 25 MiB", "rclone", 1)(groups)
	if v != "met" || !strings.Contains(m, "1.60×") { // best rclone 8 s / ps 5 s
		t.Errorf("large: %q, %q", m, v)
	}
	m, v = ratioTarget("filter", "loopback", "records", "jq", 10)(groups)
	if v != "not met" || !strings.Contains(m, "7.50×") {
		t.Errorf("filter: %q, %q", m, v)
	}
	m, v = ratioTarget("http", "loopback", "× 64 KiB", "rclone", 1)(groups)
	if v != "not measured" || !strings.Contains(m, "ps-fetch is not built") {
		t.Errorf("skipped: %q, %q", m, v)
	}
}

func TestHTTPContext(t *testing.T) {
	groups := sampleGroups(t)
	// The small set's ps-fetch was skipped: no figure, and it says why.
	if m, v := httpContext("verified:")(groups); v != "not measured" || !strings.Contains(m, "not built") {
		t.Errorf("context with a skipped set: %q, %q", m, v)
	}
	name := filepath.Join(t.TempDir(), "both.tsv")
	both := "http\tloopback\t100 × 25 MiB\tps-fetch -j8\t1\t5\t2621440000\t100\t1\t3\tok\t\n" +
		"http\tloopback\t100 × 25 MiB\tverified: rclone copy + hashsum sha256\t1\t20\t2621440000\t100\t1\t3\tok\t\n" +
		"http\tloopback\t5,000 × 64 KiB\tps-fetch -j8\t1\t2\t327680000\t5000\t1\t3\tok\t\n" +
		"http\tloopback\t5,000 × 64 KiB\tverified: rclone copy + hashsum sha256\t1\t1\t327680000\t5000\t1\t3\tok\t\n"
	if err := os.WriteFile(name, []byte(both), 0o644); err != nil {
		t.Fatal(err)
	}
	rows, err := readRows(name)
	if err != nil {
		t.Fatal(err)
	}
	m, v := httpContext("verified:")(collect(rows))
	if v != "reported" || !strings.Contains(m, "4.00× faster") || !strings.Contains(m, "2.00× slower") {
		t.Errorf("context: %q, %q", m, v)
	}
}

func TestRenderAndChart(t *testing.T) {
	groups := sampleGroups(t)
	facts := [][2]string{{"date", "today"}, {"mode", "full"}, {"runs", "3"}}
	doc := render(groups, facts, "## Notes\n", nil, "chart.png")
	for _, want := range []string{"ps **1.60×** faster", "skipped: ps-fetch is not built", "✅ met", "## Notes", "![Throughput per tool and profile](chart.png)"} {
		if !strings.Contains(doc, want) {
			t.Errorf("document lacks %q", want)
		}
	}
	png := filepath.Join(t.TempDir(), "c.png")
	if err := writeChart(png, groups, facts); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(png); err != nil || st.Size() < 1000 {
		t.Errorf("chart: %v, %v", st, err)
	}
}
