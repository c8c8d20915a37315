package fetch

import (
	"os"
	"syscall"
)

const (
	oNoFollow      = syscall.O_NOFOLLOW
	syscallENOTDIR = syscall.ENOTDIR
	hashXattr      = "user.ps.sha256"
	versionXattr   = "user.ps.version"
	itemXattr      = "user.ps.item"
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

// writeItemXattr tags a file with the item it holds (see itemTag), so a
// run that died between the rename and its manifest entry leaves a file
// the next run can adopt even when the record has no size or mtime.
func writeItemXattr(p, tag string) {
	_ = syscall.Setxattr(p, itemXattr, []byte(tag), 0)
}

// readItemXattr returns a file's item tag, or "".
func readItemXattr(p string) string {
	var buf [64]byte
	n, err := syscall.Getxattr(p, itemXattr, buf[:])
	if err != nil {
		return ""
	}
	return string(buf[:n])
}

// writeVersionXattr stores on a part the version of the source's bytes it
// holds ("" removes it). An attribute survives a SIGKILL and goes with the
// part, so nothing else needs cleaning up.
func writeVersionXattr(p, v string) {
	if v == "" {
		_ = syscall.Removexattr(p, versionXattr)
		return
	}
	_ = syscall.Setxattr(p, versionXattr, []byte(v), 0)
}

// readVersionXattr returns the version stored on a part ("" when none
// is); stored is false where the file system keeps no user attributes,
// so nothing can be told.
func readVersionXattr(p string) (v string, stored bool) {
	var buf [512]byte
	n, err := syscall.Getxattr(p, versionXattr, buf[:])
	switch {
	case err == nil:
		return string(buf[:n]), true
	case err == syscall.ENOTSUP:
		return "", false
	}
	return "", true
}

// syncData flushes a file's bytes (not its times, which the rename
// follows) before it gets its final name.
func syncData(f *os.File) error {
	for {
		err := syscall.Fdatasync(int(f.Fd()))
		if err != syscall.EINTR {
			return err
		}
	}
}

// writebackChunk is how much a download writes before ps-fetch asks the
// kernel to start writing it out, so the final sync has little left to do.
const writebackChunk = 8 << 20

// startWriteback starts (without waiting for) writeback of each whole
// chunk the last write completed.
func startWriteback(f *os.File, off, n int64) {
	end := off + n
	if end/writebackChunk == off/writebackChunk {
		return
	}
	chunk := end / writebackChunk * writebackChunk
	_ = syscall.SyncFileRange(int(f.Fd()), chunk-writebackChunk, writebackChunk, 2 /* SYNC_FILE_RANGE_WRITE */)
}
