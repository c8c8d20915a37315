package xmp

import (
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/ps-photos/ps/internal/record"
	"github.com/ps-photos/ps/internal/source/takeout/takeouttest"
	"github.com/ps-photos/ps/internal/testenv"
)

func parseRecord(t *testing.T, line string) *record.Record {
	t.Helper()
	rec, err := record.Parse([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

func TestMetaOfReadsRecords(t *testing.T) {
	rec := parseRecord(t, `{"type":"result","id":"1","name":"IMG_0001.JPG","taken":"2023-05-06T10:00:00Z","meta":{
		"title":"IMG_0001","description":" Rome ","favorite":true,"archived":true,"gps":{"lat":41.89,"lon":-12.49,"alt":-3},
		"albums":["Rome","Best of / 2023","Rome"],"people":["Ada",{"name":"Émile"}],"taken_offset":"+05:30"}}`)
	m := MetaOf(rec)
	if m.Title != "" {
		t.Errorf("a title that repeats the file name was kept: %q", m.Title)
	}
	if m.Description != "Rome" || !m.Favorite || m.Label != "Archived" {
		t.Errorf("description %q favourite %v label %q", m.Description, m.Favorite, m.Label)
	}
	if m.GPS == nil || *m.GPS != (GPS{41.89, -12.49, -3}) {
		t.Errorf("gps %+v", m.GPS)
	}
	if !slices.Equal(m.Keywords, []string{"Rome", "Best of / 2023"}) || !slices.Equal(m.People, []string{"Ada", "Émile"}) {
		t.Errorf("keywords %q people %q", m.Keywords, m.People)
	}
	if _, off := m.Taken.In(m.Zone).Zone(); off != 5*3600+30*60 {
		t.Errorf("zone offset %d", off)
	}

	bare := MetaOf(parseRecord(t, `{"type":"item","id":"2","name":"a.jpg","meta":{"title":"Holiday","gps":{"lat":0,"lon":0},"hidden":true}}`))
	if bare.Title != "Holiday" || bare.GPS != nil || bare.Label != "Hidden" || bare.Zone != nil {
		t.Errorf("%+v", bare)
	}
	if !MetaOf(parseRecord(t, `{"type":"item","id":"3","name":"b.jpg"}`)).Empty() {
		t.Error("a record without metadata is not empty")
	}
}

// readBack reads files with exiftool: -n numbers, -G1 groups.
func readBack(t *testing.T, exiftool string, paths ...string) map[string]map[string]any {
	t.Helper()
	return testenv.ExiftoolJSON(t, exiftool, append([]string{"-n", "-G1", "-a"}, paths...)...)
}

func TestMetaWriterReadBack(t *testing.T) {
	exiftool := testenv.LookTool(t, "libimage-exiftool-perl", "exiftool")
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	photo := write("photo.jpg", takeouttest.JPEG(1))
	dated := write("dated.jpg", takeouttest.JPEG(2))
	clip := write("clip.mp4", testenv.MP4())
	raw := filepath.Join(dir, "IMG_0001.CR3")
	// The camera's own date, and a Lightroom sidecar with an edit and a keyword.
	rawSidecar := SidecarPath(raw, NameLightroom)
	edit := Settings{"Exposure2012": {Kind: Text, Text: "+0.50"}, "HasSettings": {Kind: Text, Text: "True"}}
	if err := os.WriteFile(rawSidecar, Marshal(edit), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"-DateTimeOriginal=2001:02:03 04:05:06", dated}, {"-XMP-dc:Subject=Kept by Lightroom", rawSidecar}} {
		if out, err := exec.Command(exiftool, append([]string{"-q", "-overwrite_original"}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("exiftool: %v %s", err, out)
		}
	}

	rec := parseRecord(t, `{"type":"result","id":"1","name":"x.jpg","taken":"2023-05-06T10:00:00Z","meta":{
		"title":"Au revoir","description":"Line one\nline & <two> \"quoted\"","favorite":true,
		"gps":{"lat":-33.8568,"lon":151.2153,"alt":-4.5},"albums":["Rome","Best of / 2023"],"people":["Ada","Émile"]}}`)
	m := MetaOf(rec)
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no time zone data")
	}
	w, err := NewMetaWriter(ReaderOptions{Jobs: 2, Binary: exiftool})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	photoSidecar := SidecarPath(photo, NameExt)
	for _, err := range []error{
		w.WriteSidecar(photoSidecar, m, berlin),
		w.WriteSidecar(rawSidecar, m, berlin),
		w.WriteFile(photo, m.Tags(IntoImage, berlin)),
		w.WriteFile(dated, m.Tags(IntoImage, berlin)),
		w.WriteFile(clip, m.Tags(IntoVideo, berlin)),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	got := readBack(t, exiftool, photoSidecar, rawSidecar, photo, dated, clip)

	local := m.Taken.In(berlin)
	_, off := local.Zone()
	wantXMPDate := local.Format("2006:01:02 15:04:05") + offsetString(off)
	for _, name := range []string{"photo.jpg.xmp", "IMG_0001.xmp", "photo.jpg", "dated.jpg", "clip.mp4"} {
		g := got[name]
		if g["XMP-exif:DateTimeOriginal"] != wantXMPDate {
			t.Errorf("%s: XMP DateTimeOriginal %v, want %s", name, g["XMP-exif:DateTimeOriginal"], wantXMPDate)
		}
		if g["XMP-dc:Description"] != m.Description || g["XMP-dc:Title"] != m.Title {
			t.Errorf("%s: description %q title %q", name, g["XMP-dc:Description"], g["XMP-dc:Title"])
		}
		if g["XMP-xmp:Rating"] != 5.0 {
			t.Errorf("%s: rating %v", name, g["XMP-xmp:Rating"])
		}
		for _, k := range m.Keywords {
			if !slices.Contains(testenv.Strings(g["XMP-dc:Subject"]), k) {
				t.Errorf("%s: keywords %v lack %q", name, g["XMP-dc:Subject"], k)
			}
		}
		if !slices.Equal(testenv.Strings(g["XMP-iptcExt:PersonInImage"]), m.People) {
			t.Errorf("%s: people %v", name, g["XMP-iptcExt:PersonInImage"])
		}
		lat, okLat := g["Composite:GPSLatitude"].(float64)
		lon, _ := g["Composite:GPSLongitude"].(float64)
		if !okLat { // a sidecar: XMP's signed degrees
			lat, _ = g["XMP-exif:GPSLatitude"].(float64)
			lon, _ = g["XMP-exif:GPSLongitude"].(float64)
		}
		if math.Abs(lat-m.GPS.Lat) > 1e-6 || math.Abs(lon-m.GPS.Lon) > 1e-6 {
			t.Errorf("%s: GPS %v %v, want %v %v", name, lat, lon, m.GPS.Lat, m.GPS.Lon)
		}
	}
	// The Lightroom sidecar keeps its edit and keyword beside ps's metadata.
	if g := got["IMG_0001.xmp"]; g["XMP-crs:Exposure2012"] != edit["Exposure2012"].Text || !slices.Contains(testenv.Strings(g["XMP-dc:Subject"]), "Kept by Lightroom") {
		t.Errorf("the RAW's sidecar lost Lightroom's settings: %v %v", g["XMP-crs:Exposure2012"], g["XMP-dc:Subject"])
	}
	if _, err := os.Stat(raw); err == nil {
		t.Error("a RAW file appeared")
	}
	// EXIF: filled in where missing, the camera's own kept.
	if g := got["photo.jpg"]; g["ExifIFD:DateTimeOriginal"] != local.Format("2006:01:02 15:04:05") || g["ExifIFD:OffsetTimeOriginal"] != offsetString(off) {
		t.Errorf("photo.jpg: EXIF date %v %v", g["ExifIFD:DateTimeOriginal"], g["ExifIFD:OffsetTimeOriginal"])
	}
	if g := got["dated.jpg"]; g["ExifIFD:DateTimeOriginal"] != "2001:02:03 04:05:06" {
		t.Errorf("dated.jpg: the camera's date was replaced: %v", g["ExifIFD:DateTimeOriginal"])
	}
	if g := got["photo.jpg"]; g["GPS:GPSAltitude"] != math.Abs(m.GPS.Alt) || g["GPS:GPSAltitudeRef"] != 1.0 {
		t.Errorf("photo.jpg: altitude %v ref %v", g["GPS:GPSAltitude"], g["GPS:GPSAltitudeRef"])
	}
	for _, name := range []string{"photo.jpg.xmp", "IMG_0001.xmp"} { // rendered by ps, merged by exiftool
		if g := got[name]; g["XMP-exif:GPSAltitude"] != math.Abs(m.GPS.Alt) || g["XMP-exif:GPSAltitudeRef"] != 1.0 {
			t.Errorf("%s: altitude %v ref %v", name, g["XMP-exif:GPSAltitude"], g["XMP-exif:GPSAltitudeRef"])
		}
	}
	// QuickTime dates are UTC; Keys carries the zone.
	if g := got["clip.mp4"]; g["QuickTime:CreateDate"] != m.Taken.UTC().Format("2006:01:02 15:04:05") || g["Keys:CreationDate"] != wantXMPDate {
		t.Errorf("clip.mp4: QuickTime %v Keys %v", g["QuickTime:CreateDate"], g["Keys:CreationDate"])
	}

	// Writing again changes nothing and is no error; keywords are not doubled.
	if err := w.WriteSidecar(photoSidecar, m, berlin); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteFile(dated, m.Tags(IntoImage, berlin)); err != nil {
		t.Fatal(err)
	}
	if g := readBack(t, exiftool, photoSidecar)["photo.jpg.xmp"]; len(testenv.Strings(g["XMP-dc:Subject"])) != len(m.Keywords) {
		t.Errorf("keywords after a second run: %v", g["XMP-dc:Subject"])
	}
	// A file exiftool cannot write is an error that names it.
	bogus := write("bogus.mp4", []byte("not a video"))
	if err := w.WriteFile(bogus, m.Tags(IntoVideo, berlin)); err == nil {
		t.Error("writing into a broken MP4 succeeded")
	}
}
