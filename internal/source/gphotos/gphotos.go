// Package gphotos is the Google Photos API source, for what the APIs still
// allow since March 2025: "gphotos:picker" lists the items a person picks
// by hand in Google Photos (Picker API), "gphotos:library" lists media
// this OAuth client uploaded (Library API, app-created data). The whole
// library comes from Takeout (package takeout).
//
// Downloads use the items' base URLs with "=d" (photos) or "=dv"
// (videos) and the Authorization header; a base URL lives 60 minutes, so
// Open renews an expired one (Picker: the session's item list; Library:
// mediaItems.batchGet) instead of failing.
//
// Endpoints default to Google's; PS_GPHOTOS_PICKER_URL and
// PS_GPHOTOS_LIBRARY_URL point them elsewhere (the tests' fake server).
package gphotos

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/ps-photos/ps/internal/fault"
	"github.com/ps-photos/ps/internal/record"
	"github.com/ps-photos/ps/internal/retry"
	"github.com/ps-photos/ps/internal/source"
)

// Factory registers the Google Photos API source and "ps-auth gphotos".
var Factory = source.Factory{
	Name:    "gphotos",
	Schemes: []string{"gphotos"},
	Help:    "Google Photos through its APIs: gphotos:picker (items you pick), gphotos:library (media this client uploaded); the whole library: takeout:",
	New: func(_ context.Context, env source.Env, location string, _ *record.Record) (source.Source, error) {
		s, err := New(env, location)
		if err != nil {
			return nil, err // a nil interface, not a nil *Source
		}
		return s, nil
	},
	Auth:      func() any { return &AuthCmd{} },
	Honours:   source.Honours{Dates: true},
	ListFlags: func() any { return &ListFlags{} },
}

// ListFlags are the Google Photos source's own ps-list flags.
type ListFlags struct {
	Max       int  `placeholder:"N" help:"gphotos:picker: the most items the user may pick (default: Google's limit)."`
	NoBrowser bool `help:"gphotos:picker: print the picking link without opening a browser."`
	Sizes     bool `help:"Ask each item's size with a HEAD request (the APIs report none; each counts against the daily quota)."`
}

// Source is one of the two API views.
type Source struct {
	kind    string // "picker" or "library"
	env     source.Env
	tok     *tokens
	http    *http.Client
	picker  string // API base URLs
	library string
	policy  retry.Policy

	mu    sync.Mutex
	fresh map[string]freshURL // item id → a base URL renewed during this run
}

type freshURL struct {
	url    string
	issued time.Time
}

// New opens "gphotos:picker" or "gphotos:library" with the saved sign-in.
func New(env source.Env, location string) (*Source, error) {
	kind := strings.TrimPrefix(location, "gphotos:")
	kind = strings.TrimPrefix(kind, "//")
	if kind != "picker" && kind != "library" {
		return nil, fault.Errorf(fault.Permanent, "unknown Google Photos location %q: use gphotos:picker or gphotos:library (the whole library: takeout:)", location)
	}
	tok, err := loadTokens(env)
	if err != nil {
		return nil, err
	}
	need, flag := ScopePicker, "--picker"
	if kind == "library" {
		need, flag = ScopeLibrary, "--library"
	}
	if !tok.has(need) {
		return nil, fault.WithHint(fault.Auth, fmt.Errorf("the saved Google sign-in does not cover gphotos:%s", kind),
			"ps-auth gphotos --client-secret client_secret.json "+flag)
	}
	// No overall client timeout: a video download may take hours. API
	// calls get their own deadline (callOnce); a stalled download is
	// ps-fetch's --idle-timeout.
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.ResponseHeaderTimeout = time.Minute
	s := &Source{kind: kind, env: env, tok: tok, http: &http.Client{Transport: transport},
		picker: envOr("PS_GPHOTOS_PICKER_URL", "https://photospicker.googleapis.com"), library: envOr("PS_GPHOTOS_LIBRARY_URL", "https://photoslibrary.googleapis.com"),
		policy: retry.Default, fresh: map[string]freshURL{}}
	s.policy.OnRetry = func(attempt int, err error, wait time.Duration) {
		if env.Log != nil {
			env.Log.Info(fmt.Sprintf("gphotos: retrying in %s: %v", wait.Round(time.Millisecond), err))
		}
	}
	return s, nil
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return strings.TrimRight(v, "/")
	}
	return def
}

