//go:build unix

package tests

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/ps-photos/ps/internal/source/smb/smbtest"
	"github.com/ps-photos/ps/internal/testenv"
)

// Scripts named smb_*.txtar get a real smbd of their own, sharing a folder
// that holds the standard tree (smbtest.Populate, plus 20 small files), and
// the variables SMB_URL (smb://user@127.0.0.1:PORT/photos), SMB_PORT,
// SMB_SERVER (127.0.0.1:PORT), SMB_USER, SMB_PASSWORD and SMB_DIR (the
// shared folder, to change files "on the NAS"). The smbctl command
// controls the server:
//
//	smbctl kill                          drop every connection, as a crashed NAS
//	smbctl restart                       start it again on the same port
//	smbctl large REL MIB                 write a pseudo-random file of MIB MiB
//	smbctl kill-when-partial DIR BYTES   wait until a *.part file in DIR holds
//	                                     BYTES, then kill smbd
func init() {
	setups = append(setups, smbSetup)
	commands["smbctl"] = smbctl
}

var smbServers sync.Map // work dir → *smbtest.Server

func smbSetup(env *testscript.Env) error {
	if !strings.HasPrefix(filepath.Base(env.WorkDir), "script-smb_") {
		return nil
	}
	if _, ok := smbtest.Available(); !ok {
		msg := "smbd is not installed (apt-get install samba, or run make test, which installs it)"
		if testenv.InCI() {
			return fmt.Errorf("CI=true forbids skipping: %s", msg)
		}
		env.T().Skip(msg)
	}
	srv, err := smbtest.Start(smbtest.Options{})
	if err != nil {
		return err
	}
	env.Defer(func() { srv.Stop(); smbServers.Delete(env.WorkDir) })
	smbServers.Store(env.WorkDir, srv)
	if err := srv.Populate(smbtest.Tree{Small: 20, SmallSize: 64 << 10}); err != nil {
		return err
	}
	env.Setenv("SMB_URL", srv.URL())
	env.Setenv("SMB_PORT", strconv.Itoa(srv.Port))
	env.Setenv("SMB_SERVER", srv.Addr())
	env.Setenv("SMB_USER", srv.User)
	env.Setenv("SMB_PASSWORD", srv.Password)
	env.Setenv("SMB_DIR", srv.Dir)
	return nil
}

func smbctl(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("smbctl does not take !")
	}
	v, ok := smbServers.Load(ts.Getenv("WORK"))
	if !ok {
		ts.Fatalf("smbctl: no smbd for this script (only smb_*.txtar scripts get one)")
	}
	srv := v.(*smbtest.Server)
	if len(args) == 0 {
		ts.Fatalf("usage: smbctl kill|restart|large REL MIB|kill-when-partial DIR BYTES")
	}
	switch {
	case args[0] == "kill" && len(args) == 1:
		ts.Check(srv.Kill())
	case args[0] == "restart" && len(args) == 1:
		ts.Check(srv.Restart())
	case args[0] == "large" && len(args) == 3:
		mib, err := strconv.Atoi(args[2])
		ts.Check(err)
		ts.Check(srv.WriteLarge(args[1], int64(mib)<<20, 1))
	case args[0] == "kill-when-partial" && len(args) == 3:
		n, err := strconv.ParseInt(args[2], 10, 64)
		ts.Check(err)
		ts.Check(waitPartial(ts.MkAbs(args[1]), n, time.Minute))
		ts.Check(srv.Kill())
	default:
		ts.Fatalf("usage: smbctl kill|restart|large REL MIB|kill-when-partial DIR BYTES")
	}
}

// waitPartial waits until some *.part file below dir holds at least n bytes.
func waitPartial(dir string, n int64, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		found := false
		filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(p, ".part") {
				return nil
			}
			if info, err := d.Info(); err == nil && info.Size() >= n {
				found = true
				return filepath.SkipAll
			}
			return nil
		})
		if found {
			return nil
		}
		time.Sleep(2 * time.Millisecond)
	}
	return fmt.Errorf("no .part file in %s reached %d bytes within %s", dir, n, timeout)
}
