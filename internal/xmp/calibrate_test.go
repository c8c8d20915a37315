package xmp

import (
	"math"
	"testing"
	"time"
)

var t0 = time.Date(2024, 7, 1, 10, 0, 0, 0, time.UTC)

func at(sec float64) time.Time { return t0.Add(time.Duration(sec * float64(time.Second))) }

func TestAnalyzeClassifies(t *testing.T) {
	edits := []Edit{
		{Settings: Settings{"Clarity2012": TextValue("+10"), "Vibrance": TextValue("5"), "Texture": TextValue("3"),
			"Exposure2012": TextValue("0.5"), "Dehaze": TextValue("1"), "AlreadyApplied": TextValue("True")}},
		{Settings: Settings{"Clarity2012": TextValue("10.004"), "Vibrance": TextValue("9"), "Texture": TextValue("3"),
			"Exposure2012": TextValue("0.5"), "AlreadyApplied": TextValue("True")}},
	}
	a := Analyze(edits, 0.01)
	want := map[string]string{
		"Clarity2012": "style/constant", "Texture": "style/constant", "Vibrance": "per-image/varies",
		"Exposure2012": "per-image/known per-image", "Dehaze": "per-image/missing in some JPGs",
	}
	if len(a.Settings) != len(want) {
		t.Fatalf("settings = %+v", a.Settings)
	}
	for _, s := range a.Settings {
		if got := string(s.Class) + "/" + s.Why; got != want[s.Name] {
			t.Errorf("%s: %s, want %s", s.Name, got, want[s.Name])
		}
	}
	if _, ok := a.Style["Clarity2012"]; !ok || len(a.Style) != 2 {
		t.Errorf("style = %v", a.Style)
	}
}

func TestMatchEdits(t *testing.T) {
	shots := []Shot{
		{Path: "r/IMG_1.CR3", Taken: at(1.10), SubSec: true, Serial: "111"},
		{Path: "r/IMG_2.CR3", Taken: at(1.20), SubSec: true, Serial: "111"},
		{Path: "r/IMG_3.CR3", Taken: at(5), Serial: "222"},
		{Path: "r/IMG_4.CR3", Taken: at(9)},
		{Path: "r/IMG_5.CR3"},
	}
	edits := []Edit{
		{Shot: Shot{Path: "j/x.jpg", Taken: at(1.20), SubSec: true, Serial: "111"}},        // IMG_2, not IMG_1
		{Shot: Shot{Path: "j/y.jpg", Taken: at(5.5), SubSec: true, Serial: "0222"}},        // IMG_3 at second precision
		{Shot: Shot{Path: "j/z.jpg", Taken: at(1.10), SubSec: true, Serial: "999"}},        // other camera: no match
		{Shot: Shot{Path: "j/IMG_4.jpg", Taken: at(11)}},                                   // 2 s off: only with tolerance
		{Shot: Shot{Path: "j/w.jpg"}},                                                      // no time
		{Shot: Shot{Path: "j/v.jpg", Taken: at(1.10), SubSec: true}, Settings: Settings{}}, // IMG_1
	}
	ms := matchEdits(edits, shots, 0)
	got := map[int]int{}
	for _, m := range ms {
		got[m.JPG] = m.RAW
	}
	want := map[int]int{0: 1, 1: 2, 5: 0}
	if len(got) != len(want) {
		t.Fatalf("matches = %+v", ms)
	}
	for j, r := range want {
		if got[j] != r {
			t.Errorf("JPG %d matched RAW %d, want %d", j, got[j], r)
		}
	}
	ms = matchEdits(edits, shots, 2*time.Second)
	found := false
	for _, m := range ms {
		if m.JPG == 3 && m.RAW == 3 && m.Delta == 2*time.Second {
			found = true
		}
	}
	if !found {
		t.Errorf("with 2s tolerance IMG_4.jpg should match IMG_4.CR3: %+v", ms)
	}
}

func TestMatchPrefersRawFileName(t *testing.T) {
	shots := []Shot{{Path: "IMG_1.CR3", Taken: at(3)}, {Path: "IMG_2.CR3", Taken: at(3)}}
	edits := []Edit{{Shot: Shot{Path: "export-7.jpg", Taken: at(3)}, Settings: Settings{"RawFileName": TextValue("IMG_2.CR3")}}}
	ms := matchEdits(edits, shots, 0)
	if len(ms) != 1 || ms[0].RAW != 1 {
		t.Errorf("matches = %+v, want IMG_2.CR3", ms)
	}
}

func TestDistanceInStops(t *testing.T) {
	a := Shot{ISO: 100, ExposureTime: 1.0 / 100, FNumber: 4, FocalLength: 50, Flash: 0}
	b := a
	b.ISO = 200
	if d := Distance(a, b); math.Abs(d-1) > 1e-9 {
		t.Errorf("one stop of ISO: %g", d)
	}
	b = a
	b.FNumber = 5.6568542
	if d := Distance(a, b); math.Abs(d-1) > 1e-6 {
		t.Errorf("one stop of aperture: %g", d)
	}
	b = a
	b.Flash = 1
	if d := Distance(a, b); math.Abs(d-flashStops) > 1e-9 {
		t.Errorf("flash: %g", d)
	}
	// Only ISO known on one side: scaled up to five features.
	c := Shot{ISO: 200, Flash: -1}
	if d := Distance(a, c); math.Abs(d-math.Sqrt(5)) > 1e-9 {
		t.Errorf("partial data: %g", d)
	}
}

