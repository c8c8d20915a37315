package xmp

import (
	"math"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// How a RAW's sidecar settings were made.
const (
	FromStyle   = "style"   // the style alone
	FromMatch   = "matched" // the full settings of the JPG made from this RAW
	FromNearest = "nearest" // the style plus per-image settings estimated from neighbours
)

// Match pairs an edited JPG with the RAW it was made from.
type Match struct {
	JPG   int           `json:"-"` // index into the edits
	RAW   int           `json:"-"` // index into the shots
	Delta time.Duration `json:"-"` // capture-time difference
}

// Neighbour is one matched RAW an unmatched RAW's settings come from.
type Neighbour struct {
	RAW      int     // index into the shots
	JPG      int     // the JPG matched to it
	Distance float64 // in stops-like units (see docs/xmp.md)
	Weight   float64
}

// Plan is the outcome of calibration: which settings each RAW gets.
type Plan struct {
	Matches       []Match
	UnmatchedJPGs []int // edits with no RAW (index into the edits)
	From          []string
	MatchOf       []int         // per RAW: index into Matches, or -1
	Neighbours    [][]Neighbour // per RAW: the neighbours used (FromNearest)
	Settings      []Settings    // per RAW: what its sidecar holds
}

// CalibrateOptions tune matching and estimation.
type CalibrateOptions struct {
	// Tolerance is how far apart two capture times may be and still
	// match, for cameras whose clocks differ from the JPGs' metadata.
	Tolerance time.Duration
	// K is how many nearest matched RAWs an unmatched RAW learns from.
	K int
	// Tol is the numeric tolerance for treating values as equal.
	Tol float64
}

// StylePlan gives every RAW the style alone (no calibration).
func StylePlan(a *Analysis, raws int) *Plan {
	p := &Plan{From: make([]string, raws), MatchOf: make([]int, raws),
		Neighbours: make([][]Neighbour, raws), Settings: make([]Settings, raws)}
	style := withHasSettings(a.Style)
	for i := range raws {
		p.From[i], p.MatchOf[i], p.Settings[i] = FromStyle, -1, style
	}
	return p
}

// Calibrate matches edits to shots and decides every RAW's settings.
func Calibrate(a *Analysis, edits []Edit, shots []Shot, opts CalibrateOptions) *Plan {
	if opts.K < 1 {
		opts.K = 5
	}
	p := StylePlan(a, len(shots))
	p.Matches = matchEdits(edits, shots, opts.Tolerance)
	matchedJPG := make([]bool, len(edits))
	for i, m := range p.Matches {
		matchedJPG[m.JPG] = true
		p.MatchOf[m.RAW] = i
		p.From[m.RAW] = FromMatch
		p.Settings[m.RAW] = withHasSettings(writable(edits[m.JPG].Settings))
	}
	for j := range edits {
		if !matchedJPG[j] {
			p.UnmatchedJPGs = append(p.UnmatchedJPGs, j)
		}
	}
	if len(p.Matches) == 0 {
		return p
	}
	est := estimable(a)
	for r := range shots {
		if p.MatchOf[r] >= 0 {
			continue
		}
		nb := nearest(shots, r, p.Matches, opts.K)
		p.Neighbours[r] = nb
		s := Settings{}
		for name, v := range a.Style {
			s[name] = v
		}
		for _, name := range est {
			if v, ok := estimate(name, nb, edits, opts.Tol); ok {
				s[name] = v
			}
		}
		if wb, ok := s["WhiteBalance"]; ok && strings.EqualFold(wb.Text, "As Shot") {
			// "As Shot" means the camera's own white balance for this
			// frame: the neighbours' Kelvin values would only blur it.
			delete(s, "Temperature")
			delete(s, "Tint")
		}
		p.From[r] = FromNearest
		p.Settings[r] = withHasSettings(s)
	}
	return p
}

// writable drops what must never reach a RAW's sidecar.
func writable(s Settings) Settings {
	out := make(Settings, len(s))
	for k, v := range s {
		if !neverWritten[k] {
			out[k] = v
		}
	}
	return out
}

// withHasSettings marks the sidecar as carrying settings, as Camera Raw
// does, when there are any.
func withHasSettings(s Settings) Settings {
	if len(s) == 0 {
		return s
	}
	if _, ok := s["HasSettings"]; ok {
		return s
	}
	out := make(Settings, len(s)+1)
	for k, v := range s {
		out[k] = v
	}
	out["HasSettings"] = TextValue("True")
	return out
}

// estimable lists the per-image settings that may be estimated for a RAW
// without a JPG: tone and colour, not geometry or masks.
func estimable(a *Analysis) []string {
	var names []string
	for _, s := range a.Settings {
		if s.Class == PerImage && !boundToShot(s.Name) && !neverWritten[s.Name] {
			names = append(names, s.Name)
		}
	}
	return names
}

// matchEdits pairs JPGs and RAWs whose capture times agree, closest first,
// each file used once. Times compare at sub-second precision when both
// sides have it, else to the second. A serial number known on both sides
// must agree. Ties prefer the RAW named in the JPG's crs:RawFileName, then
// one with the JPG's file stem.
func matchEdits(edits []Edit, shots []Shot, tol time.Duration) []Match {
	type cand struct {
		Match
		rank int
	}
	order := make([]int, len(shots))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return shots[order[a]].Taken.Before(shots[order[b]].Taken) })
	var cands []cand
	for j, e := range edits {
		if e.Taken.IsZero() {
			continue
		}
		lo := e.Taken.Add(-tol - time.Second)
		start := sort.Search(len(order), func(i int) bool { return !shots[order[i]].Taken.Before(lo) })
		for _, r := range order[start:] {
			s := shots[r]
			if s.Taken.After(e.Taken.Add(tol + time.Second)) {
				break
			}
			if s.Taken.IsZero() || !sameCamera(e.Serial, s.Serial) {
				continue
			}
			d := timeDelta(e.Shot, s)
			if d > tol {
				continue
			}
			cands = append(cands, cand{Match{JPG: j, RAW: r, Delta: d}, nameRank(e, s.Path)})
		}
	}
	sort.SliceStable(cands, func(a, b int) bool {
		x, y := cands[a], cands[b]
		if x.Delta != y.Delta {
			return x.Delta < y.Delta
		}
		if x.rank != y.rank {
			return x.rank < y.rank
		}
		if x.JPG != y.JPG {
			return x.JPG < y.JPG
		}
		return x.RAW < y.RAW
	})
	usedJ, usedR := map[int]bool{}, map[int]bool{}
	var out []Match
	for _, c := range cands {
		if usedJ[c.JPG] || usedR[c.RAW] {
			continue
		}
		usedJ[c.JPG], usedR[c.RAW] = true, true
		out = append(out, c.Match)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].JPG < out[b].JPG })
	return out
}

