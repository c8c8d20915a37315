package retry

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/ps-photos/ps/internal/fault"
)

// The backoff is full jitter under a ceiling that doubles from Base and
// stops at Max; a Retry-After further away than that wins.
func TestBackoff(t *testing.T) {
	p := Policy{Base: 100 * time.Millisecond, Max: time.Second}
	transient := fault.Wrap(fault.Transient, errors.New("reset"))
	for attempt, ceiling := range map[int]time.Duration{1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 4: 800 * time.Millisecond, 5: time.Second, 60: time.Second} {
		var longest time.Duration
		for range 2000 {
			d := p.Backoff(attempt, transient)
			if d < 0 || d > ceiling {
				t.Fatalf("attempt %d: waited %v, ceiling %v", attempt, d, ceiling)
			}
			longest = max(longest, d)
		}
		if longest < ceiling/2 {
			t.Errorf("attempt %d: longest of 2000 waits %v, want near %v (no jitter?)", attempt, longest, ceiling)
		}
	}
	limited := fault.WithRetryAfter(errors.New("429"), time.Now().Add(5*time.Second))
	if d := p.Backoff(1, limited); d < 4*time.Second || d > 5*time.Second {
		t.Errorf("Retry-After in 5s: waited %v", d)
	}
	if d := (Policy{}).Backoff(1, transient); d > 250*time.Millisecond {
		t.Errorf("zero policy: first wait %v, want at most the 250ms default", d)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	at := time.Date(2026, 12, 4, 12, 0, 30, 0, time.UTC)
	for v, want := range map[string]time.Time{
		"120":                            now.Add(2 * time.Minute),
		"0":                              now,
		at.Format(http.TimeFormat):       at, // IMF-fixdate, what servers send
		"Friday, 04-Dec-26 12:00:30 GMT": at, // RFC 850, which RFC 9110 says to accept too
		"Fri Dec  4 12:00:30 2026":       at, // asctime, likewise
		"":                               {},
		"soon":                           {},
		"-5":                             {},
		"1.5":                            {},
		"12 seconds":                     {},
	} {
		if got := ParseRetryAfter(v, now); !got.Equal(want) {
			t.Errorf("ParseRetryAfter(%q) = %v, want %v", v, got, want)
		}
	}
}

// fakeSleep records the waits Do asks for instead of sleeping.
type fakeSleep struct{ waits []time.Duration }

func (f *fakeSleep) sleep(_ context.Context, d time.Duration) error {
	f.waits = append(f.waits, d)
	return nil
}

func TestDo(t *testing.T) {
	transient := fault.Wrap(fault.Transient, errors.New("reset"))
	permanent := fault.Wrap(fault.Permanent, errors.New("bad name"))
	odd := errors.New("odd")
	for name, c := range map[string]struct {
		errs         []error // what each call returns; past the end: nil
		attempts     int
		wantAttempts int
		wantErr      error
	}{
		"first try":            {nil, 4, 1, nil},
		"after two failures":   {[]error{transient, transient}, 4, 3, nil},
		"attempts run out":     {[]error{transient, transient, transient, transient, transient}, 3, 3, transient},
		"permanent at once":    {[]error{permanent}, 4, 1, permanent},
		"unclassified at once": {[]error{odd}, 4, 1, odd},
		"one attempt minimum":  {[]error{transient}, 0, 1, transient},
	} {
		fs := &fakeSleep{}
		var retried []int
		p := Policy{Attempts: c.attempts, Base: time.Millisecond, Max: time.Millisecond, Sleep: fs.sleep,
			OnRetry: func(attempt int, _ error, _ time.Duration) { retried = append(retried, attempt) }}
		calls := 0
		n, err := p.Do(context.Background(), func(attempt int) error {
			calls++
			if attempt != calls {
				t.Errorf("%s: call %d told attempt %d", name, calls, attempt)
			}
			if attempt <= len(c.errs) {
				return c.errs[attempt-1]
			}
			return nil
		})
		if n != c.wantAttempts || calls != n {
			t.Errorf("%s: %d attempts (%d calls), want %d", name, n, calls, c.wantAttempts)
		}
		if !errors.Is(err, c.wantErr) {
			t.Errorf("%s: err %v, want %v", name, err, c.wantErr)
		}
		if len(fs.waits) != n-1 || len(retried) != n-1 {
			t.Errorf("%s: %d sleeps and %d retries for %d attempts", name, len(fs.waits), len(retried), n)
		}
	}
}

// A server that asks for a longer wait than MaxWait gets its error back at
// once, so the caller records it instead of hanging.
func TestDoMaxWait(t *testing.T) {
	fs := &fakeSleep{}
	p := Policy{Attempts: 5, MaxWait: time.Minute, Sleep: fs.sleep}
	limited := fault.WithRetryAfter(errors.New("429"), time.Now().Add(time.Hour))
	n, err := p.Do(context.Background(), func(int) error { return limited })
	if n != 1 || !errors.Is(err, limited) || len(fs.waits) != 0 {
		t.Errorf("%d attempts, %v, waits %v", n, err, fs.waits)
	}
}

// Cancelling during a wait ends Do with a canceled error; a cancelled
// context stops the retries even when the function ignores it.
func TestDoCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	transient := fault.Wrap(fault.Transient, errors.New("reset"))
	p := Policy{Attempts: 5, Base: time.Hour, Max: time.Hour}
	go func() { time.Sleep(20 * time.Millisecond); cancel() }()
	start := time.Now()
	n, err := p.Do(ctx, func(int) error { return transient })
	if fault.ClassOf(err) != fault.Canceled || n != 1 || time.Since(start) > 10*time.Second {
		t.Errorf("%d attempts, %v (class %s) after %v", n, err, fault.ClassOf(err), time.Since(start))
	}
	calls := 0
	n, _ = Policy{Attempts: 5, Sleep: (&fakeSleep{}).sleep}.Do(ctx, func(int) error { calls++; return transient })
	if n != 1 || calls != 1 {
		t.Errorf("cancelled context: %d attempts", n)
	}
}
