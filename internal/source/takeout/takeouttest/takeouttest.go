// Package takeouttest writes Google Takeout archives for tests: zip and
// tgz parts, JSON sidecars in Google's shapes, the 51-character cut, and
// real JPEGs whose EXIF exiftool writes.
package takeouttest

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// File is one archive entry.
type File struct {
	Name  string // entry name: "Takeout/Google Photos/Photos from 2023/IMG_0001.JPG"
	Data  []byte
	Mtime time.Time
	Store bool // zip: store without compression
}

// WriteZip writes files into a zip at path.
func WriteZip(path string, files []File) error {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range files {
		h := &zip.FileHeader{Name: f.Name, Method: zip.Deflate, Modified: f.Mtime}
		if f.Store {
			h.Method = zip.Store
		}
		w, err := zw.CreateHeader(h)
		if err != nil {
			return err
		}
		if _, err := w.Write(f.Data); err != nil {
			return err
		}
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return write(path, buf.Bytes())
}

// WriteTgz writes files into a gzipped tar at path, with folder entries
// the way tar makes them.
func WriteTgz(path string, files []File) error {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	dirs := map[string]bool{}
	for _, f := range files {
		if d := filepath.Dir(f.Name); !dirs[d] {
			dirs[d] = true
			if err := tw.WriteHeader(&tar.Header{Name: d + "/", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: f.Mtime}); err != nil {
				return err
			}
		}
		h := &tar.Header{Name: f.Name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(f.Data)), ModTime: f.Mtime, Format: tar.FormatPAX}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if _, err := tw.Write(f.Data); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := gz.Close(); err != nil {
		return err
	}
	return write(path, buf.Bytes())
}

// WriteDir writes files as an extracted Takeout below dir.
func WriteDir(dir string, files []File) error {
	for _, f := range files {
		p := filepath.Join(dir, filepath.FromSlash(f.Name))
		if err := write(p, f.Data); err != nil {
			return err
		}
		if err := os.Chtimes(p, f.Mtime, f.Mtime); err != nil {
			return err
		}
	}
	return nil
}

func write(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// UploadTime is every sidecar's creationTime (when it was uploaded).
var UploadTime = time.Date(2024, 12, 31, 23, 0, 0, 0, time.UTC)

// Meta is what a sidecar says.
type Meta struct {
	Title       string
	Description string
	Taken       time.Time // zero: no photoTakenTime
	Geo         [2]float64
	GeoExif     [2]float64
	Favorited   bool
	Archived    bool
	Trashed     bool
	Partner     bool
	People      []string
}

// Sidecar renders a media file's JSON as Google writes it.
func Sidecar(m Meta) []byte {
	ts := func(t time.Time) map[string]string {
		return map[string]string{"timestamp": strconv.FormatInt(t.Unix(), 10),
			"formatted": t.UTC().Format("2 Jan 2006, 15:04:05 UTC")}
	}
	geo := func(g [2]float64) map[string]float64 {
		return map[string]float64{"latitude": g[0], "longitude": g[1], "altitude": 0, "latitudeSpan": 0, "longitudeSpan": 0}
	}
	j := map[string]any{
		"title": m.Title, "description": m.Description, "imageViews": "3",
		"creationTime": ts(UploadTime),
		"geoData":      geo(m.Geo), "geoDataExif": geo(m.GeoExif),
		"url": "https://photos.google.com/photo/AF1Qip" + strconv.Itoa(len(m.Title)),
	}
	if !m.Taken.IsZero() {
		j["photoTakenTime"] = ts(m.Taken)
	}
	if m.Partner {
		j["googlePhotosOrigin"] = map[string]any{"fromPartnerSharing": map[string]any{}}
	} else {
		j["googlePhotosOrigin"] = map[string]any{"mobileUpload": map[string]any{"deviceType": "ANDROID_PHONE"}}
	}
	if m.Favorited {
		j["favorited"] = true
	}
	if m.Archived {
		j["archived"] = true
	}
	if m.Trashed {
		j["trashed"] = true
	}
	for _, p := range m.People {
		ppl, _ := j["people"].([]any)
		j["people"] = append(ppl, map[string]string{"name": p})
	}
	b, _ := json.MarshalIndent(j, "", "  ")
	return b
}

// AlbumMetadata renders an album's metadata.json.
func AlbumMetadata(title string) []byte {
	b, _ := json.MarshalIndent(map[string]any{"title": title, "description": "", "access": "protected",
		"date": map[string]string{"timestamp": "1690000000", "formatted": "22 Jul 2023, 04:26:40 UTC"}}, "", "  ")
	return b
}

// Cut applies Google's limit to a sidecar name: at most 51 characters,
// ".json" included, before any "(n)" index.
func Cut(base string, index int) string {
	if r := []rune(base); len(r) > 46 {
		base = string(r[:46])
	}
	if index > 0 {
		base += fmt.Sprintf("(%d)", index)
	}
	return base + ".json"
}

// JPEG returns a small real JPEG whose pixels depend on seed, so every
// seed gives different bytes.
func JPEG(seed int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 16, 16))
	for y := range 16 {
		for x := range 16 {
			img.Set(x, y, color.RGBA{uint8(seed * 37), uint8(seed*11 + x*8), uint8(seed*5 + y*8), 255})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90}); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// ExifDates writes EXIF DateTimeOriginal into JPEGs with exiftool, one
// exiftool run for all of them. dates maps a key to "YYYY:MM:DD HH:MM:SS";
// jpegs[key] is replaced by the file exiftool wrote.
func ExifDates(exiftool, tmp string, jpegs map[string][]byte, dates map[string]string) error {
	var args strings.Builder
	paths := map[string]string{}
	i := 0
	for key, date := range dates {
		p := filepath.Join(tmp, fmt.Sprintf("exif%03d.jpg", i))
		i++
		if err := os.WriteFile(p, jpegs[key], 0o644); err != nil {
			return err
		}
		paths[key] = p
		fmt.Fprintf(&args, "-overwrite_original\n-DateTimeOriginal=%s\n-Make=ps-test\n%s\n-execute\n", date, p)
	}
	if len(paths) == 0 {
		return nil
	}
	argfile := filepath.Join(tmp, "exiftool.args")
	if err := os.WriteFile(argfile, []byte(args.String()), 0o644); err != nil {
		return err
	}
	if out, err := exec.Command(exiftool, "-q", "-@", argfile).CombinedOutput(); err != nil {
		return fmt.Errorf("exiftool: %v: %s", err, out)
	}
	for key, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		jpegs[key] = b
	}
	return nil
}
