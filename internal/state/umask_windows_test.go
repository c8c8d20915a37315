package state

// setUmask: Windows has no umask; its file modes are not POSIX ones (the
// test is vetted there, run on Unix).
func setUmask(int) int { return 0 }
