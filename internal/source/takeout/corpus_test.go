package takeout

import (
	"crypto/sha256"
	"strings"
	"testing"

	tt "github.com/ps-photos/ps/internal/source/takeout/takeouttest"
)

// matchCase is one folder of an export as Google named its files, and the
// sidecar one media file of it must find.
type matchCase struct {
	from  string   // where the names come from
	media string   // the file whose sidecar is looked up
	json  string   // the sidecar it must find; "" when it must find none
	rule  string   // meta.sidecar_match
	also  []string // the other files of the folder (media and JSON)
}

// sup is a media name's new-style sidecar as Google names it: the
// ".supplemental-metadata" suffix cut to the 51-character limit, then the
// duplicate index.
func sup(media string, index int) string { return tt.Cut(media+".supplemental-metadata", index) }

// old is a media name's old-style sidecar, cut to 51 characters.
func old(media string, index int) string { return tt.Cut(media, index) }

// Names from the peers' tests and issue threads: immich-go's
// adapters/googlePhotos/matcher_test.go (im), GooglePhotosTakeoutHelper
// and its Neo fork (gpth), and threads of immich-go, GPTH, ente,
// google-photos-exif and open-noodle/gallery.
var corpusPositive = []matchCase{
	// Plain names, both namings.
	{"im matcher_test", "PXL_20211013_220651983.jpg", "PXL_20211013_220651983.jpg.json", "own", nil},
	{"im matcher_test", "DSC_0100.JPG", "DSC_0100.JPG.json", "own", nil},
	{"im matcher_test", "PXL_20231118_035751175.MP.jpg", "PXL_20231118_035751175.MP.jpg.json", "own", nil},
	{"im #405", "PXL_20210102_221126856.MP~2.jpg", "PXL_20210102_221126856.MP~2.jpg.json", "own", nil},
	{"im #652", "20161105_170829.jpg", "20161105_170829.jpg.supplemental-metadata.json", "own", nil},
	{"ente #4953", "PXL_20231006_063000139.jpg", "PXL_20231006_063000139.jpg.supplemental-metadata.json", "own", nil},
	{"gpth #452", "IMG_20210101_123456.jpg", "IMG_20210101_123456.jpg.suppl.json", "own", nil},
	{"gpth #452", "VID_20201231_235959.mp4", "VID_20201231_235959.mp4.metadata.json", "own", nil},
	{"gpth #46", "20090216_00021.jpg", "20090216_00021.jpg.JSON", "own", nil},
	{"gpth #448", "IMG_20240512_101112.jpg", "IMG_20240512_101112.jpg.supplemental-metadata.json", "own", []string{"IMG_20240512_101112-edited.jpg"}},
	// The ".supplemental-metadata" suffix cut to fit 51 characters.
	{"im #652", "Screenshot_20231027_123303_Facebook.jpg", "Screenshot_20231027_123303_Facebook.jpg.supple.json", "own", nil},
	{"im #652", "MVIMG_20191230_232926.jpg", "MVIMG_20191230_232926.jpg.supplemental-metadat.json", "own", nil},
	{"im #652", "Screenshot_20200301-161151.png", "Screenshot_20200301-161151.png.supplemental-me.json", "own", nil},
	{"im #652", "MVIMG_20200207_134534~2.jpg", "MVIMG_20200207_134534~2.jpg.supplemental-metad.json", "own", nil},
	{"gpth #353", "PXL_20230815_182233456.NIGHT.jpg", sup("PXL_20230815_182233456.NIGHT.jpg", 0), "own", nil},
	{"gpth #353", "Family dinner at grandma's house with everyone.jpg", sup("Family dinner at grandma's house with everyone.jpg", 0), "own", nil},
	{"gpth #449", "Screenshot_20240615-183012_WhatsApp.jpg", sup("Screenshot_20240615-183012_WhatsApp.jpg", 0), "own", nil},
	{"gpth #449", "VID_20231231_235959_Happy_New_Year_party.mp4", sup("VID_20231231_235959_Happy_New_Year_party.mp4", 0), "own", nil},
	{"gpth #449", "IMG_20190704_183355_Bokeh_edited_copy.jpg", sup("IMG_20190704_183355_Bokeh_edited_copy.jpg", 0), "own", nil},
	{"gpth-neo #123", "0bf4bdc0-0194-43e1-a85b-8823858343c7.jpg", "0bf4bdc0-0194-43e1-a85b-8823858343c7.jpg.suppl.json", "own", nil},
	{"noodle #404", "Peanut Butter Balls.jpg", "Peanut Butter Balls.supplemental-metadata.json", "own", nil},
	{"google-photos-exif #50", "100-0016_IMG_2_2.JPG", "100-0016_IMG_2_2.JPG.supplemental-metadata.json", "own", nil},
	{"google-photos-exif fork", "PXL_20240901_053751330.LONG_EXPOSURE-01.COVER.jpg", "PXL_20240901_053751330.LONG_EXPOSURE-01.COVER..json", "own", nil},
	{"google-photos-exif fork", "PXL_20241216_151429988-CINEMATIC_MOMENT_VIDEO.mp4", "PXL_20241216_151429988-CINEMATIC_MOMENT_VIDEO..json", "own", nil},
	{"google-photos-exif fork", "dji_export_20230616_153949_1686955189836_editor.mp4", "dji_export_20230616_153949_1686955189836_edito.json", "own", nil},
	// Old names cut to 46 characters before ".json".
	{"im #35", "PXL_20230809_203449253.LONG_EXPOSURE-02.ORIGINA.jpg", "PXL_20230809_203449253.LONG_EXPOSURE-02.ORIGIN.json", "own", nil},
	{"im #35", "05yqt21kruxwwlhhgrwrdyb6chhwszi9bqmzu16w0 2.jpg", "05yqt21kruxwwlhhgrwrdyb6chhwszi9bqmzu16w0 2.jp.json", "own", nil},
	{"im #35", "😀😃😄😁😆😅😂🤣🥲☺️😊😇🙂🙃😉😌😍🥰😘😗😙😚😋😛.jpg", "😀😃😄😁😆😅😂🤣🥲☺️😊😇🙂🙃😉😌😍🥰😘😗😙😚😋.json", "own", nil},
	{"im matcher_test", "original_1d4caa6f-16c6-4c3d-901b-9387de10e528_P.jpg", "original_1d4caa6f-16c6-4c3d-901b-9387de10e528_.json", "own", nil},
	{"im matcher_test", "Screenshot_2024-08-31-00-53-48-647_com.snapchat.jpg", "Screenshot_2024-08-31-00-53-48-647_com.snapcha.json", "own", nil},
	{"ps", "Screenshot_20230708-101112_Some_Very_Long_App_Name.jpg", old("Screenshot_20230708-101112_Some_Very_Long_App_Name.jpg", 0), "own", nil},
	// Duplicate names: the index moves after the extension (or after the
	// cut suffix), or stays in place.
	{"im matcher_test", "DSC_0101(1).JPG", "DSC_0101.JPG(1).json", "own", []string{"DSC_0101.JPG", "DSC_0101.JPG.json"}},
	{"im matcher_test", "IMG_2710(1).HEIC", "IMG_2710.HEIC(1).json", "own", nil},
	{"im #613", "13039_327707840323_537645323_9470255_27214_n(1).jpg", "13039_327707840323_537645323_9470255_27214_n.j(1).json", "own", nil},
	{"im matcher_test", "Backyard_ceremony_wedding_photography_xxxxxxx_m(494).jpg", "Backyard_ceremony_wedding_photography_xxxxxxx_(494).json", "own", nil},
	{"im #673", "Scan35(1).jpg", "Scan35.jpg.supplemental-metadata(1).json", "own", []string{"Scan35.jpg", "Scan35.jpg.supplemental-metadata.json"}},
	{"im #673", "CLIP0001(10).AVI", "CLIP0001.AVI.supplemental-metadata(10).json", "own", nil},
	{"im #652", "Screenshot_20231027_123303_Facebook(1).jpg", "Screenshot_20231027_123303_Facebook.jpg.supple(1).json", "own", []string{"Screenshot_20231027_123303_Facebook.jpg.supple.json"}},
	{"im #162", "EFFECTS(4).jpg", "EFFECTS.jpg.supplemental-metadata(4).json", "own", []string{"EFFECTS.jpg.supplemental-metadata(1).json", "EFFECTS.jpg.supplemental-metadata(16).json"}},
	{"im #162", "EFFECTS(16).jpg", "EFFECTS.jpg.supplemental-metadata(16).json", "own", []string{"EFFECTS.jpg.supplemental-metadata(1).json", "EFFECTS.jpg.supplemental-metadata(6).json"}},
	{"gpth-neo #123", "image(1).jpg", "image.jpg.supplemental-metadata(1).json", "own", nil},
	{"gpth-neo #123", "0bf4bdc0-0194-43e1-a85b-8823858343c7(1).jpg", "0bf4bdc0-0194-43e1-a85b-8823858343c7.jpg.suppl(1).json", "own", nil},
	{"gpth-neo #123", "IMG_1976(1).JPG", "IMG_1976.JPG.supplemental-metadata(1).json", "own", []string{"IMG_1976(1).JPG.supplemental-metadata.json"}},
	{"gpth-neo #123", "IMG_1976(1).HEIC", "IMG_1976.HEIC(1).supplemental-metadata.json", "own", nil},
	{"gpth-neo #123", "FullSizeRender(1)(1).HEIC", "FullSizeRender(1)(1).HEIC.supplemental-metadata.json", "own", nil},
	{"gpth #188", "image(11).jpg", "image.jpg(11).json", "own", nil},
	{"ps", "PXL_20230815_182233456.NIGHT(1).jpg", sup("PXL_20230815_182233456.NIGHT.jpg", 1), "own", []string{sup("PXL_20230815_182233456.NIGHT.jpg", 0)}},
	{"ps", "IMG_20240101_000001(2).jpg", "IMG_20240101_000001(2).jpg.json", "own", nil},
	{"google-photos-exif fork", "2013-12-03(1).jpg", "2013-12-03.supplemental-metadata(1).json", "own", []string{"2013-12-03.jpg", "2013-12-03.supplemental-metadata.json"}},
	{"google-photos-exif fork", "2013-12-04(1).jpg", "2013-12-04.jpg.supplemental-metadat(1).json", "own", nil},
	{"google-photos-exif fork", "MP(1).jpg", "MP.jpg.supplemental-met(1).json", "own", []string{"MP.jpg", "MP.jpg.supplemental-met.json"}},
	{"google-photos-exif fork", "MP-COLLAGE(1).jpg", "MP-COLLAGE.jpg.suppleme(1).json", "own", []string{"MP.jpg", "MP.jpg.supplemental-metadata.json"}},
	// An original name that itself ends in a counter.
	{"gpth #8", "Urlaub in Knaufspesch in der Schneifel (38).JPG", "Urlaub in Knaufspesch in der Schneifel (38).JP.json", "own", []string{"Urlaub in Knaufspesch in der Schneifel (39).JPG", "Urlaub in Knaufspesch in der Schneifel (39).JP.json"}},
	{"gpth #8", "Urlaub in Knaufspesch in der Schneifel (41).JPG", "Urlaub in Knaufspesch in der Schneifel (41).JP.json", "own", nil},
	{"issue 14", "Holiday in the Eifel (38).JPG", sup("Holiday in the Eifel (38).JPG", 0), "own", nil},
	{"issue 14", "Holiday in the Eifel (38)(1).JPG", sup("Holiday in the Eifel (38).JPG", 1), "own", []string{"Holiday in the Eifel (38).JPG", sup("Holiday in the Eifel (38).JPG", 0)}},
	{"issue 14", "Familienfeier bei Oma und Opa im Garten (12).jpg", old("Familienfeier bei Oma und Opa im Garten (12).jpg", 0), "own", []string{"Familienfeier bei Oma und Opa im Garten (13).jpg", old("Familienfeier bei Oma und Opa im Garten (13).jpg", 0)}},
	{"issue 14", "Sommerurlaub 2019 Ostsee mit Kindern Tag (7).jpg", sup("Sommerurlaub 2019 Ostsee mit Kindern Tag (7).jpg", 0), "own", nil},
	{"gpth-neo #123", "image(1).jpg", "image(1).supplemental-metadata.json", "own", nil},
	// An upload without an extension; an extension differing in case.
	{"gpth json_extractor", "20030616.jpg", "20030616.json", "own", nil},
	{"issue 14", "IMG_1234.jpg", "IMG_1234.JPG.json", "own", nil},
	{"issue 14", "DSC01234.jpeg", "DSC01234.JPEG.supplemental-metadata.json", "own", nil},
	{"issue 14", "IMG_5678(1).HEIC", "IMG_5678.heic.supplemental-metadata(1).json", "own", []string{"IMG_5678.HEIC"}},
	// Edited copies share the original's sidecar.
	{"im matcher_test", "PXL_20220405_090123740.PORTRAIT-modifié.jpg", "PXL_20220405_090123740.PORTRAIT.jpg.json", "edited", []string{"PXL_20220405_090123740.PORTRAIT.jpg"}},
	{"im #698", "IMAG0061-edited.JPG", "IMAG0061.JPG.supplemental-metadata.json", "edited", []string{"IMAG0061.JPG"}},
	{"im #674", "IMG-20230325-WA0122~2-edited.jpg", "IMG-20230325-WA0122~2.jpg.supplemental-metadat.json", "edited", nil},
	{"im #674", "2234089303984509579-edited.jpg", "2234089303984509579.supplemental-metadata.json", "edited", nil},
	{"im #652", "Screenshot_20231027_123303_Facebook-edited.jpg", "Screenshot_20231027_123303_Facebook.jpg.supple.json", "edited", nil},
	{"ps", "Screenshot_20230708-101112_Some_Very_Long_App_Name-edited.jpg", old("Screenshot_20230708-101112_Some_Very_Long_App_Name.jpg", 0), "edited", nil},
	{"gpth extras de", "Urlaub_2019-bearbeitet.jpg", "Urlaub_2019.jpg.json", "edited", nil},
	{"gpth extras it", "IMG_20190812_101010-modificato.jpg", "IMG_20190812_101010.jpg.json", "edited", nil},
	{"gpth extras es", "IMG_20190812_101011-ha editado.jpg", "IMG_20190812_101011.jpg.supplemental-metadata.json", "edited", nil},
	{"gpth extras ca", "IMG_20190812_101012-editat.jpg", "IMG_20190812_101012.jpg.json", "edited", nil},
	{"gpth extras pl", "IMG_20190812_101013-edytowane.jpg", "IMG_20190812_101013.jpg.json", "edited", nil},
	{"gpth extras nl", "IMG_20190812_101014-bewerkt.jpg", "IMG_20190812_101014.jpg.json", "edited", nil},
	{"gpth extras pt", "IMG_20190812_101015-editado.jpg", "IMG_20190812_101015.jpg.json", "edited", nil},
	{"gpth extras ja", "IMG_20190812_101016-編集済み.jpg", "IMG_20190812_101016.jpg.json", "edited", nil},
	{"gpth-neo extras zh", "IMG_20190812_101017-编辑.jpg", "IMG_20190812_101017.jpg.json", "edited", nil},
	{"gpth extras zh", "IMG_20190812_101018-已编辑.jpg", "IMG_20190812_101018.jpg.json", "edited", nil},
	{"gpth extras ko", "IMG_20190812_101019-편집됨.jpg", "IMG_20190812_101019.jpg.json", "edited", nil},
	{"gpth extras ru", "IMG_20190812_101020-отредактировано.jpg", "IMG_20190812_101020.jpg.json", "edited", nil},
	{"gpth extras tr", "IMG_20190812_101021-düzenlendi.jpg", "IMG_20190812_101021.jpg.json", "edited", nil},
	{"im google-takeout.md fi", "IMG_20190812_101022-muokattu.jpg", "IMG_20190812_101022.jpg.json", "edited", nil},
	{"im google-takeout.md uk", "IMG_20190812_101023-відредаговано.jpg", "IMG_20190812_101023.jpg.json", "edited", nil},
	{"im google-takeout.md da", "IMG_20190812_101024-redigeret.jpg", "IMG_20190812_101024.jpg.json", "edited", nil},
	{"im google-takeout.md sk", "IMG_20190812_101025-upravené.jpg", "IMG_20190812_101025.jpg.json", "edited", nil},
	{"gpth extras en", "PXL_20230101_120000000-effects.jpg", "PXL_20230101_120000000.jpg.json", "edited", nil},
	// Edited copies whose name Takeout cut to 47 characters.
	{"gpth-neo #29", tt.CutMedia("123456789123456789123456789123456789_DSCN0091-ha editado", ".JPG"), "123456789123456789123456789123456789_DSCN0091.JPG.json", "edited", []string{"123456789123456789123456789123456789_DSCN0091.JPG"}},
	{"issue 14", tt.CutMedia("Vacaciones en la playa con la familia_001-ha editado", ".JPG"), "Vacaciones en la playa con la familia_001.JPG.supplemental-metadata.json", "edited", nil},
	{"issue 14", tt.CutMedia("Weihnachtsfeier bei Familie Schmidt 2019_04-bearbeitet", ".jpg"), "Weihnachtsfeier bei Familie Schmidt 2019_04.jpg.json", "edited", nil},
	{"issue 14", tt.CutMedia("Anniversaire de mamie au restaurant 2018_12-modifié", ".jpg"), sup("Anniversaire de mamie au restaurant 2018_12.jpg", 0), "edited", nil},
	{"issue 14", tt.CutMedia("Screenshot_20230102-101010_Some_Long_App_N-edited", ".png"), old("Screenshot_20230102-101010_Some_Long_App_N.png", 0), "edited", nil},
	// Edited copies keep their own counter.
	{"issue 14", "Excursió a Montserrat(1)-editat(1).jpg", "Excursió a Montserrat(1).jpg.supplemental-metadata(1).json", "edited", []string{"Excursió a Montserrat(1).jpg.supplemental-metadata.json", "Excursió a Montserrat(1).jpg"}},
	{"issue 14", "Excursió a Montserrat(1)-editat.jpg", "Excursió a Montserrat(1).jpg.supplemental-metadata.json", "edited", []string{"Excursió a Montserrat(1).jpg.supplemental-metadata(1).json"}},
	{"ps", "IMG_0002-edited(1).JPG", "IMG_0002.JPG(1).json", "edited", []string{"IMG_0002.JPG.json", "IMG_0002(1).JPG"}},
	{"gpth-neo #29", "DSCN0098-edited(2).JPG", "DSCN0098.JPG.supplemental-metadata(2).json", "edited", []string{"DSCN0098.JPG.supplemental-metadata.json"}},
	// Live and motion photos: the video part shares the photo's sidecar.
	{"gpth-neo #123", "IMG_1976.MP4", "IMG_1976.HEIC.supplemental-metadata.json", "live", nil},
	{"gpth-neo #123", "IMG_1976(1).MP4", "IMG_1976.HEIC.supplemental-metadata(1).json", "live", []string{"IMG_1976.HEIC.supplemental-metadata.json"}},
	{"pp #2133", "PXL_20230519_101651057.MP", "PXL_20230519_101651057.MP.jpg.json", "live", nil},
	{"ps", "IMG_0100.MOV", "IMG_0100.JPG.json", "live", []string{"IMG_0100.JPG"}},
	{"google-photos-exif fork", "IMG_4188.MP4", "IMG_4188.heic.supplemental-metadata.json", "live", []string{"IMG_4188.HEIC"}},
	{"google-photos-exif fork", "MVIMG_20191230_232926", "MVIMG_20191230_232926.jpg.json", "live", nil},
	// A "(n)" copy whose sidecar lost its index.
	{"immich #30319", "2025-04-28(3516).jpg", "2025-04-28.jpg.su.json", "unindexed", nil},
	{"im matcher_test", "original_1d4caa6f-16c6-4c3d-901b-9387de10e528_P(1).jpg", "original_1d4caa6f-16c6-4c3d-901b-9387de10e528_.json", "unindexed", nil},
}

