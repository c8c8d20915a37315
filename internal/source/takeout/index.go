package takeout

import (
	"cmp"
	"crypto/sha256"
	"path"
	"slices"
	"strings"
	"sync"
)

// index is the state a listing keeps between reading the parts and
// writing the items: one small struct per distinct content (keyed by its
// SHA-256), the parsed sidecars and album names per folder. Folder names
// are interned, so a 50,000-item Takeout needs a few tens of MiB.
type index struct {
	mu       sync.Mutex
	dirs     []string // library folders, NFC: "Photos from 2023", "Trip to Rome"
	dirIDs   map[string]uint32
	raws     []string // entry folders as stored: "Takeout/Google Photos/Photos from 2023/"
	rawIDs   map[string]uint32
	contents map[[sha256.Size]byte]*content
	sidecars map[uint32]*dirSidecars
	albums   map[uint32]*albumInfo
	names    map[uint32]map[string]bool // media names per folder, built for matching (hasMedia)
}

// content is one distinct file, wherever it appears.
type content struct {
	sum   [sha256.Size]byte
	size  int64
	exif  int64 // EXIF DateTimeOriginal, Unix seconds
	media string
	occs  []occurrence
}

// occurrence is one copy of a content in a folder of a part.
type occurrence struct {
	dir   uint32
	part  uint16
	index uint32 // entry position in its archive
	mtime int64  // the archive entry's time, Unix seconds
	raw   uint32 // entry folder as stored (raws)
	name  string // NFC
	base  string // the entry's base name as stored (the same string as name unless it was NFD)
}

// dirSidecars are the sidecars of one folder, indexed by every way a
// media file can find its sidecar.
type dirSidecars struct {
	exact     map[nameKey]*sidecar // by media name and "(n)" index
	truncated map[nameKey]*sidecar // names Google cut at 51 characters, by their cut prefix
	byStem    map[nameKey]*sidecar // by media name without extension (live photos, motion photos)
	byTitle   map[string]*sidecar  // by the JSON's title; nil when several share it
}

type nameKey struct {
	name  string
	index int
}

func newIndex() *index {
	return &index{dirIDs: map[string]uint32{}, rawIDs: map[string]uint32{}, contents: map[[sha256.Size]byte]*content{},
		sidecars: map[uint32]*dirSidecars{}, albums: map[uint32]*albumInfo{}}
}

// dir interns a library folder. Callers hold mu.
func (x *index) dir(d string) uint32 {
	if id, ok := x.dirIDs[d]; ok {
		return id
	}
	id := uint32(len(x.dirs))
	x.dirs = append(x.dirs, d)
	x.dirIDs[d] = id
	return id
}

// rawDir interns an entry folder. Callers hold mu.
func (x *index) rawDir(d string) uint32 {
	if id, ok := x.rawIDs[d]; ok {
		return id
	}
	id := uint32(len(x.raws))
	x.raws = append(x.raws, d)
	x.rawIDs[d] = id
	return id
}

// entry is the archive entry name of an occurrence.
func (x *index) entry(o *occurrence) string { return x.raws[o.raw] + o.base }

func (x *index) addContent(sum [sha256.Size]byte, size int64, exif int64, media string, dir, rawDir string, o occurrence) {
	x.mu.Lock()
	defer x.mu.Unlock()
	o.dir = x.dir(dir)
	o.raw = x.rawDir(rawDir)
	c := x.contents[sum]
	if c == nil {
		c = &content{sum: sum, size: size, exif: exif, media: media}
		x.contents[sum] = c
	}
	c.occs = append(c.occs, o)
}

func (x *index) addAlbum(dir string, a *albumInfo) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.albums[x.dir(dir)] = a
}

