// Package fault is the one vocabulary of error classes in ps.
//
// An error is classified once, where it arises (a source's classify function,
// the local file system, the fetch engine), by wrapping it with Wrap. Every
// other layer only asks ClassOf. No package outside fault decides retry
// semantics by matching error strings.
//
// The classes are closed and appear verbatim in failure records
// (`error.class`), so they are part of the record contract:
//
//	transient     a retry may succeed (connection reset, 5xx, timeouts)
//	rate_limited  the server asked us to slow down; RetryAfter says until when
//	auth          the session is missing, expired or rejected: run ps-auth
//	not_found     the item or folder is gone
//	permanent     retrying cannot help (bad input, hostile name, size mismatch)
//	local         the local disk or file system failed (disk full is fatal)
//	canceled      the user interrupted the run before the item finished
package fault

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"syscall"
	"time"
)

// Class is an error class as written in failure records.
type Class string

// The closed set of classes.
const (
	Transient   Class = "transient"
	RateLimited Class = "rate_limited"
	Auth        Class = "auth"
	NotFound    Class = "not_found"
	Permanent   Class = "permanent"
	Local       Class = "local"
	Canceled    Class = "canceled"
)

// Classes lists every class, in documentation order.
var Classes = []Class{Transient, RateLimited, Auth, NotFound, Permanent, Local, Canceled}

// Valid reports whether c is one of the closed set.
func (c Class) Valid() bool {
	for _, k := range Classes {
		if c == k {
			return true
		}
	}
	return false
}

// Retryable reports whether an error of this class may succeed when retried.
func (c Class) Retryable() bool { return c == Transient || c == RateLimited }

// Error is a classified error. Use Wrap or the helpers to make one.
type Error struct {
	Class Class
	// RetryAfter is when the server allows the next attempt (rate_limited,
	// sometimes transient); zero when unknown.
	RetryAfter time.Time
	// Hint is a command the user should run to fix the problem, e.g.
	// "ps-auth synology --link https://gofile.me/…". It never holds secrets.
	Hint string
	Err  error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Wrap classifies err. A nil err stays nil. Wrapping an already classified
// error re-classifies it: the outermost class wins, so a caller that knows
// better (a fetch engine seeing a size mismatch) can override a source.
func Wrap(class Class, err error) error {
	if err == nil {
		return nil
	}
	return &Error{Class: class, Err: err}
}

// Errorf is fmt.Errorf followed by Wrap.
func Errorf(class Class, format string, args ...any) error {
	return Wrap(class, fmt.Errorf(format, args...))
}

// WithRetryAfter classifies err as rate_limited, retryable at t.
func WithRetryAfter(err error, t time.Time) error {
	return &Error{Class: RateLimited, RetryAfter: t, Err: err}
}

// WithHint classifies err and attaches the command that fixes it.
func WithHint(class Class, err error, hint string) error {
	return &Error{Class: class, Hint: hint, Err: err}
}

// ClassOf returns the class of err. Context cancellation is canceled, a
// deadline is transient, ENOSPC and other local file-system errors that were
// never classified are local, and anything else unclassified is permanent:
// an unknown error is not retried blindly.
func ClassOf(err error) Class {
	if err == nil {
		return ""
	}
	var fe *Error
	if errors.As(err, &fe) {
		return fe.Class
	}
	switch {
	case errors.Is(err, context.Canceled):
		return Canceled
	case errors.Is(err, context.DeadlineExceeded):
		return Transient
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT), errors.Is(err, syscall.EROFS):
		return Local
	case errors.Is(err, fs.ErrNotExist):
		return NotFound
	}
	return Permanent
}

// RetryAfterOf returns the time the server asked us to wait for, if any.
func RetryAfterOf(err error) time.Time {
	var fe *Error
	if errors.As(err, &fe) {
		return fe.RetryAfter
	}
	return time.Time{}
}

// HintOf returns the fix-it command attached to err, if any.
func HintOf(err error) string {
	var fe *Error
	if errors.As(err, &fe) {
		return fe.Hint
	}
	return ""
}

// IsDiskFull reports whether err means the local disk is full: the whole run
// must stop, not just this item.
func IsDiskFull(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}
