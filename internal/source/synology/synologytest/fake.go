// Package synologytest is a fake Synology NAS that serves a share link
// the way docs/protocols/synology.md (§8.1) describes: every Web API entry alias, quoted and bare parameters,
// Sharing.Login/Initdata, FolderSharing.List with a server-side page cap,
// FolderSharing.Download with Range, session expiry after a time or a
// number of requests, injected 5xx/busy/expired answers, bodies cut
// mid-transfer, per-request latency, hostile listing entries (§8.2), a
// QuickConnect coordinator (Serv.php, ping-pong), a decoy NAS, and the
// JavaScript pages a browser sign-in walks through. It listens on
// loopback only.
package synologytest

import (
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"net"
	"net/http"
	"net/url"
	"path"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ps-photos/ps/internal/testenv"
)

// Config shapes the fake. Zero values give a password share of an empty
// root folder over HTTPS with no faults.
type Config struct {
	Listen        string // default 127.0.0.1:0
	SharingID     string // default "AbCdEf123"
	GofileID      string // the <gid> of the gofile.me link, default "7fAkE"
	QuickConnect  string // the QuickConnect id, default "fakenas"
	ServerID      string // server.serverID (the ezid is its MD5), default "030344165"
	Password      string // empty: a public share
	RootName      string // Private.filename, default "09.26.25 First Last"
	PageCap       int    // most entries a List page returns, whatever the limit (0: no cap)
	LaterPageCap  int    // a smaller cap for pages after the first (a server whose page size shifts)
	Latency       time.Duration
	SessionTTL    time.Duration // a sid stops working this long after login (0: never)
	SessionUses   int           // … or after this many API requests (0: never)
	DownloadUses  int           // … or after this many downloads (0: never): expiry lands mid-fetch, not mid-listing
	SingleSession bool          // a login invalidates earlier sids
	LockoutAfter  int           // after this many wrong passwords, logins answer 407 (0: never)
	PlainHTTP     bool          // serve http:// (the browser test; Chromium does not trust the test CA)
	Decoy         bool          // also start a decoy NAS on 127.0.0.2 (same port) with the wrong ezid
	OnlyMtime     bool          // the "time" object carries only mtime
	IgnoreRange   bool          // answer 200 with the whole file to a Range request
	// HeaderCode is what Initdata answers when X-SYNO-SHARING is missing
	// (GUESS in docs/protocols/synology.md: 101 or 119). Default 101.
	HeaderCode int
	// Redirects makes the first N Serv.php calls answer "ask another
	// control host" (errno 4, suberrno 2) pointing back at this fake.
	Redirects int
}

func (c *Config) defaults() {
	set := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	set(&c.Listen, "127.0.0.1:0")
	set(&c.SharingID, "AbCdEf123")
	set(&c.GofileID, "7fAkE")
	set(&c.QuickConnect, "fakenas")
	set(&c.ServerID, "030344165")
	set(&c.RootName, "09.26.25 First Last")
	if c.HeaderCode == 0 {
		c.HeaderCode = 101
	}
}

// File is a file to serve. With Data nil, the content is SyntheticData
// of Size bytes (large folders and files without holding them).
type File struct {
	Path  string // slash-separated, relative to the share root
	Data  []byte
	Size  int64
	Mtime time.Time
}

// Fault is an injected misbehaviour. It hits the next Times matching
// requests (0 means 1; -1 means every request until cleared).
type Fault struct {
	Op         string        // login, initdata, list, download, serv, pingpong or any
	Path       string        // only requests whose folder or file path contains this
	Times      int           //
	Status     int           // answer this HTTP status (502, 503, 429, …)
	RetryAfter int           // with Status: a Retry-After header, seconds
	Code       int           // answer {"success":false,"error":{"code":Code}} with HTTP 200
	CutAfter   int64         // download: send this many bytes of the body, then drop the connection
	StallAfter int64         // download: send this many bytes, then stall for Delay mid-body
	Delay      time.Duration // stall this long before answering (or mid-body, with StallAfter)

	ledger *testenv.Injected
}

// Stats counts what the fake saw.
type Stats struct {
	Requests, Logins, BadLogins, Lists, Downloads, DecoyRequests, DecoyLogins int64
}

