package gphotos

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ps-photos/ps/internal/fault"
	"github.com/ps-photos/ps/internal/record"
	"github.com/ps-photos/ps/internal/retry"
	"github.com/ps-photos/ps/internal/source"
)

// baseURLLife is how long ps trusts a base URL: Google's 60 minutes, less
// a margin for a download that starts just before it ends.
const baseURLLife = 55 * time.Minute

// Open downloads an item with "=d" (or "=dv" for videos), from offset when
// the server honours Range. An expired base URL is renewed once.
func (s *Source) Open(ctx context.Context, item *record.Record, offset int64) (*source.Content, error) {
	if item.ID == "" {
		return nil, fault.Errorf(fault.Permanent, "the record has no id")
	}
	u, err := s.baseURL(ctx, item, "")
	if err != nil {
		return nil, err
	}
	param := param(item)
	renewed, refreshed := false, false
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u+param, nil)
		if err != nil {
			return nil, fault.Wrap(fault.Permanent, err)
		}
		if offset > 0 {
			req.Header.Set("Range", fmt.Sprintf("bytes=%d-", offset))
			source.SetIfRange(ctx, req, offset)
		}
		resp, access, err := s.do(req)
		if err != nil {
			return nil, err
		}
		switch code := resp.StatusCode; {
		case code == http.StatusOK || code == http.StatusPartialContent:
			c, err := content(resp, offset)
			if err == nil {
				c.ReadCloser = source.BindContext(ctx, c.ReadCloser)
			}
			return c, err
		case code == http.StatusUnauthorized && !refreshed:
			resp.Body.Close()
			s.tok.invalidate(access)
			refreshed = true
			continue
		case (code == http.StatusForbidden || code == http.StatusNotFound || code == http.StatusGone) && !renewed:
			// Most likely the base URL expired (Google answers with an
			// image content type, not JSON): get a fresh one.
			resp.Body.Close()
			if u, err = s.baseURL(ctx, item, u); err != nil {
				return nil, err
			}
			renewed = true
			continue
		case code == http.StatusRequestedRangeNotSatisfiable:
			resp.Body.Close()
			// "bytes */SIZE": asking for the end of a complete file is
			// fine, there is just nothing left to read.
			if size, ok := strings.CutPrefix(resp.Header.Get("Content-Range"), "bytes */"); ok && size == strconv.FormatInt(offset, 10) {
				return &source.Content{ReadCloser: http.NoBody, Offset: offset, Size: offset}, nil
			}
			return nil, source.ErrBadRange
		}
		defer resp.Body.Close()
		err = classifyResponse(resp)
		if resp.StatusCode == http.StatusTooManyRequests {
			err = fault.WithRetryAfter(err, retry.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now()))
		}
		return nil, err
	}
}

func content(resp *http.Response, offset int64) (*source.Content, error) {
	c := &source.Content{ReadCloser: resp.Body, Size: -1, Version: source.HTTPVersion(resp.Header)}
	if resp.StatusCode == http.StatusPartialContent {
		// "bytes START-END/SIZE"
		cr := strings.TrimPrefix(resp.Header.Get("Content-Range"), "bytes ")
		rng, size, _ := strings.Cut(cr, "/")
		start, _, _ := strings.Cut(rng, "-")
		if n, err := strconv.ParseInt(start, 10, 64); err != nil || n != offset {
			resp.Body.Close()
			return nil, fault.Errorf(fault.Transient, "Google answered range %q for offset %d", cr, offset)
		}
		c.Offset = offset
		if n, err := strconv.ParseInt(size, 10, 64); err == nil {
			c.Size = n
		}
		return c, nil
	}
	if resp.ContentLength >= 0 {
		c.Size = resp.ContentLength
	}
	return c, nil
}

// baseURL returns a fresh base URL for item: one Google gave during this
// run (the listing, or an earlier renewal), else a renewed one. The URL
// is never taken from the record: the record may be hours old, and its id
// is what names the item. failed is a URL the server just refused: a
// renewal another download made since then is used instead of renewing
// again (a picker renewal lists the whole session).
func (s *Source) baseURL(ctx context.Context, item *record.Record, failed string) (string, error) {
	s.mu.Lock()
	f, ok := s.fresh[item.ID]
	s.mu.Unlock()
	if ok && f.url != failed && time.Since(f.issued) < baseURLLife {
		return f.url, nil
	}
	s.mu.Lock()
	delete(s.fresh, item.ID) // an item the renewal no longer lists is gone
	s.mu.Unlock()
	var err error
	if s.kind == "picker" {
		session, _ := item.Meta["picker_session"].(string)
		err = s.renewPicker(ctx, session)
	} else {
		err = s.renewLibrary(ctx, item.ID)
	}
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	f, ok = s.fresh[item.ID]
	s.mu.Unlock()
	if !ok {
		return "", fault.Errorf(fault.NotFound, "Google Photos no longer lists %s (%s)", item.Name, item.ID)
	}
	return f.url, nil
}