func timeDelta(a, b Shot) time.Duration {
	ta, tb := a.Taken, b.Taken
	if !a.SubSec || !b.SubSec {
		ta, tb = ta.Truncate(time.Second), tb.Truncate(time.Second)
	}
	d := ta.Sub(tb)
	if d < 0 {
		d = -d
	}
	return d
}

func sameCamera(a, b string) bool {
	norm := func(s string) string { return strings.TrimLeft(strings.ToUpper(strings.TrimSpace(s)), "0") }
	return a == "" || b == "" || norm(a) == norm(b)
}

func nameRank(e Edit, rawPath string) int {
	base := filepath.Base(rawPath)
	if v, ok := e.Settings["RawFileName"]; ok && strings.EqualFold(v.Text, base) {
		return 0
	}
	if strings.EqualFold(stem(base), stem(filepath.Base(e.Path))) {
		return 1
	}
	return 2
}

func stem(name string) string { return strings.TrimSuffix(name, filepath.Ext(name)) }

// Feature scaling: every feature is in "stops", so one unit is one stop of
// ISO, shutter time or aperture, one doubling of focal length; a flash that
// fired on one shot and not the other counts as flashStops.
const (
	flashStops = 2.0
	// weightSoftening keeps an exact match from taking all the weight.
	weightSoftening = 0.25
	// unknownDistance is used when two shots share no known feature.
	unknownDistance = 100.0
)

func features(s Shot) [5]float64 {
	f := [5]float64{math.NaN(), math.NaN(), math.NaN(), math.NaN(), math.NaN()}
	if s.ISO > 0 {
		f[0] = math.Log2(s.ISO / 100)
	}
	if s.ExposureTime > 0 {
		f[1] = math.Log2(s.ExposureTime)
	}
	if s.FNumber > 0 {
		f[2] = 2 * math.Log2(s.FNumber)
	}
	if s.FocalLength > 0 {
		f[3] = math.Log2(s.FocalLength)
	}
	if s.Flash >= 0 {
		f[4] = float64(s.Flash) * flashStops
	}
	return f
}

