package filter

import (
	"fmt"
	"path"
	"strings"
)

// Glob is a path pattern: segments are path.Match patterns separated by
// "/", and "**" matches any number of folders (zero included). A pattern
// without "/" matches the file name at any depth, as in .gitignore.
type Glob struct {
	segs     []string
	nameOnly bool
}

// ParseGlob checks a pattern.
func ParseGlob(p string) (Glob, error) {
	p = strings.Trim(strings.ReplaceAll(p, `\`, "/"), "/")
	if p == "" {
		return Glob{}, fmt.Errorf("empty pattern")
	}
	g := Glob{segs: strings.Split(p, "/"), nameOnly: !strings.Contains(p, "/")}
	for _, s := range g.segs {
		if s == "**" {
			continue
		}
		if _, err := path.Match(s, ""); err != nil {
			return Glob{}, fmt.Errorf("bad pattern %q: %v", p, err)
		}
	}
	return g, nil
}

// Match reports whether the slash-separated path p matches.
func (g Glob) Match(p string) bool {
	if g.nameOnly && g.segs[0] != "**" {
		ok, _ := path.Match(g.segs[0], path.Base(p))
		return ok
	}
	return matchSegs(g.segs, strings.Split(p, "/"))
}

func matchSegs(pat, parts []string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			rest := pat[1:]
			for i := 0; i <= len(parts); i++ {
				if matchSegs(rest, parts[i:]) {
					return true
				}
			}
			return false
		}
		if len(parts) == 0 {
			return false
		}
		if ok, _ := path.Match(pat[0], parts[0]); !ok {
			return false
		}
		pat, parts = pat[1:], parts[1:]
	}
	return len(parts) == 0
}

func matchAny(gs []Glob, p string) bool {
	for _, g := range gs {
		if g.Match(p) {
			return true
		}
	}
	return false
}
