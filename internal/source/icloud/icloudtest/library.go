package icloudtest

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"path"
	"strings"
	"sync"
	"time"
)

// Resource is one stored file of an asset (a size variant).
type Resource struct {
	UTI    string
	Size   int64
	Width  int
	Height int
	Data   []byte // nil: generated from the asset and prefix on demand
}

// Asset is one photo or video: a CPLAsset with its CPLMaster.
type Asset struct {
	Record   string // CPLAsset recordName
	Master   string // CPLMaster recordName
	Name     string // original file name (filenameEnc)
	UTI      string // itemType
	Taken    time.Time
	Added    time.Time
	Favorite bool
	Hidden   bool
	Deleted  bool
	Subtype  int      // assetSubtypeV2: 2 live photo, 3 screenshot
	Smart    []string // smart album tags: VIDEO, FAVORITE, SCREENSHOT, LIVE, PANORAMA, …
	Albums   []string // album record names it belongs to
	// Resources by field prefix: resOriginal, resOriginalAlt, resJPEGMed,
	// resJPEGThumb, resJPEGFull (edited, on the asset), resOriginalVidCompl,
	// resVidMed, resVidSmall, resVidFull.
	Resources map[string]*Resource
	// NoFilename leaves filenameEnc out; StringFilename sends it as STRING.
	NoFilename, StringFilename bool
}

// Album is a user album (CPLAlbum).
type Album struct {
	Record  string
	Name    string
	Type    int // 0 album, 3 folder
	Deleted bool
	Parent  string
}

// Zone is one library: PrimarySync or a SharedSync-… zone. Assets are
// kept newest first, the order of the list indexes.
type Zone struct {
	Name   string
	Shared bool // lives in the "shared" database
	Assets []*Asset
	Albums []*Album

	once     sync.Once
	byRecord map[string]*Asset
	// trashed holds the change tag of each asset records/modify moved to
	// Recently Deleted while the server ran (by record name). It is kept
	// apart from Asset.Deleted so pages rendered concurrently read no field
	// a modify writes.
	trashed sync.Map
	hist    history // changes, for changes/zone (see changes.go)
}

// isDeleted reports whether a is in Recently Deleted.
func (z *Zone) isDeleted(a *Asset) bool {
	if a.Deleted {
		return true
	}
	_, ok := z.trashed.Load(a.Record)
	return ok
}

// changeTag is a record's current recordChangeTag.
func (z *Zone) changeTag(name string) string {
	if t, ok := z.trashed.Load(name); ok {
		return t.(string)
	}
	return "tag-" + name[:min(len(name), 4)]
}

// assetOnly are the prefixes stored on the CPLAsset rather than the master.
var assetOnly = map[string]bool{"resJPEGFull": true, "resVidFull": true}

// content returns the bytes of a resource.
func (a *Asset) content(prefix string) []byte {
	r := a.Resources[prefix]
	if r == nil {
		return nil
	}
	if r.Data != nil || r.Size == 0 {
		return r.Data
	}
	out := make([]byte, 0, r.Size)
	seed := sha256.Sum256([]byte(a.Record + "/" + prefix))
	for int64(len(out)) < r.Size {
		out = append(out, seed[:]...)
		seed = sha256.Sum256(seed[:])
	}
	return out[:r.Size]
}

// Checksum is Apple's fileChecksum: 0x01 then SHA-1 over two salts and the
// content (docs/protocols/icloud.md §2.6).
func Checksum(data []byte) string {
	h := sha1.New()
	h.Write([]byte("com.apple.XattrObjectSalt\x00com.apple.DataObjectSalt\x00"))
	h.Write(data)
	return base64.StdEncoding.EncodeToString(append([]byte{1}, h.Sum(nil)...))
}

// UTIOf maps a file name to the itemType Apple would store.
func UTIOf(name string) string {
	switch strings.ToLower(path.Ext(name)) {
	case ".jpg", ".jpeg":
		return "public.jpeg"
	case ".heic":
		return "public.heic"
	case ".png":
		return "public.png"
	case ".mov":
		return "com.apple.quicktime-movie"
	case ".mp4":
		return "public.mpeg-4"
	case ".cr3":
		return "com.canon.cr3-raw-image"
	case ".cr2":
		return "com.canon.cr2-raw-image"
	case ".dng":
		return "com.adobe.raw-image"
	case ".nef":
		return "com.nikon.raw-image"
	}
	return "public.data"
}

// NewFileAsset is an asset holding one file as its original.
func NewFileAsset(name string, data []byte, taken time.Time) *Asset {
	if data == nil {
		data = []byte{}
	}
	sum := sha256.Sum256(append([]byte(name+"\x00"), data...))
	a := &Asset{
		Record: "A" + base64.RawURLEncoding.EncodeToString(sum[:12]),
		Master: Checksum(data), Name: name, UTI: UTIOf(name), Taken: taken, Added: taken,
		Resources: map[string]*Resource{"resOriginal": {UTI: UTIOf(name), Size: int64(len(data)), Data: data, Width: 4000, Height: 3000}},
	}
	// Two files with the same bytes still get their own master here.
	a.Master += fmt.Sprintf("-%x", sum[:4])
	if a.UTI == "com.apple.quicktime-movie" {
		a.Smart = append(a.Smart, "VIDEO")
	}
	return a
}

// Spec describes a generated library.
type Spec struct {
	Assets     int       // in PrimarySync
	Shared     int       // in a SharedSync zone (0: none)
	Seed       uint64    // same seed, same library
	Newest     time.Time // the first asset's date; the rest go back in time
	Step       time.Duration
	MinSize    int64 // resource sizes are drawn from [MinSize, MaxSize)
	MaxSize    int64
	SharedZone string
}