// corpusNegative are names that must not take a sidecar that is not theirs.
var corpusNegative = []matchCase{
	{"im matcher_test", "PXL_20211013_220651958.jpg", "", "", []string{"PXL_20211013_220651983.jpg.json"}},
	{"im matcher_test", "PXL_20220405_090123741.PORTRAIT-modifié.jpg", "", "", []string{"PXL_20220405_090123740.PORTRAIT.jpg.json"}},
	{"im matcher_test", "DSC_0102(1).JPG", "", "", []string{"DSC_0102.JPG(2).json"}},
	{"im matcher_test", "DSC_0103.JPG", "", "", []string{"DSC_0103.JPG(1).json"}},
	{"im matcher_test", "DSC_0104(1).JPG", "", "", []string{"DSC_0104.JPG.json", "DSC_0104.JPG"}},
	{"im matcher_test", "Backyard_ceremony_wedding_photography_xxxxxxx_m(185).jpg", "", "", []string{"Backyard_ceremony_wedding_photography_xxxxxxx_(494).json"}},
	// immich-go's "forgotten duplicates" would give this file the
	// original's sidecar; GPTH does not, and neither does ps.
	{"im matcher_test", "original_1d4caa6f-16c6-4c3d-901b-9387de10e528_P(1).jpg", "", "", []string{"original_1d4caa6f-16c6-4c3d-901b-9387de10e528_.json", "original_1d4caa6f-16c6-4c3d-901b-9387de10e528_P.jpg"}},
	{"gpth-neo #123", "IMG_1976.MP4", "IMG_1976.MP4.supplemental-metadata.json", "own", []string{"IMG_1976(1).HEIC.supplemental-metadata.json"}},
	{"gpth-neo #123", "IMG_1976.MP4", "", "", []string{"IMG_1976(1).HEIC.supplemental-metadata.json"}},
	{"ps", "IMG_0001(1).JPG", "", "", []string{"IMG_0001.JPG.json", "IMG_0001.JPG"}},
	{"ps", "IMG_0003-edited.JPG", "", "", []string{"IMG_0002.JPG.json", "IMG_0002.JPG"}},
	{"ps", "IMG_1234.jpg", "", "", []string{"IMG_12345.jpg.json"}},
	{"ps", "Scan35(2).jpg", "", "", []string{"Scan35.jpg.supplemental-metadata(1).json", "Scan35.jpg.supplemental-metadata.json", "Scan35.jpg"}},
	// A long name's "(1)" copy whose sidecar is missing must not take the
	// original's cut sidecar, read as if "(1)" were part of the name.
	{"issue 14", "Screenshot_20230708-101112_Some_Very_Long_App_Name(1).jpg", "", "", []string{old("Screenshot_20230708-101112_Some_Very_Long_App_Name.jpg", 0), "Screenshot_20230708-101112_Some_Very_Long_App_Name.jpg"}},
	{"gpth #8", "Urlaub in Knaufspesch in der Schneifel (39).JPG", "", "", []string{"Urlaub in Knaufspesch in der Schneifel (38).JP.json", "Urlaub in Knaufspesch in der Schneifel (38).JPG"}},
	{"issue 14", "Holiday in the Eifel (38)(1).JPG", "", "", []string{sup("Holiday in the Eifel (38).JPG", 0), "Holiday in the Eifel (38).JPG"}},
	// A short name ending in what looks like a cut edited suffix was not cut.
	{"issue 14", "Bob-ed.jpg", "", "", []string{"Bob.jpg.json"}},
	{"issue 14", tt.CutMedia("Vacaciones en la playa con la familia_001-xyzzy", ".JPG"), "", "", []string{"Vacaciones en la playa con la familia_001.JPG.json"}},
	// Edited copies of another duplicate keep to their own counter.
	{"issue 14", "Excursió a Montserrat(1)-editat(2).jpg", "", "", []string{"Excursió a Montserrat(1).jpg.supplemental-metadata(1).json", "Excursió a Montserrat(1).jpg.supplemental-metadata.json", "Excursió a Montserrat(1).jpg"}},
}

