package takeout

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ps-photos/ps/internal/record"
	"github.com/ps-photos/ps/internal/source"
	"github.com/ps-photos/ps/internal/source/sourcetest"
	tt "github.com/ps-photos/ps/internal/source/takeout/takeouttest"
	"github.com/ps-photos/ps/internal/testenv"
)

// conformance seeds files into one part of the given kind.
func conformance(kind string, store bool) sourcetest.Config {
	return sourcetest.Config{
		NoOffset: kind == "tgz" || (kind == "zip" && !store),
		New: func(t *testing.T, files []sourcetest.File) (source.Source, source.ListOptions) {
			var entries []tt.File
			for _, f := range files {
				entries = append(entries, tt.File{Name: "Takeout/Google Photos/" + f.Path, Data: f.Data, Mtime: f.Mtime, Store: store})
			}
			dir := t.TempDir()
			name := "takeout-001." + kind
			if kind == "dir" {
				name = "extracted"
			}
			if err := tt.Write(dir, map[string][]tt.File{name: entries}); err != nil {
				t.Fatal(err)
			}
			loc := filepath.Join(dir, name)
			if kind == "dir" {
				loc = filepath.Join(dir, name, "Takeout")
			}
			src, err := New("takeout:" + loc)
			if err != nil {
				t.Fatal(err)
			}
			return src, source.ListOptions{Jobs: 4}
		},
	}
}

func TestConformanceZipStored(t *testing.T)   { sourcetest.Run(t, conformance("zip", true)) }
func TestConformanceZipDeflated(t *testing.T) { sourcetest.Run(t, conformance("zip", false)) }
func TestConformanceTgz(t *testing.T)         { sourcetest.Run(t, conformance("tgz", false)) }
func TestConformanceExtracted(t *testing.T)   { sourcetest.Run(t, conformance("dir", false)) }

type sink struct {
	mu       sync.Mutex
	items    []*record.Record
	failures []string
}

func (s *sink) Item(r *record.Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.items = append(s.items, r)
	return nil
}

func (s *sink) Failure(r *record.Record, err error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures = append(s.failures, r.Path+": "+err.Error())
	return nil
}

func list(t *testing.T, location string, opts source.ListOptions) (*Source, map[string]*record.Record) {
	t.Helper()
	src, err := New(location)
	if err != nil {
		t.Fatal(err)
	}
	s := &sink{}
	if err := src.List(context.Background(), opts, s); err != nil {
		t.Fatalf("List: %v", err)
	}
	if len(s.failures) > 0 {
		t.Fatalf("failures: %v", s.failures)
	}
	byPath := map[string]*record.Record{}
	ids := map[string]bool{}
	for _, it := range s.items {
		if byPath[it.Path] != nil || ids[it.ID] {
			t.Errorf("listed twice: %s", it.Path)
		}
		byPath[it.Path], ids[it.ID] = it, true
	}
	return src, byPath
}

func english(t *testing.T, export int) string {
	t.Helper()
	exiftool := testenv.LookTool(t, "libimage-exiftool-perl", "exiftool")
	parts, err := tt.English(exiftool, t.TempDir(), export)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := tt.Write(dir, parts); err != nil {
		t.Fatal(err)
	}
	return dir
}

type want struct {
	taken  string
	from   string // meta.taken_from
	match  string // meta.sidecar_match; "" for no sidecar
	albums []string
	flags  []string // meta keys that must be true
	media  string
}

const y23 = "Photos from 2023/"