// Server is a running fake.
type Server struct {
	URL         string // the NAS base, https://127.0.0.1:port
	Link        string // URL + /sharing/<id>
	GofileLink  string // https://gofile.me/<gid>/<id> (resolved through Coordinator)
	QCLink      string // https://<qcid>.quickconnect.to/sharing/<id>
	Coordinator string // the fake Serv.php, for PS_QUICKCONNECT_URL
	Landing     string // a page that sends a browser to Link with JavaScript
	CAPEM       []byte // the CA to trust (SSL_CERT_FILE); nil with PlainHTTP

	mu       sync.Mutex
	cfg      Config
	dirs     map[string]*dir // by share path, "/<root>/a"
	sessions map[string]*session
	faults   []*Fault
	ledger   testenv.Faults // every fault injected, with what fired
	loops    []string       // share paths under which "loop/loop/…" never ends
	single   *entry         // a share of one file (Initdata says is_folder false)
	bad      int            // wrong passwords so far
	redirect int
	stats    struct {
		requests, logins, badLogins, lists, downloads, decoyRequests, decoyLogins atomic.Int64
	}
	servers []*http.Server
}

type dir struct {
	entries []*entry
	byName  map[string]*entry
	sorted  bool
	total   int64 // >0: the total the listing claims (a lie); <0: no total at all
}

type entry struct {
	name  string
	isdir bool
	size  int64
	mtime int64
	data  []byte          // nil: synthetic
	raw   json.RawMessage // hostile entries are served verbatim
	// rendered caches the entry's JSON for one set of "additional"
	// fields, so serving a 100,000-entry folder costs the fake little
	// and benchmarks measure the client.
	rendered atomic.Pointer[rendered]
}

type rendered struct {
	key  string
	json json.RawMessage
}

type session struct {
	ip        string // the client address that signed in (DSM answers 150 from another)
	created   time.Time
	uses      int
	downloads int
}

// Start runs a fake with cfg.
func Start(cfg Config) (*Server, error) {
	cfg.defaults()
	s := &Server{cfg: cfg, dirs: map[string]*dir{}, sessions: map[string]*session{}}
	s.dirs[s.root()] = &dir{}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, err
	}
	scheme := "https"
	var ca *testCA
	if cfg.PlainHTTP {
		scheme = "http"
	} else if ca, err = processCA(); err != nil {
		ln.Close()
		return nil, err
	}
	s.serve(ln, s, ca)
	port := ln.Addr().(*net.TCPAddr).Port
	if cfg.Decoy {
		dl, err := net.Listen("tcp", fmt.Sprintf("127.0.0.2:%d", port))
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("decoy: %w", err)
		}
		s.serve(dl, http.HandlerFunc(s.decoy), ca)
	}
	s.URL = fmt.Sprintf("%s://%s", scheme, ln.Addr())
	s.Link = s.URL + "/sharing/" + cfg.SharingID
	s.GofileLink = "https://gofile.me/" + cfg.GofileID + "/" + cfg.SharingID
	s.QCLink = "https://" + cfg.QuickConnect + ".quickconnect.to/sharing/" + cfg.SharingID
	s.Coordinator = s.URL + "/Serv.php"
	s.Landing = s.URL + "/landing/" + cfg.GofileID + "/" + cfg.SharingID
	if ca != nil {
		s.CAPEM = ca.CAPEM
	}
	return s, nil
}

func (s *Server) serve(ln net.Listener, h http.Handler, ca *testCA) {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ErrorLog: quietLog()}
	if ca != nil {
		srv.TLSConfig = ca.serverConfig()
		go srv.ServeTLS(ln, "", "")
	} else {
		go srv.Serve(ln)
	}
	s.servers = append(s.servers, srv)
}

// Close stops the fake.
func (s *Server) Close() {
	for _, srv := range s.servers {
		srv.Close()
	}
}

func (s *Server) root() string { return "/" + s.cfg.RootName }

// Configure changes the configuration of a running fake.
func (s *Server) Configure(f func(*Config)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(&s.cfg)
}

func (s *Server) config() Config {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cfg
}