func TestCalibrateEstimatesFromNearest(t *testing.T) {
	base := Settings{"Clarity2012": TextValue("+10")}
	mk := func(exp, temp string, wb string) Settings {
		s := Settings{"Exposure2012": TextValue(exp), "Temperature": TextValue(temp), "Tint": TextValue("+5"),
			"WhiteBalance": TextValue(wb), "CropTop": TextValue("0.1"), "AlreadyApplied": TextValue("True")}
		for k, v := range base {
			s[k] = v
		}
		return s
	}
	shots := []Shot{
		{Path: "m1", Taken: at(1), ISO: 100, ExposureTime: 0.01, FNumber: 4, FocalLength: 50, Flash: 0},
		{Path: "m2", Taken: at(2), ISO: 400, ExposureTime: 0.01, FNumber: 4, FocalLength: 50, Flash: 0},
		{Path: "u", Taken: at(3), ISO: 100, ExposureTime: 0.01, FNumber: 4, FocalLength: 50, Flash: 0},
	}
	edits := []Edit{
		{Shot: Shot{Taken: at(1)}, Settings: mk("+0.50", "5000", "Custom")},
		{Shot: Shot{Taken: at(2)}, Settings: mk("-0.50", "6000", "Custom")},
	}
	a := Analyze(edits, 0.01)
	p := Calibrate(a, edits, shots, CalibrateOptions{K: 5, Tol: 0.01})
	if p.From[0] != FromMatch || p.From[1] != FromMatch || p.From[2] != FromNearest {
		t.Fatalf("from = %v", p.From)
	}
	if _, ok := p.Settings[0]["AlreadyApplied"]; ok {
		t.Error("AlreadyApplied reached a sidecar")
	}
	if p.Settings[0]["CropTop"].Text != "0.1" {
		t.Error("matched RAW lost its crop")
	}
	u := p.Settings[2]
	if _, ok := u["CropTop"]; ok {
		t.Error("a crop was estimated for an unmatched RAW")
	}
	// Weights 1/(0+0.25) = 4 and 1/(2+0.25) = 4/9.
	w1, w2 := 4.0, 4.0/9
	exp := (0.5*w1 - 0.5*w2) / (w1 + w2)
	mired := (1e6/5000*w1 + 1e6/6000*w2) / (w1 + w2)
	if got, want := u["Exposure2012"].Text, "+"+trim2(exp); got != want {
		t.Errorf("Exposure2012 = %s, want %s", got, want)
	}
	if got, want := u["Temperature"].Text, itoa(math.Round(1e6/mired)); got != want {
		t.Errorf("Temperature = %s, want %s", got, want)
	}
	if u["Clarity2012"].Text != "+10" || u["HasSettings"].Text != "True" || u["WhiteBalance"].Text != "Custom" {
		t.Errorf("unmatched settings = %v", u)
	}
}

func TestAsShotDropsKelvin(t *testing.T) {
	shots := []Shot{{Path: "m", Taken: at(1), ISO: 100}, {Path: "u", Taken: at(9), ISO: 100}}
	edits := []Edit{{Shot: Shot{Taken: at(1)}, Settings: Settings{"WhiteBalance": TextValue("As Shot"),
		"Temperature": TextValue("5100"), "Tint": TextValue("+3")}}}
	p := Calibrate(Analyze(edits, 0.01), edits, shots, CalibrateOptions{})
	if _, ok := p.Settings[1]["Temperature"]; ok || p.Settings[1]["WhiteBalance"].Text != "As Shot" {
		t.Errorf("unmatched = %v", p.Settings[1])
	}
}

func TestFormatLike(t *testing.T) {
	cases := []struct {
		f    float64
		like []string
		want string
	}{
		{0.3333, []string{"+0.50", "-1.00"}, "+0.33"},
		{-0.004, []string{"+0.50"}, "0.00"},
		{12.6, []string{"10", "15"}, "13"},
		{5712.4, []string{"5450", "6000"}, "5712"},
	}
	for _, c := range cases {
		var vals []Value
		for _, l := range c.like {
			vals = append(vals, TextValue(l))
		}
		if got := formatLike(c.f, vals); got != c.want {
			t.Errorf("formatLike(%g, %v) = %s, want %s", c.f, c.like, got, c.want)
		}
	}
}

func TestParseTaken(t *testing.T) {
	got, sub := parseTaken("2024:07:01 10:00:01", "05")
	if !sub || !got.Equal(time.Date(2024, 7, 1, 10, 0, 1, 50e6, time.UTC)) {
		t.Errorf("subsec: %v %v", got, sub)
	}
	got, sub = parseTaken("2024:07:01 10:00:01.21+02:00", "99")
	if !sub || got.Nanosecond() != 210e6 {
		t.Errorf("inline fraction: %v %v", got, sub)
	}
	if _, sub = parseTaken("2024:07:01 10:00:01", ""); sub {
		t.Error("no subsec claimed subsec")
	}
	if got, _ = parseTaken("0000:00:00 00:00:00", ""); !got.IsZero() {
		t.Errorf("zero date parsed: %v", got)
	}
}

func trim2(f float64) string { return formatLike(f, []Value{TextValue("0.00")}) }
func itoa(f float64) string  { return formatLike(f, []Value{TextValue("1")}) }
