package xmp

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ps-photos/ps/internal/record"
)

// Meta is what a record knows about a photo that belongs in its metadata:
// what Google Takeout's JSON sidecars and the iCloud listing say and the
// file itself may have lost.
type Meta struct {
	// Taken is the capture time (UTC); zero when unknown.
	Taken time.Time
	// Zone is Taken's zone when the source knows it (meta.taken_offset);
	// nil leaves the choice to the writer.
	Zone        *time.Location
	GPS         *GPS
	Title       string
	Description string
	Favorite    bool
	// Label is "Hidden" (iCloud) or "Archived" (Google Photos), else "".
	Label    string
	Keywords []string // album names
	People   []string
}

// GPS is a position in decimal degrees and metres.
type GPS struct{ Lat, Lon, Alt float64 }

// MetaOf reads a record's metadata: taken, and under meta title,
// description, favorite, hidden, archived, gps {lat, lon, alt}, albums,
// people and taken_offset ("+02:00"). A title that only repeats the file
// name (as Google's do) is left out.
func MetaOf(rec *record.Record) Meta {
	m := Meta{Taken: rec.Taken}
	meta := rec.Meta
	str := func(k string) string { s, _ := meta[k].(string); return strings.TrimSpace(s) }
	flag := func(k string) bool { b, _ := meta[k].(bool); return b }
	m.Description = str("description")
	if t := str("title"); t != "" && !sameName(t, rec.Name) {
		m.Title = t
	}
	m.Favorite = flag("favorite")
	switch {
	case flag("hidden"):
		m.Label = "Hidden"
	case flag("archived"):
		m.Label = "Archived"
	}
	if g, ok := meta["gps"].(map[string]any); ok {
		lat, okLat := number(g["lat"])
		lon, okLon := number(g["lon"])
		alt, _ := number(g["alt"])
		if okLat && okLon && math.Abs(lat) <= 90 && math.Abs(lon) <= 180 && (lat != 0 || lon != 0) {
			m.GPS = &GPS{Lat: lat, Lon: lon, Alt: alt}
		}
	}
	m.Keywords = strings1(meta["albums"])
	m.People = strings1(meta["people"])
	if z, err := parseOffset(str("taken_offset")); err == nil {
		m.Zone = z
	}
	return m
}

// number reads a JSON number: float64 from a source, json.Number from a
// decoded record.
func number(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, !math.IsNaN(x) && !math.IsInf(x, 0)
	case json.Number:
		f, err := x.Float64()
		return f, err == nil && !math.IsNaN(f) && !math.IsInf(f, 0)
	}
	return 0, false
}

// Empty says there is nothing to write.
func (m Meta) Empty() bool {
	return m.Taken.IsZero() && m.GPS == nil && m.Title == "" && m.Description == "" && !m.Favorite &&
		m.Label == "" && len(m.Keywords) == 0 && len(m.People) == 0
}

// sameName says a title is just the file's name, with or without its
// extension, as Google Photos titles usually are.
func sameName(title, name string) bool {
	stem := func(s string) string { return strings.TrimSuffix(s, path.Ext(s)) }
	return strings.EqualFold(title, name) || strings.EqualFold(stem(title), stem(name))
}

