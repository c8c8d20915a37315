//go:build !linux

package fetch

import (
	"os"
	"syscall"
)

const (
	oNoFollow      = syscall.O_NOFOLLOW
	syscallENOTDIR = syscall.ENOTDIR
)

func writeHashXattr(p, sum string) {}

func readHashXattr(p string) string { return "" }

func syncData(f *os.File) error { return f.Sync() }

func startWriteback(*os.File, int64, int64) {}
