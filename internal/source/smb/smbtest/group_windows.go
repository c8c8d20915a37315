package smbtest

import (
	"errors"
	"os"
	"os/exec"
	"syscall"
)

// smbd runs on Unix only; on Windows the package builds (so go vet and the
// cross-compile check cover the code that imports it) and Start fails at
// LookPath long before these are reached.

func ownGroup(*exec.Cmd) {}

func killGroup(pid int, _ syscall.Signal) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	return p.Kill()
}

// Pause is not supported on Windows.
func (s *Server) Pause() error { return errors.New("smbtest: Pause needs a Unix system") }

// Resume is not supported on Windows.
func (s *Server) Resume() error { return errors.New("smbtest: Resume needs a Unix system") }
