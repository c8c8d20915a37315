//go:build unix

package safefile

import (
	"errors"
	"syscall"
)

// NoFollow makes open fail on a symlink in the last element of a path.
const NoFollow = syscall.O_NOFOLLOW

// nonBlock keeps open from hanging on a named pipe planted under a state
// file's name (the file is refused right after); it changes nothing for
// regular files.
const nonBlock = syscall.O_NONBLOCK

// refuseLink has nothing to do: O_NOFOLLOW refuses the link atomically.
func refuseLink(string) error { return nil }

// isLinkErr reports the error open gives for a symlink under O_NOFOLLOW
// (ELOOP; EMLINK on some BSDs).
func isLinkErr(err error) bool {
	return errors.Is(err, syscall.ELOOP) || errors.Is(err, syscall.EMLINK)
}
