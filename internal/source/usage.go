package source

import (
	"errors"
	"fmt"

	"github.com/ps-photos/ps/internal/fault"
)

// UsageError is a mistake on the command line or in the input that a
// source (or a tool) finds: a flag the source cannot honour, a link that is
// not a share link, a missing password. The tools exit 2 on it, as on any
// usage error kong finds, instead of 1 (some items failed).
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// Usage marks err as a usage error (permanent: retrying cannot help). A
// nil err stays nil.
func Usage(err error) error {
	if err == nil {
		return nil
	}
	return &UsageError{Err: fault.Wrap(fault.Permanent, err)}
}

// Usagef is fmt.Errorf followed by Usage.
func Usagef(format string, args ...any) error { return Usage(fmt.Errorf(format, args...)) }

// IsUsage reports whether err is, or wraps, a usage error.
func IsUsage(err error) bool {
	var ue *UsageError
	return errors.As(err, &ue)
}
