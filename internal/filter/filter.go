// Package filter is ps-filter's engine: it selects item records by
// extension, media, date, size, path globs and folders, and passes every
// other record through. Lines that pass are written byte for byte as they
// came in, so fields the filter does not know survive untouched.
package filter

import (
	"bytes"
	"fmt"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/ps-photos/ps/internal/record"
)

// Criteria are the selections; zero values select everything.
type Criteria struct {
	Exts     map[string]bool // upper-case, without dot
	Media    map[string]bool
	Since    time.Time
	Until    time.Time
	ByTaken  bool // compare taken (falling back to mtime) instead of mtime
	MinSize  int64
	MaxSize  int64 // 0: no maximum
	Include  []Glob
	Exclude  []Glob
	Dirs     []string // cleaned, no leading or trailing slash
	NotDirs  []string
	Invert   bool
	needDate bool
}

// Prepare finishes a Criteria built by hand or from flags.
func (c *Criteria) Prepare() { c.needDate = !c.Since.IsZero() || !c.Until.IsZero() }

// Verdict is the outcome for one line.
type Verdict int

// Verdicts.
const (
	Drop    Verdict = iota
	Keep            // an item that matched
	NotItem         // a record that is not an item: always passed through
)

// Decide judges one line whose fields f were scanned. date is the time the
// item is judged by (for --newest), zero when unknown.
func (c *Criteria) Decide(f *record.Fields) (Verdict, time.Time, error) {
	typ, _ := record.RawString(f.Type)
	if typ != record.TypeItem {
		if f.Type == nil {
			return Drop, time.Time{}, fmt.Errorf(`missing "type"`)
		}
		return NotItem, time.Time{}, nil
	}
	ok, date, err := c.match(f)
	if err != nil {
		return Drop, date, err
	}
	if ok != c.Invert {
		return Keep, date, nil
	}
	return Drop, date, nil
}

func (c *Criteria) match(f *record.Fields) (bool, time.Time, error) {
	p, _ := record.RawString(f.Path)
	name, _ := record.RawString(f.Name)
	if name == "" {
		name = path.Base(p)
	}
	date, err := c.date(f)
	if err != nil {
		return false, date, err
	}
	if c.Exts != nil && !c.Exts[record.Ext(name)] {
		return false, date, nil
	}
	if c.Media != nil {
		m, _ := record.RawString(f.Media)
		if m == "" {
			m = record.MediaOf(name)
		}
		if !c.Media[m] {
			return false, date, nil
		}
	}
	if c.needDate {
		if date.IsZero() || (!c.Since.IsZero() && date.Before(c.Since)) || (!c.Until.IsZero() && date.After(c.Until)) {
			return false, date, nil
		}
	}
	if c.MinSize > 0 || c.MaxSize > 0 {
		size, err := record.RawInt(f.Size)
		if err != nil {
			return false, date, fmt.Errorf("field \"size\": %v", err)
		}
		if size < c.MinSize || (c.MaxSize > 0 && size > c.MaxSize) {
			return false, date, nil
		}
	}
	if len(c.Dirs) > 0 && !underAny(p, c.Dirs) {
		return false, date, nil
	}
	if len(c.NotDirs) > 0 && underAny(p, c.NotDirs) {
		return false, date, nil
	}
	if len(c.Include) > 0 && !matchAny(c.Include, p) {
		return false, date, nil
	}
	if len(c.Exclude) > 0 && matchAny(c.Exclude, p) {
		return false, date, nil
	}
	return true, date, nil
}

// date returns the time an item is judged by: mtime, or with ByTaken its
// capture time falling back to mtime.
func (c *Criteria) date(f *record.Fields) (time.Time, error) {
	raw, field := f.Mtime, "mtime"
	if c.ByTaken && len(f.Taken) > 2 && !bytes.Equal(f.Taken, []byte("null")) {
		raw, field = f.Taken, "taken"
	}
	if raw == nil || bytes.Equal(raw, []byte("null")) {
		return time.Time{}, nil
	}
	s, ok := record.RawString(raw)
	if !ok {
		return time.Time{}, fmt.Errorf("field %q: want an RFC 3339 string", field)
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("field %q: want RFC 3339 time, got %q", field, s)
	}
	return t, nil
}

func underAny(p string, dirs []string) bool {
	for _, d := range dirs {
		if d == "" || p == d || strings.HasPrefix(p, d) && p[len(d)] == '/' {
			return true
		}
	}
	return false
}

// CleanDir normalises a --dir value: slash-separated, no leading "./" or
// slashes, no trailing slash.
func CleanDir(d string) string {
	d = path.Clean("/" + strings.ReplaceAll(d, `\`, "/"))
	return strings.Trim(d, "/")
}

// ParseSize reads sizes such as 10M, 1.5G, 512k, 2000 (bytes). K, M, G and T
// (and KiB, MiB, …) are powers of 1024; kB, MB, GB and TB are powers of 1000.
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := len(t)
	for i > 0 && (t[i-1] < '0' || t[i-1] > '9') && t[i-1] != '.' {
		i--
	}
	num, unit := t[:i], strings.TrimSpace(t[i:])
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || f < 0 {
		return 0, fmt.Errorf("bad size %q (want e.g. 500k, 10M, 1.5G)", s)
	}
	mult := map[string]float64{
		"": 1, "b": 1, "B": 1,
		"k": 1 << 10, "K": 1 << 10, "KiB": 1 << 10, "kB": 1e3, "KB": 1e3,
		"m": 1 << 20, "M": 1 << 20, "MiB": 1 << 20, "MB": 1e6,
		"g": 1 << 30, "G": 1 << 30, "GiB": 1 << 30, "GB": 1e9,
		"t": 1 << 40, "T": 1 << 40, "TiB": 1 << 40, "TB": 1e12,
	}[unit]
	if mult == 0 {
		return 0, fmt.Errorf("bad size unit %q in %q (use k, M, G, T)", unit, s)
	}
	return int64(f * mult), nil
}
