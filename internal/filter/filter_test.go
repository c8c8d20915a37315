package filter

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ps-photos/ps/internal/record"
)

func TestGlob(t *testing.T) {
	cases := []struct {
		pat, path string
		want      bool
	}{
		{"*.CR3", "a/b/IMG.CR3", true},
		{"*.CR3", "a/b/IMG.JPG", false},
		{"DCIM/**", "DCIM/100/IMG.CR3", true},
		{"DCIM/**", "x/DCIM/IMG.CR3", false},
		{"**/DCIM/**/*.CR3", "card/DCIM/100/IMG.CR3", true},
		{"**/DCIM/**/*.CR3", "DCIM/IMG.CR3", true},
		{"a/*/c", "a/b/c", true},
		{"a/*/c", "a/b/x/c", false},
		{"a/**/c", "a/c", true},
	}
	for _, c := range cases {
		g, err := ParseGlob(c.pat)
		if err != nil {
			t.Fatal(err)
		}
		if got := g.Match(c.path); got != c.want {
			t.Errorf("%q matching %q = %v, want %v", c.pat, c.path, got, c.want)
		}
	}
	if _, err := ParseGlob("a/[x"); err == nil {
		t.Error("a bad pattern must be rejected")
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"10M": 10 << 20, "1.5G": 3 << 29, "512k": 512 << 10, "2000": 2000, "3MB": 3e6, "1 GiB": 1 << 30} {
		got, err := ParseSize(in)
		if err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "-1M", "10Q", "M"} {
		if _, err := ParseSize(bad); err == nil {
			t.Errorf("ParseSize(%q) must fail", bad)
		}
	}
}

func TestUnderAnyRespectsFolderBoundaries(t *testing.T) {
	dirs := []string{CleanDir("/Music/Jazz/")}
	if !underAny("Music/Jazz/a.flac", dirs) || underAny("Music/Jazzy/a.flac", dirs) || underAny("Music/Jazz", []string{"Music/Jazz/x"}) {
		t.Error("folder prefixes must end at a slash")
	}
}

// The output keeps input order even though blocks are judged in parallel.
func TestRunKeepsOrderAcrossBlocks(t *testing.T) {
	var in bytes.Buffer
	for i := range 200_000 {
		ext := "JPG"
		if i%3 == 0 {
			ext = "CR3"
		}
		fmt.Fprintf(&in, `{"type":"item","path":"d/%07d.%s","size":%d,"mtime":"2024-01-01T00:00:00Z"}`+"\n", i, ext, i)
	}
	var out bytes.Buffer
	c := &Criteria{Exts: map[string]bool{"CR3": true}}
	st, err := Run(bytes.NewReader(in.Bytes()), &out, c, Options{Workers: 4})
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 66_667 || st.Kept != 66_667 || st.Lines != 200_000 {
		t.Fatalf("kept %d lines (stats %+v), want 66667", len(lines), st)
	}
	for i, l := range lines {
		if want := fmt.Sprintf(`"path":"d/%07d.CR3"`, i*3); !strings.Contains(l, want) {
			t.Fatalf("line %d is %s, want %s", i, l, want)
		}
	}
}

