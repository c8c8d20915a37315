package synology

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/ps-photos/ps/internal/fault"
	"github.com/ps-photos/ps/internal/retry"
	"github.com/ps-photos/ps/internal/source"
	"github.com/ps-photos/ps/internal/source/synology/api"
	"github.com/ps-photos/ps/internal/state"
)

// AuthCommand is "ps-auth synology".
type AuthCommand struct {
	Link             string `required:"" placeholder:"URL" help:"The share link: https://gofile.me/<id>/<id>, https://host[:port]/sharing/<id>, https://<qcid>.quickconnect.to/sharing/<id> or https://quickconnect.to/<qcid>/<id>."`
	PasswordFile     string `type:"path" placeholder:"FILE" help:"Read the share password from FILE (else PS_PASSWORD, else a prompt without echo)."`
	Browser          bool   `help:"Sign in through Chromium (also tried by itself when plain sign-in cannot reach the NAS)."`
	ShowBrowser      bool   `help:"Show the browser window instead of running it headless."`
	Chromium         string `type:"path" placeholder:"FILE" help:"The Chromium or Chrome to drive (default: chromium, chromium-browser or google-chrome on PATH)."`
	Insecure         bool   `help:"Do not verify the NAS's TLS certificate (unsafe: whoever sits on the path can read the password)."`
	RememberPassword bool   `help:"Save the password (mode 0600) beside the session, so an expired session is renewed without asking."`
}

// Help is shown by ps-auth synology --help.
func (c *AuthCommand) Help() string {
	return `Signs in to a Synology share link (gofile.me, QuickConnect, or the NAS's own address), finding the NAS
through QuickConnect when the link names no host. The session is saved with mode 0600 in the state folder
and printed as a session record; --remember-password also keeps the password so an expired session is
renewed without asking.

Examples:
  ps-auth synology --link https://gofile.me/7g4WA/ZRnqeWks3 --password-file pw | ps-list
  ps-auth synology --link https://nas.example.com:5001/sharing/ZRnqeWks3 --remember-password
  ps-auth synology --link https://gofile.me/7g4WA/ZRnqeWks3 --browser --show-browser`
}

// Run signs in, saves the session and prints its record.
func (c *AuthCommand) Run(env *source.AuthEnv) error {
	ctx, log := env.Ctx, env.Env.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	link, err := ParseLink(c.Link, true)
	if err != nil {
		return source.Usage(err)
	}
	if c.Insecure {
		log.Warn("--insecure: the NAS's certificate is not checked; the password may be read by anyone on the path")
	}
	password, err := env.Password(c.PasswordFile, "Share password: ")
	if err != nil {
		return source.Usage(err)
	}
	hc := newHTTPClient(c.Insecure)
	defer hc.CloseIdleConnections()

	var sess Session
	useBrowser := c.Browser || link.Kind == kindLanding
	if link.Kind == kindLanding && !c.Browser {
		log.Info("not a share link; following it in a browser until it reaches a /sharing/<id> page")
	}
	if !useBrowser {
		sess, err = plainSignIn(ctx, hc, link, password, c.Insecure, log)
		if err != nil {
			if !browserMayHelp(err) {
				return err
			}
			if _, berr := findChromium(c.Chromium); berr != nil {
				return err
			}
			log.Warn("plain sign-in failed; trying a browser", "err", err.Error())
			useBrowser = true
		}
	}
	if useBrowser {
		sess, link, err = c.browserSession(ctx, hc, link, password, log)
		if err != nil {
			return err
		}
	}
	return c.save(env, link.Location(), sess, password, log)
}

// browserMayHelp: a browser can get past a NAS that plain HTTP could not
// reach (a coordinator or candidates that did not answer), not past a
// wrong password, an id QuickConnect does not know, or a Ctrl-C.
func browserMayHelp(err error) bool {
	return fault.ClassOf(err).Retryable()
}