// corpusDir is the folder every case's files are in.
const corpusDir = "Photos from 2023"

// folder indexes a case's folder: its JSONs as sidecars, its other files
// as media (for the rules that ask whether a name is taken).
func (c matchCase) folder() (*index, uint32) {
	x := newIndex()
	files := append([]string{c.media}, c.also...)
	if c.json != "" {
		files = append(files, c.json)
	}
	for _, f := range files {
		if n, isJSON := parseSidecarName(f); isJSON {
			x.addSidecar(corpusDir, n, &sidecar{json: f})
			continue
		}
		x.addContent(sha256.Sum256([]byte(f)), 1, 0, "photo", corpusDir, "Takeout/Google Photos/"+corpusDir+"/", occurrence{name: nfc(f), base: f})
	}
	return x, x.dirIDs[corpusDir]
}

// runCorpus matches each case in a folder of its own and returns how many
// found the sidecar (and rule) they must.
func runCorpus(t *testing.T, cases []matchCase) int {
	t.Helper()
	ok := 0
	for _, c := range cases {
		x, dir := c.folder()
		sc, rule := x.match(dir, nfc(c.media))
		got := ""
		if sc != nil {
			got = sc.json
		}
		if got != c.json || rule != c.rule {
			t.Errorf("%s: %q found %q (%s), want %q (%s); folder %q", c.from, c.media, got, rule, c.json, c.rule, c.also)
			continue
		}
		ok++
	}
	return ok
}

