// Package demo makes the sample photo folder that "make demo" runs the
// pipeline on, so a newcomer sees ps work without a NAS or an account.
package demo

import (
	"bytes"
	_ "embed"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"os"
	"path/filepath"
	"time"
)

// canonRaw is a real Canon EOS M50 CR3 from ExifTool's test images
// (t/images/CanonRaw.cr3; free software under the same terms as Perl).
//
//go:embed CanonRaw.cr3
var canonRaw []byte

// MakeSample writes a memory-card-like folder under dir: RAWs, JPGs, a
// video and a sidecar spread over two days, with fixed mtimes so every run
// lists the same records.
func MakeSample(dir string) error {
	base := time.Date(2024, 7, 1, 9, 30, 0, 0, time.UTC)
	write := func(rel string, data []byte, at time.Time) error {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return err
		}
		return os.Chtimes(p, at, at)
	}
	for i := 1; i <= 6; i++ {
		at := base.Add(time.Duration(i) * 37 * time.Minute)
		if i > 3 {
			at = at.AddDate(0, 0, 1)
		}
		folder := "DCIM/100CANON"
		if i > 3 {
			folder = "DCIM/101CANON"
		}
		// Each RAW differs in its last bytes so the files are distinct.
		raw := append(append([]byte(nil), canonRaw...), byte(i))
		if err := write(fmt.Sprintf("%s/IMG_%04d.CR3", folder, i), raw, at); err != nil {
			return err
		}
		if err := write(fmt.Sprintf("%s/IMG_%04d.JPG", folder, i), smallJPEG(i), at); err != nil {
			return err
		}
	}
	if err := write("DCIM/100CANON/MVI_0007.MP4", []byte("not really a video, but named like one\n"), base.Add(5*time.Hour)); err != nil {
		return err
	}
	return write("DCIM/100CANON/IMG_0001.xmp", []byte("<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"/>\n"), base)
}

func smallJPEG(seed int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 32, 24))
	for y := range 24 {
		for x := range 32 {
			img.Set(x, y, color.RGBA{uint8(x * 8), uint8(y * 10), uint8(seed * 40), 255})
		}
	}
	var buf bytes.Buffer
	_ = jpeg.Encode(&buf, img, &jpeg.Options{Quality: 80})
	return buf.Bytes()
}
