package tests

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	tt "github.com/ps-photos/ps/internal/source/takeout/takeouttest"
	"github.com/ps-photos/ps/internal/testenv"
)

// mktakeout-meta CODE DIR EXPECTED: a two-part Takeout (a zip and a tgz)
// in language CODE whose sidecars carry everything ps-xmp --meta writes;
// EXPECTED gets each media file's sidecar (NAME.json, the bytes in the
// archive) and its album titles (NAME.albums), for check-meta.
//
// check-meta [-into-file] EXPECTED OUT ZONE: reads back with exiftool what
// ps-xmp --meta wrote for the files fetched into OUT (their sidecars, or
// with -into-file the files and their modification times) and compares it
// with the JSON sidecars, capture times shown in ZONE.
func init() {
	commands["mktakeout-meta"] = func(ts *testscript.TestScript, neg bool, args []string) {
		if neg || len(args) != 3 {
			ts.Fatalf("usage: mktakeout-meta CODE DIR EXPECTED")
		}
		var lang *tt.Lang
		for i := range tt.Langs {
			if tt.Langs[i].Code == args[0] {
				lang = &tt.Langs[i]
			}
		}
		if lang == nil {
			ts.Fatalf("mktakeout-meta: no language %q", args[0])
		}
		parts, expected := metaLibrary(*lang)
		ts.Check(tt.Write(ts.MkAbs(args[1]), parts))
		exp := ts.MkAbs(args[2])
		ts.Check(os.MkdirAll(exp, 0o755))
		for name, data := range expected {
			ts.Check(os.WriteFile(filepath.Join(exp, name), data, 0o644))
		}
	}
	commands["check-meta"] = func(ts *testscript.TestScript, neg bool, args []string) {
		intoFile := len(args) > 0 && args[0] == "-into-file"
		if intoFile {
			args = args[1:]
		}
		if neg || len(args) != 3 {
			ts.Fatalf("usage: check-meta [-into-file] EXPECTED OUT ZONE")
		}
		zone, err := time.LoadLocation(args[2])
		ts.Check(err)
		if problems := checkMeta(ts.MkAbs(args[0]), ts.MkAbs(args[1]), zone, intoFile); len(problems) > 0 {
			ts.Fatalf("check-meta:\n%s", strings.Join(problems, "\n"))
		}
	}
}

func utcTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// metaLibrary builds the language's export: IMG_1 (favourite, people,
// both GPS kinds, a description with markup and a line break) in the year
// folder of the zip and in an album of the tgz; IMG_2 in the tgz with its
// sidecar in the zip (southern and eastern coordinates, summer time);
// VID_3, an MP4, in the tgz (western coordinates).
func metaLibrary(l tt.Lang) (map[string][]tt.File, map[string][]byte) {
	gp := "Takeout/" + l.Root + "/"
	y := gp + l.Year + "/"
	album := gp + "Album_1/"
	albumTitle := "Album: " + l.Code + " & co"
	f := func(name string, data []byte) tt.File { return tt.File{Name: name, Data: data, Mtime: tt.Export1Time} }
	one := tt.Sidecar(tt.Meta{Title: "IMG_1.JPG", Description: "Tour Eiffel — été & <nuit>\nZeile 2 (" + l.Code + ")",
		Taken: utcTime("2023-04-01T09:00:00Z"), GeoExif: [2]float64{48.8584, 2.2945}, Geo: [2]float64{48.85, 2.29},
		Favorited: true, People: []string{"Ada", "Émile"}})
	two := tt.Sidecar(tt.Meta{Title: "IMG_2.JPG", Description: "Opera", Taken: utcTime("2023-07-15T18:30:00Z"),
		Geo: [2]float64{-33.8568, 151.2153}})
	three := tt.Sidecar(tt.Meta{Title: "VID_3.MP4", Description: "Video " + l.Code, Taken: utcTime("2023-12-24T20:00:00Z"),
		GeoExif: [2]float64{40.7484, -73.9857}})
	parts := map[string][]tt.File{
		"takeout-" + l.Code + "-001.zip": {
			f(y+"IMG_1.JPG", tt.JPEG(201)), f(y+"IMG_1.JPG.json", one),
			f(y+"IMG_2.JPG.supplemental-metadata.json", two),
		},
		"takeout-" + l.Code + "-002.tgz": {
			f(y+"IMG_2.JPG", tt.JPEG(202)),
			f(album+l.AlbumMeta, tt.AlbumMetadata(albumTitle)),
			f(album+"IMG_1.JPG", tt.JPEG(201)), f(album+"IMG_1.JPG.json", one),
			f(y+"VID_3.MP4", testenv.MP4()), f(y+"VID_3.MP4.json", three),
		},
	}
	expected := map[string][]byte{
		"IMG_1.JPG.json": one, "IMG_1.JPG.albums": []byte(albumTitle + "\n"),
		"IMG_2.JPG.json": two, "IMG_2.JPG.albums": nil,
		"VID_3.MP4.json": three, "VID_3.MP4.albums": nil,
	}
	return parts, expected
}