// Generate builds a library: photos (JPEG, HEIC), videos, live photos,
// RAW+JPEG pairs, screenshots, panoramas, edited photos, favourites,
// hidden and deleted assets, and two albums plus a folder.
func Generate(spec Spec) []*Zone {
	if spec.Newest.IsZero() {
		spec.Newest = time.Date(2025, 6, 30, 12, 0, 0, 0, time.UTC)
	}
	if spec.Step == 0 {
		spec.Step = 7 * time.Hour
	}
	if spec.MaxSize <= spec.MinSize {
		spec.MinSize, spec.MaxSize = 1000, 4000
	}
	rng := rand.New(rand.NewPCG(spec.Seed, spec.Seed^0x9e3779b97f4a7c15))
	primary := &Zone{Name: "PrimarySync"}
	holidays := &Album{Record: "album-holidays", Name: "Holidays"}
	family := &Album{Record: "album-family", Name: "Family & Friends", Parent: "folder-trips"}
	primary.Albums = []*Album{
		{Record: "----Root-Folder----", Type: 3},
		holidays, family,
		{Record: "folder-trips", Name: "Trips", Type: 3},
		{Record: "album-old", Name: "Old stuff", Deleted: true},
	}
	for i := range spec.Assets {
		a := genAsset(rng, spec, "P", i)
		if i%7 == 3 {
			a.Albums = append(a.Albums, holidays.Record)
		}
		if i%11 == 5 {
			a.Albums = append(a.Albums, family.Record)
		}
		primary.Assets = append(primary.Assets, a)
	}
	zones := []*Zone{primary}
	if spec.Shared > 0 {
		name := spec.SharedZone
		if name == "" {
			name = "SharedSync-6C1D2F00-9A53-4E3B-A2F1-0B8E7C5D4A31"
		}
		shared := &Zone{Name: name, Shared: true}
		for i := range spec.Shared {
			shared.Assets = append(shared.Assets, genAsset(rng, spec, "S", i))
		}
		zones = append(zones, shared)
	}
	return zones
}

func genAsset(rng *rand.Rand, spec Spec, prefix string, i int) *Asset {
	size := func() int64 { return spec.MinSize + rng.Int64N(spec.MaxSize-spec.MinSize) }
	res := func(uti string) *Resource { return &Resource{UTI: uti, Size: size(), Width: 4032, Height: 3024} }
	taken := spec.Newest.Add(-time.Duration(i) * spec.Step).Truncate(time.Millisecond)
	a := &Asset{
		Record: fmt.Sprintf("%s%07d-%08X", prefix, i, rng.Uint32()),
		Taken:  taken, Added: taken.Add(time.Minute),
		Resources: map[string]*Resource{},
	}
	stem := fmt.Sprintf("IMG_%04d", i%10000)
	kind := i % 20
	switch {
	case kind >= 10 && kind <= 11: // video
		a.Name, a.UTI = stem+".MOV", "com.apple.quicktime-movie"
		a.Resources["resOriginal"] = res(a.UTI)
		a.Resources["resVidMed"] = res(a.UTI)
		a.Resources["resVidSmall"] = res(a.UTI)
		a.Smart = append(a.Smart, "VIDEO")
	case kind >= 12 && kind <= 13: // live photo
		a.Name, a.UTI = stem+".HEIC", "public.heic"
		a.Resources["resOriginal"] = res(a.UTI)
		a.Resources["resOriginalVidCompl"] = res("com.apple.quicktime-movie")
		a.Subtype = 2
		a.Smart = append(a.Smart, "LIVE")
	case kind == 14: // RAW+JPEG
		a.Name, a.UTI = stem+".JPG", "public.jpeg"
		a.Resources["resOriginal"] = res(a.UTI)
		a.Resources["resOriginalAlt"] = res("com.canon.cr2-raw-image")
	case kind == 15: // screenshot
		a.Name, a.UTI = fmt.Sprintf("Screenshot %04d.PNG", i%10000), "public.png"
		a.Resources["resOriginal"] = res(a.UTI)
		a.Subtype = 3
		a.Smart = append(a.Smart, "SCREENSHOT")
	case kind == 19: // panorama
		a.Name, a.UTI = stem+".JPG", "public.jpeg"
		a.Resources["resOriginal"] = res(a.UTI)
		a.Smart = append(a.Smart, "PANORAMA")
	case kind%2 == 0:
		a.Name, a.UTI = stem+".HEIC", "public.heic"
		a.Resources["resOriginal"] = res(a.UTI)
	default:
		a.Name, a.UTI = stem+".JPG", "public.jpeg"
		a.Resources["resOriginal"] = res(a.UTI)
	}
	if a.UTI != "com.apple.quicktime-movie" {
		a.Resources["resJPEGMed"] = res("public.jpeg")
		a.Resources["resJPEGThumb"] = res("public.jpeg")
	}
	if kind == 16 || kind == 4 { // edited
		a.Resources["resJPEGFull"] = res("public.jpeg")
	}
	if kind == 17 || kind == 2 {
		a.Favorite = true
		a.Smart = append(a.Smart, "FAVORITE")
	}
	a.Hidden = kind == 18 && i%40 == 18
	a.Deleted = i%97 == 96
	a.Master = fmt.Sprintf("M%s%07d", prefix, i) // real masters are checksums; names only need to be unique
	return a
}

// Content is the bytes the fake serves for an asset's resource.
func Content(a *Asset, prefix string) []byte { return a.content(prefix) }