// browserSession signs in with Chromium, then checks the session over
// plain HTTP. The link becomes the /sharing/<id> page the browser
// reached when it started as a landing page.
func (c *AuthCommand) browserSession(ctx context.Context, hc *http.Client, link Link, password string, log *slog.Logger) (Session, Link, error) {
	bin, err := findChromium(c.Chromium)
	if err != nil {
		return Session{}, link, err
	}
	got, err := browserSignIn(ctx, browserOptions{Bin: bin, Show: c.ShowBrowser, Page: link.open, Password: password, Log: log})
	if err != nil {
		return Session{}, link, err
	}
	if link.Kind == kindLanding {
		link = Link{Kind: kindDirect, Base: got.base, SharingID: got.sharingID, Page: got.base.JoinPath("sharing", got.sharingID).String()}
	}
	if got.base.Scheme == "http" && !c.Insecure && !isLoopback(got.base.Hostname()) {
		log.Warn("the share page the browser reached is plain http: the session travels unencrypted")
	}
	cl := &client{base: got.base, sharingID: got.sharingID, http: hc, policy: retry.Default, hint: AuthHint(link.Page), sid: got.sid}
	if _, err := cl.initdata(ctx); err != nil {
		return Session{}, link, fmt.Errorf("the browser's session does not work: %w", err)
	}
	return Session{Base: got.base.String(), SharingID: got.sharingID, SID: got.sid, Link: link.Page, Insecure: c.Insecure}, link, nil
}

// save stores the session (and, when asked, the password) and prints the
// session record.
func (c *AuthCommand) save(env *source.AuthEnv, location string, sess Session, password string, log *slog.Logger) error {
	store := state.Store{Dir: env.Env.StateDir}
	rec := sess.Record(location, time.Now())
	if err := store.SaveSession(rec); err != nil {
		return fault.Wrap(fault.Local, err)
	}
	if c.RememberPassword {
		if err := store.SaveSecretJSON(location, secretName, rememberedPassword{Password: password}); err != nil {
			return fault.Wrap(fault.Local, err)
		}
	} else if err := store.LoadSecretJSON(location, secretName, &rememberedPassword{}); !errors.Is(err, fs.ErrNotExist) {
		// Signing in without --remember-password forgets an earlier one.
		if err := store.SaveSecretJSON(location, secretName, rememberedPassword{}); err != nil {
			return fault.Wrap(fault.Local, err)
		}
	}
	if err := env.Out.Encode(rec); err != nil {
		return err
	}
	log.Info("signed in", "source", location)
	return env.Out.Flush()
}

