// Package naming turns a record into the relative path ps-fetch stores it
// under: the --name templates and presets, the safety rules every such path
// must pass, and the collision suffixes (_1, _2, …).
//
// A template renders a candidate; the fetch engine assigns suffixes in input
// order (never in completion order) and reuses the names its manifest
// already holds, so names are the same on every run.
package naming

import (
	"errors"
	"fmt"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/ps-photos/ps/internal/record"
)

// Presets are the named templates of --name.
var Presets = map[string]string{
	"path":  "{path}",
	"epoch": "{mtime:%s}.{ext}",
	"date":  "{taken:%Y/%m/%d}/{name}",
}

// Template is a parsed --name value.
type Template struct {
	spec  string
	parts []part
}

// part is literal text or one {field[:format]} placeholder.
type part struct {
	literal string
	field   string
	format  string
}

var fields = map[string]bool{
	"path": true, "dir": true, "name": true, "stem": true, "ext": true, "id": true,
	"mtime": true, "taken": true,
}

// NeedsMtime reports whether rendering rec reads its mtime: an {mtime}
// field, or {taken} on a record without a capture time.
func (t *Template) NeedsMtime(rec *record.Record) bool {
	for _, p := range t.parts {
		if p.field == "mtime" || p.field == "taken" && rec.Taken.IsZero() {
			return true
		}
	}
	return false
}

// Parse reads a preset name or a template such as "{taken:%Y/%m}/{name}".
func Parse(spec string) (*Template, error) {
	if p, ok := Presets[spec]; ok {
		spec = p
	}
	t := &Template{spec: spec}
	rest := spec
	for rest != "" {
		open := strings.IndexByte(rest, '{')
		if open < 0 {
			t.parts = append(t.parts, part{literal: rest})
			break
		}
		if open > 0 {
			t.parts = append(t.parts, part{literal: rest[:open]})
		}
		end := strings.IndexByte(rest[open:], '}')
		if end < 0 {
			return nil, fmt.Errorf("--name %q: unclosed {", spec)
		}
		inner := rest[open+1 : open+end]
		field, format, hasFormat := strings.Cut(inner, ":")
		if !fields[field] {
			return nil, fmt.Errorf("--name %q: unknown field {%s} (known: path, dir, name, stem, ext, id, mtime:FMT, taken:FMT; presets: path, epoch, date)", spec, field)
		}
		timeField := field == "mtime" || field == "taken"
		if timeField && !hasFormat {
			return nil, fmt.Errorf("--name %q: {%s} needs a format, as in {%s:%%Y-%%m-%%d}", spec, field, field)
		}
		if !timeField && hasFormat {
			return nil, fmt.Errorf("--name %q: {%s} takes no format", spec, field)
		}
		if timeField {
			if _, err := strftime(format, time.Unix(0, 0)); err != nil {
				return nil, fmt.Errorf("--name %q: %w", spec, err)
			}
		}
		t.parts = append(t.parts, part{field: field, format: format})
		rest = rest[open+end+1:]
	}
	if len(t.parts) == 0 {
		return nil, errors.New("--name is empty")
	}
	return t, nil
}

// String returns the template after preset expansion.
func (t *Template) String() string { return t.spec }

// Render returns rec's candidate name: a clean, slash-separated path
// relative to the output folder. An error means the record cannot be
// named safely (a permanent failure).
func (t *Template) Render(rec *record.Record) (string, error) {
	var b strings.Builder
	for _, p := range t.parts {
		if p.field == "" {
			b.WriteString(p.literal)
			continue
		}
		v, err := value(rec, p)
		if err != nil {
			return "", err
		}
		b.WriteString(v)
	}
	name := b.String()
	if err := Check(name); err != nil {
		return "", err
	}
	return path.Clean(name), nil
}

func value(rec *record.Record, p part) (string, error) {
	switch p.field {
	case "path":
		return relPath(rec)
	case "dir":
		rel, err := relPath(rec)
		if err != nil {
			return "", err
		}
		return path.Dir(rel), nil // "." for a top-level file, which Clean drops
	case "name":
		return baseName(rec)
	case "stem", "ext":
		name, err := baseName(rec)
		if err != nil {
			return "", err
		}
		ext := path.Ext(name)
		if p.field == "ext" {
			return strings.TrimPrefix(ext, "."), nil
		}
		return strings.TrimSuffix(name, ext), nil
	case "id":
		if rec.ID == "" {
			return "", errors.New("the record has no id for {id}")
		}
		return rec.ID, nil
	case "mtime":
		if rec.Mtime.IsZero() {
			return "", errors.New("the record has no mtime to name the file by")
		}
		return strftime(p.format, rec.Mtime)
	case "taken":
		t := rec.Taken
		if t.IsZero() {
			t = rec.Mtime // capture date when known, else the file's mtime
		}
		if t.IsZero() {
			return "", errors.New("the record has neither taken nor mtime to name the file by")
		}
		return strftime(p.format, t)
	}
	return "", fmt.Errorf("unknown field %q", p.field)
}

// relPath is the record's path, else its name, else the last element of
// its URL's path.
func relPath(rec *record.Record) (string, error) {
	if rec.Path != "" {
		return rec.Path, nil
	}
	return baseName(rec)
}