func (x *index) addSidecar(dir string, n sidecarName, sc *sidecar) {
	x.mu.Lock()
	defer x.mu.Unlock()
	id := x.dir(dir)
	sc.dir = id
	ds := x.sidecars[id]
	if ds == nil {
		ds = &dirSidecars{exact: map[nameKey]*sidecar{}, truncated: map[nameKey]*sidecar{}, byStem: map[nameKey]*sidecar{}, byTitle: map[string]*sidecar{}}
		x.sidecars[id] = ds
	}
	// Parts are read concurrently: when two JSONs claim the same key (two
	// exports listed together), the first by entry name wins, every run.
	put := func(m map[nameKey]*sidecar, k nameKey) {
		if old := m[k]; old == nil || sc.json < old.json {
			m[k] = sc
		}
	}
	put(ds.exact, nameKey{n.prefix, n.index})
	if n.truncated {
		put(ds.truncated, nameKey{n.prefix, n.index})
	} else if ext := path.Ext(n.prefix); ext != "" {
		put(ds.byStem, nameKey{strings.TrimSuffix(n.prefix, ext), n.index})
	}
	// The title only helps when it is not the name the sidecar is under.
	if sc.title != "" && sc.title != n.prefix {
		if _, dup := ds.byTitle[sc.title]; dup {
			ds.byTitle[sc.title] = nil
		} else {
			ds.byTitle[sc.title] = sc
		}
	}
}

// How a media file found its sidecar, for meta.sidecar_match.
const (
	matchOwn    = "own"    // its own JSON, under any of Google's naming rules
	matchEdited = "edited" // an edited copy: the original's JSON
	matchLive   = "live"   // a live or motion photo's video part: the photo's JSON
	matchTitle  = "title"  // the only JSON of the folder whose title is its name
	// a "(n)" copy whose sidecar lost the index, when no file without the
	// index is there to claim it
	matchUnindexed = "unindexed"
)

// match finds the sidecar of a media file named name in folder dir. The
// rules and their order are in docs/takeout.md.
func (x *index) match(dir uint32, name string) (*sidecar, string) {
	ds := x.sidecars[dir]
	if ds == nil {
		return nil, ""
	}
	m := parseMediaName(name)
	if m.edited == "" {
		if sc := ds.own(m); sc != nil {
			return sc, matchOwn
		}
	} else {
		// A long edited name cut to 46 characters is also a prefix of
		// the original's cut sidecar: what matched is the original's.
		if sc := ds.ownExact(m); sc != nil {
			return sc, matchOwn
		}
		if sc := ds.own(m.original()); sc != nil {
			return sc, matchEdited
		}
		if sc := ds.ownCut(m); sc != nil {
			return sc, matchOwn
		}
	}
	for _, k := range []nameKey{{m.stem, m.index}, {m.base, m.index}} {
		if sc := ds.byStem[k]; sc != nil {
			return sc, matchLive
		}
	}
	// A "(n)" copy shares its title with another file: the title cannot
	// tell them apart.
	if m.index == 0 {
		if sc := ds.byTitle[m.full]; sc != nil {
			return sc, matchTitle
		}
		return nil, ""
	}
	// Some exports drop the index from the sidecar ("2025-04-28(3516).jpg"
	// with "2025-04-28.jpg.su….json"): take the unindexed sidecar when no
	// unindexed file of that name is there to claim it.
	if !x.hasMedia(dir, m.base) {
		unindexed := m
		unindexed.index = 0
		if sc := ds.own(unindexed); sc != nil {
			return sc, matchUnindexed
		}
	}
	return nil, ""
}

// hasMedia reports whether folder dir holds a media file named name.
// The name sets are built on first use, once every part has been read.
func (x *index) hasMedia(dir uint32, name string) bool {
	if x.names == nil {
		x.names = map[uint32]map[string]bool{}
		for _, c := range x.contents {
			for _, o := range c.occs {
				if x.names[o.dir] == nil {
					x.names[o.dir] = map[string]bool{}
				}
				x.names[o.dir][o.name] = true
			}
		}
	}
	return x.names[dir][name]
}

// own applies the rules for a file's own sidecar: its whole name
// (ownExact), then the 51-character cut (ownCut).
func (ds *dirSidecars) own(m mediaName) *sidecar {
	if sc := ds.ownExact(m); sc != nil {
		return sc
	}
	return ds.ownCut(m)
}

// ownExact finds a sidecar named after the whole media name:
// "IMG.JPG(1).json" for "IMG(1).JPG" (the index moves after the
// extension), the index left in place ("IMG(1).JPG.json"), the extension
// in another case ("IMG.JPG.json" for "IMG.jpg"), and "20030616.json" for
// an upload that had no extension.
func (ds *dirSidecars) ownExact(m mediaName) *sidecar {
	if sc := ds.exact[nameKey{m.base, m.index}]; sc != nil {
		return sc
	}
	if m.index > 0 {
		if sc := ds.exact[nameKey{m.full, 0}]; sc != nil {
			return sc
		}
	}
	if m.ext == "" {
		return nil
	}
	if sc := ds.otherCase(m.stem, m.ext, m.index); sc != nil {
		return sc
	}
	return ds.exact[nameKey{m.stem, m.index}]
}

