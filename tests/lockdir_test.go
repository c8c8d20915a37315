package tests

import (
	"sync"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/ps-photos/ps/internal/manifest"
)

// Commands for scripts that need an output folder held by another run:
//
//	lockdir DIR      take DIR's lock, as a running ps-fetch holds it
//	unlockdir DIR    release it (also released when the script ends)
func init() {
	commands["lockdir"] = lockDir
	commands["unlockdir"] = unlockDir
}

var heldLocks sync.Map // absolute dir → *manifest.Lock

func lockDir(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: lockdir DIR")
	}
	dir := ts.MkAbs(args[0])
	lk, err := manifest.TakeLock(dir)
	ts.Check(err)
	heldLocks.Store(dir, lk)
	ts.Defer(func() { unlock(dir) })
}

func unlockDir(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: unlockdir DIR")
	}
	unlock(ts.MkAbs(args[0]))
}

func unlock(dir string) {
	if lk, ok := heldLocks.LoadAndDelete(dir); ok {
		lk.(*manifest.Lock).Release()
	}
}
