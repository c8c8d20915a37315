package record

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"unicode/utf8"
)

// Every line of the golden file must come back byte for byte: field names,
// order, unknown fields and big numbers are the contract users script on.
func TestRoundTripGolden(t *testing.T) {
	f, err := os.Open("testdata/roundtrip.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		rec, err := Parse(sc.Bytes())
		if err != nil {
			t.Fatalf("line %d: %v", n, err)
		}
		out, err := rec.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out, sc.Bytes()) {
			t.Errorf("line %d changed:\n got %s\nwant %s", n, out, sc.Bytes())
		}
	}
}

func TestUnknownFieldsSurviveChanges(t *testing.T) {
	rec, err := Parse([]byte(`{"rating":5,"type":"item","id":"x","path":"x.CR3","size":3,"tags":["a"]}`))
	if err != nil {
		t.Fatal(err)
	}
	f := rec.AsFailure("transient", "reset", 2, "")
	out, _ := f.MarshalJSON()
	for _, want := range []string{`"rating":5`, `"tags":["a"]`, `"type":"failure"`, `"attempts":2`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("%s lacks %s", out, want)
		}
	}
	again, err := Parse(out)
	if err != nil || again.Type != TypeFailure || again.ID != "x" {
		t.Fatalf("a failure must be valid input again: %v %+v", err, again)
	}
}

func TestDecoderNamesBadLines(t *testing.T) {
	in := "{\"type\":\"item\",\"id\":\"1\"}\n\n{\"type\":\n[1]\n{\"type\":\"item\",\"size\":-1}\n{\"type\":\"end\"}"
	dec := NewDecoder(strings.NewReader(in))
	var lines []int
	var good int
	for {
		_, err := dec.Decode()
		if errors.Is(err, io.EOF) {
			break
		}
		var le *LineError
		if errors.As(err, &le) {
			lines = append(lines, le.Line)
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		good++
	}
	if good != 2 || len(lines) != 3 || lines[0] != 3 || lines[1] != 4 || lines[2] != 5 {
		t.Errorf("good %d, bad lines %v; want 2 good and bad lines [3 4 5]", good, lines)
	}
}

func TestReaderLongLines(t *testing.T) {
	long := `{"type":"item","meta":{"blob":"` + strings.Repeat("x", 6<<20) + `"}}`
	dec := NewDecoder(strings.NewReader(long + "\n" + `{"type":"end"}` + "\n"))
	rec, err := dec.Decode()
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.Meta["blob"].(string)) != 6<<20 {
		t.Error("long line was cut")
	}
	if rec, err = dec.Decode(); err != nil || rec.Type != TypeEnd || dec.Line() != 2 {
		t.Errorf("after a long line: %v %v line %d", rec, err, dec.Line())
	}
}

func TestJQNumbersAccepted(t *testing.T) {
	rec, err := Parse([]byte(`{"type":"item","id":7,"size":1e7}`))
	if err != nil || rec.ID != "7" || rec.Size != 10_000_000 {
		t.Errorf("got %+v, %v", rec, err)
	}
	if _, err := Parse([]byte(`{"type":"item","size":1.5}`)); err == nil {
		t.Error("a fractional size must be rejected")
	}
}

