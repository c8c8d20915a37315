package tests

// ps-xmp end to end: real CR3 files (the fixture, EXIF rewritten with
// exiftool), small JPEGs carrying Camera Raw settings written with
// exiftool, and sidecars read back with exiftool.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/jpeg"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/ps-photos/ps/internal/cli"
	xmpcli "github.com/ps-photos/ps/internal/cli/xmp"
	"github.com/ps-photos/ps/internal/testenv"
)

func init() {
	// mkjpg FILE...: write small grey JPEGs (exiftool cannot create one).
	commands["mkjpg"] = func(ts *testscript.TestScript, neg bool, args []string) {
		for _, a := range args {
			ts.Check(writeJPEG(ts.MkAbs(a)))
		}
	}
	// need-exiftool: fail under CI=true when exiftool is missing; scripts
	// follow it with "[!exec:exiftool] skip" for local runs.
	commands["need-exiftool"] = func(ts *testscript.TestScript, neg bool, args []string) {
		if _, err := exec.LookPath("exiftool"); err != nil && testenv.InCI() {
			ts.Fatalf("CI=true forbids skipping: exiftool is not installed (apt-get install libimage-exiftool-perl)")
		}
	}
}

func writeJPEG(path string) error {
	img := image.NewGray(image.Rect(0, 0, 16, 16))
	for i := range img.Pix {
		img.Pix[i] = 128
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		return err
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}

// shoot is one frame of the test shoot.
type shoot struct {
	name           string
	iso            float64
	time, fnum, fl float64
	flash          bool
	taken          string // DateTimeOriginal; SubSecTimeOriginal is "50"
	// JPG made from it (matched RAWs only)
	exp, temp, tint float64
	attrs, elems    string // more XMP: crop attributes, mask elements
}

const styleXMP = ` crs:Version="15.4" crs:ProcessVersion="11.0" crs:Clarity2012="+10" crs:Vibrance="+12"
 crs:CameraProfile="Adobe Standard" crs:HasSettings="True" crs:AlreadyApplied="True" crs:WhiteBalance="Custom"`

const styleElems = `<crs:ToneCurvePV2012><rdf:Seq><rdf:li>0, 0</rdf:li><rdf:li>64, 56</rdf:li><rdf:li>255, 255</rdf:li></rdf:Seq></crs:ToneCurvePV2012>
<crs:Look><rdf:Description crs:Name="Adobe Color" crs:Amount="1" crs:UUID="B952C231111CD8E0ECCF14B86BAA7077">
<crs:Group><rdf:Alt><rdf:li xml:lang="x-default">Profiles</rdf:li></rdf:Alt></crs:Group></rdf:Description></crs:Look>`

var matchedShots = []shoot{
	{name: "M1", iso: 100, time: 0.01, fnum: 4, fl: 50, taken: "10:00:01", exp: 0.5, temp: 5000, tint: 5},
	{name: "M2", iso: 400, time: 0.01, fnum: 4, fl: 50, taken: "10:00:02", exp: -0.3, temp: 5600, tint: 10,
		attrs: ` crs:HasCrop="True" crs:CropTop="0.1" crs:CropLeft="0.05" crs:CropBottom="0.9" crs:CropRight="0.95"`},
	{name: "M3", iso: 1600, time: 0.02, fnum: 2.8, fl: 35, taken: "10:00:03", exp: 1.2, temp: 3200, tint: -4,
		elems: `<crs:MaskGroupBasedCorrections><rdf:Seq><rdf:li><rdf:Description crs:What="Correction" crs:LocalExposure2012="0.4">
<crs:CorrectionMasks><rdf:Seq><rdf:li><rdf:Description crs:What="Mask/CircularGradient" crs:Top="0.2"/></rdf:li></rdf:Seq></crs:CorrectionMasks>
</rdf:Description></rdf:li></rdf:Seq></crs:MaskGroupBasedCorrections>`},
	{name: "M4", iso: 100, time: 0.005, fnum: 8, fl: 24, flash: true, taken: "10:00:04", exp: 0.1, temp: 5500, tint: 0},
	{name: "M5", iso: 800, time: 1.0 / 30, fnum: 2, fl: 85, taken: "10:00:05", exp: 0.8, temp: 4200, tint: 2},
	{name: "M6", iso: 6400, time: 1.0 / 15, fnum: 1.8, fl: 135, flash: true, taken: "10:00:06", exp: -1, temp: 7000, tint: 20},
}

var unmatchedShots = []shoot{
	{name: "U1", iso: 200, time: 0.01, fnum: 4, fl: 50, taken: "11:00:01"},
	{name: "U2", iso: 3200, time: 1.0 / 30, fnum: 2, fl: 85, flash: true, taken: "11:00:02"},
}

// makeShoot writes the RAWs and JPGs with one exiftool process.
func makeShoot(t *testing.T, exiftool, dir string) (rawDir, jpgDir string) {
	t.Helper()
	data, err := os.ReadFile(testenv.Fixture(t, "CanonRaw.cr3"))
	if err != nil {
		t.Fatal(err)
	}
	rawDir, jpgDir = filepath.Join(dir, "raw"), filepath.Join(dir, "jpg")
	for _, d := range []string{rawDir, jpgDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	var args []string
	for _, s := range append(append([]shoot(nil), matchedShots...), unmatchedShots...) {
		raw := filepath.Join(rawDir, s.name+".CR3")
		if err := os.WriteFile(raw, data, 0o644); err != nil {
			t.Fatal(err)
		}
		flash := "0"
		if s.flash {
			flash = "1"
		}
		args = append(args, "-overwrite_original", "-DateTimeOriginal=2024:07:01 "+s.taken, "-SubSecTimeOriginal=50",
			fmt.Sprintf("-ISO=%g", s.iso), fmt.Sprintf("-ExposureTime=%g", s.time), fmt.Sprintf("-FNumber=%g", s.fnum),
			fmt.Sprintf("-FocalLength=%g", s.fl), "-Flash#="+flash, raw, "-execute")
	}
	for _, s := range matchedShots {
		jpg := filepath.Join(jpgDir, "export-"+s.name+".jpg")
		if err := writeJPEG(jpg); err != nil {
			t.Fatal(err)
		}
		packet := fmt.Sprintf(`<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about="" xmlns:crs="http://ns.adobe.com/camera-raw-settings/1.0/"%s
 crs:Exposure2012="%+.2f" crs:Temperature="%g" crs:Tint="%+g" crs:RawFileName="%s.CR3"%s>
%s%s
</rdf:Description></rdf:RDF></x:xmpmeta>`, styleXMP, s.exp, s.temp, s.tint, s.name, s.attrs, styleElems, s.elems)
		xmpFile := filepath.Join(dir, s.name+".xmp")
		if err := os.WriteFile(xmpFile, []byte(packet), 0o644); err != nil {
			t.Fatal(err)
		}
		args = append(args, "-overwrite_original", "-xmp<="+xmpFile, "-DateTimeOriginal=2024:07:01 "+s.taken,
			"-SubSecTimeOriginal=50", "-SerialNumber=613040000565", jpg, "-execute")
	}
	argFile := filepath.Join(dir, "args.txt")
	if err := os.WriteFile(argFile, []byte(strings.Join(args, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(exiftool, "-q", "-@", argFile).CombinedOutput(); err != nil {
		t.Fatalf("exiftool: %v\n%s", err, out)
	}
	return rawDir, jpgDir
}

// readSidecars reads sidecars back with exiftool (-struct keeps structures).
func readSidecars(t *testing.T, exiftool string, paths []string) map[string]map[string]any {
	t.Helper()
	return testenv.ExiftoolJSON(t, exiftool, append([]string{"-struct", "-n", "-XMP-crs:all"}, paths...)...)
}

func runXMP(t *testing.T, args ...string) string {
	t.Helper()
	var out, errb bytes.Buffer
	code := xmpcli.Main(args, cli.Stdio{In: strings.NewReader(""), Out: &out, Err: &errb})
	if code != 0 {
		t.Fatalf("ps-xmp %v: exit %d\n%s", args, code, errb.String())
	}
	return out.String()
}

func num(t *testing.T, v any) float64 {
	t.Helper()
	switch x := v.(type) {
	case float64:
		return x
	case string:
		f, err := strconv.ParseFloat(x, 64)
		if err == nil {
			return f
		}
	}
	t.Fatalf("not a number: %#v", v)
	return 0
}

// expectNearest computes, independently of ps-xmp, the documented estimate
// for an unmatched shot: the 5 matched shots nearest in stops (ISO, time,
// aperture, focal length doublings, 2 for flash), weights 1/(d+0.25), a
// weighted mean (Temperature in mireds).
func expectNearest(u shoot) (exp, temp, tint float64) {
	stops := func(s shoot) []float64 {
		f := 0.0
		if s.flash {
			f = 2
		}
		return []float64{math.Log2(s.iso), math.Log2(s.time), 2 * math.Log2(s.fnum), math.Log2(s.fl), f}
	}
	type nb struct {
		s shoot
		d float64
	}
	var nbs []nb
	for _, m := range matchedShots {
		a, b := stops(u), stops(m)
		sum := 0.0
		for i := range a {
			sum += (a[i] - b[i]) * (a[i] - b[i])
		}
		nbs = append(nbs, nb{m, math.Sqrt(sum)})
	}
	sort.SliceStable(nbs, func(i, j int) bool { return nbs[i].d < nbs[j].d })
	var w, we, wt, wn float64
	for _, n := range nbs[:5] {
		k := 1 / (n.d + 0.25)
		w += k
		we += k * n.s.exp
		wt += k * 1e6 / n.s.temp
		wn += k * n.s.tint
	}
	return we / w, 1e6 / (wt / w), wn / w
}

func TestXMPSidecarsReadBackMatchIntent(t *testing.T) {
	exiftool := testenv.LookTool(t, "libimage-exiftool-perl", "exiftool")
	rawDir, jpgDir := makeShoot(t, exiftool, t.TempDir())

	out := runXMP(t, "-q", "--raw-dir", rawDir, "--jpg-dir", jpgDir, "--calibrate")
	if n := strings.Count(out, `"xmp":`); n != len(matchedShots)+len(unmatchedShots) {
		t.Fatalf("%d records with an xmp field:\n%s", n, out)
	}
	var paths []string
	for _, s := range append(append([]shoot(nil), matchedShots...), unmatchedShots...) {
		p := filepath.Join(rawDir, s.name+".xmp")
		paths = append(paths, p)
		text, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(text, []byte("ColorTemperature")) || !bytes.Contains(text, []byte(`crs:Temperature="`)) {
			t.Errorf("%s: Temperature not written as crs:Temperature", p)
		}
	}
	got := readSidecars(t, exiftool, paths)
	checkStyle := func(name string, m map[string]any) {
		if m["Clarity2012"] != "+10" || m["Vibrance"] != "+12" || m["CameraProfile"] != "Adobe Standard" || m["ProcessVersion"] != 11.0 {
			t.Errorf("%s: style lost: %v", name, m)
		}
		if curve, _ := json.Marshal(m["ToneCurvePV2012"]); string(curve) != `["0, 0","64, 56","255, 255"]` {
			t.Errorf("%s: tone curve %s", name, curve)
		}
		look, _ := m["Look"].(map[string]any)
		if look["Name"] != "Adobe Color" || look["Group"] != "Profiles" {
			t.Errorf("%s: Look %v", name, m["Look"])
		}
		for _, never := range []string{"AlreadyApplied", "RawFileName"} {
			if _, ok := m[never]; ok {
				t.Errorf("%s: %s must not be copied", name, never)
			}
		}
	}
	for _, s := range matchedShots {
		m := got[s.name+".xmp"]
		checkStyle(s.name, m)
		if num(t, m["Exposure2012"]) != s.exp || num(t, m["ColorTemperature"]) != s.temp || num(t, m["Tint"]) != s.tint {
			t.Errorf("%s: per-image settings %v %v %v, want its JPG's %g %g %g",
				s.name, m["Exposure2012"], m["ColorTemperature"], m["Tint"], s.exp, s.temp, s.tint)
		}
	}
	if got["M2.xmp"]["CropTop"] != 0.1 || got["M2.xmp"]["HasCrop"] != true {
		t.Errorf("M2 lost its crop: %v", got["M2.xmp"])
	}
	masks, _ := json.Marshal(got["M3.xmp"]["MaskGroupBasedCorrections"])
	if !strings.Contains(string(masks), `"LocalExposure2012":0.4`) || !strings.Contains(string(masks), `"What":"Mask/CircularGradient"`) {
		t.Errorf("M3 lost its local correction: %s", masks)
	}
	for _, u := range unmatchedShots {
		m := got[u.name+".xmp"]
		checkStyle(u.name, m)
		exp, temp, tint := expectNearest(u)
		if math.Abs(num(t, m["Exposure2012"])-exp) > 0.006 || math.Abs(num(t, m["ColorTemperature"])-temp) > 1 ||
			math.Abs(num(t, m["Tint"])-tint) > 0.51 {
			t.Errorf("%s: estimated %v %v %v, want %.3f %.1f %.2f", u.name, m["Exposure2012"], m["ColorTemperature"], m["Tint"], exp, temp, tint)
		}
		for _, bound := range []string{"CropTop", "HasCrop", "MaskGroupBasedCorrections"} {
			if _, ok := m[bound]; ok {
				t.Errorf("%s: %s belongs to another frame", u.name, bound)
			}
		}
	}

	// Style only (no calibration), darktable names beside the others.
	runXMP(t, "-q", "--raw-dir", rawDir, "--jpg-dir", jpgDir, "--sidecar-name", "ext")
	paths = paths[:0]
	for _, s := range append(append([]shoot(nil), matchedShots...), unmatchedShots...) {
		paths = append(paths, filepath.Join(rawDir, s.name+".CR3.xmp"))
	}
	got = readSidecars(t, exiftool, paths)
	for name, m := range got {
		checkStyle(name, m)
		for _, per := range []string{"Exposure2012", "ColorTemperature", "Tint", "WhiteBalance", "CropTop", "MaskGroupBasedCorrections"} {
			if _, ok := m[per]; ok && per != "WhiteBalance" {
				t.Errorf("%s: style-only sidecar has per-image %s", name, per)
			}
		}
	}
	if len(got) != len(paths) {
		t.Errorf("read %d style sidecars, want %d", len(got), len(paths))
	}
}