// TestSidecarCorpus matches names collected from real exports. It reports
// the match rate: the positive cases that find their sidecar by the right
// rule, and the negative ones that find none (or only their own).
func TestSidecarCorpus(t *testing.T) {
	if n := len(corpusPositive) + len(corpusNegative); n < 100 {
		t.Fatalf("corpus has %d cases", n)
	}
	pos := runCorpus(t, corpusPositive)
	neg := runCorpus(t, corpusNegative)
	t.Logf("matched %d/%d (%.0f %%), negatives kept %d/%d", pos, len(corpusPositive),
		100*float64(pos)/float64(len(corpusPositive)), neg, len(corpusNegative))
}

// BenchmarkMatch matches every name of the corpus: the cost of the rules
// per media file, apart from reading the archives.
func BenchmarkMatch(b *testing.B) {
	type prepared struct {
		x    *index
		dir  uint32
		name string
	}
	var all []prepared
	for _, c := range append(append([]matchCase{}, corpusPositive...), corpusNegative...) {
		x, dir := c.folder()
		all = append(all, prepared{x, dir, nfc(c.media)})
	}
	b.ResetTimer()
	for range b.N {
		for _, p := range all {
			p.x.match(p.dir, p.name)
		}
	}
	b.ReportMetric(float64(b.N*len(all))/b.Elapsed().Seconds(), "names/s")
}

