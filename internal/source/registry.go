package source

import (
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"sync"

	"github.com/ps-photos/ps/internal/fault"
	"github.com/ps-photos/ps/internal/record"
)

// Registry maps locations to factories. Build it with NewRegistry; the
// binaries use internal/source/all.Registry.
type Registry struct {
	factories []Factory
}

// NewRegistry lists the sources a tool can use, in the order given. Two
// factories with one name or one scheme are a programming error (which
// would serve "smb:"?), so it panics: all.Registry's test catches it.
func NewRegistry(f ...Factory) *Registry {
	names, schemes := map[string]bool{}, map[string]string{}
	for _, fac := range f {
		if names[fac.Name] {
			panic(fmt.Sprintf("source: two sources named %q", fac.Name))
		}
		names[fac.Name] = true
		for _, s := range fac.Schemes {
			if other, ok := schemes[s]; ok {
				panic(fmt.Sprintf("source: scheme %q is served by both %s and %s", s, other, fac.Name))
			}
			schemes[s] = fac.Name
		}
	}
	return &Registry{factories: f}
}

// Factories returns the registered factories.
func (r *Registry) Factories() []Factory { return r.factories }

// Scheme returns the part of a location before ':' that names its source
// kind. Plain paths (absolute, relative, "~") are "file".
func Scheme(location string) string {
	if i := strings.IndexByte(location, ':'); i > 0 {
		s := location[:i]
		// A Windows drive letter or a relative path with a colon later on
		// is not a scheme.
		if len(s) > 1 && !strings.ContainsAny(s, `/\.`) {
			return strings.ToLower(s)
		}
	}
	return "file"
}

// Lookup returns the factory for a location.
func (r *Registry) Lookup(location string) (Factory, error) {
	for _, f := range r.factories {
		if f.Claims != nil && f.Claims(location) {
			return f, nil
		}
	}
	scheme := Scheme(location)
	for _, f := range r.factories {
		for _, s := range f.Schemes {
			if s == scheme {
				return f, nil
			}
		}
	}
	return Factory{}, fault.Errorf(fault.Permanent, "no source handles %q locations (known: %s)", scheme+":", strings.Join(r.schemes(), ", "))
}

func (r *Registry) schemes() []string {
	var out []string
	for _, f := range r.factories {
		out = append(out, f.Schemes...)
	}
	return out
}

// Open opens the source for location. On error the Source is a nil
// interface: a factory that returns its own nil pointer (a typed nil)
// would otherwise pass a "src != nil" check and panic on Close.
func (r *Registry) Open(ctx context.Context, env Env, location string, session *record.Record) (Source, error) {
	f, err := r.Lookup(location)
	if err != nil {
		return nil, err
	}
	src, err := f.New(ctx, env, location, session)
	if err != nil {
		return nil, err
	}
	return src, nil
}

// Pool opens each distinct source once and shares it between goroutines,
// so ps-fetch reuses connections across items of the same source.
type Pool struct {
	reg *Registry
	env Env
	mu  sync.Mutex
	m   map[string]*poolEntry
}

type poolEntry struct {
	once sync.Once
	src  Source
	err  error
}

// NewPool opens sources on demand through reg.
func NewPool(reg *Registry, env Env) *Pool {
	return &Pool{reg: reg, env: env, m: map[string]*poolEntry{}}
}

// ForRecord returns the source that can open rec: the one named by its
// "source" field, or, when no source claims it and rec carries an http(s)
// "url", the plain-HTTP source.
func (p *Pool) ForRecord(ctx context.Context, rec *record.Record) (Source, string, error) {
	key := rec.Source
	if _, err := p.reg.Lookup(key); key == "" || err != nil {
		if u, perr := url.Parse(rec.URL); perr == nil && (u.Scheme == "http" || u.Scheme == "https") {
			key = "http:"
		} else if err != nil && key != "" {
			return nil, key, err
		} else {
			return nil, key, fault.Errorf(fault.Permanent, `record has neither a "source" ps can open nor an http(s) "url"`)
		}
	}
	p.mu.Lock()
	e := p.m[key]
	if e == nil {
		e = &poolEntry{}
		p.m[key] = e
	}
	p.mu.Unlock()
	e.once.Do(func() { e.src, e.err = p.reg.Open(ctx, p.env, key, nil) })
	return e.src, key, e.err
}

// Close closes every source the pool opened.
func (p *Pool) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	var first error
	for _, e := range p.m {
		if e.src != nil {
			if err := e.src.Close(); err != nil && first == nil {
				first = err
			}
		}
	}
	return first
}

// LocalPath turns a file location ("file:///x", "/x", "./x") into a clean
// absolute path.
func LocalPath(location string) (string, error) {
	p := location
	if strings.HasPrefix(location, "file:") {
		u, err := url.Parse(location)
		if err != nil {
			return "", fmt.Errorf("bad file location %q: %w", location, err)
		}
		if u.Host != "" && u.Host != "localhost" {
			return "", fmt.Errorf("file location %q names a host; use smb:// for network shares", location)
		}
		p = u.Path
	}
	return filepath.Abs(p)
}
