package xmp

import (
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// exiftoolOutput is what exiftool -j -struct -G1 -n prints for a JPG,
// decoded the way go-exiftool decodes it.
func exiftoolOutput() map[string]any {
	return map[string]any{
		"SourceFile":               "a.jpg",
		"ExifIFD:ISO":              100.0,
		"XMP-crs:ColorTemperature": 5450.0,
		"XMP-crs:Version":          15.0,
		"XMP-crs:Exposure2012":     "+0.50",
		"XMP-crs:HasCrop":          true,
		"XMP-crs:RangeMask":        map[string]any{"RangeMaskMapInfo": map[string]any{"RgbMin": "0"}},
		"XMP-crs:Look": map[string]any{
			"Name": "Adobe Color", "Amount": 1.0,
			"Group": "Profiles", "Group-de-DE": "Profile",
			"Parameters": map[string]any{"ProcessVersion": 11.0, "ToneCurvePV2012": []any{"0, 0", "255, 255"}},
		},
		"XMP-crs:CircGradBasedCorrActive": true,
		"XMP:NewStruct":                   map[string]any{"A": 1.0},
		"XMP:Unrelated":                   "x",
	}
}

func TestSettingsFromExifToolUsesPropertyIDs(t *testing.T) {
	s, dropped := settingsFromExifTool(exiftoolOutput())
	want := []string{"Exposure2012", "HasCrop", "Look", "RangeMaskMapInfo", "Temperature", "Version"}
	if got := s.Names(); !reflect.DeepEqual(got, want) {
		t.Fatalf("names = %v, want %v", got, want)
	}
	if !reflect.DeepEqual(dropped, []string{"CircGradBasedCorrActive", "NewStruct"}) {
		t.Errorf("dropped = %v", dropped)
	}
	checks := map[string]string{"Temperature": "5450", "Version": "15.0", "Exposure2012": "+0.50", "HasCrop": "True"}
	for name, want := range checks {
		if got := s[name]; got.Kind != Text || got.Text != want {
			t.Errorf("%s = %+v, want %q", name, got, want)
		}
	}
	look := s["Look"]
	if look.Kind != Struct || len(look.Fields) != 4 {
		t.Fatalf("Look = %+v", look)
	}
	group := look.Fields[1]
	if group.Name != "Group" || group.Value.Kind != LangAlt ||
		!reflect.DeepEqual(group.Value.Langs, []Lang{{"x-default", "Profiles"}, {"de-DE", "Profile"}}) {
		t.Errorf("Look/Group = %+v", group)
	}
	params := look.Fields[3].Value
	if params.Fields[0].Value.Text != "11.0" || params.Fields[1].Value.Kind != Seq || len(params.Fields[1].Value.Items) != 2 {
		t.Errorf("Look/Parameters = %+v", params)
	}
}

func TestValueEqualTolerance(t *testing.T) {
	cases := []struct {
		a, b string
		tol  float64
		want bool
	}{
		{"+0.50", "0.5", 0, true},
		{"10", "10.005", 0.01, true},
		{"10", "10.5", 0.01, false},
		{"True", "true", 0, true},
		{"Adobe Color", "adobe color", 0, false},
	}
	for _, c := range cases {
		if got := TextValue(c.a).Equal(TextValue(c.b), c.tol); got != c.want {
			t.Errorf("%q = %q (tol %g): %v, want %v", c.a, c.b, c.tol, got, c.want)
		}
	}
}

func sampleSettings() Settings {
	return Settings{
		"Temperature":     TextValue("5450"),
		"Exposure2012":    TextValue("+0.50"),
		"LookName":        TextValue(`Tom & "Jerry" <v2>` + "\tx"),
		"ToneCurvePV2012": {Kind: Seq, Items: []Value{TextValue("0, 0"), TextValue("128, 140"), TextValue("255, 255")}},
		"Look": {Kind: Struct, Fields: []Field{
			{"Amount", TextValue("0.8")},
			{"Group", Value{Kind: LangAlt, Langs: []Lang{{"x-default", "Profiles & more"}}}},
			{"Name", TextValue("Adobe Vivid")},
			{"Parameters", Value{Kind: Struct, Fields: []Field{
				{"ProcessVersion", TextValue("11.0")},
				{"ToneCurvePV2012", Value{Kind: Seq, Items: []Value{TextValue("0, 0"), TextValue("255, 255")}}},
			}}},
		}},
		"MaskGroupBasedCorrections": {Kind: Seq, Items: []Value{{Kind: Struct, Fields: []Field{
			{"CorrectionMasks", Value{Kind: Seq, Items: []Value{{Kind: Struct, Fields: []Field{
				{"Top", TextValue("0.1")}, {"What", TextValue("Mask/CircularGradient")},
			}}}}},
			{"LocalExposure2012", TextValue("0.25")},
			{"What", TextValue("Correction")},
		}}}},
	}
}

func TestMarshalIsWellFormedXMP(t *testing.T) {
	out := Marshal(sampleSettings())
	text := string(out)
	for _, want := range []string{
		`<x:xmpmeta xmlns:x="adobe:ns:meta/"`, `<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">`,
		`xmlns:crs="http://ns.adobe.com/camera-raw-settings/1.0/"`, `crs:Temperature="5450"`,
		`crs:LookName="Tom &amp; &quot;Jerry&quot; &lt;v2&gt;&#x9;x"`, "<rdf:Seq>", `<rdf:li xml:lang="x-default">Profiles &amp; more</rdf:li>`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("sidecar lacks %s:\n%s", want, text)
		}
	}
	if strings.Contains(text, "ColorTemperature") {
		t.Error("sidecar uses the ExifTool tag name ColorTemperature")
	}
	// A real XML parser must accept it and give the values back.
	dec := xml.NewDecoder(strings.NewReader(text))
	found := false
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v\n%s", err, text)
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "Description" {
			for _, a := range se.Attr {
				if a.Name.Space == Namespace && a.Name.Local == "LookName" {
					found = a.Value == `Tom & "Jerry" <v2>`+"\tx"
				}
			}
		}
	}
	if !found {
		t.Error("LookName did not survive escaping")
	}
}

func TestSidecarPath(t *testing.T) {
	if got := SidecarPath("/a/IMG_0001.CR3", NameLightroom); got != "/a/IMG_0001.xmp" {
		t.Errorf("lightroom: %s", got)
	}
	if got := SidecarPath("/a/IMG_0001.CR3", NameExt); got != "/a/IMG_0001.CR3.xmp" {
		t.Errorf("ext: %s", got)
	}
}

func TestWriteSidecarAtomicAndSkipExisting(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "IMG_0001.xmp")
	if err := WriteSidecar(p, []byte("one"), false); err != nil {
		t.Fatal(err)
	}
	if err := WriteSidecar(p, []byte("two"), true); !errors.Is(err, ErrExists) {
		t.Fatalf("skip-existing: err = %v", err)
	}
	if b, _ := os.ReadFile(p); string(b) != "one" {
		t.Errorf("skip-existing overwrote: %q", b)
	}
	if err := WriteSidecar(p, []byte("three"), false); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); string(b) != "three" {
		t.Errorf("overwrite: %q", b)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temporary files left: %v", entries)
	}
	if err := WriteSidecar(filepath.Join(dir, "missing", "x.xmp"), nil, false); err == nil {
		t.Error("writing into a missing folder succeeded")
	}
}