// otherCase finds the sidecar of stem+ext with the extension in upper or
// lower case ("IMG.JPG.json" for "IMG.jpg").
func (ds *dirSidecars) otherCase(stem, ext string, index int) *sidecar {
	if up := strings.ToUpper(ext); up != ext {
		if sc := ds.exact[nameKey{stem + up, index}]; sc != nil {
			return sc
		}
	}
	if low := strings.ToLower(ext); low != ext {
		return ds.exact[nameKey{stem + low, index}]
	}
	return nil
}

// ownCut finds a sidecar whose name Google cut: a prefix of the media
// name, longest first. Read as part of the name, a "(n)" must be inside
// the cut: "Urlaub … (38).JP.json" is "Urlaub … (38).JPG"'s, while a
// prefix that stops before the "(1)" of "Long name(1).jpg" is the
// sidecar of "Long name.jpg".
func (ds *dirSidecars) ownCut(m mediaName) *sidecar {
	if sc := ds.cut(m.base, m.index, minCut); sc != nil {
		return sc
	}
	if m.index > 0 {
		l := m.literal()
		return ds.cut(l.base, 0, max(len(l.stem), minCut))
	}
	return nil
}

// cut looks name's prefixes of at least shortest bytes up among the cut
// sidecar names, longest first.
func (ds *dirSidecars) cut(name string, index, shortest int) *sidecar {
	if len(ds.truncated) == 0 {
		return nil
	}
	for l := len(name) - 1; l >= shortest; l-- {
		if sc := ds.truncated[nameKey{name[:l], index}]; sc != nil {
			return sc
		}
	}
	return nil
}

// minCut is the shortest prefix a cut sidecar name can leave: 46
// characters in some unit Google counts, so never fewer than this many bytes.
const minCut = 16

// ordered returns the contents in the order of their first copy in the
// archives (part, then position): the same Takeout always lists in the
// same order, and a fetch in that order reads each archive front to back.
func (x *index) ordered() []*content {
	out := make([]*content, 0, len(x.contents))
	for _, c := range x.contents {
		slices.SortFunc(c.occs, x.compareOcc)
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b *content) int {
		p, q := &a.occs[0], &b.occs[0]
		switch {
		case p.part != q.part:
			return int(p.part) - int(q.part)
		case p.index != q.index:
			return cmp.Compare(p.index, q.index)
		}
		if c := strings.Compare(x.entry(p), x.entry(q)); c != 0 {
			return c
		}
		return slices.Compare(a.sum[:], b.sum[:])
	})
	return out
}

// compareOcc puts the copy an item is listed under first: the year folder,
// then trash and archive, then albums; then by path and part.
func (x *index) compareOcc(a, b occurrence) int {
	ra, rb := rank(classifyFolder(x.dirs[a.dir])), rank(classifyFolder(x.dirs[b.dir]))
	if ra != rb {
		return ra - rb
	}
	if c := strings.Compare(x.occPath(&a), x.occPath(&b)); c != 0 {
		return c
	}
	if a.part != b.part {
		return int(a.part) - int(b.part)
	}
	return strings.Compare(x.entry(&a), x.entry(&b))
}

func rank(k folderKind) int {
	switch k {
	case kindYear:
		return 0
	case kindTrash, kindArchive:
		return 1
	case kindAlbum:
		return 2
	}
	return 3
}

// sidecarPath is a sidecar's path below the Google Photos folder.
func (x *index) sidecarPath(sc *sidecar) string {
	if d := x.dirs[sc.dir]; d != "" {
		return d + "/" + sc.json
	}
	return sc.json
}

func (x *index) occPath(o *occurrence) string {
	if d := x.dirs[o.dir]; d != "" {
		return d + "/" + o.name
	}
	return o.name
}

// albumTitle is an album folder's title: its metadata.json's, else the
// folder name (which Google may have shortened or sanitized).
func (x *index) albumTitle(dir uint32) string {
	if a := x.albums[dir]; a != nil && a.title != "" {
		return nfc(a.title)
	}
	return x.dirs[dir]
}