// Stats returns the counters.
func (s *Server) Stats() Stats {
	return Stats{
		Requests: s.stats.requests.Load(), Logins: s.stats.logins.Load(), BadLogins: s.stats.badLogins.Load(),
		Lists: s.stats.lists.Load(), Downloads: s.stats.downloads.Load(),
		DecoyRequests: s.stats.decoyRequests.Load(), DecoyLogins: s.stats.decoyLogins.Load(),
	}
}

// AddFile adds a file, creating its folders.
func (s *Server) AddFile(f File) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rel := strings.Trim(f.Path, "/")
	folder := s.mkdirLocked(path.Dir(rel))
	size := f.Size
	if f.Data != nil {
		size = int64(len(f.Data))
	}
	e := &entry{name: path.Base(rel), size: size, mtime: f.Mtime.Unix(), data: f.Data}
	s.put(folder, e)
}

// ShareSingleFile turns the share into a share of one file named
// RootName: Initdata says is_folder false and the file downloads as
// /fsdownload/<id>/<name> (variant D) or by its path "/<name>".
func (s *Server) ShareSingleFile(data []byte, mtime time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.single = &entry{name: s.cfg.RootName, size: int64(len(data)), mtime: mtime.Unix(), data: data}
	delete(s.dirs, s.root())
}

// AddFolder adds an (empty) folder and its parents.
func (s *Server) AddFolder(rel string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mkdirLocked(strings.Trim(rel, "/"))
}

// Remove deletes a file (a "vanished" item).
func (s *Server) Remove(rel string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rel = strings.Trim(rel, "/")
	d := s.dirs[s.sharePath(path.Dir(rel))]
	if d == nil {
		return
	}
	for i, e := range d.entries {
		if e.name == path.Base(rel) && e.raw == nil {
			d.entries = append(d.entries[:i], d.entries[i+1:]...)
			delete(d.byName, e.name)
			return
		}
	}
}

func (s *Server) sharePath(rel string) string {
	if rel == "." || rel == "" {
		return s.root()
	}
	return s.root() + "/" + rel
}

func (s *Server) mkdirLocked(rel string) string {
	p := s.sharePath(rel)
	if s.dirs[p] != nil {
		return p
	}
	s.dirs[p] = &dir{}
	if rel != "." && rel != "" {
		parent := s.mkdirLocked(path.Dir(rel))
		s.put(parent, &entry{name: path.Base(rel), isdir: true, size: 4096, mtime: 1700000000})
	}
	return p
}

func (s *Server) put(folder string, e *entry) {
	d := s.dirs[folder]
	if d.byName == nil {
		d.byName = map[string]*entry{}
	}
	if old := d.byName[e.name]; old != nil {
		old.isdir, old.size, old.mtime, old.data = e.isdir, e.size, e.mtime, e.data
		old.rendered.Store(nil)
		return
	}
	d.byName[e.name] = e
	d.entries = append(d.entries, e)
	d.sorted = false
}

// AddRawEntry adds an entry to a folder's listing exactly as given (a
// JSON object): hostile names and paths the client must refuse.
func (s *Server) AddRawEntry(folderRel string, raw string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	folder := s.mkdirLocked(strings.Trim(folderRel, "/"))
	s.dirs[folder].entries = append(s.dirs[folder].entries, &entry{name: "\uffff" + raw, raw: json.RawMessage(raw)})
}

// ClaimTotal makes a folder's listing claim n entries whatever it holds;
// a negative n leaves "total" out (null).
func (s *Server) ClaimTotal(folderRel string, n int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dirs[s.mkdirLocked(strings.Trim(folderRel, "/"))].total = n
}

