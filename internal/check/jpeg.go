package check

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
)

// JPEGImageHash hashes a JPEG's picture without its metadata: every
// segment but APP0–APP15 (EXIF, XMP, ICC, maker notes, IPTC) and COM, then
// the entropy-coded data to the end. Two files that differ only in their
// tags (a new caption, a rating, a corrected date) hash the same; an edit
// of the pixels does not. It reads r once, streaming.
func JPEGImageHash(r io.Reader) (string, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	h := sha256.New()
	var soi [2]byte
	if _, err := io.ReadFull(br, soi[:]); err != nil || soi != [2]byte{0xFF, 0xD8} {
		return "", errors.New("not a JPEG (no SOI marker)")
	}
	for {
		marker, err := nextMarker(br)
		if err != nil {
			return "", err
		}
		if marker == 0xD9 { // EOI before any scan
			h.Write([]byte{0xFF, marker})
			return hex.EncodeToString(h.Sum(nil)), nil
		}
		var lenBuf [2]byte
		if _, err := io.ReadFull(br, lenBuf[:]); err != nil {
			return "", fmt.Errorf("JPEG segment FF%02X cut short", marker)
		}
		n := int64(lenBuf[0])<<8 | int64(lenBuf[1])
		if n < 2 {
			return "", fmt.Errorf("JPEG segment FF%02X has a bad length", marker)
		}
		metadata := (marker >= 0xE0 && marker <= 0xEF) || marker == 0xFE
		if metadata {
			if _, err := br.Discard(int(n - 2)); err != nil {
				return "", fmt.Errorf("JPEG segment FF%02X cut short", marker)
			}
			continue
		}
		h.Write([]byte{0xFF, marker})
		h.Write(lenBuf[:])
		if _, err := io.CopyN(h, br, n-2); err != nil {
			return "", fmt.Errorf("JPEG segment FF%02X cut short", marker)
		}
		if marker == 0xDA { // start of scan: the rest is picture data
			if _, err := io.Copy(h, br); err != nil {
				return "", err
			}
			return hex.EncodeToString(h.Sum(nil)), nil
		}
	}
}

// nextMarker skips fill bytes and returns the next marker's code.
func nextMarker(br *bufio.Reader) (byte, error) {
	b, err := br.ReadByte()
	if err != nil || b != 0xFF {
		return 0, errors.New("JPEG structure broken: a marker was expected")
	}
	for b == 0xFF {
		if b, err = br.ReadByte(); err != nil {
			return 0, errors.New("JPEG cut short")
		}
	}
	return b, nil
}

func jpegImageHashFile(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	return JPEGImageHash(f)
}