var wantEnglish = map[string]want{
	y23 + "IMG_0001.JPG":                  {"2023-05-06T10:00:00Z", "sidecar", "own", []string{"Best of / 2023", "Rome 2023"}, []string{"favorite"}, "photo"},
	y23 + "IMG_0001(1).JPG":               {"2023-05-07T11:00:00Z", "sidecar", "own", nil, nil, "photo"},
	y23 + "IMG_0002.JPG":                  {"2023-06-01T08:30:00Z", "sidecar", "own", []string{"Rome 2023"}, []string{"archived"}, "photo"},
	y23 + "IMG_0002-edited.JPG":           {"2023-06-01T08:30:00Z", "sidecar", "edited", nil, []string{"archived", "edited"}, "photo"},
	y23 + tt.LongScreenshot:               {"2023-07-08T10:11:12Z", "sidecar", "own", nil, nil, "photo"},
	y23 + "Scan35(1).jpg":                 {"2023-02-03T04:05:06Z", "sidecar", "own", nil, nil, "photo"},
	y23 + "Scan35.jpg":                    {"2023-02-03T04:05:00Z", "sidecar", "own", nil, nil, "photo"},
	y23 + tt.NightShot:                    {"2023-08-15T18:22:33Z", "sidecar", "own", nil, nil, "photo"},
	y23 + tt.NightShot1:                   {"2023-08-15T18:22:34Z", "sidecar", "own", nil, nil, "photo"},
	y23 + tt.FamilyDinner:                 {"2023-12-24T19:00:00Z", "sidecar", "own", nil, nil, "photo"},
	y23 + "PXL_20230704_101010123.MP.jpg": {"2023-07-04T10:10:10Z", "sidecar", "own", nil, nil, "photo"},
	y23 + "PXL_20230704_101010123.MP":     {"2023-07-04T10:10:10Z", "sidecar", "live", nil, nil, "video"},
	y23 + "IMG_0100.JPG":                  {"2023-09-09T09:09:09Z", "sidecar", "own", nil, nil, "photo"},
	y23 + "IMG_0100.MOV":                  {"2023-09-09T09:09:09Z", "sidecar", "live", nil, nil, "video"},
	"Photos from 2003/20030616.jpg":       {"2003-06-16T12:00:00Z", "sidecar", "own", nil, nil, "photo"},
	y23 + "IMG_NOEXT":                     {"2023-10-10T10:10:10Z", "sidecar", "own", nil, nil, "photo"},
	y23 + "Café.jpg":                      {"2023-11-11T11:11:11Z", "sidecar", "own", nil, nil, "photo"},
	y23 + "orphan.jpg":                    {"2021-03-04T10:11:12Z", "exif", "", nil, []string{"no_sidecar"}, "photo"},
	y23 + "noexif.png":                    {"2025-01-02T03:04:05Z", "archive", "", nil, []string{"no_sidecar"}, "photo"},
	y23 + "2025-04-28(3516).jpg":          {"2025-04-28T17:00:00Z", "sidecar", "unindexed", nil, nil, "photo"},
	y23 + "upload_only.png":               {"2024-12-31T23:00:00Z", "upload", "own", nil, nil, "photo"},
	"Trash/IMG_T.JPG":                     {"2022-12-24T18:00:00Z", "sidecar", "own", nil, []string{"trashed"}, "photo"},
	y23 + "shared.jpg":                    {"2023-03-03T03:03:03Z", "sidecar", "own", nil, []string{"partner_shared"}, "photo"},
	"Photos from 2022/DSC_5000.JPG":       {"2022-04-05T06:07:08Z", "sidecar", "own", nil, nil, "photo"},
	"Rome 2023/only_in_album.jpg":         {"2023-06-02T00:00:00Z", "sidecar", "own", []string{"Rome 2023"}, nil, "photo"},
}

