//go:build !linux

package local

import (
	"io/fs"
	"time"
)

// changed is a file's modification time (the status-change time is read
// on Linux only).
func changed(info fs.FileInfo) time.Time { return info.ModTime() }