// googleSidecar is what check-meta reads from a Takeout JSON sidecar.
type googleSidecar struct {
	Description string `json:"description"`
	Favorited   bool   `json:"favorited"`
	Taken       struct {
		Timestamp string `json:"timestamp"`
	} `json:"photoTakenTime"`
	Geo     struct{ Latitude, Longitude float64 } `json:"geoData"`
	GeoExif struct{ Latitude, Longitude float64 } `json:"geoDataExif"`
	People  []struct {
		Name string `json:"name"`
	} `json:"people"`
}

func checkMeta(expDir, outDir string, zone *time.Location, intoFile bool) []string {
	var problems []string
	bad := func(format string, a ...any) { problems = append(problems, fmt.Sprintf(format, a...)) }
	fetched := map[string]string{}
	_ = filepath.WalkDir(outDir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			fetched[d.Name()] = p
		}
		return nil
	})
	sidecars, _ := filepath.Glob(filepath.Join(expDir, "*.json"))
	if len(sidecars) == 0 {
		return []string{"no sidecars in " + expDir}
	}
	var targets []string
	want := map[string]googleSidecar{}
	albums := map[string][]string{}
	for _, sc := range sidecars {
		name := strings.TrimSuffix(filepath.Base(sc), ".json")
		file, ok := fetched[name]
		if !ok {
			bad("%s was not fetched into %s", name, outDir)
			continue
		}
		var g googleSidecar
		data, _ := os.ReadFile(sc)
		if err := json.Unmarshal(data, &g); err != nil {
			bad("%s: %v", sc, err)
			continue
		}
		target := file + ".xmp"
		if intoFile {
			target = file
		}
		targets = append(targets, target)
		want[filepath.Base(target)] = g
		list, _ := os.ReadFile(strings.TrimSuffix(sc, ".json") + ".albums")
		for _, line := range strings.Split(string(list), "\n") {
			if line != "" {
				albums[filepath.Base(target)] = append(albums[filepath.Base(target)], line)
			}
		}
	}
	exiftool, err := exec.LookPath("exiftool")
	if err != nil {
		return append(problems, err.Error())
	}
	out, err := exec.Command(exiftool, append([]string{"-j", "-n", "-G1", "-a"}, targets...)...).Output()
	if err != nil {
		return append(problems, fmt.Sprintf("exiftool: %v", err))
	}
	var read []map[string]any
	if err := json.Unmarshal(out, &read); err != nil {
		return append(problems, err.Error())
	}
	for _, got := range read {
		path := got["SourceFile"].(string)
		name := filepath.Base(path)
		g := want[name]
		sec, _ := strconv.ParseInt(g.Taken.Timestamp, 10, 64)
		taken := time.Unix(sec, 0).In(zone)
		wall := taken.Format("2006:01:02 15:04:05")
		offset := taken.Format("-07:00")
		if v := got["XMP-exif:DateTimeOriginal"]; v != wall+offset {
			bad("%s: XMP DateTimeOriginal %v, want %s%s", name, v, wall, offset)
		}
		lat, lon := g.GeoExif.Latitude, g.GeoExif.Longitude
		if lat == 0 && lon == 0 {
			lat, lon = g.Geo.Latitude, g.Geo.Longitude
		}
		gotLat, _ := got["XMP-exif:GPSLatitude"].(float64)
		gotLon, _ := got["XMP-exif:GPSLongitude"].(float64)
		if math.Abs(gotLat-lat) > 1e-6 || math.Abs(gotLon-lon) > 1e-6 {
			bad("%s: GPS %v, %v, want %v, %v", name, gotLat, gotLon, lat, lon)
		}
		if v := got["XMP-dc:Description"]; v != g.Description {
			bad("%s: description %q, want %q", name, v, g.Description)
		}
		if v, fav := got["XMP-xmp:Rating"], g.Favorited; fav && v != 5.0 || !fav && v != nil {
			bad("%s: rating %v, favourite %v", name, v, fav)
		}
		subjects := testenv.Strings(got["XMP-dc:Subject"])
		for _, a := range albums[name] {
			if !slices.Contains(subjects, a) {
				bad("%s: keywords %q lack the album %q", name, subjects, a)
			}
		}
		var people []string
		for _, p := range g.People {
			people = append(people, p.Name)
		}
		if v := testenv.Strings(got["XMP-iptcExt:PersonInImage"]); !slices.Equal(v, people) {
			bad("%s: people %q, want %q", name, v, people)
		}
		if !intoFile {
			continue
		}
		if strings.HasSuffix(name, ".MP4") {
			if v := got["QuickTime:CreateDate"]; v != taken.UTC().Format("2006:01:02 15:04:05") {
				bad("%s: QuickTime CreateDate %v, want %s UTC", name, v, taken.UTC().Format("2006:01:02 15:04:05"))
			}
		} else if got["ExifIFD:DateTimeOriginal"] != wall || got["ExifIFD:OffsetTimeOriginal"] != offset {
			bad("%s: EXIF DateTimeOriginal %v %v, want %s %s", name, got["ExifIFD:DateTimeOriginal"], got["ExifIFD:OffsetTimeOriginal"], wall, offset)
		}
		if st, err := os.Stat(path); err != nil || !st.ModTime().Equal(taken) {
			bad("%s: modification time %v, want %v", name, st.ModTime().UTC(), taken.UTC())
		}
	}
	if len(read) != len(sidecars) {
		bad("exiftool read %d of %d files", len(read), len(sidecars))
	}
	return problems
}

