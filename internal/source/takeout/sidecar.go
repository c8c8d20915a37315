package takeout

import (
	"bytes"
	"encoding/json"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// sidecar is what ps keeps of a media file's JSON: only the fields that
// end up in records, so a large Takeout stays small in memory.
type sidecar struct {
	dir         uint32 // its folder (index.dirs)
	json        string // its file name, for meta.sidecar
	title       string
	description string
	taken       int64 // photoTakenTime, Unix seconds; 0 when missing
	uploaded    int64 // creationTime: when it was uploaded
	gps         *gps
	flags       uint8
	people      []string
}

// Sidecar flags.
const (
	flagFavorite uint8 = 1 << iota
	flagArchived
	flagTrashed
	flagPartner
)

type gps struct{ Lat, Lon, Alt float64 }

// albumInfo is an album's metadata.json.
type albumInfo struct {
	title string
}

// Wire shapes of the Takeout JSON files (docs/protocols/google-photos.md §4.2).
type jsonTime struct {
	Timestamp json.RawMessage `json:"timestamp"` // epoch seconds as a string (or a number)
}

type jsonGeo struct {
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
	Altitude  float64 `json:"altitude"`
}

type jsonSidecar struct {
	Title              string    `json:"title"`
	Description        string    `json:"description"`
	PhotoTakenTime     *jsonTime `json:"photoTakenTime"`
	CreationTime       *jsonTime `json:"creationTime"`
	GeoData            *jsonGeo  `json:"geoData"`
	GeoDataExif        *jsonGeo  `json:"geoDataExif"`
	Favorited          bool      `json:"favorited"`
	Archived           bool      `json:"archived"`
	Trashed            bool      `json:"trashed"`
	GooglePhotosOrigin *struct {
		FromPartnerSharing json.RawMessage `json:"fromPartnerSharing"`
	} `json:"googlePhotosOrigin"`
	People []struct {
		Name string `json:"name"`
	} `json:"people"`
	// Album metadata.json: the same title, wrapped in albumData by older
	// exports; "date" or "access" tell an album apart.
	AlbumData *struct {
		Title string `json:"title"`
	} `json:"albumData"`
	Date   json.RawMessage `json:"date"`
	Access json.RawMessage `json:"access"`
}

// maxJSON bounds how much of a JSON file is read: sidecars are a few KiB.
const maxJSON = 4 << 20

// readJSON parses a JSON file of the library. It returns either a media
// sidecar or album metadata (or neither, for JSON that is neither).
func readJSON(r io.Reader, albumName bool) (*sidecar, *albumInfo, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxJSON))
	if err != nil {
		return nil, nil, err
	}
	if !utf8.Valid(b) {
		b = bytes.ToValidUTF8(b, []byte("\uFFFD"))
	}
	var j jsonSidecar
	if err := json.Unmarshal(b, &j); err != nil {
		return nil, nil, err
	}
	if j.AlbumData != nil {
		return nil, &albumInfo{title: j.AlbumData.Title}, nil
	}
	if j.PhotoTakenTime == nil && (albumName || j.Date != nil || j.Access != nil) {
		return nil, &albumInfo{title: j.Title}, nil
	}
	s := &sidecar{title: nfc(j.Title), description: j.Description}
	if j.PhotoTakenTime != nil {
		s.taken = epoch(j.PhotoTakenTime.Timestamp)
	}
	if j.CreationTime != nil {
		s.uploaded = epoch(j.CreationTime.Timestamp)
	}
	s.gps = pickGPS(j.GeoDataExif, j.GeoData)
	if j.Favorited {
		s.flags |= flagFavorite
	}
	if j.Archived {
		s.flags |= flagArchived
	}
	if j.Trashed {
		s.flags |= flagTrashed
	}
	if j.GooglePhotosOrigin != nil && j.GooglePhotosOrigin.FromPartnerSharing != nil {
		s.flags |= flagPartner
	}
	for _, p := range j.People {
		if p.Name != "" {
			s.people = append(s.people, p.Name)
		}
	}
	return s, nil, nil
}

// epoch reads "1696573800" or 1696573800 (negative for scans of old
// prints); empty, "0" and garbage are 0, meaning unknown.
func epoch(raw json.RawMessage) int64 {
	v := strings.Trim(strings.TrimSpace(string(raw)), `"`)
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0
	}
	return n
}

// pickGPS takes the EXIF location first, then Google's; 0,0 means unknown.
func pickGPS(geos ...*jsonGeo) *gps {
	for _, g := range geos {
		if g != nil && (g.Latitude != 0 || g.Longitude != 0) {
			return &gps{Lat: g.Latitude, Lon: g.Longitude, Alt: g.Altitude}
		}
	}
	return nil
}