// plainSignIn finds the NAS without a browser and logs in to the share.
func plainSignIn(ctx context.Context, hc *http.Client, link Link, password string, insecure bool, log *slog.Logger) (Session, error) {
	base := link.Base
	if link.Kind == kindDirect {
		if base.Scheme == "http" && !insecure && !isLoopback(base.Hostname()) {
			return Session{}, source.Usage(errors.New("an http:// link would send the password unencrypted: use https, or --insecure if you accept that"))
		}
	} else {
		var err error
		if base, err = resolve(ctx, hc, link, insecure, log); err != nil {
			return Session{}, err
		}
	}
	c := &client{base: base, sharingID: link.SharingID, http: hc, policy: retry.Default, hint: AuthHint(link.Page)}
	sid, err := c.login(ctx, password)
	if err != nil {
		return Session{}, err
	}
	c.sid = sid
	init, err := c.initdata(ctx)
	if err != nil {
		return Session{}, err
	}
	log.Info("share found", "base", base.String(), "root", init.Private.Filename)
	return Session{Base: base.String(), SharingID: link.SharingID, SID: sid, Link: link.Page, Insecure: insecure}, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// coordinators are the Serv.php URLs to ask, PS_QUICKCONNECT_URL first
// (tests, the China coordinator).
func coordinators() []string {
	if u := os.Getenv("PS_QUICKCONNECT_URL"); u != "" {
		return []string{u}
	}
	return []string{"https://global.quickconnect.to/Serv.php", "https://global.quickconnect.cn/Serv.php"}
}

// resolve asks QuickConnect where the NAS is and returns the first
// candidate address that proves to be that NAS.
func resolve(ctx context.Context, hc *http.Client, link Link, insecure bool, log *slog.Logger) (*url.URL, error) {
	var info *api.ServerInfo
	var errs []error
	for _, coord := range coordinators() {
		var err error
		if info, err = serverInfo(ctx, hc, coord, link); err == nil {
			break
		}
		errs = append(errs, err)
		if fault.ClassOf(err) == fault.Canceled {
			return nil, err
		}
	}
	if info == nil {
		// The class of the last answer decides: a coordinator that said
		// "no such id" is permanent, one we could not reach is transient.
		return nil, fault.Wrap(fault.ClassOf(errs[len(errs)-1]), fmt.Errorf("QuickConnect could not locate the share's NAS: %w", errors.Join(errs...)))
	}
	serverID := info.Server.ServerID
	if serverID == "" {
		serverID = link.ServerID
	}
	cands := candidates(info, link)
	log.Debug("QuickConnect candidates", "n", len(cands))
	return probe(ctx, hc, cands, serverID, insecure)
}

// serverInfo posts get_server_info, following the "ask another control
// host" answer (errno 4, suberrno 2) a few times.
func serverInfo(ctx context.Context, hc *http.Client, coord string, link Link) (*api.ServerInfo, error) {
	id, isGofile := "dsm_portal", false
	if link.Kind == kindGofile {
		id, isGofile = "file_sharing", true
	}
	body := []api.ServerRequest{
		{Version: 1, Command: "get_server_info", ID: id + "_https", ServerID: link.ServerID, IsGofile: isGofile},
		{Version: 1, Command: "get_server_info", ID: id, ServerID: link.ServerID, IsGofile: isGofile},
	}
	if isGofile {
		body[0].Path, body[1].Path = link.SharingID, link.SharingID
	}
	payload, _ := json.Marshal(body)
	for hop := 0; hop < 4; hop++ {
		var results []api.ServerInfo
		_, err := retry.Default.Do(ctx, func(int) error {
			var err error
			results, err = postServPHP(ctx, hc, coord, payload)
			return err
		})
		if err != nil {
			return nil, err
		}
		var last api.ServerInfo
		for _, r := range results {
			if r.Errno == 0 {
				return &r, nil
			}
			last = r
		}
		if last.Errno == 4 && last.Suberrno == 2 && len(last.Sites) > 0 {
			u, err := url.Parse(coord)
			if err != nil {
				return nil, fault.Wrap(fault.Permanent, err)
			}
			u.Host = last.Sites[0]
			coord = u.String()
			continue
		}
		return nil, fault.Errorf(fault.Permanent, "QuickConnect: errno %d/%d %s", last.Errno, last.Suberrno, last.Errinfo)
	}
	return nil, fault.Errorf(fault.Permanent, "QuickConnect sent us to other control hosts too often")
}

func postServPHP(ctx context.Context, hc *http.Client, coord string, payload []byte) ([]api.ServerInfo, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, coord, bytes.NewReader(payload))
	if err != nil {
		return nil, fault.Wrap(fault.Permanent, err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return nil, classifyNet(err)
	}
	defer drain(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return nil, classifyStatus("QuickConnect", resp)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxJSON))
	if err != nil {
		return nil, classifyNet(err)
	}
	var results []api.ServerInfo
	if err := json.Unmarshal(b, &results); err != nil {
		var one api.ServerInfo // some answers are a bare object
		if err := json.Unmarshal(b, &one); err != nil {
			return nil, fault.Errorf(fault.Transient, "QuickConnect: the answer is not JSON")
		}
		results = []api.ServerInfo{one}
	}
	return results, nil
}

// candidate is an address the NAS may answer on.
type candidate struct {
	base *url.URL
}