func baseName(rec *record.Record) (string, error) {
	if n := rec.BaseName(); n != "" {
		return n, nil
	}
	if rec.URL != "" {
		if u, err := url.Parse(rec.URL); err == nil {
			if n := path.Base(u.Path); n != "/" && n != "." && n != "" {
				return n, nil
			}
		}
	}
	return "", errors.New("the record has no path, name or url to name the file by")
}

// MaxElem is the longest file or folder name, in bytes, that common file
// systems accept (NAME_MAX on Linux and macOS, exFAT and NTFS allow about
// as much).
const MaxElem = 255

// PartSuffix is how many bytes ps-fetch's partial download adds to a file
// name (".XXXXXXXX.part"): a name is only safe if its .part is too.
const PartSuffix = len(".01234567.part")

// Check rejects names that could escape the output folder, mislead a
// reader, or that no file system should be asked to create: empty names,
// absolute paths, "..", NUL, C0 and C1 control characters, bidirectional
// overrides (which show "gpj.exe" as "exe.jpg"), backslashes, drive
// letters, and names whose partial download would be too long a name.
func Check(name string) error {
	switch {
	case name == "":
		return errors.New("empty file name")
	case strings.HasPrefix(name, "/"):
		return fmt.Errorf("absolute path %q", name)
	case strings.ContainsRune(name, '\\'):
		return fmt.Errorf("backslash in name %q", name)
	case len(name) >= 2 && name[1] == ':' && isLetter(name[0]):
		return fmt.Errorf("drive letter in name %q", name)
	}
	for _, r := range name {
		if r == 0 {
			return fmt.Errorf("NUL character in name %q", name)
		}
		if r < 0x20 || r >= 0x7f && r <= 0x9f {
			return fmt.Errorf("control character %U in name %q", r, name)
		}
		if r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069 {
			return fmt.Errorf("bidirectional override %U in name %q", r, name)
		}
	}
	if err := CheckLength(name); err != nil {
		return err
	}
	for _, el := range strings.Split(name, "/") {
		if el == ".." {
			return fmt.Errorf("\"..\" in name %q", name)
		}
	}
	if c := path.Clean(name); c == "." || c == ".." {
		return fmt.Errorf("name %q is not a file", name)
	}
	return nil
}

// CheckLength rejects a name with a folder longer than MaxElem bytes, or
// a file name that would pass MaxElem with its .part suffix.
func CheckLength(name string) error {
	base := name
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		base = name[i+1:]
		for _, el := range strings.Split(name[:i], "/") {
			if len(el) > MaxElem {
				return fmt.Errorf("folder name of %d bytes in %q: file systems allow %d", len(el), name, MaxElem)
			}
		}
	}
	if len(base)+PartSuffix > MaxElem {
		return fmt.Errorf("file name of %d bytes in %q: with its .part suffix it would pass the %d-byte limit of file names", len(base), name, MaxElem)
	}
	return nil
}

func isLetter(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }

// WithSuffix returns name with collision number n before its extension:
// "a/IMG.JPG", 2 gives "a/IMG_2.JPG". n == 0 returns name.
func WithSuffix(name string, n int) string {
	if n == 0 {
		return name
	}
	dir, base := path.Split(name)
	ext := path.Ext(base)
	if ext == base { // ".hidden" has no extension to keep
		ext = ""
	}
	return dir + strings.TrimSuffix(base, ext) + "_" + strconv.Itoa(n) + ext
}

// strftime formats t (in UTC, so names are the same on every machine) with
// the usual % directives; %s is Unix seconds.
func strftime(format string, t time.Time) (string, error) {
	t = t.UTC()
	var b strings.Builder
	for i := 0; i < len(format); i++ {
		c := format[i]
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		i++
		if i == len(format) {
			return "", errors.New("format ends in a lone %")
		}
		switch format[i] {
		case 'Y':
			fmt.Fprintf(&b, "%04d", t.Year())
		case 'y':
			fmt.Fprintf(&b, "%02d", t.Year()%100)
		case 'm':
			fmt.Fprintf(&b, "%02d", int(t.Month()))
		case 'd':
			fmt.Fprintf(&b, "%02d", t.Day())
		case 'H':
			fmt.Fprintf(&b, "%02d", t.Hour())
		case 'M':
			fmt.Fprintf(&b, "%02d", t.Minute())
		case 'S':
			fmt.Fprintf(&b, "%02d", t.Second())
		case 'j':
			fmt.Fprintf(&b, "%03d", t.YearDay())
		case 'b':
			b.WriteString(t.Format("Jan"))
		case 'B':
			b.WriteString(t.Format("January"))
		case 'F':
			b.WriteString(t.Format("2006-01-02"))
		case 'T':
			b.WriteString(t.Format("15-04-05")) // ':' is not portable in file names
		case 's':
			b.WriteString(strconv.FormatInt(t.Unix(), 10))
		case '%':
			b.WriteByte('%')
		default:
			return "", fmt.Errorf("unknown format directive %%%c (known: %%Y %%y %%m %%d %%H %%M %%S %%j %%b %%B %%F %%T %%s %%%%)", format[i])
		}
	}
	return b.String(), nil
}
