package fetch

import "syscall"

const (
	oNoFollow      = syscall.O_NOFOLLOW
	syscallENOTDIR = syscall.ENOTDIR
	hashXattr      = "user.ps.sha256"
)

// writeHashXattr stores a file's sha256 in an extended attribute, so a
// later run can report the hash of a skipped file without re-reading it
// or keeping every hash in memory. File systems without user xattrs just
// go without.
func writeHashXattr(p, sum string) {
	_ = syscall.Setxattr(p, hashXattr, []byte(sum), 0)
}

// readHashXattr returns the stored sha256, or "".
func readHashXattr(p string) string {
	var buf [64]byte
	n, err := syscall.Getxattr(p, hashXattr, buf[:])
	if err != nil || n != 64 {
		return ""
	}
	return string(buf[:n])
}
