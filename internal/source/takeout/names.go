package takeout

import (
	"path"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Google localizes the folder and file names of a Takeout with the
// account's language. These tables cover at least English, German, French,
// Italian, Spanish, Portuguese, Dutch, Polish, Finnish, Turkish, Russian,
// Japanese, Chinese and Korean (docs/takeout.md); everything is compared
// after NFC normalization and, for folder names, case-insensitively.

// photosRoots are the names of the Google Photos folder inside "Takeout/":
// en/fr "Google Photos", de/es/pt "Google Fotos", it "Google Foto", nl
// "Google Foto's", fi "Google Kuvat", tr "Google Fotoğraflar", ru/uk
// "Google Фото", bg "Google Снимки", pl "Zdjęcia Google", sk "Fotky Google",
// ja "Google フォト", ko "Google 포토", zh "Google 相册" / "Google 相簿".
var photosRoots = set("Google Photos", "Google Fotos", "Google Foto", "Google Foto's", "Fotky Google",
	"Google Kuvat", "Google Fotoğraflar", "Google Фото", "Google Снимки", "Zdjęcia Google", "Google Zdjęcia",
	"Google フォト", "Google 포토", "Google 相簿", "Google 相册")

// isPhotosRoot reports whether a top folder of a Takeout is Google Photos:
// a known localized name, or a name that says both "Google" and "photo" in
// some script (Takeouts can hold other products: Drive, Mail, …).
func isPhotosRoot(name string) bool {
	n := fold(name)
	if photosRoots[n] {
		return true
	}
	if !strings.Contains(n, "google") {
		return false
	}
	for _, w := range []string{"photo", "foto", "фото", "φωτ", "zdj", "kuva", "снимки", "相", "フォト", "포토"} {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

// yearFolder matches the folders holding every item of a year.
var yearFolder = regexp.MustCompile(`^(?i)(photos from|photos de|photos du|fotos von|fotos aus|fotos de|fotos del|foto del|foto dal|foto di|foto da|foto's uit|foto's van|foto_s van) (18|19|20)\d\d$`)

// trashFolders and archiveFolders hold trashed and archived items; they
// are not albums.
var (
	trashFolders = set("Trash", "Bin", "Papierkorb", "Corbeille", "Cestino", "Papelera", "Lixeira", "Prullenbak",
		"Roskakori", "Çöp Kutusu", "Корзина", "Kosz", "ゴミ箱", "휴지통", "回收站", "垃圾桶")
	archiveFolders = set("Archive", "Archiv", "Archives", "Archivio", "Archivo", "Arquivo", "Archief", "Arkisto",
		"Arşiv", "Архив", "Archiwum", "アーカイブ", "보관함", "归档", "封存")
)

// albumMetadataNames are the localized names of an album's metadata.json,
// possibly followed by "(n)" when untitled albums merge into one folder.
var albumMetadataNames = set("metadata", "metadaten", "métadonnées", "metadati", "metadatos", "metadados",
	"metadades", "metadáta", "метаданные", "метаданни")

// editedSuffixes mark edited copies, which share the original's sidecar:
// Google's own effects (always English) and "-edited" in the account's
// language, as GooglePhotosTakeoutHelper's and immich-go's tables list them
// (docs/takeout.md). Each has one dash, its first byte (editedSuffixLen).
var editedSuffixes = []string{
	"-edited", "-effects", "-smile", "-mix", // en
	"-bearbeitet",           // de
	"-modifiée", "-modifié", // fr
	"-modificato", "-modificata", // it
	"-ha editado", "-editado", "-editada", // es, pt
	"-editat",                       // ca, ro
	"-bewerkt",                      // nl
	"-edytowane",                    // pl
	"-muokattu",                     // fi
	"-düzenlendi",                   // tr
	"-отредактировано", "-изменено", // ru
	"-відредаговано", // uk
	"-redigeret",     // da
	"-redigerad",     // sv
	"-redigert",      // nb
	"-upravené",      // sk
	"-diedit",        // id
	"-編集済み",          // ja
	"-已编辑", "-编辑",    // zh
	"-편집됨", // ko
}

func set(names ...string) map[string]bool {
	m := map[string]bool{}
	for _, n := range names {
		m[fold(n)] = true
	}
	return m
}

// nfc normalizes a name to NFC: macOS (and zips made there) store NFD.
func nfc(s string) string { return norm.NFC.String(s) }

// fold is the form folder names are compared in.
func fold(s string) string { return strings.ToLower(nfc(s)) }

// folderKind says what a library folder is.
type folderKind uint8

const (
	kindAlbum folderKind = iota
	kindYear
	kindTrash
	kindArchive
	kindRoot // files directly in the library root
)

func classifyFolder(dir string) folderKind {
	switch {
	case dir == "":
		return kindRoot
	case strings.Contains(dir, "/"):
		return kindAlbum
	case yearFolder.MatchString(nfc(dir)):
		return kindYear
	case trashFolders[fold(dir)]:
		return kindTrash
	case archiveFolders[fold(dir)]:
		return kindArchive
	}
	return kindAlbum
}

// libraryPath turns an archive entry name (or a path below the listed
// folder) into a path relative to the Google Photos folder. ok is false for
// entries of other Google products. forcedRoot is --root NAME.
func libraryPath(entry, forcedRoot string) (string, bool) {
	comps := strings.Split(strings.Trim(entry, "/"), "/")
	isRoot := isPhotosRoot
	if forcedRoot != "" {
		isRoot = func(n string) bool { return fold(n) == fold(forcedRoot) }
	}
	if len(comps) > 1 && comps[0] == "Takeout" {
		if !isRoot(comps[1]) {
			return "", false
		}
		return nfc(strings.Join(comps[2:], "/")), true
	}
	for i, c := range comps[:len(comps)-1] {
		if isRoot(c) {
			return nfc(strings.Join(comps[i+1:], "/")), true
		}
	}
	return nfc(strings.Join(comps, "/")), true
}

// splitIndex removes a trailing "(n)" duplicate index from a name without
// its extension: "IMG(2)" → "IMG", 2. n is 0 when there is none.
func splitIndex(s string) (string, int) {
	if !strings.HasSuffix(s, ")") {
		return s, 0
	}
	open := strings.LastIndexByte(s, '(')
	if open < 0 || open == len(s)-2 {
		return s, 0
	}
	n, err := strconv.Atoi(s[open+1 : len(s)-1])
	if err != nil || n <= 0 || s[open+1] == '0' || s[open+1] == '+' {
		return s, 0
	}
	return s[:open], n
}

// mediaName is a media file name taken apart for sidecar matching.
type mediaName struct {
	base   string // the name without its "(n)": "IMG_3479.JPG" for "IMG_3479(1).JPG"
	full   string // the name as it is (NFC)
	index  int    // the "(n)" index, 0 when none
	ext    string // ".JPG", or ""
	stem   string // base without ext
	edited string // for an edited copy: the original's name, read literally ("X(1).jpg" for "X(1)-editat(2).jpg")
	// editedCut says the edited suffix was cut with the name ("-ha edi"),
	// so the name alone does not prove an edited copy.
	editedCut bool
}

// maxMediaStem is the length Takeout cuts a media file's name to, its
// extension left out: 47 characters, so never fewer bytes.
const maxMediaStem = 47

func parseMediaName(name string) mediaName {
	name = nfc(name)
	ext := path.Ext(name)
	if strings.ContainsAny(ext, " ()") || len(ext) > 6 {
		ext = "" // "Scan (1)" or "notes.final draft": not an extension
	}
	stem, index := splitIndex(strings.TrimSuffix(name, ext))
	m := mediaName{base: name, full: name, index: index, ext: ext, stem: stem}
	if index > 0 {
		m.base = stem + ext
	}
	if n := editedSuffixLen(stem, false); n > 0 {
		m.edited = stem[:len(stem)-n] + ext
	} else if len(stem) >= maxMediaStem {
		if n := editedSuffixLen(stem, true); n > 0 {
			m.edited, m.editedCut = stem[:len(stem)-n]+ext, true
		}
	}
	return m
}

// editedSuffixLen is the length of the edited suffix stem ends in, 0 for
// none; with cut, of a suffix cut short ("-bearb" of "-bearbeitet"), at
// least its dash and one character. Every suffix has one dash, its first
// byte, so only what follows the name's last dash can be one.
func editedSuffixLen(stem string, cut bool) int {
	dash := strings.LastIndexByte(stem, '-')
	if dash <= 0 {
		return 0
	}
	tail := stem[dash:]
	for _, suf := range editedSuffixes {
		switch {
		case !cut && len(tail) == len(suf) && strings.EqualFold(tail, suf):
			return len(tail)
		case cut && len(tail) >= 2 && len(tail) < len(suf) && utf8.RuneStart(suf[len(tail)]) && strings.EqualFold(tail, suf[:len(tail)]):
			return len(tail)
		}
	}
	return 0
}

// literal reads a name's "(n)" as part of the name, not as Google's
// duplicate counter: "Holiday in the Eifel (38).JPG" is how it was
// uploaded.
func (m mediaName) literal() mediaName {
	return mediaName{base: m.full, full: m.full, ext: m.ext, stem: strings.TrimSuffix(m.full, m.ext)}
}

// original is the name an edited copy's original was exported under,
// whose sidecar the copy shares. A copy without a counter reads it like
// any name ("X(1).jpg": both readings of the "(1)"); a copy with one keeps
// it, for the original's name as it is: "X(1)-editat(2).jpg" is the
// second "X(1).jpg", whose sidecar is "X(1).jpg…(2).json".
func (m mediaName) original() mediaName {
	if m.index == 0 {
		return parseMediaName(m.edited)
	}
	stem := strings.TrimSuffix(m.edited, m.ext)
	return mediaName{base: m.edited, full: stem + "(" + strconv.Itoa(m.index) + ")" + m.ext, index: m.index, ext: m.ext, stem: stem}
}

// sidecarName is a JSON sidecar's file name taken apart: the (possibly
// cut) media name it belongs to, its "(n)" index, and whether Google's
// 51-character limit may have cut it.
type sidecarName struct {
	prefix    string
	index     int
	truncated bool
}

// maxJSONName is the length Google cuts sidecar names to, ".json" included.
const maxJSONName = 51

// parseSidecarName reads "IMG.JPG.json", "IMG.JPG(1).json",
// "IMG.JPG.supplemental-metadata(1).json" and every cut form of them
// ("….supplemental-me.json", "….s.json", "<46 characters>.json").
func parseSidecarName(name string) (sidecarName, bool) {
	name = nfc(name)
	if !strings.HasSuffix(strings.ToLower(name), ".json") {
		return sidecarName{}, false
	}
	base := name[:len(name)-len(".json")]
	base, index := splitIndex(base)
	// Cut names are exactly 51 characters before the index. Google may
	// count bytes, runes or UTF-16 units; the byte length is at least each.
	truncated := len(base)+len(".json") >= maxJSONName
	if dot := strings.LastIndexByte(base, '.'); dot >= 0 {
		last := strings.ToLower(base[dot+1:])
		if strings.HasPrefix("supplemental-metadata", last) || last == "metadata" {
			base = base[:dot]
			// "IMG.HEIC(1).supplemental-metadata.json": the index before
			// the suffix (GPTH-Neo #123).
			if index == 0 {
				base, index = splitIndex(base)
			}
		}
	}
	if base == "" {
		return sidecarName{}, false
	}
	return sidecarName{prefix: base, index: index, truncated: truncated}, true
}

// isAlbumMetadata reports whether a JSON file name is an album's metadata.
func isAlbumMetadata(name string) bool {
	base := strings.TrimSuffix(nfc(name), path.Ext(name))
	base, _ = splitIndex(base)
	return albumMetadataNames[fold(base)]
}
