//go:build unix

// Package smbtest starts a real Samba smbd for tests and benchmarks: a
// private smb.conf in a temporary folder, bound to 127.0.0.1 on a free high
// port, with its own lock, state, pid, private and cache folders and a
// password database holding one user. Nothing outside the temporary folder
// changes except, once per machine, a system account "ps-smbtest" that
// smbd maps the share user to (smbd insists on a unix account).
//
// The server runs in its own process group so Kill can drop every client
// connection at once (smbd forks a process per connection), as a crashed
// NAS would.
package smbtest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ps-photos/ps/internal/testenv"
)

// UnixUser is the system account smbd runs file access as.
const UnixUser = "ps-smbtest"

// Options configure a server. Zero values give a fresh share folder, the
// user "ps-smbtest" with a random password, and the share "photos".
type Options struct {
	Dir      string // share folder; default: a new empty folder
	User     string // SMB user name
	Password string
	Share    string
	// AsRoot serves the files as root ("force user = root"), so any folder
	// can be shared whatever its parents' modes. Tests that need a folder
	// the user cannot read leave it off.
	AsRoot bool
	// Log is the smbd log level (0 quiet … 10 everything).
	Log int
}

// Server is a running (or killed) smbd.
type Server struct {
	Dir      string // the shared folder
	Port     int
	User     string
	Password string
	Share    string

	root string // private folder: smb.conf, lock/state/… folders
	conf string
	smbd string

	mu   sync.Mutex
	pid  int           // smbd's pid (and process group), 0 when not running
	done chan struct{} // closed when smbd exits
	out  *lockedBuffer
}

// Available reports whether smbd and smbpasswd are installed.
func Available() (smbd string, ok bool) {
	for _, p := range []string{"/usr/sbin/smbd", "/usr/local/sbin/smbd"} {
		if _, err := os.Stat(p); err == nil {
			if _, err := lookSmbpasswd(); err == nil {
				return p, true
			}
		}
	}
	if p, err := exec.LookPath("smbd"); err == nil {
		if _, err := lookSmbpasswd(); err == nil {
			return p, true
		}
	}
	return "", false
}

func lookSmbpasswd() (string, error) {
	if p, err := exec.LookPath("smbpasswd"); err == nil {
		return p, nil
	}
	for _, p := range []string{"/usr/bin/smbpasswd", "/usr/sbin/smbpasswd"} {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", errors.New("smbpasswd not found")
}

// New starts a server for a test and stops it when the test ends. Without
// smbd the test is skipped (failed under CI=true).
func New(t testing.TB, opts Options) *Server {
	t.Helper()
	if _, ok := Available(); !ok {
		testenv.Skip(t, "smbd is not installed (apt-get install samba, or run make test, which installs it)")
	}
	s, err := Start(opts)
	if err != nil {
		t.Fatalf("start smbd: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Logf("stop smbd: %v", err)
		}
	})
	return s
}

// Start starts a server; the caller must Stop it.
func Start(opts Options) (*Server, error) {
	smbd, ok := Available()
	if !ok {
		return nil, errors.New("smbd or smbpasswd is not installed (apt-get install samba)")
	}
	if err := ensureUnixUser(); err != nil {
		return nil, err
	}
	s := &Server{Dir: opts.Dir, User: opts.User, Password: opts.Password, Share: opts.Share, smbd: smbd}
	if s.User == "" {
		s.User = UnixUser
	}
	if s.Password == "" {
		s.Password = randomPassword()
	}
	if s.Share == "" {
		s.Share = "photos"
	}
	root, err := os.MkdirTemp("", "ps-smbtest-")
	if err != nil {
		return nil, err
	}
	s.root = root
	// The share user must be able to walk down to the share folder.
	if err := os.Chmod(root, 0o755); err != nil {
		return nil, s.fail(err)
	}
	if s.Dir == "" {
		s.Dir = filepath.Join(root, "share")
		if err := os.Mkdir(s.Dir, 0o755); err != nil {
			return nil, s.fail(err)
		}
	} else if s.Dir, err = filepath.Abs(s.Dir); err != nil {
		return nil, s.fail(err)
	}
	if err := s.writeConfig(opts); err != nil {
		return nil, s.fail(err)
	}
	if err := s.setPassword(); err != nil {
		return nil, s.fail(err)
	}
	var lastErr error
	for range 3 { // a free port can be taken between probe and bind
		if s.Port, err = freePort(); err != nil {
			return nil, s.fail(err)
		}
		if err := s.rewritePort(); err != nil {
			return nil, s.fail(err)
		}
		if lastErr = s.launch(); lastErr == nil {
			return s, nil
		}
	}
	return nil, s.fail(lastErr)
}