// icloud-meta-check OUT ZONE: every original, RAW alternative and live
// photo video of the fake iCloud's library (hidden assets included) that
// ps-fetch put into OUT has a sidecar whose capture time (in ZONE), rating
// (favourites) and label (hidden) are the fake's.
func init() {
	commands["icloud-meta-check"] = func(ts *testscript.TestScript, neg bool, args []string) {
		if neg || len(args) != 2 {
			ts.Fatalf("usage: icloud-meta-check OUT ZONE")
		}
		icloudFakes.Lock()
		fake := icloudFakes.m[ts]
		icloudFakes.Unlock()
		if fake == nil {
			ts.Fatalf("icloud-fake start first")
		}
		zone, err := time.LoadLocation(args[1])
		ts.Check(err)
		out := ts.MkAbs(args[0])
		type want struct {
			taken            time.Time
			favorite, hidden bool
		}
		sidecars := map[string]want{} // sidecar path → what it must say
		for _, a := range fake.Zones()[0].Assets {
			if a.Deleted {
				continue
			}
			stem := strings.TrimSuffix(a.Name, filepath.Ext(a.Name))
			w := want{a.Taken, a.Favorite, a.Hidden}
			sidecars[filepath.Join(out, a.Name+".xmp")] = w
			if a.Resources["resOriginalAlt"] != nil {
				sidecars[filepath.Join(out, stem+".xmp")] = w // the RAW: Lightroom's name
			}
			if a.Resources["resOriginalVidCompl"] != nil {
				sidecars[filepath.Join(out, stem+"_HEVC.MOV.xmp")] = w
			}
		}
		var paths []string
		for p := range sidecars {
			paths = append(paths, p)
		}
		slices.Sort(paths)
		exiftool, err := exec.LookPath("exiftool")
		ts.Check(err)
		// exiftool exits 1 when a file is missing: that is reported below.
		raw, _ := exec.Command(exiftool, append([]string{"-j", "-n", "-G1", "-q", "-q"}, paths...)...).Output()
		var read []map[string]any
		ts.Check(json.Unmarshal(raw, &read))
		var problems []string
		for _, got := range read {
			p := got["SourceFile"].(string)
			w := sidecars[p]
			delete(sidecars, p)
			local := w.taken.In(zone)
			if v, d := got["XMP-exif:DateTimeOriginal"], local.Format("2006:01:02 15:04:05-07:00"); v != d {
				problems = append(problems, fmt.Sprintf("%s: DateTimeOriginal %v, want %s", p, v, d))
			}
			if v := got["XMP-xmp:Rating"]; w.favorite != (v == 5.0) || !w.favorite && v != nil {
				problems = append(problems, fmt.Sprintf("%s: rating %v, favourite %v", p, v, w.favorite))
			}
			if v := got["XMP-xmp:Label"]; w.hidden != (v == "Hidden") {
				problems = append(problems, fmt.Sprintf("%s: label %v, hidden %v", p, v, w.hidden))
			}
		}
		for p := range sidecars {
			problems = append(problems, "no sidecar "+p)
		}
		if len(problems) > 0 {
			ts.Fatalf("icloud-meta-check:\n%s", strings.Join(problems, "\n"))
		}
		fmt.Fprintf(ts.Stdout(), "checked %d sidecars\n", len(read))
	}
}