func checkItems(t *testing.T, got map[string]*record.Record, want map[string]want) {
	t.Helper()
	for p, w := range want {
		it := got[p]
		if it == nil {
			t.Errorf("%s: not listed", p)
			continue
		}
		if s := record.FormatTime(it.Taken); s != w.taken {
			t.Errorf("%s: taken %s, want %s", p, s, w.taken)
		}
		if !it.Mtime.Equal(it.Taken) {
			t.Errorf("%s: mtime %s, want the capture time", p, it.Mtime)
		}
		if it.Meta["taken_from"] != w.from {
			t.Errorf("%s: taken_from %v, want %s", p, it.Meta["taken_from"], w.from)
		}
		if m, _ := it.Meta["sidecar_match"].(string); m != w.match {
			t.Errorf("%s: sidecar_match %q, want %q", p, m, w.match)
		}
		albums, _ := it.Meta["albums"].([]string)
		if !slices.Equal(albums, w.albums) {
			t.Errorf("%s: albums %q, want %q", p, albums, w.albums)
		}
		for _, f := range w.flags {
			if it.Meta[f] != true {
				t.Errorf("%s: meta.%s not set (meta %v)", p, f, it.Meta)
			}
		}
		for _, f := range []string{"favorite", "archived", "trashed", "partner_shared", "edited", "no_sidecar"} {
			if it.Meta[f] == true && !slices.Contains(w.flags, f) {
				t.Errorf("%s: meta.%s set, want it unset", p, f)
			}
		}
		if it.Media != w.media {
			t.Errorf("%s: media %s, want %s", p, it.Media, w.media)
		}
		if it.ID != it.Hash["sha256"] || len(it.ID) != 64 {
			t.Errorf("%s: id %q is not the content's sha256 %q", p, it.ID, it.Hash["sha256"])
		}
	}
	for p := range got {
		if _, ok := want[p]; !ok {
			t.Errorf("unexpected item %s", p)
		}
	}
}

func TestEnglishExport(t *testing.T) {
	dir := english(t, 1)
	for _, loc := range []string{dir, filepath.Join(dir, "takeout-*")} {
		t.Run(filepath.Base(loc), func(t *testing.T) {
			src, got := list(t, "takeout:"+loc, source.ListOptions{Jobs: 3})
			defer src.Close()
			checkItems(t, got, wantEnglish)
			a := got[y23+"IMG_0001.JPG"]
			if g, _ := a.Meta["gps"].(map[string]any); g == nil || g["lat"] != 48.8584 || g["lon"] != 2.2945 {
				t.Errorf("IMG_0001: gps %v, want geoDataExif's", a.Meta["gps"])
			}
			if a.Meta["copies"] != 3 {
				t.Errorf("IMG_0001: copies %v, want 3", a.Meta["copies"])
			}
			if c := got[y23+"IMG_0002.JPG"]; c.Meta["description"] != "Colosseum" {
				t.Errorf("IMG_0002: description %v", c.Meta["description"])
			}
			// Every item opens to the bytes it was hashed from.
			for p, it := range got {
				checkOpen(t, src, it, p)
			}
		})
	}
}

func checkOpen(t *testing.T, src *Source, it *record.Record, p string) {
	t.Helper()
	c, err := src.Open(context.Background(), it, 0)
	if err != nil {
		t.Errorf("Open %s: %v", p, err)
		return
	}
	defer c.Close()
	b, err := io.ReadAll(c)
	if err != nil {
		t.Errorf("read %s: %v", p, err)
		return
	}
	if int64(len(b)) != it.Size {
		t.Errorf("%s: read %d bytes, want %d", p, len(b), it.Size)
	}
}

// A single part lists what it holds; media whose JSON is in another part
// are flagged, not lost.
func TestSinglePart(t *testing.T) {
	dir := english(t, 1)
	src, got := list(t, "takeout:"+filepath.Join(dir, "takeout-20250102T030405Z-001.zip"), source.ListOptions{Jobs: 1})
	defer src.Close()
	b := got[y23+"IMG_0001(1).JPG"]
	if b == nil || b.Meta["no_sidecar"] != true {
		t.Fatalf("IMG_0001(1).JPG without its sidecar part: %v", b)
	}
	if a := got[y23+"IMG_0001.JPG"]; a == nil || a.Meta["albums"] != nil {
		t.Errorf("IMG_0001.JPG alone: %v, want no albums", a)
	}
}

