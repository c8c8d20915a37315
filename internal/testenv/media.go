package testenv

import (
	"encoding/binary"
	"fmt"
)

// MP4 returns the smallest MP4 exiftool will read and write: an ftyp box
// and a moov box holding a movie header (mvhd) whose dates are zero, as a
// camera that never set its clock writes them. Go cannot encode video;
// metadata tests need only the container.
func MP4() []byte {
	box := func(kind string, body []byte) []byte {
		b := binary.BigEndian.AppendUint32(nil, uint32(8+len(body)))
		return append(append(b, kind...), body...)
	}
	u32 := func(b []byte, v ...uint32) []byte {
		for _, x := range v {
			b = binary.BigEndian.AppendUint32(b, x)
		}
		return b
	}
	ftyp := box("ftyp", append(append([]byte("isom"), u32(nil, 512)...), "isomiso2mp41"...))
	// mvhd version 0: flags, created, modified, timescale, duration, rate,
	// volume + reserved, matrix, pre-defined, next track id.
	mvhd := u32([]byte{0, 0, 0, 0}, 0, 0, 1000, 0, 0x10000)
	mvhd = append(mvhd, 0x01, 0x00)
	mvhd = append(mvhd, make([]byte, 10)...)
	mvhd = u32(mvhd, 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)
	mvhd = append(mvhd, make([]byte, 24)...)
	mvhd = u32(mvhd, 2)
	return append(ftyp, box("moov", box("mvhd", mvhd))...)
}

// Strings reads a list tag from exiftool -j output, which gives a list of
// one item as a plain string and nothing for an absent tag.
func Strings(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		out := make([]string, 0, len(x))
		for _, s := range x {
			out = append(out, fmt.Sprint(s))
		}
		return out
	}
	return nil
}