// editedSuffixLen looks only after a name's last dash: a suffix with a
// dash inside could never match.
func TestEditedSuffixesHaveOneDash(t *testing.T) {
	for _, suf := range editedSuffixes {
		if strings.LastIndexByte(suf, '-') != 0 || len(suf) < 3 {
			t.Errorf("edited suffix %q must start with its only dash", suf)
		}
		if nfc(suf) != suf {
			t.Errorf("edited suffix %q is not NFC", suf)
		}
	}
}

// FuzzMatch: any pair of names matches without a panic, and a match is the
// folder's one sidecar under a known rule.
func FuzzMatch(f *testing.F) {
	for _, c := range corpusPositive {
		f.Add(c.media, c.json)
	}
	f.Fuzz(func(t *testing.T, media, json string) {
		if _, ok := parseSidecarName(media); ok || media == "" {
			return
		}
		if _, ok := parseSidecarName(json); !ok {
			return
		}
		x, dir := matchCase{media: media, json: json}.folder()
		sc, rule := x.match(dir, nfc(media))
		switch {
		case sc == nil && rule != "":
			t.Errorf("%q: rule %q without a sidecar", media, rule)
		case sc != nil && (sc.json != json || rule == ""):
			t.Errorf("%q: found %q by %q", media, sc.json, rule)
		}
	})
}
