// Package httpget is the plain-HTTP source: it opens records that carry
// nothing but an http(s) "url", so ps-fetch can download URLs that jq made
// up. It cannot list. One client with a tuned Transport serves every
// download of a run, so connections are reused.
package httpget

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ps-photos/ps/internal/fault"
	"github.com/ps-photos/ps/internal/record"
	"github.com/ps-photos/ps/internal/retry"
	"github.com/ps-photos/ps/internal/source"
)

// Factory registers the plain-HTTP source for "http:" and "https:".
var Factory = source.Factory{
	Name:    "http",
	Schemes: []string{"http", "https"},
	Help:    "plain http(s) URLs in records' url field (ps-fetch only; cannot list)",
	New: func(_ context.Context, _ source.Env, _ string, _ *record.Record) (source.Source, error) {
		return New(), nil
	},
}

// Source fetches records' URLs with GET.
type Source struct {
	client *http.Client
	now    func() time.Time
}

// New makes a source with its own connection pool.
func New() *Source {
	tr := &http.Transport{
		Proxy: http.ProxyFromEnvironment,
		DialContext: (&net.Dialer{
			Timeout:   30 * time.Second,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		MaxIdleConns:          512,
		MaxIdleConnsPerHost:   256, // at least -j: every worker keeps its connection
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   30 * time.Second,
		ExpectContinueTimeout: time.Second,
		// The bytes must be the file's bytes: no transparent gzip.
		DisableCompression: true,
		ReadBufferSize:     256 << 10,
		WriteBufferSize:    16 << 10,
		// HTTP/1.1 on purpose: one TCP connection per worker moves bulk
		// data faster than many streams sharing one HTTP/2 connection's
		// flow-control window.
		ForceAttemptHTTP2: false,
	}
	// No overall timeout: a 4 GB video takes a while. ps-fetch's idle
	// timeout cancels a stalled request through its context.
	return &Source{client: &http.Client{Transport: tr, CheckRedirect: checkRedirect}, now: time.Now}
}

// maxRedirects is as many redirects as Go's client follows by default.
const maxRedirects = 10

// redirectError is a redirect ps-fetch will not follow: to a scheme other
// than http(s) (file://, ftp://), or one too many (a loop). Retrying
// cannot help, so it is permanent.
type redirectError struct{ msg string }

func (e *redirectError) Error() string { return e.msg }

func checkRedirect(req *http.Request, via []*http.Request) error {
	if s := req.URL.Scheme; s != "http" && s != "https" {
		return &redirectError{fmt.Sprintf("refusing a redirect to a %s: URL (only http and https are followed)", s)}
	}
	if len(via) >= maxRedirects {
		return &redirectError{fmt.Sprintf("stopped after %d redirects (a redirect loop?)", maxRedirects)}
	}
	return nil
}

// Location is the same for every URL.
func (s *Source) Location() string { return "http:" }

// List is not possible over plain HTTP.
func (s *Source) List(context.Context, source.ListOptions, source.Sink) error {
	return fault.Errorf(fault.Permanent, "the http source cannot list: feed ps-fetch records with a \"url\" field instead")
}

// Open GETs item.URL from offset with a Range request.
func (s *Source) Open(ctx context.Context, item *record.Record, offset int64) (*source.Content, error) {
	if item.URL == "" {
		return nil, fault.Errorf(fault.Permanent, "the record has no url")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, item.URL, nil)
	if err != nil {
		return nil, fault.Wrap(fault.Permanent, fmt.Errorf("bad url: %w", err))
	}
	if offset > 0 {
		req.Header.Set("Range", "bytes="+strconv.FormatInt(offset, 10)+"-")
		source.SetIfRange(ctx, req, offset)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, classifyNet(ctx, err)
	}
	switch resp.StatusCode {
	case http.StatusOK:
		return &source.Content{ReadCloser: source.BindContext(ctx, body{resp.Body, ctx}), Offset: 0, Size: resp.ContentLength, Version: source.HTTPVersion(resp.Header), ModTime: lastModified(resp)}, nil
	case http.StatusPartialContent:
		start, total, ok := parseContentRange(resp.Header.Get("Content-Range"))
		if !ok || start != offset {
			resp.Body.Close()
			return nil, fault.Errorf(fault.Transient, "%s: asked for bytes from %d, got Content-Range %q", redact(item.URL), offset, resp.Header.Get("Content-Range"))
		}
		return &source.Content{ReadCloser: source.BindContext(ctx, body{resp.Body, ctx}), Offset: start, Size: total, Version: source.HTTPVersion(resp.Header), ModTime: lastModified(resp)}, nil
	case http.StatusRequestedRangeNotSatisfiable:
		drain(resp)
		return nil, source.ErrBadRange
	}
	defer drain(resp)
	return nil, s.classifyStatus(resp, item.URL)
}

// Describe gives a record without an mtime the server's Last-Modified,
// from a HEAD request, so ps-fetch --name date can name a jq-made URL
// record as curl -R and rclone copyurl date the file. A server that sends
// no usable header leaves the record as it was; ps-fetch then says the
// record has no mtime to name the file by.
func (s *Source) Describe(ctx context.Context, item *record.Record) error {
	if !item.Mtime.IsZero() || item.URL == "" {
		return nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, item.URL, nil)
	if err != nil {
		return fault.Wrap(fault.Permanent, fmt.Errorf("bad url: %w", err))
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return classifyNet(ctx, err)
	}
	defer drain(resp)
	if resp.StatusCode/100 != 2 {
		return s.classifyStatus(resp, item.URL)
	}
	item.Mtime = lastModified(resp)
	return nil
}

// lastModified is the response's Last-Modified time, or zero.
func lastModified(resp *http.Response) time.Time {
	t, err := http.ParseTime(resp.Header.Get("Last-Modified"))
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}

// classifyStatus maps an HTTP error status to a fault class.
func (s *Source) classifyStatus(resp *http.Response, rawURL string) error {
	err := fmt.Errorf("%s: HTTP %s", redact(rawURL), resp.Status)
	retryAt := retry.ParseRetryAfter(resp.Header.Get("Retry-After"), s.now())
	code := resp.StatusCode
	switch {
	case code == http.StatusTooManyRequests:
		return fault.WithRetryAfter(err, retryAt)
	case code == http.StatusServiceUnavailable && !retryAt.IsZero():
		return &fault.Error{Class: fault.Transient, RetryAfter: retryAt, Err: err}
	case code >= 500, code == http.StatusRequestTimeout:
		return fault.Wrap(fault.Transient, err)
	case code == http.StatusNotFound, code == http.StatusGone:
		return fault.Wrap(fault.NotFound, err)
	}
	// 401 and 403 are permanent here: a plain URL has no ps-auth to run.
	return fault.Wrap(fault.Permanent, err)
}

// classifyNet maps transport errors: everything on the wire is worth a
// retry; our own cancellation is not.
func classifyNet(ctx context.Context, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		ue.URL = redact(ue.URL) // signed URLs carry tokens in the query
	}
	if ctx.Err() != nil {
		return fault.Wrap(fault.Canceled, err)
	}
	var re *redirectError
	if errors.As(err, &re) {
		return fault.Wrap(fault.Permanent, err)
	}
	return fault.Wrap(fault.Transient, err)
}

// body classifies read errors: a dropped connection mid-body is transient.
type body struct {
	rc  io.ReadCloser
	ctx context.Context
}

func (b body) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if err != nil && err != io.EOF {
		err = classifyNet(b.ctx, err)
	}
	return n, err
}