// AddHostile adds docs/protocols/synology.md's §8.2 listing attacks to folderRel:
// traversal names, separators, NUL and control characters, absolute and
// out-of-root paths, a path that disagrees with its name, a negative and
// an absurd size. Each must become a failure record, never an item. It
// returns how many entries it added.
func (s *Server) AddHostile(folderRel string) int {
	folder := s.sharePath(strings.Trim(folderRel, "/"))
	entry := func(name, p string, isdir bool, size string) string {
		n, _ := json.Marshal(name)
		pp, _ := json.Marshal(p)
		return fmt.Sprintf(`{"name":%s,"path":%s,"isdir":%t,"additional":{"size":%s,"type":"CR3","time":{"mtime":1700000000}}}`, n, pp, isdir, size)
	}
	hostile := []string{
		entry("..", folder+"/..", true, "0"),
		entry(".", folder+"/.", true, "0"),
		entry("../../etc/passwd.CR3", folder+"/../../etc/passwd.CR3", false, "10"),
		entry(`..\..\evil.CR3`, folder+`/..\..\evil.CR3`, false, "10"),
		entry("nul\x00byte.CR3", folder+"/nul\x00byte.CR3", false, "10"),
		entry("bell\x07.CR3", folder+"/bell\x07.CR3", false, "10"),
		entry("abs.CR3", "/etc/abs.CR3", false, "10"),
		entry("elsewhere.CR3", s.root()+"/other/elsewhere.CR3", false, "10"),
		entry("", folder+"/", false, "10"),
		entry("negative.CR3", folder+"/negative.CR3", false, "-5"),
		entry("exabyte.CR3", folder+"/exabyte.CR3", false, "9000000000000000000"),
		entry("loop", folder, true, "0"),
	}
	for _, h := range hostile {
		s.AddRawEntry(folderRel, h)
	}
	return len(hostile)
}

// Inject adds a fault.
func (s *Server) Inject(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.Times == 0 {
		f.Times = 1
	}
	f.ledger = s.ledger.Add(fmt.Sprintf("%s on %q: status %d, code %d, cut after %d, stall after %d, ×%d", f.Op, f.Path, f.Status, f.Code, f.CutAfter, f.StallAfter, f.Times))
	s.faults = append(s.faults, &f)
}

// Faults is the ledger of injected faults: test helpers Check it at
// clean-up, so a fault that never fired fails the test.
func (s *Server) Faults() *testenv.Faults { return &s.ledger }

// ClearFaults removes every fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// MoveClient makes every session look signed in from another address, as
// when a laptop changes networks: DSM then answers 150 to each request.
func (s *Server) MoveClient() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sess := range s.sessions {
		sess.ip = "192.0.2.1" // TEST-NET-1: never a real client
	}
}

// clientIP is the host part of the request's remote address.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// ExpireSessions ends every session at once.
func (s *Server) ExpireSessions() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sessions = map[string]*session{}
}

// fault returns the fault that hits this request, if any.
func (s *Server) fault(op, target string) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if (f.Op != op && f.Op != "any") || !strings.Contains(target, f.Path) {
			continue
		}
		f.ledger.Fire()
		hit := *f
		if f.Times > 0 {
			f.Times--
			if f.Times == 0 {
				s.faults = append(s.faults[:i], s.faults[i+1:]...)
			}
		}
		return &hit
	}
	return nil
}

// newSID returns a sid shaped like DSM's: 32 characters of [A-Za-z0-9_-].
func newSID() string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// checkSession validates and counts a use of the request's sid; it
// returns the API error code, or 0.
func (s *Server) checkSession(r *http.Request) int { return s.useSession(r, false) }

func (s *Server) useSession(r *http.Request, download bool) int {
	c, err := r.Cookie("sharing_sid")
	if err != nil || c.Value == "" {
		return 101
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sess := s.sessions[c.Value]
	if sess == nil {
		return 119
	}
	if sess.ip != clientIP(r) {
		return 150
	}
	sess.uses++
	if download {
		sess.downloads++
	}
	if (s.cfg.SessionTTL > 0 && time.Since(sess.created) > s.cfg.SessionTTL) ||
		(s.cfg.SessionUses > 0 && sess.uses > s.cfg.SessionUses) ||
		(s.cfg.DownloadUses > 0 && sess.downloads > s.cfg.DownloadUses) {
		delete(s.sessions, c.Value)
		return 119
	}
	return 0
}

// lookup finds a file or folder by share path.
func (s *Server) lookup(p string) (*entry, *dir) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.single != nil && p == s.root() {
		return s.single, nil
	}
	if d := s.dirs[p]; d != nil {
		return nil, d
	}
	d := s.dirs[path.Dir(p)]
	if d == nil {
		return nil, nil
	}
	if e := d.byName[path.Base(p)]; e != nil {
		if e.isdir {
			return nil, s.dirs[p]
		}
		return e, nil
	}
	return nil, nil
}