// Location is "gphotos:picker" or "gphotos:library".
func (s *Source) Location() string { return "gphotos:" + s.kind }

// Close has nothing to release: picker sessions expire on their own, and
// are kept until then so base URLs can be renewed during the fetch.
func (s *Source) Close() error { return nil }

// apiError is google.rpc.Status as JSON.
type apiError struct {
	Error struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Status  string `json:"status"`
	} `json:"error"`
}

// call makes one API request (retried through the policy on 429 and 5xx),
// refreshing the access token once if the server says it has expired.
func (s *Source) call(ctx context.Context, method, url string, body, out any) error {
	_, err := s.policy.Do(ctx, func(int) error { return s.callOnce(ctx, method, url, body, out) })
	return err
}

// apiTimeout bounds one API request, body included.
const apiTimeout = 2 * time.Minute

func (s *Source) callOnce(ctx context.Context, method, url string, body, out any) error {
	ctx, cancel := context.WithTimeout(ctx, apiTimeout)
	defer cancel()
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return fault.Wrap(fault.Permanent, err)
		}
	}
	for try := 0; ; try++ {
		req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(payload))
		if err != nil {
			return fault.Wrap(fault.Permanent, err)
		}
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, access, err := s.do(req)
		if err != nil {
			return err
		}
		if resp.StatusCode == http.StatusUnauthorized && try == 0 {
			resp.Body.Close()
			s.tok.invalidate(access)
			continue
		}
		defer resp.Body.Close()
		if resp.StatusCode >= 300 {
			return classifyResponse(resp)
		}
		if out == nil {
			return nil
		}
		if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(out); err != nil {
			return fault.Wrap(fault.Transient, fmt.Errorf("%s: bad JSON from Google: %w", req.URL.Path, err))
		}
		return nil
	}
}

// do sends req with a current access token.
func (s *Source) do(req *http.Request) (*http.Response, string, error) {
	access, err := s.tok.token()
	if err != nil {
		return nil, "", err
	}
	req.Header.Set("Authorization", "Bearer "+access)
	resp, err := s.http.Do(req)
	if err != nil {
		if errors.Is(req.Context().Err(), context.Canceled) {
			return nil, "", fault.Wrap(fault.Canceled, req.Context().Err())
		}
		return nil, "", fault.Wrap(fault.Transient, err) // timeouts included
	}
	return resp, access, nil
}

// classifyResponse turns an error response into a fault: 401 and scope
// errors need ps-auth, 429 waits, 5xx retries, the rest is permanent.
func classifyResponse(resp *http.Response) error {
	var e apiError
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	json.Unmarshal(b, &e)
	msg := e.Error.Message
	if msg == "" {
		msg = http.StatusText(resp.StatusCode)
	}
	err := fmt.Errorf("Google Photos: %d %s: %s", resp.StatusCode, e.Error.Status, msg)
	switch {
	case resp.StatusCode == http.StatusUnauthorized:
		return fault.WithHint(fault.Auth, err, authHint)
	case resp.StatusCode == http.StatusForbidden && strings.Contains(msg, "scopes"):
		return fault.WithHint(fault.Auth, err, authHint)
	case resp.StatusCode == http.StatusNotFound:
		return fault.Wrap(fault.NotFound, err)
	case resp.StatusCode == http.StatusTooManyRequests:
		return fault.WithRetryAfter(err, retry.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now()))
	case resp.StatusCode >= 500:
		return fault.Wrap(fault.Transient, err)
	}
	return fault.Wrap(fault.Permanent, err)
}

// List lists the picked items or the app-created library.
func (s *Source) List(ctx context.Context, opts source.ListOptions, sink source.Sink) error {
	if s.kind == "picker" {
		return s.listPicker(ctx, opts, sink)
	}
	return s.listLibrary(ctx, opts, sink)
}

func (s *Source) logInfo(msg string) {
	if s.env.Log != nil {
		s.env.Log.Info(msg)
	}
}

var _ source.Source = (*Source)(nil)
