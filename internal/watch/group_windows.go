package watch

import (
	"os"
	"os/exec"
)

// Windows has no process groups to signal: the cycle's own process gets
// the signal (os.Interrupt is not deliverable there, so a stop kills it).

func ownGroup(*exec.Cmd) {}

func signalGroup(cmd *exec.Cmd, sig os.Signal) {
	if cmd.Process.Signal(sig) != nil {
		cmd.Process.Kill()
	}
}