// AddLoop makes folderRel hold a folder "loop" that holds a folder "loop"
// … without end: a server whose tree is a cycle.
func (s *Server) AddLoop(folderRel string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	folder := s.mkdirLocked(strings.Trim(folderRel, "/"))
	s.loops = append(s.loops, folder)
	s.put(folder, &entry{name: "loop", isdir: true, size: 4096, mtime: 1700000000})
}

// loopDir is the endless folder at p, if p is inside a loop.
func (s *Server) loopDir(p string) *dir {
	for _, l := range s.loops {
		if rest, ok := strings.CutPrefix(p, l+"/loop"); ok && strings.Trim(strings.ReplaceAll(rest, "/loop", ""), "/") == "" {
			return &dir{entries: []*entry{{name: "loop", isdir: true, size: 4096, mtime: 1700000000}}, sorted: true}
		}
	}
	return nil
}

// page returns a sorted slice of a folder's entries and the total.
func (s *Server) page(p string, offset, limit int) ([]*entry, int64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.dirs[p]
	if d == nil {
		d = s.loopDir(p)
	}
	if d == nil {
		return nil, 0, false
	}
	if !d.sorted {
		sort.SliceStable(d.entries, func(i, j int) bool { return d.entries[i].name < d.entries[j].name })
		d.sorted = true
	}
	total := int64(len(d.entries))
	if offset > len(d.entries) {
		offset = len(d.entries)
	}
	end := len(d.entries)
	if limit > 0 && offset+limit < end {
		end = offset + limit
	}
	out := append([]*entry(nil), d.entries[offset:end]...)
	if d.total != 0 {
		total = d.total
	}
	return out, total, true
}

// SyntheticData is the content of a file added without Data: a
// deterministic pattern derived from its share-relative path.
func SyntheticData(rel string, size int64) []byte {
	b := make([]byte, size)
	fillSynthetic(b, seedOf(rel), 0)
	return b
}

func seedOf(rel string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(strings.Trim(rel, "/")))
	return h.Sum64()
}

func fillSynthetic(b []byte, seed uint64, offset int64) {
	for i := range b {
		x := uint64(offset+int64(i)) * 0x9E3779B97F4A7C15
		b[i] = byte((x ^ seed) >> 29)
	}
}

func md5hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// param reads a parameter from the query or form body, accepting a JSON
// string literal ("…") as well as the bare value.
func param(r *http.Request, name string) string {
	v := r.Form.Get(name)
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		var s string
		if json.Unmarshal([]byte(v), &s) == nil {
			return s
		}
		return v[1 : len(v)-1]
	}
	return v
}

// paramList reads a JSON array parameter (additional, path); a bare
// comma-separated list is accepted too.
func paramList(r *http.Request, name string) []string {
	v := r.Form.Get(name)
	if v == "" {
		return nil
	}
	var list []string
	if json.Unmarshal([]byte(v), &list) == nil {
		return list
	}
	return strings.Split(strings.Trim(v, "[]"), ",")
}

var errNoDlink = errors.New("no dlink")

// dlinkPath decodes the quoted hex of a dlink parameter.
func dlinkPath(r *http.Request) (string, error) {
	v := param(r, "dlink")
	if v == "" {
		return "", errNoDlink
	}
	b, err := hex.DecodeString(strings.ToLower(v))
	return string(b), err
}

func unescape(s string) string {
	if u, err := url.PathUnescape(s); err == nil {
		return u
	}
	return s
}

// Populate adds files synthetic files spread evenly over folders
// ("f000/IMG_000000.CR3", …), with distinct mtimes.
func Populate(s *Server, files, folders int, size int64) {
	folders = max(folders, 1)
	for i := range files {
		s.AddFile(File{
			Path:  fmt.Sprintf("f%03d/IMG_%06d.CR3", i%folders, i),
			Size:  size,
			Mtime: time.Unix(1700000000+int64(i), 0),
		})
	}
}
