package takeouttest

import (
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/text/unicode/norm"
)

// Export1Time and Export2Time are the entry times of the two exports of
// the test library: Takeout stamps entries with the export's time.
var (
	Export1Time = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	Export2Time = time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
)

const (
	gp     = "Takeout/Google Photos/"
	y23    = gp + "Photos from 2023/"
	rome   = gp + "Rome 2023/"
	bestOf = gp + "Best of _ 2023/"
)

// LongScreenshot is a name whose old-style sidecar Google cuts to 46
// characters; NightShot one whose ".supplemental-metadata" suffix is cut.
const (
	LongScreenshot = "Screenshot_20230708-101112_Some_Very_Long_App_Name.jpg"
	NightShot      = "PXL_20230815_182233456.NIGHT.jpg"
	NightShot1     = "PXL_20230815_182233456.NIGHT(1).jpg"
	FamilyDinner   = "Family dinner at grandma's house with everyone.jpg"
)

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// English builds the English test library as Google would export it.
// Export 1 has three parts (two zips and a tgz) holding 25 distinct
// items; export 2 is the same library a few months later, in two zips,
// with two new items (Photos from 2024/IMG_2024.JPG and Rome
// 2023/IMG_0003.JPG). Identical items have identical bytes in both.
// exiftool writes the EXIF dates; tmp is a scratch folder.
func English(exiftool, tmp string, export int) (map[string][]File, error) {
	jpegs := map[string][]byte{}
	seed := 0
	for _, k := range strings.Fields("A B C D E F G H I J K M O P Q R T U V W X Y Z") {
		seed++
		jpegs[k] = JPEG(seed)
	}
	// Sidecar dates win over EXIF (A); EXIF is the fallback (R).
	if err := ExifDates(exiftool, tmp, jpegs, map[string]string{"A": "2020:01:01 00:00:00", "R": "2021:03:04 10:11:12"}); err != nil {
		return nil, err
	}
	video := func(n int) []byte {
		return fmt.Appendf([]byte("\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00"), "video %d", n)
	}
	png := []byte("\x89PNG\r\n\x1a\nnot really a png, no EXIF")
	at := Export1Time
	if export == 2 {
		at = Export2Time
	}
	f := func(name string, data []byte) File { return File{Name: name, Data: data, Mtime: at} }
	sc := func(name string, m Meta) File { return f(name, Sidecar(m)) }

	a := []File{
		f(y23+"IMG_0001.JPG", jpegs["A"]),
		sc(y23+"IMG_0001.JPG.json", Meta{Title: "IMG_0001.JPG", Taken: utc("2023-05-06T10:00:00Z"), Favorited: true,
			GeoExif: [2]float64{48.8584, 2.2945}, Geo: [2]float64{1, 1}, People: []string{"Ada"}}),
		f(y23+"IMG_0001(1).JPG", jpegs["B"]),
		f(y23+"IMG_0002.JPG", jpegs["C"]),
		sc(y23+"IMG_0002.JPG.supplemental-metadata.json", Meta{Title: "IMG_0002.JPG", Description: "Colosseum",
			Taken: utc("2023-06-01T08:30:00Z"), Archived: true, Geo: [2]float64{41.89, 12.49}}),
		f(y23+"IMG_0002-edited.JPG", jpegs["D"]),
		f(y23+LongScreenshot, jpegs["E"]),
		sc(y23+Cut(LongScreenshot, 0), Meta{Title: LongScreenshot, Taken: utc("2023-07-08T10:11:12Z")}),
		f(y23+"Scan35(1).jpg", jpegs["F"]),
		sc(y23+"Scan35.jpg.supplemental-metadata(1).json", Meta{Title: "Scan35.jpg", Taken: utc("2023-02-03T04:05:06Z")}),
		f(y23+"Scan35.jpg", jpegs["G"]),
		sc(y23+"Scan35.jpg.supplemental-metadata.json", Meta{Title: "Scan35.jpg", Taken: utc("2023-02-03T04:05:00Z")}),
		f(y23+NightShot, jpegs["H"]),
		sc(y23+Cut(NightShot+".supplemental-metadata", 0), Meta{Title: NightShot, Taken: utc("2023-08-15T18:22:33Z")}),
		f(y23+NightShot1, jpegs["I"]),
		sc(y23+Cut(NightShot+".supplemental-metadata", 1), Meta{Title: NightShot, Taken: utc("2023-08-15T18:22:34Z")}),
		f(y23+FamilyDinner, jpegs["J"]),
		sc(y23+Cut(FamilyDinner+".supplemental-metadata", 0), Meta{Title: FamilyDinner, Taken: utc("2023-12-24T19:00:00Z")}),
		f(y23+"PXL_20230704_101010123.MP.jpg", jpegs["K"]),
		sc(y23+"PXL_20230704_101010123.MP.jpg.json", Meta{Title: "PXL_20230704_101010123.MP.jpg", Taken: utc("2023-07-04T10:10:10Z")}),
		f(y23+"PXL_20230704_101010123.MP", video(1)),
		f(y23+"IMG_0100.JPG", jpegs["M"]),
		sc(y23+"IMG_0100.JPG.json", Meta{Title: "IMG_0100.JPG", Taken: utc("2023-09-09T09:09:09Z")}),
		f(y23+"IMG_0100.MOV", video(2)),
		f(y23+"IMG_NOEXT", jpegs["P"]),
		sc(y23+"IMG_NOEXT.json", Meta{Title: "IMG_NOEXT", Taken: utc("2023-10-10T10:10:10Z")}),
		// macOS zips store names decomposed; the sidecar here is composed.
		f(norm.NFD.String(y23+"Café.jpg"), jpegs["Q"]),
		sc(y23+"Café.jpg.json", Meta{Title: "Café.jpg", Taken: utc("2023-11-11T11:11:11Z")}),
		f(y23+"orphan.jpg", jpegs["R"]),
		// The index lost from the sidecar's name (immich-app/immich#30319).
		f(y23+"2025-04-28(3516).jpg", jpegs["Z"]),
		sc(y23+"2025-04-28.jpg.su.json", Meta{Title: "2025-04-28.jpg", Taken: utc("2025-04-28T17:00:00Z")}),
		{Name: y23 + "noexif.png", Data: png, Mtime: at, Store: true},
		f(y23+"upload_only.png", append(png, " but a sidecar without photoTakenTime"...)),
		sc(y23+"upload_only.png.json", Meta{Title: "upload_only.png"}),
		sc(y23+"shared.jpg.json", Meta{Title: "shared.jpg", Taken: utc("2023-03-03T03:03:03Z"), Partner: true}),
		f(y23+"shared.jpg", jpegs["U"]),
		f("Takeout/archive_browser.html", []byte("<html>")),
		f("Takeout/YouTube and YouTube Music/history/watch-history.json", []byte(`[]`)),
		f(gp+"user-generated-memory-titles.json", []byte(`{"title":""}`)),
	}
	b := []File{
		sc(y23+"IMG_0001.JPG(1).json", Meta{Title: "IMG_0001.JPG", Taken: utc("2023-05-07T11:00:00Z")}),
		f(rome+"metadata.json", AlbumMetadata("Rome 2023")),
		f(rome+"IMG_0001.JPG", jpegs["A"]),
		sc(rome+"IMG_0001.JPG.json", Meta{Title: "IMG_0001.JPG", Taken: utc("2023-05-06T10:00:00Z"), Favorited: true}),
		f(rome+"IMG_0002.JPG", jpegs["C"]),
		sc(rome+"IMG_0002.JPG.supplemental-metadata.json", Meta{Title: "IMG_0002.JPG", Taken: utc("2023-06-01T08:30:00Z")}),
		f(rome+"only_in_album.jpg", jpegs["W"]),
		sc(rome+"only_in_album.jpg.json", Meta{Title: "only_in_album.jpg", Taken: utc("2023-06-02T00:00:00Z")}),
		f(gp+"Trash/IMG_T.JPG", jpegs["T"]),
		sc(gp+"Trash/IMG_T.JPG.json", Meta{Title: "IMG_T.JPG", Taken: utc("2022-12-24T18:00:00Z"), Trashed: true}),
		f(gp+"Photos from 2003/20030616.jpg", jpegs["O"]),
		sc(gp+"Photos from 2003/20030616.json", Meta{Title: "20030616", Taken: utc("2003-06-16T12:00:00Z")}),
	}
	c := []File{
		f(bestOf+"metadata.json", AlbumMetadata("Best of / 2023")),
		f(bestOf+"IMG_0001.JPG", jpegs["A"]),
		sc(bestOf+"IMG_0001.JPG.json", Meta{Title: "IMG_0001.JPG", Taken: utc("2023-05-06T10:00:00Z")}),
		f(gp+"Photos from 2022/DSC_5000.JPG", jpegs["V"]),
		sc(gp+"Photos from 2022/DSC_5000.JPG.json", Meta{Title: "DSC_5000.JPG", Taken: utc("2022-04-05T06:07:08Z")}),
	}
	if export == 1 {
		return map[string][]File{
			"takeout-20250102T030405Z-001.zip": a,
			"takeout-20250102T030405Z-002.zip": b,
			"takeout-20250102T030405Z-003.tgz": c,
		}, nil
	}
	more := []File{
		f(gp+"Photos from 2024/IMG_2024.JPG", jpegs["X"]),
		sc(gp+"Photos from 2024/IMG_2024.JPG.json", Meta{Title: "IMG_2024.JPG", Taken: utc("2024-02-29T12:00:00Z")}),
		f(rome+"IMG_0003.JPG", jpegs["Y"]),
		sc(rome+"IMG_0003.JPG.json", Meta{Title: "IMG_0003.JPG", Taken: utc("2023-06-03T07:00:00Z")}),
	}
	// A later export splits the same files differently.
	all := append(append(append(a, b...), c...), more...)
	half := len(all) / 2
	return map[string][]File{
		"takeout-20250601T000000Z-001.zip": all[half:],
		"takeout-20250601T000000Z-002.zip": all[:half],
	}, nil
}

