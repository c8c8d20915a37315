// Package retry holds the only backoff loop in ps: exponential backoff with
// full jitter, honouring a server's Retry-After, retrying only transient and
// rate_limited errors. Sources use it per request; ps-fetch per item.
package retry

import (
	"context"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/ps-photos/ps/internal/fault"
)

// Policy says how often and how patiently to retry.
type Policy struct {
	Attempts int           // total tries, at least 1
	Base     time.Duration // first backoff ceiling
	Max      time.Duration // largest backoff ceiling
	// MaxWait caps how long a Retry-After may make us wait; past it the
	// error is returned so the caller can record it.
	MaxWait time.Duration
	// Sleep waits for d or until ctx is done; tests swap it for a fake clock.
	Sleep func(ctx context.Context, d time.Duration) error
	// OnRetry, when set, is told about each retry (for logs and progress).
	OnRetry func(attempt int, err error, wait time.Duration)
}

// Default is a sensible per-request policy.
var Default = Policy{Attempts: 4, Base: 250 * time.Millisecond, Max: 10 * time.Second, MaxWait: 2 * time.Minute}

// Backoff returns the wait before try number attempt+1 (attempt counts from
// 1): full jitter over an exponentially growing ceiling, or the server's
// Retry-After when it asked for longer.
func (p Policy) Backoff(attempt int, err error) time.Duration {
	base, max := p.Base, p.Max
	if base <= 0 {
		base = 250 * time.Millisecond
	}
	if max <= 0 {
		max = 30 * time.Second
	}
	ceiling := base << min(attempt-1, 20)
	if ceiling > max || ceiling <= 0 {
		ceiling = max
	}
	wait := time.Duration(rand.Int64N(int64(ceiling) + 1))
	if t := fault.RetryAfterOf(err); !t.IsZero() {
		if d := time.Until(t); d > wait {
			wait = d
		}
	}
	return wait
}

// Do calls fn until it succeeds, returns a non-retryable error, or the
// attempts run out. It returns the number of attempts made and the last
// error.
func (p Policy) Do(ctx context.Context, fn func(attempt int) error) (int, error) {
	attempts := max(p.Attempts, 1)
	sleep := p.Sleep
	if sleep == nil {
		sleep = SleepCtx
	}
	var err error
	for attempt := 1; ; attempt++ {
		err = fn(attempt)
		if err == nil {
			return attempt, nil
		}
		if attempt >= attempts || !fault.ClassOf(err).Retryable() || ctx.Err() != nil {
			return attempt, err
		}
		wait := p.Backoff(attempt, err)
		if p.MaxWait > 0 && wait > p.MaxWait {
			return attempt, err
		}
		if p.OnRetry != nil {
			p.OnRetry(attempt, err, wait)
		}
		if serr := sleep(ctx, wait); serr != nil {
			return attempt, fault.Wrap(fault.Canceled, serr)
		}
	}
}

// SleepCtx waits for d unless ctx ends first.
func SleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ParseRetryAfter reads an HTTP Retry-After value (seconds or an HTTP date)
// relative to now. It returns the zero time when the value is unusable.
func ParseRetryAfter(v string, now time.Time) time.Time {
	if v == "" {
		return time.Time{}
	}
	var secs int
	n := 0
	for _, c := range v {
		if c < '0' || c > '9' {
			n = -1
			break
		}
		secs = secs*10 + int(c-'0')
		n++
		if n > 9 {
			break
		}
	}
	if n > 0 {
		return now.Add(time.Duration(secs) * time.Second)
	}
	if t, err := http.ParseTime(v); err == nil { // the three HTTP date forms
		return t
	}
	return time.Time{}
}
