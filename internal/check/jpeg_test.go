package check

import (
	"bytes"
	"image"
	"image/jpeg"
	"testing"
)

func grey(t *testing.T, level uint8) []byte {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, 32, 32))
	for i := range img.Pix {
		img.Pix[i] = level
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// withSegment inserts a segment (marker, payload) right after SOI, as a
// tag editor adds EXIF (APP1) or a comment (COM).
func withSegment(jpg []byte, marker byte, payload string) []byte {
	n := len(payload) + 2
	seg := append([]byte{0xFF, marker, byte(n >> 8), byte(n)}, payload...)
	return append(append(append([]byte{}, jpg[:2]...), seg...), jpg[2:]...)
}

func hash(t *testing.T, b []byte) string {
	t.Helper()
	h, err := JPEGImageHash(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestJPEGImageHashIgnoresMetadataOnly(t *testing.T) {
	orig := grey(t, 128)
	base := hash(t, orig)
	for name, edited := range map[string][]byte{
		"EXIF added":    withSegment(orig, 0xE1, "Exif\x00\x00II*\x00 a caption"),
		"XMP added":     withSegment(orig, 0xE1, "http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta/>"),
		"comment added": withSegment(orig, 0xFE, "edited in a viewer"),
		"fill bytes":    append([]byte{0xFF, 0xD8, 0xFF}, orig[2:]...),
	} {
		if got := hash(t, edited); got != base {
			t.Errorf("%s: image hash changed (%s → %s)", name, base, got)
		}
	}
	if hash(t, grey(t, 40)) == base {
		t.Errorf("other pixels gave the same image hash")
	}
	if hash(t, withSegment(orig, 0xDB, "\x00"+string(make([]byte, 64)))) == base {
		t.Errorf("another quantisation table (a picture segment) gave the same image hash")
	}
}

func TestJPEGImageHashRejectsOtherFiles(t *testing.T) {
	for _, b := range [][]byte{[]byte("raw bytes"), {0xFF, 0xD8, 0xFF, 0xE1, 0x00}, {}} {
		if _, err := JPEGImageHash(bytes.NewReader(b)); err == nil {
			t.Errorf("%q: no error", b)
		}
	}
}