// Lang is one account language's names.
type Lang struct {
	Code, Root, Year, Trash, AlbumMeta, Edited string
}

// Langs are the localized names the source must understand. Year folders
// are English in most exports whatever the language; album metadata names
// are localized where a peer has seen it (immich-go's google-takeout.md).
var Langs = []Lang{
	{"en", "Google Photos", "Photos from 2023", "Trash", "metadata.json", "-edited"},
	{"de", "Google Fotos", "Fotos von 2023", "Papierkorb", "Metadaten.json", "-bearbeitet"},
	{"fr", "Google Photos", "Photos de 2023", "Corbeille", "métadonnées.json", "-modifié"},
	{"it", "Google Foto", "Foto del 2023", "Cestino", "metadati.json", "-modificato"},
	{"es", "Google Fotos", "Fotos de 2023", "Papelera", "metadatos.json", "-editado"},
	{"fi", "Google Kuvat", "Photos from 2023", "Roskakori", "metadata.json", "-muokattu"},
	{"tr", "Google Fotoğraflar", "Photos from 2023", "Çöp Kutusu", "metadata.json", "-düzenlendi"},
	{"ru", "Google Фото", "Photos from 2023", "Корзина", "метаданные.json", "-отредактировано"},
	{"pl", "Zdjęcia Google", "Photos from 2023", "Kosz", "metadata.json", "-edytowane"},
	{"nl", "Google Foto's", "Foto_s van 2023", "Prullenbak", "metadata.json", "-bewerkt"},
	{"pt", "Google Fotos", "Fotos de 2023", "Lixeira", "metadados.json", "-editado"},
	{"ja", "Google フォト", "Photos from 2023", "ゴミ箱", "metadata.json", "-編集済み"},
	{"zh", "Google 相册", "Photos from 2023", "回收站", "metadata.json", "-已编辑"},
	{"ko", "Google 포토", "Photos from 2023", "휴지통", "metadata.json", "-편집됨"},
}