func (b body) Close() error { return b.rc.Close() }

// drain reads a little of an unwanted body so the connection can be
// reused, then closes it.
func drain(resp *http.Response) {
	io.CopyN(io.Discard, resp.Body, 64<<10)
	resp.Body.Close()
}

// parseContentRange reads "bytes START-END/TOTAL"; TOTAL may be "*" (-1).
func parseContentRange(v string) (start, total int64, ok bool) {
	rest, found := strings.CutPrefix(v, "bytes ")
	if !found {
		return 0, 0, false
	}
	rng, tot, found := strings.Cut(rest, "/")
	if !found {
		return 0, 0, false
	}
	first, _, found := strings.Cut(rng, "-")
	if !found {
		return 0, 0, false
	}
	start, err := strconv.ParseInt(first, 10, 64)
	if err != nil {
		return 0, 0, false
	}
	total = -1
	if tot != "*" {
		if total, err = strconv.ParseInt(tot, 10, 64); err != nil {
			return 0, 0, false
		}
	}
	return start, total, true
}

// redact drops the query and user info from a URL for messages: signed
// URLs carry tokens there.
func redact(raw string) string {
	if i := strings.IndexAny(raw, "?#"); i >= 0 {
		raw = raw[:i]
	}
	if i := strings.Index(raw, "://"); i >= 0 {
		if at := strings.IndexByte(raw[i+3:], '@'); at >= 0 && !strings.Contains(raw[i+3:i+3+at], "/") {
			raw = raw[:i+3] + raw[i+3+at+1:]
		}
	}
	return raw
}

// Close drops idle connections.
func (s *Source) Close() error {
	s.client.CloseIdleConnections()
	return nil
}

var _ source.Source = (*Source)(nil)
