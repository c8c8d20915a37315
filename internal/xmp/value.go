package xmp

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Kind says how a Value is written in XMP.
type Kind int

// The XMP value forms Camera Raw uses.
const (
	Text    Kind = iota // a simple property, written as an attribute
	Seq                 // an ordered array: rdf:Seq
	Struct              // a structure: nested rdf:Description
	LangAlt             // a language alternative: rdf:Alt with xml:lang
)

// Value is one Camera Raw setting's value as XMP holds it.
type Value struct {
	Kind   Kind
	Text   string  // Text
	Items  []Value // Seq
	Fields []Field // Struct, sorted by name
	Langs  []Lang  // LangAlt, x-default first
}

// Field is one field of a structure.
type Field struct {
	Name  string
	Value Value
}

// Lang is one entry of a language alternative.
type Lang struct {
	Lang string
	Text string
}

// Settings are Camera Raw settings keyed by crs property ID.
type Settings map[string]Value

// Names returns the property IDs in sorted order.
func (s Settings) Names() []string {
	names := make([]string, 0, len(s))
	for n := range s {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// TextValue makes a simple value.
func TextValue(s string) Value { return Value{Kind: Text, Text: s} }

// Number returns the value as a number, if it is a simple numeric one
// ("+0.50", "5450", "-12").
func (v Value) Number() (float64, bool) {
	if v.Kind != Text {
		return 0, false
	}
	return parseNumber(v.Text)
}

func parseNumber(s string) (float64, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

// Equal compares two values; numbers may differ by tol.
func (v Value) Equal(w Value, tol float64) bool {
	if v.Kind != w.Kind {
		return false
	}
	switch v.Kind {
	case Text:
		if v.Text == w.Text {
			return true
		}
		a, okA := parseNumber(v.Text)
		b, okB := parseNumber(w.Text)
		if okA && okB {
			return math.Abs(a-b) <= tol
		}
		return strings.EqualFold(v.Text, w.Text) && isBool(v.Text)
	case Seq:
		return slices.EqualFunc(v.Items, w.Items, func(a, b Value) bool { return a.Equal(b, tol) })
	case Struct:
		return slices.EqualFunc(v.Fields, w.Fields, func(a, b Field) bool {
			return a.Name == b.Name && a.Value.Equal(b.Value, tol)
		})
	case LangAlt:
		return slices.Equal(v.Langs, w.Langs)
	}
	return false
}

func isBool(s string) bool {
	return strings.EqualFold(s, "true") || strings.EqualFold(s, "false")
}

// String renders a value compactly for tables and messages.
func (v Value) String() string {
	switch v.Kind {
	case Seq:
		parts := make([]string, len(v.Items))
		for i, it := range v.Items {
			parts[i] = it.String()
		}
		return "[" + strings.Join(parts, "; ") + "]"
	case Struct:
		parts := make([]string, len(v.Fields))
		for i, f := range v.Fields {
			parts[i] = f.Name + "=" + f.Value.String()
		}
		return "{" + strings.Join(parts, " ") + "}"
	case LangAlt:
		if len(v.Langs) > 0 {
			return v.Langs[0].Text
		}
		return ""
	}
	return v.Text
}

// MarshalJSON renders the value as plain JSON: text as a string, sequences
// as arrays, structures as objects, language alternatives as an object
// keyed by language.
func (v Value) MarshalJSON() ([]byte, error) {
	switch v.Kind {
	case Seq:
		items := v.Items
		if items == nil {
			items = []Value{}
		}
		return json.Marshal(items)
	case Struct:
		var b strings.Builder
		b.WriteByte('{')
		for i, f := range v.Fields {
			if i > 0 {
				b.WriteByte(',')
			}
			k, _ := json.Marshal(f.Name)
			val, err := f.Value.MarshalJSON()
			if err != nil {
				return nil, err
			}
			b.Write(k)
			b.WriteByte(':')
			b.Write(val)
		}
		b.WriteByte('}')
		return []byte(b.String()), nil
	case LangAlt:
		m := map[string]string{}
		for _, l := range v.Langs {
			m[l.Lang] = l.Text
		}
		return json.Marshal(m)
	}
	return json.Marshal(v.Text)
}

// settingsFromExifTool turns one file's exiftool -j -struct -G1 -n output
// into Settings keyed by real crs property IDs. ExifTool's tag names are
// mapped back (ColorTemperature is crs:Temperature), flattened structure
// names are dropped, and structures stay whole. It returns the names it
// had to drop, for a warning.
func settingsFromExifTool(fields map[string]any) (Settings, []string) {
	s := Settings{}
	var dropped []string
	langs := map[string][]Lang{}
	for key, raw := range fields {
		group, name, ok := strings.Cut(key, ":")
		if !ok {
			continue
		}
		if group != "XMP-crs" {
			if group == "XMP" {
				if _, isStruct := raw.(map[string]any); isStruct {
					// ExifTool puts structures it has no definition for in
					// the generic XMP group; their namespace is unknown.
					dropped = append(dropped, name)
				}
			}
			continue
		}
		if base, lang, ok := splitLang(name); ok && langAltPaths[base] {
			langs[base] = append(langs[base], Lang{Lang: lang, Text: textOf(raw, base)})
			continue
		}
		if flattenedNames[name] {
			dropped = append(dropped, name)
			continue
		}
		id := name
		if real, ok := exiftoolNames[name]; ok {
			id = real
		}
		if !validName(id) {
			dropped = append(dropped, name)
			continue
		}
		s[id] = valueFromJSON(id, id, raw)
	}
	for base, extra := range langs {
		v := s[base]
		if v.Kind != LangAlt {
			v = Value{Kind: LangAlt}
		}
		v.Langs = append(v.Langs, extra...)
		sortLangs(v.Langs)
		s[base] = v
	}
	sort.Strings(dropped)
	return s, dropped
}

// valueFromJSON converts a decoded JSON value. path is the property's
// position ("Look/Group") for spotting lang-alt fields; name is its own
// name, for number formatting.
func valueFromJSON(path, name string, raw any) Value {
	switch x := raw.(type) {
	case []any:
		v := Value{Kind: Seq, Items: make([]Value, 0, len(x))}
		for _, it := range x {
			v.Items = append(v.Items, valueFromJSON(path, name, it))
		}
		return v
	case map[string]any:
		return structFromJSON(path, x)
	}
	if langAltPaths[path] {
		return Value{Kind: LangAlt, Langs: []Lang{{Lang: "x-default", Text: textOf(raw, name)}}}
	}
	return TextValue(textOf(raw, name))
}

func structFromJSON(path string, m map[string]any) Value {
	v := Value{Kind: Struct}
	langs := map[string][]Lang{}
	for k, raw := range m {
		fieldPath := structPath(path) + "/" + k
		if base, lang, ok := splitLang(k); ok && langAltPaths[structPath(path)+"/"+base] {
			langs[base] = append(langs[base], Lang{Lang: lang, Text: textOf(raw, base)})
			continue
		}
		v.Fields = append(v.Fields, Field{Name: k, Value: valueFromJSON(fieldPath, k, raw)})
	}
	for base, extra := range langs {
		i := slices.IndexFunc(v.Fields, func(f Field) bool { return f.Name == base })
		if i < 0 {
			v.Fields = append(v.Fields, Field{Name: base, Value: Value{Kind: LangAlt}})
			i = len(v.Fields) - 1
		}
		fv := &v.Fields[i].Value
		if fv.Kind != LangAlt {
			*fv = Value{Kind: LangAlt, Langs: []Lang{{Lang: "x-default", Text: fv.Text}}}
		}
		fv.Langs = append(fv.Langs, extra...)
		sortLangs(fv.Langs)
	}
	sort.Slice(v.Fields, func(i, j int) bool { return v.Fields[i].Name < v.Fields[j].Name })
	return v
}

// structPath is the struct part of a path: lang-alt fields are listed as
// "Struct/Field", whatever the nesting above the struct.
func structPath(path string) string {
	if i := strings.LastIndexByte(path, '/'); i >= 0 {
		return path[i+1:]
	}
	return path
}

// splitLang splits ExifTool's "Name-de-DE" lang-alt keys.
func splitLang(key string) (base, lang string, ok bool) {
	i := strings.IndexByte(key, '-')
	if i <= 0 {
		return "", "", false
	}
	return key[:i], key[i+1:], true
}

func sortLangs(l []Lang) {
	sort.SliceStable(l, func(i, j int) bool {
		if (l[i].Lang == "x-default") != (l[j].Lang == "x-default") {
			return l[i].Lang == "x-default"
		}
		return l[i].Lang < l[j].Lang
	})
}

// textOf renders a JSON scalar as XMP text. ExifTool prints numbers as they
// are in the file, but JSON decoding keeps only the number, so "11.0" comes
// back as 11: version fields get their one decimal back.
func textOf(raw any, name string) string {
	switch x := raw.(type) {
	case nil:
		return ""
	case string:
		return x
	case bool:
		if x {
			return "True"
		}
		return "False"
	case float64:
		if (name == "Version" || name == "ProcessVersion") && x == math.Trunc(x) {
			return strconv.FormatFloat(x, 'f', 1, 64)
		}
		return strconv.FormatFloat(x, 'f', -1, 64)
	case json.Number:
		return x.String()
	}
	return fmt.Sprint(raw)
}

// validName reports whether name can be an XML local name as Camera Raw
// uses them (letters, digits, underscore; not starting with a digit).
func validName(name string) bool {
	if name == "" {
		return false
	}
	for i, r := range name {
		switch {
		case r >= 'A' && r <= 'Z', r >= 'a' && r <= 'z', r == '_':
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}