// strings1 reads a JSON list of strings (people may be objects with a name).
func strings1(v any) []string {
	list, _ := v.([]any)
	var out []string
	for _, x := range list {
		s, _ := x.(string)
		if o, ok := x.(map[string]any); ok {
			s, _ = o["name"].(string)
		}
		if s = strings.TrimSpace(s); s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// parseOffset reads "+02:00", "-0530" or "Z".
func parseOffset(s string) (*time.Location, error) {
	if s == "Z" {
		return time.UTC, nil
	}
	t, err := time.Parse("-07:00", s)
	if err != nil {
		if t, err = time.Parse("-0700", s); err != nil {
			return nil, err
		}
	}
	_, off := t.Zone()
	return time.FixedZone(offsetString(off), off), nil
}

func offsetString(sec int) string {
	sign := '+'
	if sec < 0 {
		sign, sec = '-', -sec
	}
	return fmt.Sprintf("%c%02d:%02d", sign, sec/3600, sec%3600/60)
}

// Target is where metadata goes.
type Target int

const (
	IntoSidecar Target = iota // an XMP sidecar beside the file
	IntoImage                 // a JPEG, HEIC, TIFF, PNG or WebP itself: EXIF + XMP
	IntoVideo                 // an MP4 or MOV itself: QuickTime + Keys + XMP
)

// TargetOf says where --write-into-file puts a file's metadata: RAWs and
// formats exiftool cannot write get a sidecar.
func TargetOf(name, media string) Target {
	if media == record.MediaRaw {
		return IntoSidecar
	}
	switch strings.ToUpper(record.Ext(name)) {
	case "JPG", "JPEG", "JPE", "HEIC", "HEIF", "HIF", "TIF", "TIFF", "PNG", "WEBP":
		return IntoImage
	case "MP4", "MOV", "M4V", "3GP":
		return IntoVideo
	}
	return IntoSidecar
}

// Tags are exiftool assignments for go-exiftool's WriteMetadata: a key
// "TAG" sets the tag, "TAG-" with "" makes the assignment conditional on
// the tag being absent (exiftool's -TAG-= -TAG=VALUE idiom), "TAG+" and
// "TAG-" with the same values add list items without duplicates. Values
// are XML-escaped as attributes are (escape); the writer runs exiftool
// with -api Escape=XML, so line breaks survive its one-argument-per-line
// stream.
type Tags map[string]any

// Tags renders the metadata for target. zone is used for capture times
// whose zone the record does not give. Inside a file, capture time and GPS
// are only filled in where the file has none (the camera's own are more
// precise); in a sidecar, which is ps's to write, they are set.
func (m Meta) Tags(target Target, zone *time.Location) Tags {
	t := Tags{}
	set := func(tag string, v any, onlyIfMissing bool) {
		t[tag] = v
		if onlyIfMissing {
			t[tag+"-"] = ""
		}
	}
	inFile := target != IntoSidecar
	if !m.Taken.IsZero() {
		local := m.localTaken(zone)
		_, off := local.Zone()
		withZone := local.Format("2006:01:02 15:04:05") + offsetString(off)
		for _, tag := range []string{"XMP-exif:DateTimeOriginal", "XMP-xmp:CreateDate", "XMP-photoshop:DateCreated"} {
			set(tag, withZone, inFile)
		}
		switch target {
		case IntoImage:
			wall := local.Format("2006:01:02 15:04:05")
			set("EXIF:DateTimeOriginal", wall, true)
			set("EXIF:CreateDate", wall, true)
			set("EXIF:OffsetTimeOriginal", offsetString(off), true)
			set("EXIF:OffsetTimeDigitized", offsetString(off), true)
		case IntoVideo:
			// QuickTime times are UTC, to the second, by the specification:
			// as precise as any source's, so set even where present (many
			// cameras leave them zero, and exiftool's -TAG-=VALUE would
			// shift a date rather than compare it).
			t["QuickTime:CreateDate"] = m.Taken.UTC().Format("2006:01:02 15:04:05")
			set("Keys:CreationDate", withZone, true)
		}
	}
	if g := m.GPS; g != nil {
		altRef := "0"
		if g.Alt < 0 {
			altRef = "1"
		}
		num := func(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
		set("XMP-exif:GPSLatitude", num(g.Lat), inFile)
		set("XMP-exif:GPSLongitude", num(g.Lon), inFile)
		set("XMP-exif:GPSAltitude", num(math.Abs(g.Alt)), inFile)
		set("XMP-exif:GPSAltitudeRef#", altRef, inFile)
		switch target {
		case IntoImage:
			ns, ew := "N", "E"
			if g.Lat < 0 {
				ns = "S"
			}
			if g.Lon < 0 {
				ew = "W"
			}
			set("GPS:GPSLatitude", num(math.Abs(g.Lat)), true)
			set("GPS:GPSLatitudeRef", ns, true)
			set("GPS:GPSLongitude", num(math.Abs(g.Lon)), true)
			set("GPS:GPSLongitudeRef", ew, true)
			set("GPS:GPSAltitude", num(math.Abs(g.Alt)), true)
			set("GPS:GPSAltitudeRef#", altRef, true)
		case IntoVideo:
			set("Keys:GPSCoordinates", fmt.Sprintf("%s, %s, %s", num(g.Lat), num(g.Lon), num(g.Alt)), true)
		}
	}
	if m.Title != "" {
		t["XMP-dc:Title"] = escape(m.Title, true)
	}
	if m.Description != "" {
		t["XMP-dc:Description"] = escape(m.Description, true)
	}
	if m.Favorite {
		t["XMP-xmp:Rating"] = "5"
	}
	if m.Label != "" {
		t["XMP-xmp:Label"] = m.Label
	}
	addList := func(tag string, items []string) {
		if len(items) == 0 {
			return
		}
		vals := make([]any, len(items))
		for i, s := range items {
			vals[i] = escape(s, true)
		}
		t[tag+"-"], t[tag+"+"] = vals, vals
	}
	addList("XMP-dc:Subject", m.Keywords)
	addList("XMP-iptcExt:PersonInImage", m.People)
	return t
}

// localTaken is the capture time in the record's zone, else in zone.
func (m Meta) localTaken(zone *time.Location) time.Time {
	if m.Zone != nil {
		zone = m.Zone
	}
	return m.Taken.In(zone)
}

// SidecarXMP renders a new sidecar holding the metadata, the same
// properties Tags(IntoSidecar, zone) sets through exiftool: a fresh
// sidecar needs no exiftool at all, only a merge into an existing one does.
func (m Meta) SidecarXMP(zone *time.Location) []byte {
	var b bytes.Buffer
	b.WriteString(sidecarHead)
	attr := func(name, value string) { fmt.Fprintf(&b, "\n   %s=\"%s\"", name, escape(value, true)) }
	if !m.Taken.IsZero() {
		date := m.localTaken(zone).Format("2006-01-02T15:04:05-07:00")
		attr("exif:DateTimeOriginal", date)
		attr("xmp:CreateDate", date)
		attr("photoshop:DateCreated", date)
	}
	if g := m.GPS; g != nil {
		attr("exif:GPSLatitude", xmpCoordinate(g.Lat, "N", "S"))
		attr("exif:GPSLongitude", xmpCoordinate(g.Lon, "E", "W"))
		attr("exif:GPSAltitude", fmt.Sprintf("%d/1000", int64(math.Round(math.Abs(g.Alt)*1000))))
		attr("exif:GPSAltitudeRef", map[bool]string{false: "0", true: "1"}[g.Alt < 0])
	}
	if m.Favorite {
		attr("xmp:Rating", "5")
	}
	if m.Label != "" {
		attr("xmp:Label", m.Label)
	}
	b.WriteString(">\n")
	alt := func(name, text string) {
		if text != "" {
			fmt.Fprintf(&b, "   <%s>\n    <rdf:Alt>\n     <rdf:li xml:lang=\"x-default\">%s</rdf:li>\n    </rdf:Alt>\n   </%s>\n", name, escape(text, false), name)
		}
	}
	bag := func(name string, items []string) {
		if len(items) == 0 {
			return
		}
		fmt.Fprintf(&b, "   <%s>\n    <rdf:Bag>\n", name)
		for _, it := range items {
			fmt.Fprintf(&b, "     <rdf:li>%s</rdf:li>\n", escape(it, false))
		}
		fmt.Fprintf(&b, "    </rdf:Bag>\n   </%s>\n", name)
	}
	alt("dc:title", m.Title)
	alt("dc:description", m.Description)
	bag("dc:subject", m.Keywords)
	bag("Iptc4xmpExt:PersonInImage", m.People)
	b.WriteString(sidecarTail)
	return b.Bytes()
}

const sidecarHead = `<?xpacket begin="` + "\uFEFF" + `" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="ps-xmp">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
   xmlns:dc="http://purl.org/dc/elements/1.1/"
   xmlns:xmp="http://ns.adobe.com/xap/1.0/"
   xmlns:exif="http://ns.adobe.com/exif/1.0/"
   xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/"
   xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/"`

const sidecarTail = `  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>
`

// xmpCoordinate writes decimal degrees as XMP's "DDD,MM.mmmmmmmmK".
func xmpCoordinate(deg float64, pos, neg string) string {
	ref := pos
	if deg < 0 {
		ref, deg = neg, -deg
	}
	whole := math.Floor(deg)
	minutes := strconv.FormatFloat((deg-whole)*60, 'f', 8, 64)
	minutes = strings.TrimRight(strings.TrimRight(minutes, "0"), ".")
	return fmt.Sprintf("%d,%s%s", int(whole), minutes, ref)
}
