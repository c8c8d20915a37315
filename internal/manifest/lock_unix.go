//go:build unix

package manifest

import (
	"os"
	"syscall"
)

// lock takes an exclusive advisory lock, so two ps-fetch runs never
// append to one manifest at the same time. Closing the file releases it.
func lock(f *os.File) error {
	return syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
}