// CutMedia is a media file name as Takeout cuts a long one: the name
// without its extension to 47 characters.
func CutMedia(stem, ext string) string {
	if r := []rune(stem); len(r) > 47 {
		stem = string(r[:47])
	}
	return stem + ext
}

// Hard builds an export in language l (the i-th of Langs after the first
// five) whose sidecars are named the hard ways real exports name them: a
// name that ends in its own counter, cut at 51 characters; an edited copy
// whose suffix was cut with its name at 47; an edited copy of an original
// that carries "(1)", keeping its own counter; the index before
// ".supplemental-metadata"; an extension in another case than its
// sidecar's. Every sidecar says its file was taken on 1 May of the year
// 2014+i, in that year's folder, at an hour that tells the files apart: 1 IMG_1.JPG (its edited copy and
// album copy too), 2 the name with its own counter, 3 the long name and
// its cut edited copy, 4 "Excursió a Montserrat(1).jpg", 5 its duplicate
// and that duplicate's edited copy, 6 IMG_2(1).HEIC, 7 IMG_3.jpg, 8 the
// trashed IMG_T.JPG.
func Hard(l Lang, i int) []File {
	// Exports listed together share folders by name: a year of its own
	// keeps each language's sidecars apart.
	year := 2014 + i
	gp := "Takeout/" + l.Root + "/"
	y := gp + strings.Replace(l.Year, "2023", strconv.Itoa(year), 1) + "/"
	seed := 1000 + 20*i
	f := func(name string, data []byte) File { return File{Name: name, Data: data, Mtime: Export1Time} }
	sc := func(name, title string, hour int) File {
		taken := time.Date(year, time.May, 1, hour, 0, 0, 0, time.UTC)
		return f(name, Sidecar(Meta{Title: title, Taken: taken}))
	}
	counter := "Urlaub in Knaufspesch in der Schneifel (38).JPG"
	long := "Vacaciones en la playa con la familia_" + l.Code + "_001"
	excursion := "Excursió a Montserrat(1)"
	return []File{
		f(y+"IMG_1.JPG", JPEG(seed)),
		sc(y+"IMG_1.JPG.supplemental-metadata.json", "IMG_1.JPG", 1),
		f(y+"IMG_1"+l.Edited+".JPG", JPEG(seed+1)),
		f(y+counter, JPEG(seed+2)),
		sc(y+Cut(counter, 0), counter, 2),
		f(y+long+".JPG", JPEG(seed+3)),
		sc(y+Cut(long+".JPG.supplemental-metadata", 0), long+".JPG", 3),
		f(y+CutMedia(long+l.Edited, ".JPG"), JPEG(seed+4)),
		f(y+excursion+".jpg", JPEG(seed+5)),
		sc(y+excursion+".jpg.supplemental-metadata.json", excursion+".jpg", 4),
		f(y+excursion+"(1).jpg", JPEG(seed+6)),
		sc(y+excursion+".jpg.supplemental-metadata(1).json", excursion+".jpg", 5),
		f(y+excursion+l.Edited+"(1).jpg", JPEG(seed+7)),
		f(y+"IMG_2(1).HEIC", JPEG(seed+8)),
		sc(y+"IMG_2.HEIC(1).supplemental-metadata.json", "IMG_2.HEIC", 6),
		f(y+"IMG_3.jpg", JPEG(seed+9)),
		sc(y+"IMG_3.JPG.json", "IMG_3.JPG", 7),
		f(gp+l.Trash+"/IMG_T.JPG", JPEG(seed+10)),
		sc(gp+l.Trash+"/IMG_T.JPG.json", "IMG_T.JPG", 8),
		f(gp+"Album_"+l.Code+"/"+l.AlbumMeta, AlbumMetadata("Album: "+l.Code)),
		f(gp+"Album_"+l.Code+"/IMG_1.JPG", JPEG(seed)),
		sc(gp+"Album_"+l.Code+"/IMG_1.JPG.supplemental-metadata.json", "IMG_1.JPG", 1),
	}
}

