package local

import (
	"io/fs"
	"syscall"
	"time"
)

// changed is the later of a file's modification and status-change times.
// The status-change time cannot be set from user space, so a file copied
// in with its old mtime kept (cp -p, rsync -t, a camera import) still
// counts as new.
func changed(info fs.FileInfo) time.Time {
	t := info.ModTime()
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		if c := time.Unix(st.Ctim.Sec, st.Ctim.Nsec); c.After(t) {
			t = c
		}
	}
	return t
}