func (s *Server) fail(err error) error {
	os.RemoveAll(s.root)
	return err
}

// URL is the smb:// location of the share, with the user.
func (s *Server) URL() string {
	return fmt.Sprintf("smb://%s@127.0.0.1:%d/%s", s.User, s.Port, s.Share)
}

// Addr is host:port.
func (s *Server) Addr() string { return fmt.Sprintf("127.0.0.1:%d", s.Port) }

// Path returns the local path of a slash-separated path in the share.
func (s *Server) Path(rel string) string { return filepath.Join(s.Dir, filepath.FromSlash(rel)) }

// Log returns what smbd wrote to stdout and stderr so far.
func (s *Server) Log() string {
	s.mu.Lock()
	out := s.out
	s.mu.Unlock()
	if out == nil {
		return ""
	}
	return out.String()
}

var userOnce sync.Mutex

// ensureUnixUser creates the system account once per machine. useradd
// holds /etc/passwd's lock; parallel test binaries retry.
func ensureUnixUser() error {
	userOnce.Lock()
	defer userOnce.Unlock()
	var last error
	for range 20 {
		if exec.Command("getent", "passwd", UnixUser).Run() == nil {
			return nil
		}
		out, err := exec.Command("useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", UnixUser).CombinedOutput()
		if err == nil {
			return nil
		}
		last = fmt.Errorf("useradd %s: %v: %s", UnixUser, err, bytes.TrimSpace(out))
		time.Sleep(100 * time.Millisecond)
	}
	return last
}

func randomPassword() string {
	b := make([]byte, 9)
	rand.Read(b)
	return "pw-" + hex.EncodeToString(b)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

const confTemplate = `[global]
server role = standalone server
workgroup = WORKGROUP
smb ports = {{port}}
interfaces = 127.0.0.1
bind interfaces only = yes
disable netbios = yes
lock directory = {{root}}/lock
state directory = {{root}}/state
cache directory = {{root}}/cache
pid directory = {{root}}/pid
private dir = {{root}}/private
ncalrpc dir = {{root}}/ncalrpc
passdb backend = tdbsam:{{root}}/private/passdb.tdb
username map = {{root}}/usermap
log file = {{root}}/log/smbd.log
log level = {{log}}
load printers = no
printing = bsd
printcap name = /dev/null
disable spoolss = yes
map to guest = never
server min protocol = SMB2_02
unix extensions = no

[{{share}}]
path = {{dir}}
read only = no
browseable = yes
# Names with characters Windows forbids (" * : < > ? |) travel as the
# private-use characters macOS and Services for Mac use, as on NAS set-ups
# that serve Macs; without this smbd shows them as mangled 8.3 names.
vfs objects = catia
catia:mappings = 0x22:0xf020,0x2a:0xf021,0x3a:0xf022,0x3c:0xf023,0x3e:0xf024,0x3f:0xf025,0x7c:0xf027
{{force}}
`

func (s *Server) writeConfig(opts Options) error {
	for _, d := range []string{"lock", "state", "cache", "pid", "private", "ncalrpc", "log"} {
		if err := os.MkdirAll(filepath.Join(s.root, d), 0o755); err != nil {
			return err
		}
	}
	if err := os.Chmod(filepath.Join(s.root, "private"), 0o700); err != nil {
		return err
	}
	// The SMB user name may differ from the unix account: map it.
	usermap := ""
	if s.User != UnixUser {
		usermap = UnixUser + " = " + s.User + "\n"
	}
	if err := os.WriteFile(filepath.Join(s.root, "usermap"), []byte(usermap), 0o644); err != nil {
		return err
	}
	force := ""
	if opts.AsRoot {
		force = "force user = root\nforce group = root"
	}
	conf := strings.NewReplacer(
		"{{root}}", s.root, "{{dir}}", s.Dir, "{{share}}", s.Share, "{{port}}", "445",
		"{{log}}", strconv.Itoa(opts.Log), "{{force}}", force,
	).Replace(confTemplate)
	s.conf = filepath.Join(s.root, "smb.conf")
	return os.WriteFile(s.conf, []byte(conf), 0o644)
}

// rewritePort puts the chosen port into smb.conf.
func (s *Server) rewritePort() error {
	b, err := os.ReadFile(s.conf)
	if err != nil {
		return err
	}
	lines := strings.Split(string(b), "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "smb ports = ") {
			lines[i] = "smb ports = " + strconv.Itoa(s.Port)
		}
	}
	return os.WriteFile(s.conf, []byte(strings.Join(lines, "\n")), 0o644)
}

