//go:build unix

package watch

import (
	"os"
	"os/exec"
	"syscall"
)

// ownGroup starts the cycle in a process group of its own, so a signal
// reaches everything it started.
func ownGroup(cmd *exec.Cmd) { cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} }

func signalGroup(cmd *exec.Cmd, sig os.Signal) {
	if s, ok := sig.(syscall.Signal); ok {
		// The negative pid is the process group the child leads.
		if err := syscall.Kill(-cmd.Process.Pid, s); err == nil {
			return
		}
	}
	cmd.Process.Signal(sig)
}
