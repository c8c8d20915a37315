package icloud

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/ps-photos/ps/internal/fault"
	"github.com/ps-photos/ps/internal/retry"
)

// userAgent is a desktop browser's, as icloud.com expects.
const userAgent = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/138.0.0.0 Safari/537.36"

// maxBody bounds a JSON answer (a 200-record page is ~1 MiB).
const maxBody = 64 << 20

// client sends JSON requests with per-request retries, and pauses every
// request while Apple has asked us to back off (one throttled query
// should slow all workers, not only itself).
type client struct {
	http *http.Client
	// download has no overall timeout: a large video on a slow link takes
	// as long as it takes. Only the response header is bounded here; a
	// body that stalls is ps-fetch's idle timeout's business.
	download *http.Client
	policy   retry.Policy
	log      *slog.Logger
	hint     string // the ps-auth command, for auth errors

	mu         sync.Mutex
	pauseUntil time.Time
}

func newClient(log *slog.Logger, hint string) *client {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.ResponseHeaderTimeout = time.Minute
	tr.MaxIdleConnsPerHost = 32
	c := &client{
		http:     &http.Client{Timeout: 2 * time.Minute},
		download: &http.Client{Transport: tr},
		policy:   retry.Default, log: log, hint: hint,
	}
	c.policy.OnRetry = func(attempt int, err error, wait time.Duration) {
		c.log.Debug("icloud: retrying", "attempt", attempt, "err", err, "wait", wait)
	}
	return c
}

// request is one call: method, URL, headers and a JSON body (or raw bytes).
type request struct {
	where  string // what it is, for messages ("records/query")
	method string
	url    string
	header http.Header
	body   any    // marshalled as JSON unless raw is set
	raw    []byte // sent as is
	// accept lists statuses that are answers, not errors (409 at
	// signin/complete, 412, …).
	accept []int
}

// response is an answered request.
type response struct {
	status int
	header http.Header
	body   []byte
	resp   *http.Response
}

// do sends r, retrying transient and throttled failures.
func (c *client) do(ctx context.Context, r request) (*response, error) {
	var out *response
	_, err := c.policy.Do(ctx, func(int) error {
		if err := c.waitPause(ctx); err != nil {
			return err
		}
		var err error
		out, err = c.once(ctx, r)
		if t := fault.RetryAfterOf(err); !t.IsZero() {
			c.pause(t)
		}
		return err
	})
	return out, err
}

func (c *client) once(ctx context.Context, r request) (*response, error) {
	body := r.raw
	if body == nil && r.body != nil {
		var err error
		if body, err = json.Marshal(r.body); err != nil {
			return nil, fault.Wrap(fault.Permanent, err)
		}
	}
	req, err := http.NewRequestWithContext(ctx, r.method, r.url, bytes.NewReader(body))
	if err != nil {
		return nil, fault.Wrap(fault.Permanent, err)
	}
	for k, v := range r.header {
		req.Header[k] = v
	}
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", userAgent)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, classifyNet(r.where, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, classifyNet(r.where, err)
	}
	out := &response{status: resp.StatusCode, header: resp.Header, body: b, resp: resp}
	if resp.StatusCode/100 == 2 {
		return out, nil
	}
	for _, s := range r.accept {
		if s == resp.StatusCode {
			return out, nil
		}
	}
	return out, classify(r.where, resp, b, c.hint)
}

func (c *client) pause(until time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if until.After(c.pauseUntil) {
		c.pauseUntil = until
		c.log.Warn("icloud: Apple asks us to slow down; pausing requests", "until", until.Format(time.TimeOnly))
	}
}

func (c *client) waitPause(ctx context.Context) error {
	c.mu.Lock()
	d := time.Until(c.pauseUntil)
	c.mu.Unlock()
	if d <= 0 {
		return nil
	}
	if err := retry.SleepCtx(ctx, d); err != nil {
		return fault.Wrap(fault.Canceled, err)
	}
	return nil
}