// A second export of the same library, split differently and saved
// elsewhere, gives the same source and ids for the same items, and new ids
// only for new ones; one Source fetches from both.
func TestIDsStableAcrossExports(t *testing.T) {
	_, one := list(t, "takeout:"+english(t, 1), source.ListOptions{Jobs: 2})
	_, two := list(t, "takeout:"+english(t, 2), source.ListOptions{Jobs: 2})
	fetch, err := New("takeout:")
	if err != nil {
		t.Fatal(err)
	}
	defer fetch.Close()
	checkOpen(t, fetch, one[y23+"IMG_0001.JPG"], "export 1")
	checkOpen(t, fetch, two[y23+"IMG_0001.JPG"], "export 2")
	if err := fetch.List(context.Background(), source.ListOptions{}, &sink{}); err == nil {
		t.Error("plain takeout: listed something")
	}
	if len(two) != len(one)+2 {
		t.Errorf("export 2 has %d items, want %d", len(two), len(one)+2)
	}
	for p, it := range one {
		if two[p] == nil || two[p].ID != it.ID || two[p].Source != it.Source || !two[p].Taken.Equal(it.Taken) && it.Meta["taken_from"] != "archive" {
			t.Errorf("%s: changed between exports: %v vs %v", p, it, two[p])
		}
	}
	for _, p := range []string{"Photos from 2024/IMG_2024.JPG", "Rome 2023/IMG_0003.JPG"} {
		if two[p] == nil || one[p] != nil {
			t.Errorf("%s: want it new in export 2", p)
		}
	}
	if got := two[y23+"IMG_0002.JPG"].Meta["albums"]; !slices.Equal(got.([]string), []string{"Rome 2023"}) {
		t.Errorf("albums in export 2: %v", got)
	}
}

func TestLocalizedNames(t *testing.T) {
	for _, l := range tt.Langs {
		t.Run(l.Code, func(t *testing.T) {
			dir := t.TempDir()
			if err := tt.Write(dir, map[string][]tt.File{"takeout-001.zip": tt.Localized(l)}); err != nil {
				t.Fatal(err)
			}
			_, got := list(t, "takeout:"+dir, source.ListOptions{Jobs: 1})
			w := map[string]want{
				l.Year + "/IMG_1.JPG":                 {"2023-04-01T09:00:00Z", "sidecar", "own", []string{"Album: " + l.Code}, nil, "photo"},
				l.Year + "/IMG_1" + l.Edited + ".JPG": {"2023-04-01T09:00:00Z", "sidecar", "edited", nil, []string{"edited"}, "photo"},
				l.Trash + "/IMG_2.JPG":                {"2023-04-02T09:00:00Z", "sidecar", "own", nil, []string{"trashed"}, "photo"},
			}
			checkItems(t, got, w)
		})
	}
}