// ScanFields is the fast path of ps-filter; it must agree with
// encoding/json on what is a valid object, and find the same fields.
func FuzzScanFields(f *testing.F) {
	for _, s := range []string{
		`{"type":"item","path":"a\u00e9\"b","size":1e3,"x":[1,{"y":null}],"mtime":"2024-01-01T00:00:00Z"}`,
		`{}`, `{"a":}`, `{"a":1,}`, `[1]`, `{"a":"\ud83d\ude00"}`, `{"a":01}`, `{"a":-0.5e+3}`, "{\"a\":\"\x01\"}",
		`{"a":1} x`, `{"a":tru}`, `{"type":"item","name":"\/x"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var fs Fields
		// ps-filter's and ps-fetch's checks agree on every line.
		_, perr := Parse(b)
		if serr := ScanFields(b, &fs); (serr == nil) != (perr == nil) || serr != nil && serr.Error() != perr.Error() {
			t.Fatalf("ScanFields err=%v, Parse err=%v, for %q", serr, perr, b)
		}
		err := eachField(b, func(key, val []byte) error { fs.set(key, val); return nil })
		var obj map[string]json.RawMessage
		jerr := json.Unmarshal(b, &obj)
		// The contract is UTF-8: ScanFields rejects what encoding/json
		// would silently repair.
		valid := jerr == nil && utf8.Valid(b) && bytes.HasPrefix(bytes.TrimLeft(b, " \t\r\n"), []byte("{"))
		if (err == nil) != valid {
			t.Fatalf("ScanFields err=%v, encoding/json err=%v, for %q", err, jerr, b)
		}
		if err != nil {
			return
		}
		if raw, ok := obj["path"]; ok {
			var want string
			if json.Unmarshal(raw, &want) == nil {
				got, _ := RawString(fs.Path)
				if got != want {
					t.Fatalf("path %q, encoding/json says %q", got, want)
				}
			}
		}
	})
}

// Album, library and folder-failure records have the shapes docs/records.md
// shows, and only a folder failure is one: an album's parent folder does
// not make it a failure, nor does a failure about a file.
func TestListingShapes(t *testing.T) {
	n := int64(42)
	album := NewAlbum("icloud:album/Holidays", "A1", "Holidays", &n)
	album.Meta = map[string]any{MetaParentFolder: "Trips"}
	lib := NewLibrary("icloud:library/SharedSync-1", "SharedSync-1", "SharedSync-1")
	folder := FolderFailure("file:///card", "")
	folder.Meta["rank"] = 200
	for _, c := range []struct {
		rec        *Record
		want       string
		folderFail bool
	}{
		{album, `{"type":"album","source":"icloud:album/Holidays","id":"A1","name":"Holidays","meta":{"parent_folder":"Trips"},"count":42}`, false},
		{lib, `{"type":"library","source":"icloud:library/SharedSync-1","id":"SharedSync-1","name":"SharedSync-1"}`, false},
		{folder, `{"type":"failure","source":"file:///card","path":".","meta":{"folder":true,"rank":200}}`, true},
		{folder.AsFailure("permanent", "denied", 1, ""), `{"type":"failure","source":"file:///card","path":".","meta":{"folder":true,"rank":200},"error":{"class":"permanent","message":"denied","attempts":1}}`, true},
		{(&Record{Type: TypeItem, ID: "x", Path: "x"}).AsFailure("permanent", "gone", 1, ""), `{"type":"failure","id":"x","path":"x","size":0,"error":{"class":"permanent","message":"gone","attempts":1}}`, false},
	} {
		out, err := c.rec.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		if string(out) != c.want {
			t.Errorf("got  %s\nwant %s", out, c.want)
		}
		back, err := Parse(out)
		if err != nil {
			t.Fatal(err)
		}
		if back.IsFolderFailure() != c.folderFail {
			t.Errorf("%s: IsFolderFailure %v, want %v", out, back.IsFolderFailure(), c.folderFail)
		}
		if back.Type == TypeAlbum || back.Type == TypeLibrary {
			if back.IsFileRecord() {
				t.Errorf("%s counts as a file record", out)
			}
		}
	}
}

// writeRecorder keeps every Write call separately.
type writeRecorder struct{ writes [][]byte }

func (w *writeRecorder) Write(p []byte) (int, error) {
	w.writes = append(w.writes, append([]byte(nil), p...))
	return len(p), nil
}

// A line encoder makes one Write per record, holding the whole line and
// its newline, also for lines longer than any buffer, and keeps nothing
// back: a process killed between records leaves whole lines only.
func TestLineEncoderWritesWholeLines(t *testing.T) {
	var w writeRecorder
	enc := NewLineEncoder(&w)
	small := &Record{Type: TypeFailure, Path: "a.jpg", Error: &ErrorInfo{Class: "transient", Message: "x"}}
	big := &Record{Type: TypeFailure, Path: strings.Repeat("b", 200<<10) + ".jpg"}
	for i, r := range []*Record{small, big, small} {
		if err := enc.Encode(r); err != nil {
			t.Fatal(err)
		}
		if len(w.writes) != i+1 {
			t.Fatalf("after record %d: %d writes, want %d (nothing buffered, one write each)", i+1, len(w.writes), i+1)
		}
		last := w.writes[i]
		if bytes.Count(last, []byte("\n")) != 1 || last[len(last)-1] != '\n' {
			t.Fatalf("write %d is not one whole line (%d bytes)", i+1, len(last))
		}
		if _, err := Parse(last[:len(last)-1]); err != nil {
			t.Fatalf("write %d: %v", i+1, err)
		}
	}
	if err := enc.Close(); err != nil {
		t.Fatal(err)
	}
}