// A slow producer must see its records come out before it finishes: the
// filter flushes whenever no more input is ready.
func TestRunStreamsSlowInput(t *testing.T) {
	pr, pw := io.Pipe()
	out := &syncBuffer{}
	done := make(chan error)
	go func() {
		_, err := Run(pr, out, &Criteria{}, Options{})
		done <- err
	}()
	fmt.Fprintln(pw, `{"type":"item","path":"a.CR3"}`)
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(out.String(), "a.CR3") {
		if time.Now().After(deadline) {
			t.Fatal("first record not written while the input stays open")
		}
		time.Sleep(10 * time.Millisecond)
	}
	pw.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

func benchInput(n int) []byte {
	var in bytes.Buffer
	exts := []string{"CR3", "JPG", "MOV", "JPG", "xmp"}
	for i := range n {
		e := exts[i%len(exts)]
		fmt.Fprintf(&in, `{"type":"item","source":"smb://me@nas:445/photos","id":"2024/%02d/IMG_%06d.%s","path":"2024/%02d/IMG_%06d.%s","name":"IMG_%06d.%s","size":%d,"mtime":"2024-%02d-%02dT10:00:00Z","media":"%s"}`+"\n",
			i%12+1, i, e, i%12+1, i, e, i, e, 1000+i, i%12+1, i%28+1, record.MediaOf("x."+e))
	}
	return in.Bytes()
}

// BenchmarkFilter measures records per second of ext + date selection.
func BenchmarkFilter(b *testing.B) {
	in := benchInput(100_000)
	since, _ := time.Parse(time.RFC3339, "2024-06-01T00:00:00Z")
	b.SetBytes(int64(len(in)))
	b.ResetTimer()
	for b.Loop() {
		c := &Criteria{Exts: map[string]bool{"CR3": true}, Since: since}
		if _, err := Run(bytes.NewReader(in), io.Discard, c, Options{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(100_000*b.N)/b.Elapsed().Seconds(), "records/s")
}

// A line over 64 MiB is one malformed line, named by its number, as in
// ps-fetch: the lines after it still pass (it used to stop the run).
func TestLongLineIsSkipped(t *testing.T) {
	long := `{"type":"item","path":"` + strings.Repeat("x", record.MaxLine) + `.jpg"}`
	in := `{"type":"item","path":"a.jpg"}` + "\n" + long + "\n" + `{"type":"item","path":"b.jpg"}` + "\n"
	var out bytes.Buffer
	var bad []string
	st, err := Run(strings.NewReader(in), &out, &Criteria{}, Options{Report: func(e *record.LineError) { bad = append(bad, e.Error()) }})
	if err != nil {
		t.Fatal(err)
	}
	if want := "line 2: line longer than 64 MiB"; len(bad) != 1 || bad[0] != want {
		t.Errorf("bad lines %q, want [%q]", bad, want)
	}
	if got := out.String(); got != `{"type":"item","path":"a.jpg"}`+"\n"+`{"type":"item","path":"b.jpg"}`+"\n" {
		t.Errorf("output of %d bytes, want only a.jpg and b.jpg", len(got))
	}
	if st.Bad != 1 || st.Kept != 2 {
		t.Errorf("stats %+v", st)
	}
}

// --ext names a format, whatever spelling of its extension a camera or an
// export used: jpg matches .jpeg, tiff matches .tif, and so on.
func TestExtAliases(t *testing.T) {
	cases := []struct {
		ext   []string
		names map[string]bool // file name: kept?
	}{
		{[]string{"jpg"}, map[string]bool{"a.jpg": true, "a.JPEG": true, "a.jpe": true, "a.png": false, "a.jpg.xmp": false}},
		{[]string{".JPEG"}, map[string]bool{"a.JPG": true, "a.jpeg": true}},
		{[]string{"tif"}, map[string]bool{"a.tiff": true, "a.TIF": true}},
		{[]string{"heic"}, map[string]bool{"a.heif": true, "a.HIF": true, "a.heic": true}},
		{[]string{"mpeg"}, map[string]bool{"a.mpg": true, "a.mp4": false}},
		{[]string{"mov"}, map[string]bool{"a.qt": true, "a.MOV": true}},
		{[]string{"CR3"}, map[string]bool{"a.cr3": true, "a.CR2": false}},
	}
	for _, c := range cases {
		crit := &Criteria{Exts: ExtSet(c.ext)}
		crit.Prepare()
		for name, want := range c.names {
			line := `{"type":"item","path":"d/` + name + `"}`
			var f record.Fields
			if err := record.ScanFields([]byte(line), &f); err != nil {
				t.Fatal(err)
			}
			v, _, err := crit.Decide(&f)
			if err != nil {
				t.Fatal(err)
			}
			if got := v == Keep; got != want {
				t.Errorf("--ext %v on %s: kept %v, want %v", c.ext, name, got, want)
			}
		}
	}
}