// World is one export per language of Langs after the first five, each a
// single part, zip and tgz by turns: what a family's Takeouts in several
// languages look like listed together.
func World() map[string][]File {
	parts := map[string][]File{}
	for i, l := range Langs[5:] {
		ext := ".zip"
		if i%2 == 1 {
			ext = ".tgz"
		}
		parts["takeout-"+l.Code+"-001"+ext] = Hard(l, i)
	}
	return parts
}

// Localized builds a small library in one language: an original and its
// edited copy in the year folder, the original again in an album whose
// folder name differs from its title, and a trashed photo.
func Localized(l Lang) []File {
	gp := "Takeout/" + l.Root + "/"
	y := gp + l.Year + "/"
	f := func(name string, data []byte) File { return File{Name: name, Data: data, Mtime: Export1Time} }
	return []File{
		f(y+"IMG_1.JPG", JPEG(101)),
		f(y+"IMG_1.JPG.json", Sidecar(Meta{Title: "IMG_1.JPG", Taken: utc("2023-04-01T09:00:00Z")})),
		f(y+"IMG_1"+l.Edited+".JPG", JPEG(102)),
		f(gp+"Album_1/"+l.AlbumMeta, AlbumMetadata("Album: "+l.Code)),
		f(gp+"Album_1/IMG_1.JPG", JPEG(101)),
		f(gp+"Album_1/IMG_1.JPG.json", Sidecar(Meta{Title: "IMG_1.JPG", Taken: utc("2023-04-01T09:00:00Z")})),
		f(gp+l.Trash+"/IMG_2.JPG", JPEG(103)),
		f(gp+l.Trash+"/IMG_2.JPG.json", Sidecar(Meta{Title: "IMG_2.JPG", Taken: utc("2023-04-02T09:00:00Z"), Trashed: true})),
	}
}