func TestSidecarNames(t *testing.T) {
	for _, c := range []struct {
		name, prefix string
		index        int
		truncated    bool
	}{
		{"IMG.JPG.json", "IMG.JPG", 0, false},
		{"IMG.JPG(11).json", "IMG.JPG", 11, false},
		{"Scan35.jpg.supplemental-metadata(1).json", "Scan35.jpg", 1, false},
		{"IMG.jpg.supplemental-metadat.json", "IMG.jpg", 0, false},
		{"IMG.jpg.suppl.json", "IMG.jpg", 0, false},
		{"IMG.jpg.metadata.json", "IMG.jpg", 0, false},
		{"IMG_1976.HEIC(1).supplemental-metadata.json", "IMG_1976.HEIC", 1, false},
		{"FullSizeRender(1)(1).HEIC.supplemental-metadata.json", "FullSizeRender(1)(1).HEIC", 0, true},
		{"Urlaub in Knaufspesch in der Schneifel (38).JP.json", "Urlaub in Knaufspesch in der Schneifel (38).JP", 0, true},
		{"20030616.json", "20030616", 0, false},
		{"Screenshot_20230708-101112_Some_Very_Long_App_.json", "Screenshot_20230708-101112_Some_Very_Long_App_", 0, true},
		{"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa_Facebook.jpg.supple(1).json", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa_Facebook.jpg", 1, true},
	} {
		got, ok := parseSidecarName(c.name)
		if !ok || got.prefix != c.prefix || got.index != c.index || got.truncated != c.truncated {
			t.Errorf("parseSidecarName(%q) = %+v, %v; want %q %d %v", c.name, got, ok, c.prefix, c.index, c.truncated)
		}
	}
}

func TestExifFallbackNeedsRealExif(t *testing.T) {
	exiftool := testenv.LookTool(t, "libimage-exiftool-perl", "exiftool")
	jpegs := map[string][]byte{"a": tt.JPEG(1), "b": tt.JPEG(2)}
	if err := tt.ExifDates(exiftool, t.TempDir(), jpegs, map[string]string{"a": "2019:12:31 23:59:58"}); err != nil {
		t.Fatal(err)
	}
	if got := exifTaken(jpegs["a"]); !got.Equal(time.Date(2019, 12, 31, 23, 59, 58, 0, time.UTC)) {
		t.Errorf("exifTaken = %s", got)
	}
	if got := exifTaken(jpegs["b"]); !got.IsZero() {
		t.Errorf("exifTaken of a JPEG without EXIF = %s", got)
	}
	if got := exifTaken([]byte(strings.Repeat("x", 100))); !got.IsZero() {
		t.Errorf("exifTaken of garbage = %s", got)
	}
}

// A part cut short (an interrupted download) is a failure record naming
// it; the other parts are still listed.
func TestTruncatedParts(t *testing.T) {
	dir := t.TempDir()
	at := time.Date(2025, 1, 2, 0, 0, 0, 0, time.UTC)
	files := func(prefix string, n int) []tt.File {
		var out []tt.File
		for i := range n {
			out = append(out, tt.File{Name: "Takeout/Google Photos/Photos from 2023/" + prefix + strings.Repeat("x", i) + ".jpg",
				Data: tt.JPEG(i + len(prefix)*100), Mtime: at})
		}
		return out
	}
	parts := map[string][]tt.File{"t-001.zip": files("good", 3), "t-002.zip": files("cut", 3), "t-003.tgz": files("tgz", 20)}
	if err := tt.Write(dir, parts); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"t-002.zip", "t-003.tgz"} {
		st, _ := os.Stat(filepath.Join(dir, p))
		if err := os.Truncate(filepath.Join(dir, p), st.Size()*2/3); err != nil {
			t.Fatal(err)
		}
	}
	src, err := New("takeout:" + dir)
	if err != nil {
		t.Fatal(err)
	}
	s := &sink{}
	if err := src.List(context.Background(), source.ListOptions{Jobs: 2}, s); err != nil {
		t.Fatal(err)
	}
	var good, fromTgz int
	for _, it := range s.items {
		switch {
		case strings.Contains(it.Name, "good"):
			good++
		case strings.Contains(it.Name, "tgz"):
			fromTgz++
		default:
			t.Errorf("listed %s from the cut zip", it.Path)
		}
	}
	if good != 3 || fromTgz == 0 || fromTgz == 20 {
		t.Errorf("listed %d of the good part and %d of the cut tgz (want 3, and some but not all)", good, fromTgz)
	}
	slices.Sort(s.failures)
	if len(s.failures) != 2 || !strings.HasPrefix(s.failures[0], filepath.Join(dir, "t-002.zip")+": ") ||
		!strings.HasPrefix(s.failures[1], filepath.Join(dir, "t-003.tgz")+": ") {
		t.Errorf("failures %q, want one per cut part", s.failures)
	}
}

func TestHomeAndGlobLocations(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	if err := tt.Write(filepath.Join(home, "Downloads"), map[string][]tt.File{
		"takeout-1.zip": tt.Localized(tt.Langs[0]), "other.zip": {{Name: "Takeout/Google Photos/x/y.jpg", Data: []byte("y")}},
	}); err != nil {
		t.Fatal(err)
	}
	src, got := list(t, "takeout:~/Downloads/takeout-*.zip", source.ListOptions{Jobs: 1})
	if src.Location() != "takeout:" || src.input != home+"/Downloads/takeout-*.zip" {
		t.Errorf("location %s, input %s", src.Location(), src.input)
	}
	if len(got) != 3 || got["x/y.jpg"] != nil {
		t.Errorf("listed %v, want the 3 items of takeout-1.zip only", slices.Collect(maps.Keys(got)))
	}
	for _, it := range got {
		checkOpen(t, src, it, it.Path)
	}
}

