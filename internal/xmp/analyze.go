package xmp

import (
	"math"
	"sort"
)

// Class is how a setting is treated.
type Class string

// The two classes of settings.
const (
	Style    Class = "style"     // the same in every JPG: applied to every RAW
	PerImage Class = "per-image" // tuned shot by shot
)

// Setting is the analysis of one Camera Raw setting across the JPGs.
type Setting struct {
	Name  string `json:"name"`
	Class Class  `json:"class"`
	// Why says what decided the class: "known per-image", "varies",
	// "missing in some JPGs" or "constant".
	Why string `json:"why"`
	// Present is how many JPGs have the setting; Distinct how many
	// different values (within the tolerance) they hold.
	Present  int `json:"present"`
	Distinct int `json:"distinct"`
	// Value is the style value (the most common one) or, for per-image
	// settings, the first JPG's value as an example.
	Value Value `json:"value"`
	// Min and Max span numeric per-image values.
	Min *float64 `json:"min,omitempty"`
	Max *float64 `json:"max,omitempty"`
}

// Analysis is the classification of every setting found in the JPGs.
type Analysis struct {
	JPGs     int       `json:"jpgs"`
	Settings []Setting `json:"settings"`
	// Style holds the style settings' values, ready to write.
	Style Settings `json:"-"`
}

// Analyze classifies the settings of the edits. A setting is style when
// every JPG has it with the same value (numbers within tol) and it is not a
// known per-image setting; anything else is per-image.
func Analyze(edits []Edit, tol float64) *Analysis {
	a := &Analysis{JPGs: len(edits), Style: Settings{}}
	values := map[string][]Value{}
	for _, e := range edits {
		for name, v := range e.Settings {
			if neverWritten[name] {
				continue
			}
			values[name] = append(values[name], v)
		}
	}
	names := make([]string, 0, len(values))
	for n := range values {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		s := classify(name, values[name], len(edits), tol)
		if s.Class == Style {
			a.Style[name] = s.Value
		}
		a.Settings = append(a.Settings, s)
	}
	return a
}

func classify(name string, vals []Value, total int, tol float64) Setting {
	groups := groupEqual(vals, tol)
	s := Setting{Name: name, Present: len(vals), Distinct: len(groups), Value: vals[groups[0][0]]}
	switch {
	case IsKnownPerImage(name):
		s.Class, s.Why = PerImage, "known per-image"
	case len(vals) < total:
		s.Class, s.Why = PerImage, "missing in some JPGs"
	case len(groups) > 1:
		s.Class, s.Why = PerImage, "varies"
	default:
		s.Class, s.Why = Style, "constant"
	}
	if s.Class == PerImage {
		lo, hi, ok := numericRange(vals)
		if ok && lo != hi {
			s.Min, s.Max = &lo, &hi
		}
	}
	return s
}

// groupEqual groups indexes of equal values, largest group first (ties:
// the group seen first), so groups[0][0] is the most common value.
func groupEqual(vals []Value, tol float64) [][]int {
	var groups [][]int
	for i, v := range vals {
		found := false
		for g := range groups {
			if vals[groups[g][0]].Equal(v, tol) {
				groups[g] = append(groups[g], i)
				found = true
				break
			}
		}
		if !found {
			groups = append(groups, []int{i})
		}
	}
	sort.SliceStable(groups, func(i, j int) bool { return len(groups[i]) > len(groups[j]) })
	return groups
}

func numericRange(vals []Value) (lo, hi float64, ok bool) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, v := range vals {
		f, isNum := v.Number()
		if !isNum {
			return 0, 0, false
		}
		lo, hi = math.Min(lo, f), math.Max(hi, f)
	}
	return lo, hi, len(vals) > 0
}

// Setting returns the analysis of one setting, if the JPGs have it.
func (a *Analysis) Setting(name string) (Setting, bool) {
	i := sort.Search(len(a.Settings), func(i int) bool { return a.Settings[i].Name >= name })
	if i < len(a.Settings) && a.Settings[i].Name == name {
		return a.Settings[i], true
	}
	return Setting{}, false
}
