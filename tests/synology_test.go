package tests

import (
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/ps-photos/ps/internal/source/synology/synologytest"
)

// Commands for the synology_*.txtar scripts:
//
//	syno start [-password P] [-dir DIR] [-pagecap N] [-http] [-decoy]
//	           [-redirects N] [-uses N] [-download-uses N] [-ttl D] [-hostile]
//	           [-single-session]
//	    start a fake Synology NAS on 127.0.0.1 serving DIR's files (with
//	    their mtimes) under the share root "09.26.25 First Last". Sets
//	    SYNO_URL, SYNO_LINK (https://127.0.0.1:port/sharing/<id>),
//	    SYNO_GOFILE_LINK, SYNO_QC_LINK, SYNO_LANDING (a page that redirects
//	    with JavaScript), PS_QUICKCONNECT_URL (the fake coordinator) and
//	    SSL_CERT_FILE (the fake's CA, so TLS is verified as usual).
//	syno fault OP [status=N] [code=N] [times=N] [cut=BYTES] [stall=BYTES] [path=S] [retryafter=S] [delay=D]
//	    inject a fault into the next matching requests (OP: login, initdata,
//	    list, download, serv, pingpong, any; times=-1: until cleared;
//	    stall=BYTES delay=D sends BYTES of the body, then nothing for D)
//	syno clear                  remove all faults
//	syno expire                 end every session now
//	syno set uses=N|download-uses=N|ttl=D|ignorerange=BOOL|pagecap=N
//	syno remove PATH            delete a file from the share
//	syno stats                  print the fake's counters as key=value lines
//	syno needs-chromium         fail under CI=true when Chromium is missing;
//	                            follow it with "[!exec:chromium] skip"
func init() {
	commands["syno"] = syno
}

var synoServers sync.Map // work dir → *synologytest.Server

func synoServer(ts *testscript.TestScript) *synologytest.Server {
	v, ok := synoServers.Load(ts.Getenv("WORK"))
	if !ok {
		ts.Fatalf("syno: no fake running (syno start first)")
	}
	return v.(*synologytest.Server)
}

func syno(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! syno")
	}
	if len(args) == 0 {
		ts.Fatalf("usage: syno start|fault|clear|expire|set|remove|stats …")
	}
	switch args[0] {
	case "start":
		synoStart(ts, args[1:])
	case "fault":
		synoServer(ts).Inject(parseSynoFault(ts, args[1:]))
	case "clear":
		synoServer(ts).ClearFaults()
	case "expire":
		synoServer(ts).ExpireSessions()
	case "set":
		synoSet(ts, args[1:])
	case "remove":
		for _, p := range args[1:] {
			synoServer(ts).Remove(p)
		}
	case "needs-chromium":
		needsChromium(ts)
	case "stats":
		st := synoServer(ts).Stats()
		fmt.Fprintf(ts.Stdout(), "logins=%d\nbad_logins=%d\nlists=%d\ndownloads=%d\ndecoy_requests=%d\ndecoy_logins=%d\n",
			st.Logins, st.BadLogins, st.Lists, st.Downloads, st.DecoyRequests, st.DecoyLogins)
	default:
		ts.Fatalf("syno: unknown subcommand %q", args[0])
	}
}

