package fetch

import (
	"fmt"
	"net/url"

	"github.com/ps-photos/ps/internal/fault"
	"github.com/ps-photos/ps/internal/record"
)

// A source that has gone away (the NAS switched off, the Wi-Fi dropped)
// fails every item transiently, each after all its retries and their
// back-off: on a 100,000-item run that is hours of waiting for nothing.
// After Options.GiveUpAfter items in a row from one source end that way,
// with no success between them, ps-fetch stops trying the source: its
// remaining items fail at once, still as transient, so that re-running
// ps-fetch with the failures file once the source is back fetches them.

// streak counts one source's transient failures in a row.
type streak struct {
	n      int
	gaveUp error // set once the streak reached the limit
}

// sourceKey names the source an item's network errors belong to: its
// "source", or for plain URL records the URL's host (one dead host among
// many must not stop the others).
func sourceKey(rec *record.Record) string {
	if rec.Source != "" || rec.URL == "" {
		return rec.Source
	}
	if u, err := url.Parse(rec.URL); err == nil {
		return u.Scheme + "://" + u.Host
	}
	return rec.URL
}

// outcome feeds one finished item into its source's streak.
func (e *engine) outcome(rec *record.Record, err error) {
	if e.opts.GiveUpAfter <= 0 || e.ctx.Err() != nil {
		return
	}
	key := sourceKey(rec)
	e.mu.Lock()
	defer e.mu.Unlock()
	s := e.streaks[key]
	if s == nil {
		s = &streak{}
		e.streaks[key] = s
	}
	if s.gaveUp != nil {
		return
	}
	if err == nil || fault.ClassOf(err) != fault.Transient {
		s.n = 0 // the source answered
		return
	}
	if s.n++; s.n < e.opts.GiveUpAfter {
		return
	}
	s.gaveUp = fault.Wrap(fault.Transient, fmt.Errorf(
		"not attempted: the last %d items from %s failed (last: %v), so ps-fetch stopped trying it; run ps-fetch again with the failures file once it is reachable",
		s.n, key, err))
	e.log.Error(fmt.Sprintf("%s: %d items in a row failed, giving up on this source for this run (last error: %v)", key, s.n, err))
}

// givenUp returns the error for items of a source ps-fetch gave up on.
func (e *engine) givenUp(rec *record.Record) error {
	if e.opts.GiveUpAfter <= 0 {
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if s := e.streaks[sourceKey(rec)]; s != nil {
		return s.gaveUp
	}
	return nil
}
