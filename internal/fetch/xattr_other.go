//go:build !linux

package fetch

import (
	"os"
	"syscall"

	"github.com/ps-photos/ps/internal/safefile"
)

const (
	oNoFollow      = safefile.NoFollow // O_NOFOLLOW, or 0 on Windows (no such flag)
	syscallENOTDIR = syscall.ENOTDIR
)

func writeHashXattr(p, sum string) {}

func readHashXattr(p string) string { return "" }

func writeVersionXattr(p, v string) {}

func writeItemXattr(p, tag string) {}

func readItemXattr(p string) string { return "" }

func readVersionXattr(p string) (string, bool) { return "", false }

func syncData(f *os.File) error { return f.Sync() }

func startWriteback(*os.File, int64, int64) {}
