package fault

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
	"testing"
	"time"
)

func TestClassOf(t *testing.T) {
	disk := &os.PathError{Op: "write", Path: "/x", Err: syscall.ENOSPC}
	for name, c := range map[string]struct {
		err  error
		want Class
	}{
		"nil":                  {nil, ""},
		"classified":           {Wrap(Auth, errors.New("401")), Auth},
		"wrapped again":        {fmt.Errorf("list: %w", Wrap(NotFound, errors.New("404"))), NotFound},
		"outermost wins":       {Wrap(Permanent, fmt.Errorf("size: %w", Wrap(Transient, errors.New("reset")))), Permanent},
		"retry after":          {WithRetryAfter(errors.New("429"), time.Now()), RateLimited},
		"hint":                 {WithHint(Auth, errors.New("expired"), "ps-auth smb"), Auth},
		"canceled":             {fmt.Errorf("get: %w", context.Canceled), Canceled},
		"deadline":             {fmt.Errorf("get: %w", context.DeadlineExceeded), Transient},
		"disk full":            {disk, Local},
		"quota":                {syscall.EDQUOT, Local},
		"read-only":            {&os.PathError{Op: "open", Path: "/x", Err: syscall.EROFS}, Local},
		"missing file":         {&os.PathError{Op: "open", Path: "/x", Err: fs.ErrNotExist}, NotFound},
		"unknown is permanent": {errors.New("something odd"), Permanent},
		"classified local":     {Wrap(Transient, disk), Transient},
	} {
		if got := ClassOf(c.err); got != c.want {
			t.Errorf("%s: ClassOf(%v) = %q, want %q", name, c.err, got, c.want)
		}
	}
}

func TestDetails(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	err := fmt.Errorf("page 3: %w", WithRetryAfter(errors.New("429"), at))
	if got := RetryAfterOf(err); !got.Equal(at) {
		t.Errorf("RetryAfterOf = %v, want %v", got, at)
	}
	if got := RetryAfterOf(errors.New("x")); !got.IsZero() {
		t.Errorf("RetryAfterOf(unclassified) = %v", got)
	}
	err = fmt.Errorf("open: %w", WithHint(Auth, errors.New("expired"), "ps-auth icloud"))
	if HintOf(err) != "ps-auth icloud" || HintOf(errors.New("x")) != "" {
		t.Errorf("HintOf = %q", HintOf(err))
	}
	if err.Error() != "open: expired" {
		t.Errorf("message %q: the class and hint must not change it", err.Error())
	}
	if Wrap(Auth, nil) != nil {
		t.Error("Wrap(nil) is not nil")
	}
	if !IsDiskFull(&os.PathError{Err: syscall.ENOSPC}) || !IsDiskFull(syscall.EDQUOT) || IsDiskFull(syscall.EROFS) {
		t.Error("IsDiskFull")
	}
}

func TestClasses(t *testing.T) {
	for _, c := range Classes {
		if !c.Valid() {
			t.Errorf("%q not valid", c)
		}
		if c.Retryable() != (c == Transient || c == RateLimited) {
			t.Errorf("%q retryable = %v", c, c.Retryable())
		}
	}
	if Class("fatal").Valid() || Class("").Valid() {
		t.Error("an unknown class is valid")
	}
}