// Parallel fetches in listing order read a tgz about once: each request
// waits for the reader the previous entry is using instead of opening the
// archive again from its start.
func TestTgzFetchReusesReaders(t *testing.T) {
	dir := t.TempDir()
	var files []tt.File
	for i := range 200 {
		files = append(files, tt.File{Name: fmt.Sprintf("Takeout/Google Photos/Photos from 2024/IMG_%04d.JPG", i),
			Data: bytes.Repeat([]byte{byte(i)}, 1000+i), Mtime: time.Date(2024, 1, 1, 0, 0, i, 0, time.UTC)})
	}
	if err := tt.Write(dir, map[string][]tt.File{"t.tgz": files}); err != nil {
		t.Fatal(err)
	}
	s := &sink{}
	src, err := New("takeout:" + filepath.Join(dir, "t.tgz"))
	if err != nil {
		t.Fatal(err)
	}
	if err := src.List(context.Background(), source.ListOptions{Jobs: 1}, s); err != nil {
		t.Fatal(err)
	}
	jobs := make(chan *record.Record)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := range jobs {
				checkOpen(t, src, it, it.Path)
			}
		}()
	}
	for _, it := range s.items {
		jobs <- it
	}
	close(jobs)
	wg.Wait()
	// 200 files and one folder header: read once, plus a little slack.
	t.Logf("%d headers", src.tarHeaders.Load())
	if n := src.tarHeaders.Load(); n > 240 {
		t.Errorf("read %d tar headers to fetch 200 entries in order", n)
	}
}

// A long name that ends in what could be a cut edited suffix is an edited
// copy only when its original's sidecar says so.
func TestCutEditedSuffixFlag(t *testing.T) {
	at := time.Date(2025, 1, 2, 0, 0, 0, 0, time.UTC)
	y := "Takeout/Google Photos/Photos from 2024/"
	edited := tt.CutMedia("Weihnachtsfeier bei Familie Schmidt 2019_04-bearbeitet", ".jpg")
	own := "Betriebsausflug der Abteilung Buchhaltung 24-mo.jpg" // 47 characters before ".jpg"
	sc := func(name, title string, taken time.Time) tt.File {
		return tt.File{Name: y + name, Data: tt.Sidecar(tt.Meta{Title: title, Taken: taken}), Mtime: at}
	}
	files := []tt.File{
		{Name: y + "Weihnachtsfeier bei Familie Schmidt 2019_04.jpg", Data: tt.JPEG(1), Mtime: at},
		sc("Weihnachtsfeier bei Familie Schmidt 2019_04.jpg.json", "Weihnachtsfeier bei Familie Schmidt 2019_04.jpg", time.Date(2019, 12, 24, 18, 0, 0, 0, time.UTC)),
		{Name: y + edited, Data: tt.JPEG(2), Mtime: at},
		{Name: y + own, Data: tt.JPEG(3), Mtime: at},
		sc(tt.Cut(own+".supplemental-metadata", 0), own, time.Date(2024, 6, 7, 8, 0, 0, 0, time.UTC)),
	}
	dir := t.TempDir()
	if err := tt.Write(dir, map[string][]tt.File{"takeout-001.zip": files}); err != nil {
		t.Fatal(err)
	}
	_, got := list(t, "takeout:"+dir, source.ListOptions{Jobs: 1})
	checkItems(t, got, map[string]want{
		"Photos from 2024/Weihnachtsfeier bei Familie Schmidt 2019_04.jpg": {"2019-12-24T18:00:00Z", "sidecar", "own", nil, nil, "photo"},
		"Photos from 2024/" + edited:                                       {"2019-12-24T18:00:00Z", "sidecar", "edited", nil, []string{"edited"}, "photo"},
		"Photos from 2024/" + own:                                          {"2024-06-07T08:00:00Z", "sidecar", "own", nil, nil, "photo"},
	})
}
