package takeout

import (
	"bytes"
	"encoding/binary"
	"time"
)

// exifTaken reads EXIF DateTimeOriginal (with OffsetTimeOriginal when
// present) from the first bytes of a JPEG or a TIFF-based file (DNG, NEF,
// CR2, …). Without an offset the wall time is taken as UTC. It returns
// the zero time when there is none: this is a fallback for items whose
// sidecar has no photoTakenTime, not a general EXIF reader.
func exifTaken(head []byte) time.Time {
	tiff := head
	if len(head) > 2 && head[0] == 0xFF && head[1] == 0xD8 {
		tiff = jpegExif(head)
	}
	if tiff == nil {
		return time.Time{}
	}
	return tiffTaken(tiff)
}

// jpegExif returns the TIFF block of a JPEG's APP1 "Exif" segment.
func jpegExif(b []byte) []byte {
	i := 2
	for i+4 <= len(b) {
		if b[i] != 0xFF {
			return nil
		}
		marker := b[i+1]
		switch {
		case marker == 0xFF: // fill byte
			i++
			continue
		case marker == 0x01 || marker >= 0xD0 && marker <= 0xD8: // no length
			i += 2
			continue
		}
		if marker == 0xDA || marker == 0xD9 { // image data: no more metadata
			return nil
		}
		n := int(binary.BigEndian.Uint16(b[i+2:]))
		seg := b[i+4 : min(i+2+n, len(b))]
		if marker == 0xE1 && bytes.HasPrefix(seg, []byte("Exif\x00\x00")) {
			return seg[6:]
		}
		i += 2 + n
	}
	return nil
}

const (
	tagExifIFD            = 0x8769
	tagDateTimeOriginal   = 0x9003
	tagOffsetTimeOriginal = 0x9011
)

func tiffTaken(t []byte) time.Time {
	if len(t) < 8 {
		return time.Time{}
	}
	var bo binary.ByteOrder
	switch string(t[:4]) {
	case "II*\x00":
		bo = binary.LittleEndian
	case "MM\x00*":
		bo = binary.BigEndian
	default:
		return time.Time{}
	}
	ifd0 := ifdEntries(t, bo, bo.Uint32(t[4:]))
	sub, ok := ifd0[tagExifIFD]
	if !ok {
		return time.Time{}
	}
	exif := ifdEntries(t, bo, bo.Uint32(sub[8:12]))
	dto := asciiValue(t, bo, exif[tagDateTimeOriginal])
	if dto == "" {
		return time.Time{}
	}
	if off := asciiValue(t, bo, exif[tagOffsetTimeOriginal]); off != "" {
		if ts, err := time.Parse("2006:01:02 15:04:05-07:00", dto+off); err == nil {
			return ts.UTC()
		}
	}
	ts, err := time.Parse("2006:01:02 15:04:05", dto)
	if err != nil {
		return time.Time{}
	}
	return ts.UTC()
}

// ifdEntries returns the 12-byte entries of the IFD at off, by tag.
func ifdEntries(t []byte, bo binary.ByteOrder, off uint32) map[uint16][]byte {
	out := map[uint16][]byte{}
	if int64(off)+2 > int64(len(t)) {
		return out
	}
	n := int(bo.Uint16(t[off:]))
	for k := range n {
		p := int(off) + 2 + 12*k
		if p+12 > len(t) {
			break
		}
		out[bo.Uint16(t[p:])] = t[p : p+12]
	}
	return out
}

// asciiValue reads an ASCII entry (type 2), trimmed at its NUL.
func asciiValue(t []byte, bo binary.ByteOrder, e []byte) string {
	if e == nil || bo.Uint16(e[2:]) != 2 {
		return ""
	}
	n := bo.Uint32(e[4:])
	var v []byte
	if n <= 4 {
		v = e[8 : 8+n]
	} else {
		off := bo.Uint32(e[8:])
		if int64(off)+int64(n) > int64(len(t)) {
			return ""
		}
		v = t[off : off+n]
	}
	if i := bytes.IndexByte(v, 0); i >= 0 {
		v = v[:i]
	}
	return string(bytes.TrimSpace(v))
}