// Write writes parts into dir: names ending in .zip or .tgz become
// archives, any other name an extracted folder.
func Write(dir string, parts map[string][]File) error {
	names := make([]string, 0, len(parts))
	for n := range parts {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		p := filepath.Join(dir, n)
		var err error
		switch {
		case strings.HasSuffix(n, ".zip"):
			err = WriteZip(p, parts[n])
		case strings.HasSuffix(n, ".tgz"):
			err = WriteTgz(p, parts[n])
		default:
			err = WriteDir(p, parts[n])
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// Bench writes a synthetic Takeout of items distinct small photos (about
// 2 KiB each, with a JPEG header) into parts zip files below dir: year
// folders 2015–2024 with sidecars in both namings, every fourth photo
// also in an album, and a media file's sidecar often in another part.
func Bench(dir string, items, parts int) error {
	files := make([][]File, parts)
	rnd := uint64(0x9E3779B97F4A7C15)
	next := func() uint64 { rnd ^= rnd << 13; rnd ^= rnd >> 7; rnd ^= rnd << 17; return rnd }
	for i := range items {
		data := make([]byte, 1536+int(next()%1024))
		copy(data, "\xFF\xD8\xFF\xE0\x00\x10JFIF\x00")
		for j := 12; j+8 <= len(data); j += 8 {
			v := next()
			for k := range 8 {
				data[j+k] = byte(v >> (8 * k))
			}
		}
		taken := time.Date(2015+i%10, time.Month(1+i%12), 1+i%28, i%24, i%60, 0, 0, time.UTC)
		year := fmt.Sprintf("Takeout/Google Photos/Photos from %d/", taken.Year())
		name := fmt.Sprintf("IMG_%06d.JPG", i)
		json := name + ".json"
		if i%2 == 1 {
			json = name + ".supplemental-metadata.json"
		}
		meta := Sidecar(Meta{Title: name, Taken: taken, GeoExif: [2]float64{float64(i%90) + 0.5, 10}})
		p := i % parts
		files[p] = append(files[p], File{Name: year + name, Data: data, Mtime: Export1Time})
		files[(p+i%3)%parts] = append(files[(p+i%3)%parts], File{Name: year + json, Data: meta, Mtime: Export1Time})
		if i%4 == 0 {
			album := fmt.Sprintf("Takeout/Google Photos/Album %03d/", i%200)
			q := (p + 1) % parts
			files[q] = append(files[q], File{Name: album + name, Data: data, Mtime: Export1Time},
				File{Name: album + json, Data: meta, Mtime: Export1Time})
		}
	}
	for p := range parts {
		if err := WriteZip(filepath.Join(dir, fmt.Sprintf("takeout-20250102T030405Z-%03d.zip", p+1)), files[p]); err != nil {
			return err
		}
	}
	return nil
}
