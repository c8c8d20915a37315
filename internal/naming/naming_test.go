package naming

import (
	"strings"
	"testing"
	"time"

	"github.com/ps-photos/ps/internal/record"
)

func TestRender(t *testing.T) {
	mtime := time.Date(2025, 9, 27, 3, 54, 29, 0, time.UTC)
	taken := time.Date(2024, 7, 1, 9, 30, 0, 0, time.UTC)
	rec := &record.Record{ID: "abc123", Path: "DCIM/100CANON/IMG_0001.CR3", Name: "IMG_0001.CR3", Mtime: mtime, Taken: taken}
	noTaken := &record.Record{Path: "a/IMG_2.JPG", Mtime: mtime}
	urlOnly := &record.Record{URL: "http://127.0.0.1:8080/dl/photo%20one.jpg?sig=x", Mtime: mtime}
	cases := []struct {
		spec string
		rec  *record.Record
		want string
	}{
		{"path", rec, "DCIM/100CANON/IMG_0001.CR3"},
		{"epoch", rec, "1758945269.CR3"},
		{"date", rec, "2024/07/01/IMG_0001.CR3"},
		{"date", noTaken, "2025/09/27/IMG_2.JPG"},
		{"{dir}/{stem}-{id}.{ext}", rec, "DCIM/100CANON/IMG_0001-abc123.CR3"},
		{"{dir}/{name}", noTaken, "a/IMG_2.JPG"},
		{"{dir}/{name}", &record.Record{Path: "top.jpg"}, "top.jpg"},
		{"{mtime:%F_%T}_{name}", rec, "2025-09-27_03-54-29_IMG_0001.CR3"},
		{"{taken:%Y/%j %b %%}/{name}", rec, "2024/183 Jul %/IMG_0001.CR3"},
		{"path", urlOnly, "photo one.jpg"},
	}
	for _, c := range cases {
		tmpl, err := Parse(c.spec)
		if err != nil {
			t.Fatalf("%s: %v", c.spec, err)
		}
		got, err := tmpl.Render(c.rec)
		if err != nil || got != c.want {
			t.Errorf("%s: got %q, %v; want %q", c.spec, got, err, c.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, spec := range []string{"", "{nope}", "{mtime}", "{name:%Y}", "{mtime:%Q}", "{name", "{mtime:%}"} {
		if _, err := Parse(spec); err == nil {
			t.Errorf("Parse(%q) accepted", spec)
		}
	}
}

func TestHostileNames(t *testing.T) {
	tmpl, _ := Parse("path")
	for _, p := range []string{"../x", "a/../../x", "a/..", "/abs", "nul\x00", "tab\there", "del\x7f", `a\b`, "C:x", "c:/x", ".", ""} {
		if got, err := tmpl.Render(&record.Record{Path: p}); err == nil {
			t.Errorf("%q rendered as %q", p, got)
		}
	}
	// A hostile value inside a template is caught too.
	tmpl, _ = Parse("{id}/{name}")
	if _, err := tmpl.Render(&record.Record{ID: "../../etc", Name: "x"}); err == nil || !strings.Contains(err.Error(), "..") {
		t.Errorf("id with .. accepted: %v", err)
	}
	for _, ok := range []string{"a/b c/é #?%.jpg", "12:30.jpg", "./a/./b.jpg", "..hidden"} {
		if err := Check(ok); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
}

func TestWithSuffix(t *testing.T) {
	for in, want := range map[string]string{
		"a/IMG.JPG": "a/IMG_2.JPG", "x": "x_2", ".hidden": ".hidden_2", "a.b/c.tar.gz": "a.b/c.tar_2.gz",
	} {
		if got := WithSuffix(in, 2); got != want {
			t.Errorf("WithSuffix(%q) = %q, want %q", in, got, want)
		}
	}
	if WithSuffix("a.jpg", 0) != "a.jpg" {
		t.Error("suffix 0 changed the name")
	}
}
