package synology

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ps-photos/ps/internal/fault"
	"github.com/ps-photos/ps/internal/retry"
	"github.com/ps-photos/ps/internal/source/synology/api"
)

// entryPath is the Web API entry the client posts to; the fake also serves
// every alias docs/protocols/synology.md lists.
const entryPath = "/sharing/webapi/entry.cgi"

// newHTTPClient builds the one HTTP client of a run. Certificates are
// verified unless insecure; redirects may not leave the host or drop to
// plain HTTP, so the cookie never travels anywhere else.
func newHTTPClient(insecure bool) *http.Client {
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 15 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:       &tls.Config{InsecureSkipVerify: insecure}, //nolint:gosec // only with --insecure, which warns
		TLSHandshakeTimeout:   15 * time.Second,
		ResponseHeaderTimeout: 90 * time.Second,
		MaxIdleConns:          128,
		MaxIdleConnsPerHost:   64,
		IdleConnTimeout:       90 * time.Second,
		DisableCompression:    true,
		ForceAttemptHTTP2:     true,
	}
	return &http.Client{Transport: tr, CheckRedirect: sameHostRedirect}
}

func sameHostRedirect(req *http.Request, via []*http.Request) error {
	first := via[0].URL
	switch {
	case len(via) >= 5:
		return errors.New("too many redirects")
	case req.URL.Host != first.Host:
		return fmt.Errorf("refusing a redirect from %s to another host (%s)", first.Host, req.URL.Host)
	case first.Scheme == "https" && req.URL.Scheme != "https":
		return fmt.Errorf("refusing a redirect from https to %s", req.URL.Scheme)
	}
	return nil
}

// client talks to one verified NAS base with one share session. It is
// safe for concurrent use; when the session expires, the first request to
// notice renews it (if a password is remembered) and the others wait and
// use the new sid.
type client struct {
	base      *url.URL
	sharingID string
	http      *http.Client
	policy    retry.Policy
	hint      string // the ps-auth command that signs in again

	mu    sync.Mutex
	sid   string
	gen   int   // bumped on every renewal
	dead  error // the session expired for good: every call fails with it
	renew func(ctx context.Context) (string, error)
	saved func(sid string) // persists a renewed session
}

// current returns the sid to use and its generation.
func (c *client) current() (string, int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sid, c.gen, c.dead
}

// withSession runs fn with the current sid. If the server says the session
// is gone, it renews once and runs fn again; without a remembered password
// the session is dead and every later call fails at once with an auth
// error naming the ps-auth command.
func (c *client) withSession(ctx context.Context, fn func(sid string) error) error {
	for renewed := false; ; renewed = true {
		sid, gen, err := c.current()
		if err != nil {
			return err
		}
		err = fn(sid)
		switch {
		case err == nil:
			return nil
		case !isSessionCode(codeOf(err)):
			if fault.ClassOf(err) == fault.Auth && fault.HintOf(err) == "" {
				return fault.WithHint(fault.Auth, err, c.hint) // a 401/403 says the same
			}
			return err
		}
		if renewed {
			return fault.WithHint(fault.Auth, fmt.Errorf("the share still rejects a fresh session: %w", err), c.hint)
		}
		if err := c.renewAfter(ctx, gen, err); err != nil {
			return err
		}
	}
}

// renewAfter replaces the sid of generation gen, unless another request
// already did.
func (c *client) renewAfter(ctx context.Context, gen int, cause error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.gen != gen:
		return nil
	case c.dead != nil:
		return c.dead
	case c.renew == nil:
		c.dead = fault.WithHint(fault.Auth, fmt.Errorf("the share session has expired (%v); sign in again", cause), c.hint)
		return c.dead
	}
	sid, err := c.renew(ctx)
	if err != nil {
		if fault.ClassOf(err) == fault.Auth {
			c.dead = fault.WithHint(fault.Auth, fmt.Errorf("renewing the expired session failed: %w", err), c.hint)
			return c.dead
		}
		return err
	}
	c.sid, c.gen = sid, c.gen+1
	if c.saved != nil {
		c.saved(sid)
	}
	return nil
}

// call runs one Web API method with per-request retries and session
// renewal, and decodes its data into out (when not nil).
func (c *client) call(ctx context.Context, apiName, method string, version int, params url.Values, out any) error {
	_, err := c.policy.Do(ctx, func(int) error {
		return c.withSession(ctx, func(sid string) error {
			return c.post(ctx, sid, apiName, method, version, params, out)
		})
	})
	return err
}

// post sends one form-encoded API request and decodes its data into out.
func (c *client) post(ctx context.Context, sid, apiName, method string, version int, params url.Values, out any) error {
	form := url.Values{"api": {apiName}, "method": {method}, "version": {strconv.Itoa(version)}}
	for k, v := range params {
		form[k] = v
	}
	u := c.base.JoinPath(entryPath)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), strings.NewReader(form.Encode()))
	if err != nil {
		return fault.Wrap(fault.Permanent, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	c.decorate(req, sid)
	resp, err := c.http.Do(req)
	if err != nil {
		return classifyNet(err)
	}
	defer drain(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return classifyStatus(apiName, resp)
	}
	return decodeEnvelope(apiName, resp.Body, out)
}

// decorate adds the share headers: the sid cookie (only ever to this
// base) and X-SYNO-SHARING.
func (c *client) decorate(req *http.Request, sid string) {
	req.Header.Set("X-SYNO-SHARING", c.sharingID)
	req.Header.Set("Accept-Encoding", "identity")
	if sid != "" {
		req.AddCookie(&http.Cookie{Name: "sharing_sid", Value: sid})
	}
}

// login signs in to the share and returns the sid. A wrong password is an
// auth error that is never retried (DSM may block the address).
func (c *client) login(ctx context.Context, password string) (string, error) {
	params := url.Values{"sharing_id": {c.sharingID}}
	if password != "" {
		params.Set("password", password)
	}
	var sid string
	_, err := c.policy.Do(ctx, func(int) error {
		var ld api.LoginData
		if err := c.post(ctx, "", api.APILogin, "login", 1, params, &ld); err != nil {
			switch codeOf(err) {
			case codeWrongPassword:
				return fault.Errorf(fault.Auth, "the share password is wrong")
			case codeNotPermitted:
				return fault.Errorf(fault.Auth, "the NAS refuses sign-ins from this address for now (blocked after wrong passwords?)")
			}
			return err
		}
		if ld.SharingSID == "" {
			return fault.Errorf(fault.Transient, "%s: the answer carries no sharing_sid", api.APILogin)
		}
		sid = ld.SharingSID
		return nil
	})
	return sid, err
}

// initdata reads the share's root folder name.
func (c *client) initdata(ctx context.Context) (api.InitData, error) {
	var d api.InitData
	err := c.call(ctx, api.APIInitdata, "get", 1, nil, &d)
	return d, err
}

// drain reads a little of what is left so the connection can be reused.
func drain(body io.ReadCloser) {
	_, _ = io.CopyN(io.Discard, body, 64<<10)
	_ = body.Close()
}

// quote writes a string as the JSON literal the web client sends (with
// <, > and & left alone, as a browser's JSON.stringify does).
func quote(s string) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return strings.TrimSuffix(b.String(), "\n")
}