// Distance is the Euclidean distance over the features both shots have,
// scaled up to all five so shots with missing data are not favoured.
func Distance(a, b Shot) float64 {
	fa, fb := features(a), features(b)
	sum, n := 0.0, 0
	for i := range fa {
		if math.IsNaN(fa[i]) || math.IsNaN(fb[i]) {
			continue
		}
		d := fa[i] - fb[i]
		sum += d * d
		n++
	}
	if n == 0 {
		return unknownDistance
	}
	return math.Sqrt(sum * float64(len(fa)) / float64(n))
}

// nearest returns the k matched RAWs closest to shots[r] in shooting data;
// ties go to the one taken closest in time.
func nearest(shots []Shot, r int, matches []Match, k int) []Neighbour {
	nb := make([]Neighbour, 0, len(matches))
	for _, m := range matches {
		nb = append(nb, Neighbour{RAW: m.RAW, JPG: m.JPG, Distance: Distance(shots[r], shots[m.RAW])})
	}
	dt := func(i int) time.Duration {
		d := shots[nb[i].RAW].Taken.Sub(shots[r].Taken)
		if d < 0 {
			d = -d
		}
		return d
	}
	sort.SliceStable(nb, func(i, j int) bool {
		if nb[i].Distance != nb[j].Distance {
			return nb[i].Distance < nb[j].Distance
		}
		return dt(i) < dt(j)
	})
	if len(nb) > k {
		nb = nb[:k]
	}
	for i := range nb {
		nb[i].Weight = 1 / (nb[i].Distance + weightSoftening)
	}
	return nb
}

// estimate computes one per-image setting from the neighbours' JPGs:
// a weighted mean for numbers (Temperature in mireds, which is how the eye
// sees white balance), a weighted vote otherwise. A setting that less than
// half of the weight carries is left out.
func estimate(name string, nb []Neighbour, edits []Edit, tol float64) (Value, bool) {
	var vals []Value
	var weights []float64
	total := 0.0
	for _, n := range nb {
		total += n.Weight
		if v, ok := edits[n.JPG].Settings[name]; ok {
			vals = append(vals, v)
			weights = append(weights, n.Weight)
		}
	}
	have := 0.0
	for _, w := range weights {
		have += w
	}
	if len(vals) == 0 || have < total/2 {
		return Value{}, false
	}
	if mean, ok := weightedMean(name, vals, weights); ok {
		return TextValue(formatLike(mean, vals)), true
	}
	return vote(vals, weights, tol), true
}

func weightedMean(name string, vals []Value, weights []float64) (float64, bool) {
	sum, wsum := 0.0, 0.0
	for i, v := range vals {
		f, ok := v.Number()
		if !ok {
			return 0, false
		}
		if name == "Temperature" {
			if f <= 0 {
				return 0, false
			}
			f = 1e6 / f
		}
		sum += f * weights[i]
		wsum += weights[i]
	}
	mean := sum / wsum
	if name == "Temperature" {
		mean = 1e6 / mean
	}
	return mean, true
}

// formatLike formats f with as many decimals as the neighbours' values
// use, and a leading "+" when they write one ("+0.35", as Lightroom does).
func formatLike(f float64, like []Value) string {
	decimals, plus := 0, false
	for _, v := range like {
		t := strings.TrimSpace(v.Text)
		plus = plus || strings.HasPrefix(t, "+")
		if i := strings.IndexByte(t, '.'); i >= 0 {
			decimals = max(decimals, len(t)-i-1)
		}
	}
	s := strconv.FormatFloat(f, 'f', decimals, 64)
	if s == "-"+strconv.FormatFloat(0, 'f', decimals, 64) {
		s = s[1:]
	}
	if plus && !strings.HasPrefix(s, "-") {
		if n, _ := strconv.ParseFloat(s, 64); n > 0 {
			s = "+" + s
		}
	}
	return s
}

// vote returns the value with the most weight (numbers equal within tol);
// ties go to the nearer neighbour's value.
func vote(vals []Value, weights []float64, tol float64) Value {
	best, bestW := 0, -1.0
	for i := range vals {
		w := 0.0
		for j := range vals {
			if vals[i].Equal(vals[j], tol) {
				w += weights[j]
			}
		}
		if w > bestW+1e-12 {
			best, bestW = i, w
		}
	}
	return vals[best]
}
