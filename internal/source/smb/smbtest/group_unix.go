//go:build unix

package smbtest

import (
	"errors"
	"os/exec"
	"syscall"
)

// ownGroup starts cmd in a process group of its own, so one signal reaches
// smbd and every connection process it forks.
func ownGroup(cmd *exec.Cmd) { cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} }

// killGroup sends sig to the process group pgid leads.
func killGroup(pgid int, sig syscall.Signal) error { return syscall.Kill(-pgid, sig) }

// Pause freezes smbd (SIGSTOP to its group): connections stay open but
// nothing answers, as with a hung NAS. Resume undoes it.
func (s *Server) Pause() error { return s.groupSignal(syscall.SIGSTOP) }

// Resume lets a paused smbd go on.
func (s *Server) Resume() error { return s.groupSignal(syscall.SIGCONT) }

func (s *Server) groupSignal(sig syscall.Signal) error {
	s.mu.Lock()
	pid := s.pid
	s.mu.Unlock()
	if pid == 0 {
		return errors.New("smbd is not running")
	}
	return killGroup(pid, sig)
}