// setPassword adds the unix account to the private password database. The
// password goes through stdin, never argv.
func (s *Server) setPassword() error {
	pw, err := lookSmbpasswd()
	if err != nil {
		return err
	}
	cmd := exec.Command(pw, "-c", s.conf, "-s", "-a", UnixUser)
	cmd.Stdin = strings.NewReader(s.Password + "\n" + s.Password + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("smbpasswd: %v: %s", err, bytes.TrimSpace(out))
	}
	return nil
}

// SetPassword changes the user's password on the running server.
func (s *Server) SetPassword(password string) error {
	s.Password = password
	return s.setPassword()
}

// launch starts smbd in its own process group and waits until it accepts
// connections.
func (s *Server) launch() error {
	out := &lockedBuffer{}
	cmd := exec.Command(s.smbd, "--foreground", "--no-process-group", "--debug-stdout", "-s", s.conf)
	cmd.Stdout = out
	cmd.Stderr = out
	ownGroup(cmd)
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	s.mu.Lock()
	s.pid, s.done, s.out = cmd.Process.Pid, done, out
	s.mu.Unlock()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-done:
			return fmt.Errorf("smbd exited at start: %s", out.String())
		default:
		}
		c, err := net.DialTimeout("tcp", s.Addr(), 200*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.signal(syscall.SIGKILL)
	return fmt.Errorf("smbd did not listen on %s within 15s: %s", s.Addr(), out.String())
}

// signal sends sig to smbd's process group (smbd and the processes it
// forked for each connection) and waits for smbd to exit.
func (s *Server) signal(sig syscall.Signal) error {
	s.mu.Lock()
	pid, done := s.pid, s.done
	s.pid = 0
	s.mu.Unlock()
	if pid == 0 {
		return nil
	}
	if err := killGroup(pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return err
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		killGroup(pid, syscall.SIGKILL)
		<-done
	}
	// Connection processes may outlive the parent for a moment; sweep
	// them and wait until none is left alive (zombies waiting for init
	// to reap them hold no sockets).
	killGroup(pid, syscall.SIGKILL)
	for i := 0; i < 200 && groupAlive(pid); i++ {
		time.Sleep(10 * time.Millisecond)
	}
	return nil
}

// groupAlive reports whether a process of group pgid is still running.
func groupAlive(pgid int) bool {
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		if e.Name()[0] < '0' || e.Name()[0] > '9' {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp …; comm may hold spaces and parens.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) > 2 && f[0] != "Z" && f[0] != "X" && f[2] == strconv.Itoa(pgid) {
			return true
		}
	}
	return false
}

// Kill stops smbd at once with SIGKILL, dropping every connection, as a
// crashed or rebooted NAS would. Start it again with Restart.
func (s *Server) Kill() error { return s.signal(syscall.SIGKILL) }

// Restart starts a killed or stopped smbd again on the same port.
func (s *Server) Restart() error {
	s.mu.Lock()
	running := s.pid != 0
	s.mu.Unlock()
	if running {
		return errors.New("smbd is still running")
	}
	var err error
	for range 20 { // the port may linger for a moment after a kill
		if err = s.launch(); err == nil {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return err
}

// Stop ends smbd (SIGTERM, then SIGKILL) and removes its private folder
// (and the share folder when the server made it).
func (s *Server) Stop() error {
	err := s.signal(syscall.SIGTERM)
	if rerr := os.RemoveAll(s.root); err == nil {
		err = rerr
	}
	return err
}

// lockedBuffer collects smbd's output from the copying goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buf.Len() > 1<<20 {
		return len(p), nil // enough to diagnose a failed start
	}
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