func synoStart(ts *testscript.TestScript, args []string) {
	fl := flag.NewFlagSet("syno start", flag.ContinueOnError)
	var cfg synologytest.Config
	fl.StringVar(&cfg.Password, "password", "", "share password")
	dir := fl.String("dir", "", "serve the files under this folder")
	fl.IntVar(&cfg.PageCap, "pagecap", 0, "entries per List page at most")
	fl.BoolVar(&cfg.PlainHTTP, "http", false, "plain http")
	fl.BoolVar(&cfg.Decoy, "decoy", false, "decoy NAS on 127.0.0.2")
	fl.IntVar(&cfg.Redirects, "redirects", 0, "Serv.php redirects")
	fl.IntVar(&cfg.SessionUses, "uses", 0, "requests per session")
	fl.IntVar(&cfg.DownloadUses, "download-uses", 0, "downloads per session")
	fl.DurationVar(&cfg.SessionTTL, "ttl", 0, "session lifetime")
	fl.BoolVar(&cfg.SingleSession, "single-session", false, "a login ends earlier sessions")
	hostile := fl.Bool("hostile", false, "add hostile entries to the root")
	if err := fl.Parse(args); err != nil {
		ts.Fatalf("syno start: %v", err)
	}
	srv, err := synologytest.Start(cfg)
	ts.Check(err)
	ts.Defer(srv.Close)
	ts.Defer(func() { srv.Faults().Check(ts.Fatalf) })
	synoServers.Store(ts.Getenv("WORK"), srv)
	if *dir != "" {
		root := ts.MkAbs(*dir)
		ts.Check(filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				if err == nil && p != root {
					rel, _ := filepath.Rel(root, p)
					srv.AddFolder(filepath.ToSlash(rel))
				}
				return err
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(root, p)
			srv.AddFile(synologytest.File{Path: filepath.ToSlash(rel), Data: data, Mtime: info.ModTime()})
			return nil
		}))
	}
	if *hostile {
		srv.AddHostile("")
	}
	if srv.CAPEM != nil {
		ca := filepath.Join(ts.Getenv("WORK"), ".syno-ca.pem")
		ts.Check(os.WriteFile(ca, srv.CAPEM, 0o644))
		ts.Setenv("SSL_CERT_FILE", ca)
	}
	ts.Setenv("SYNO_URL", srv.URL)
	ts.Setenv("SYNO_LINK", srv.Link)
	ts.Setenv("SYNO_GOFILE_LINK", srv.GofileLink)
	ts.Setenv("SYNO_QC_LINK", srv.QCLink)
	ts.Setenv("SYNO_LANDING", srv.Landing)
	ts.Setenv("PS_QUICKCONNECT_URL", srv.Coordinator)
}

func parseSynoFault(ts *testscript.TestScript, args []string) synologytest.Fault {
	if len(args) == 0 {
		ts.Fatalf("usage: syno fault OP [key=value]…")
	}
	f := synologytest.Fault{Op: args[0]}
	for _, a := range args[1:] {
		k, v, _ := strings.Cut(a, "=")
		var err error
		switch k {
		case "status":
			f.Status, err = strconv.Atoi(v)
		case "code":
			f.Code, err = strconv.Atoi(v)
		case "times":
			f.Times, err = strconv.Atoi(v)
		case "cut":
			f.CutAfter, err = strconv.ParseInt(v, 10, 64)
		case "stall":
			f.StallAfter, err = strconv.ParseInt(v, 10, 64)
		case "path":
			f.Path = v
		case "retryafter":
			f.RetryAfter, err = strconv.Atoi(v)
		case "delay":
			f.Delay, err = time.ParseDuration(v)
		default:
			ts.Fatalf("syno fault: unknown key %q", k)
		}
		ts.Check(err)
	}
	return f
}

func synoSet(ts *testscript.TestScript, args []string) {
	srv := synoServer(ts)
	for _, a := range args {
		k, v, _ := strings.Cut(a, "=")
		var err error
		srv.Configure(func(c *synologytest.Config) {
			switch k {
			case "uses":
				c.SessionUses, err = strconv.Atoi(v)
			case "download-uses":
				c.DownloadUses, err = strconv.Atoi(v)
			case "ttl":
				c.SessionTTL, err = time.ParseDuration(v)
			case "ignorerange":
				c.IgnoreRange, err = strconv.ParseBool(v)
			case "pagecap":
				c.PageCap, err = strconv.Atoi(v)
			default:
				err = fmt.Errorf("unknown setting %q", k)
			}
		})
		ts.Check(err)
	}
}

func needsChromium(ts *testscript.TestScript) {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if _, err := exec.LookPath(name); err == nil {
			return
		}
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return
	}
	if ts.Getenv("CI") == "true" {
		ts.Fatalf("CI=true forbids skipping: chromium is not installed (apt-get install chromium)")
	}
}