// candidates lists addresses in the order worth trying: LAN names and
// addresses, the NAS's own names, Synology DNS names, public addresses,
// then the relay.
func candidates(info *api.ServerInfo, link Link) []candidate {
	port, ext := info.Service.Port, info.Service.ExtPort
	if port == 0 {
		port = 5001
	}
	var out []candidate
	seen := map[string]bool{}
	add := func(host string, ports ...int) {
		if host == "" || host == "NULL" || host == "::" || host == "0.0.0.0" {
			return
		}
		for _, p := range ports {
			if p <= 0 {
				continue
			}
			hp := net.JoinHostPort(host, strconv.Itoa(p))
			if !seen[hp] {
				seen[hp] = true
				out = append(out, candidate{base: &url.URL{Scheme: "https", Host: hp}})
			}
		}
	}
	wanPorts := []int{port}
	if ext != 0 && ext != port {
		wanPorts = append(wanPorts, ext)
	}
	var wanNames []string
	if sd := info.SmartDNS; sd != nil {
		for _, h := range append(append([]string{}, sd.Lan...), sd.LanV6...) {
			if strings.HasPrefix(h, "syn4-") || strings.HasPrefix(h, "syn6-") {
				wanNames = append(wanNames, h) // really WAN names
				continue
			}
			add(h, port)
		}
	}
	for _, iface := range info.Server.Interface {
		add(iface.IP, port)
		for _, v6 := range iface.IPv6 {
			if v6.Scope != "link" {
				add(v6.Address, port)
			}
		}
	}
	add(info.Server.FQDN, wanPorts...)
	add(info.Server.DDNS, wanPorts...)
	if sd := info.SmartDNS; sd != nil {
		add(sd.Host, wanPorts...)
		for _, h := range wanNames {
			add(h, wanPorts...)
		}
		add(sd.External, wanPorts...)
		add(sd.ExternalV6, wanPorts...)
	}
	add(info.Server.External.IP, wanPorts...)
	add(info.Server.External.IPv6, wanPorts...)
	if link.Kind == kindQuickConnect && info.Env.RelayRegion != "" {
		add(strings.ToLower(link.ServerID)+"."+info.Env.RelayRegion+".quickconnect.to", 443)
	}
	return out
}

// probeTimeout bounds one candidate probe; unreachable LAN addresses
// would otherwise hold sign-in for a full connect timeout.
var probeTimeout = 6 * time.Second

// probe asks every candidate at once and returns the best one that
// proves to be the NAS: ping-pong's ezid must be md5(serverID). Only if
// none answers ping-pong, a candidate whose certificate verifies and that
// answers SYNO.API.Info is taken. No candidate ever sees the password.
func probe(ctx context.Context, hc *http.Client, cands []candidate, serverID string, insecure bool) (*url.URL, error) {
	if len(cands) == 0 {
		return nil, fault.Errorf(fault.Permanent, "QuickConnect names no address for the share's NAS")
	}
	want := md5hex(serverID)
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	type verdict struct {
		i            int
		ezid, isInfo bool
	}
	results := make(chan verdict, len(cands))
	for i, c := range cands {
		go func() {
			ezid, info := probeOne(ctx, hc, c.base, want)
			results <- verdict{i, ezid, info}
		}()
	}
	done := make([]bool, len(cands))
	ezid := make([]bool, len(cands))
	info := make([]bool, len(cands))
wait:
	for range cands {
		var v verdict
		select {
		case v = <-results:
		case <-ctx.Done():
			break wait
		}
		done[v.i], ezid[v.i], info[v.i] = true, v.ezid, v.isInfo
		// Stop as soon as the best candidate still in the running proved
		// itself.
		for i := range cands {
			if !done[i] {
				break
			}
			if ezid[i] {
				return cands[i].base, nil
			}
		}
	}
	for i := range cands {
		if ezid[i] {
			return cands[i].base, nil
		}
	}
	if !insecure {
		for i := range cands {
			if info[i] {
				return cands[i].base, nil
			}
		}
	}
	if err := context.Cause(ctx); errors.Is(err, context.Canceled) {
		return nil, fault.Wrap(fault.Canceled, err)
	}
	return nil, fault.Errorf(fault.Transient, "none of the %d addresses QuickConnect gave answered as the share's NAS", len(cands))
}

// probeOne checks one address: ping-pong with the right ezid, else
// whether SYNO.API.Info answers.
func probeOne(ctx context.Context, hc *http.Client, base *url.URL, wantEzid string) (ezid, info bool) {
	get := func(path string, q url.Values, out any) bool {
		u := base.JoinPath(path)
		u.RawQuery = q.Encode()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
		if err != nil {
			return false
		}
		resp, err := hc.Do(req)
		if err != nil {
			return false
		}
		defer drain(resp.Body)
		if resp.StatusCode != http.StatusOK {
			return false
		}
		return json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(out) == nil
	}
	var pp api.Pingpong
	if get("/webman/pingpong.cgi", url.Values{"action": {"cors"}, "quickconnect": {"true"}}, &pp) && pp.Success {
		return strings.EqualFold(pp.Ezid, wantEzid), false
	}
	var env api.Envelope
	ok := get("/webapi/query.cgi", url.Values{"api": {api.APIInfo}, "version": {"1"}, "method": {"query"}, "query": {api.APIInfo}}, &env)
	return false, ok && env.Success
}

func md5hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}
