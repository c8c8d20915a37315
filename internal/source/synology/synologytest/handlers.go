package synologytest

import (
	"archive/zip"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"
)

func quietLog() *log.Logger { return log.New(io.Discard, "", 0) }

// entryAliases are the Web API entry paths of docs/protocols/synology.md §2; each may carry a
// trailing /<API name>.
var entryAliases = []string{"/sharing/webapi/entry.cgi", "/webapi/entry.cgi", "/fsdownload/webapi/entry.cgi", "/sharing/webapi/auth.cgi", "/fsdownload/webapi/file_download.cgi"}

func isEntry(p string) bool {
	for _, a := range entryAliases {
		if p == a || strings.HasPrefix(p, a+"/") {
			return true
		}
	}
	return false
}

// apis lists the APIs the fake knows with their version range.
var apis = map[string][3]any{
	"SYNO.API.Info":               {1, 1, "query"},
	"SYNO.Core.Sharing.Login":     {1, 1, "login"},
	"SYNO.Core.Sharing.Initdata":  {1, 1, "get"},
	"SYNO.Core.Sharing.Session":   {1, 1, "get"},
	"SYNO.FolderSharing.List":     {1, 2, "list"},
	"SYNO.FolderSharing.Download": {1, 2, "download"},
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.stats.requests.Add(1)
	if d := s.config().Latency; d > 0 {
		select {
		case <-time.After(d):
		case <-r.Context().Done():
			return
		}
	}
	_ = r.ParseForm()
	p := r.URL.Path
	switch {
	case p == "/Serv.php":
		s.serv(w, r)
	case p == "/webman/pingpong.cgi":
		if s.injected(w, r, "pingpong", "") {
			return
		}
		writeJSON(w, map[string]any{"success": true, "ezid": md5hex(s.config().ServerID)})
	case p == "/webapi/query.cgi":
		writeJSON(w, map[string]any{"success": true, "data": map[string]any{"SYNO.API.Info": map[string]any{"maxVersion": 1, "minVersion": 1, "path": "query.cgi"}}})
	case isEntry(p):
		s.api(w, r)
	case strings.HasPrefix(p, "/sharing/"):
		s.sharePage(w, r, strings.Trim(strings.TrimPrefix(p, "/sharing/"), "/"))
	case strings.HasPrefix(p, "/landing/"):
		s.landing(w, r)
	case strings.HasPrefix(p, "/fsdownload/"):
		s.singleFileDownload(w, r, strings.TrimPrefix(p, "/fsdownload/"))
	default:
		http.NotFound(w, r)
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

func apiFail(w http.ResponseWriter, code int) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	fmt.Fprintf(w, `{"error":{"code":%d},"success":false}`, code)
}

func ok(w http.ResponseWriter, data any) {
	writeJSON(w, map[string]any{"success": true, "data": data})
}

// injected applies a fault to this request; it reports whether the
// request was answered by the fault.
func (s *Server) injected(w http.ResponseWriter, r *http.Request, op, target string) bool {
	f := s.fault(op, target)
	if f == nil {
		return false
	}
	if f.Delay > 0 && f.StallAfter == 0 {
		select {
		case <-time.After(f.Delay):
		case <-r.Context().Done():
			return true
		}
	}
	switch {
	case f.Status != 0:
		if f.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(f.RetryAfter))
		}
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(f.Status)
		fmt.Fprintf(w, "<html><body>%d %s</body></html>", f.Status, http.StatusText(f.Status))
		return true
	case f.Code != 0:
		apiFail(w, f.Code)
		return true
	case f.CutAfter > 0 && op == "download":
		s.download(w, r, target, bodyFault{cut: f.CutAfter})
		return true
	case f.StallAfter > 0 && op == "download":
		s.download(w, r, target, bodyFault{stallAt: f.StallAfter, stall: f.Delay})
		return true
	}
	return false
}

func (s *Server) api(w http.ResponseWriter, r *http.Request) {
	name, method, version := r.Form.Get("api"), param(r, "method"), param(r, "version")
	if name == "" || method == "" || version == "" {
		apiFail(w, 101)
		return
	}
	spec, known := apis[name]
	switch v, _ := strconv.Atoi(version); {
	case !known:
		apiFail(w, 102)
		return
	case method != spec[2].(string):
		apiFail(w, 103)
		return
	case v < spec[0].(int) || v > spec[1].(int):
		apiFail(w, 104)
		return
	}
	switch name {
	case "SYNO.API.Info":
		ok(w, map[string]any{"SYNO.API.Info": map[string]any{"maxVersion": 1, "minVersion": 1, "path": "query.cgi"}})
	case "SYNO.Core.Sharing.Login":
		s.login(w, r)
	case "SYNO.Core.Sharing.Initdata":
		s.initdata(w, r)
	case "SYNO.Core.Sharing.Session":
		s.sessionJS(w, r)
	case "SYNO.FolderSharing.List":
		s.list(w, r)
	case "SYNO.FolderSharing.Download":
		s.downloadAPI(w, r)
	}
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	if s.injected(w, r, "login", "") {
		return
	}
	cfg := s.config()
	if param(r, "sharing_id") != cfg.SharingID {
		apiFail(w, 114)
		return
	}
	s.mu.Lock()
	locked := s.cfg.LockoutAfter > 0 && s.bad >= s.cfg.LockoutAfter
	good := param(r, "password") == s.cfg.Password
	if !good && !locked {
		s.bad++
	}
	s.mu.Unlock()
	switch {
	case locked:
		apiFail(w, 407)
	case !good:
		s.stats.badLogins.Add(1)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"error":{"code":1001,"errors":"Execute Error: wrong protect passwd"},"success":false}`)
	default:
		s.stats.logins.Add(1)
		sid := s.newSession(clientIP(r))
		http.SetCookie(w, &http.Cookie{Name: "sharing_sid", Value: sid, MaxAge: 86400, Path: "/", HttpOnly: true})
		ok(w, map[string]any{"sharing_sid": sid})
	}
}

func (s *Server) newSession(ip string) string {
	sid := newSID()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cfg.SingleSession {
		s.sessions = map[string]*session{}
	}
	s.sessions[sid] = &session{ip: ip, created: time.Now()}
	return sid
}

func (s *Server) initdata(w http.ResponseWriter, r *http.Request) {
	if s.injected(w, r, "initdata", "") {
		return
	}
	cfg := s.config()
	if code := s.checkSession(r); code != 0 {
		apiFail(w, code)
		return
	}
	if r.Header.Get("X-SYNO-SHARING") != cfg.SharingID {
		apiFail(w, cfg.HeaderCode)
		return
	}
	s.mu.Lock()
	isFolder := s.single == nil
	s.mu.Unlock()
	ok(w, map[string]any{
		"Private": map[string]any{"filename": cfg.RootName, "sharing_id": cfg.SharingID},
		"Sharing": map[string]any{"app": map[string]any{"is_folder": isFolder, "is_sharing_upload": false}},
		"Theme":   map[string]any{"unknown": "keys the client must ignore"},
	})
}

// sessionJS is SYNO.Core.Sharing.Session: JavaScript, not JSON.
func (s *Server) sessionJS(w http.ResponseWriter, r *http.Request) {
	cfg := s.config()
	status := "password"
	if cfg.Password == "" {
		status = "none"
	}
	w.Header().Set("Content-Type", "application/javascript")
	fmt.Fprintf(w, "SYNO.SDS.Session = {\"sharing_id\":%q,\"sharing_status\":%q,\"hostname\":\"fakenas\"};\nSYNO.SDS.ExtraSession = {\"is_folder\":true,\"status\":0};\n", cfg.SharingID, status)
}

func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	s.stats.lists.Add(1)
	folder := param(r, "folder_path")
	if s.injected(w, r, "list", folder) {
		return
	}
	if code := s.checkSession(r); code != 0 {
		apiFail(w, code)
		return
	}
	cfg := s.config()
	root := "/" + cfg.RootName
	if folder != root && !strings.HasPrefix(folder, root+"/") {
		apiFail(w, 407)
		return
	}
	offset, _ := strconv.Atoi(param(r, "offset"))
	limit, _ := strconv.Atoi(param(r, "limit"))
	if cfg.PageCap > 0 && (limit <= 0 || limit > cfg.PageCap) {
		limit = cfg.PageCap
	}
	if cfg.LaterPageCap > 0 && offset > 0 && (limit <= 0 || limit > cfg.LaterPageCap) {
		limit = cfg.LaterPageCap
	}
	entries, total, found := s.page(folder, max(offset, 0), limit)
	if !found {
		if e, _ := s.lookup(folder); e != nil {
			apiFail(w, 400) // a file is not a folder
			return
		}
		apiFail(w, 408)
		return
	}
	want := map[string]bool{}
	for _, a := range paramList(r, "additional") {
		want[strings.Trim(a, `" `)] = true
	}
	key := fmt.Sprint(folder, want, cfg.OnlyMtime)
	files := make([]json.RawMessage, 0, len(entries))
	for _, e := range entries {
		if c := e.rendered.Load(); c != nil && c.key == key {
			files = append(files, c.json)
			continue
		}
		b := s.entryJSON(folder, e, want, cfg.OnlyMtime)
		e.rendered.Store(&rendered{key: key, json: b})
		files = append(files, b)
	}
	var claimed any = total
	if total < 0 {
		claimed = nil
	}
	ok(w, map[string]any{"offset": offset, "total": claimed, "files": files})
}

type wireFile struct {
	Name       string    `json:"name"`
	Path       string    `json:"path"`
	IsDir      bool      `json:"isdir"`
	Additional *wireMore `json:"additional,omitempty"`
}

type wireMore struct {
	Size  *int64         `json:"size,omitempty"`
	Type  *string        `json:"type,omitempty"`
	Time  *wireTime      `json:"time,omitempty"`
	Owner map[string]any `json:"owner,omitempty"`
}

type wireTime struct {
	Mtime  int64 `json:"mtime"`
	Crtime int64 `json:"crtime,omitempty"`
	Ctime  int64 `json:"ctime,omitempty"`
	Atime  int64 `json:"atime,omitempty"`
}

// entryJSON renders one entry with the additional fields asked for.
func (s *Server) entryJSON(folder string, e *entry, want map[string]bool, onlyMtime bool) json.RawMessage {
	if e.raw != nil {
		return e.raw
	}
	f := wireFile{Name: e.name, Path: folder + "/" + e.name, IsDir: e.isdir}
	var more wireMore
	if want["size"] {
		more.Size = &e.size
	}
	if want["type"] {
		t := ""
		if !e.isdir {
			t = strings.ToUpper(strings.TrimPrefix(path.Ext(e.name), "."))
		}
		more.Type = &t
	}
	if want["time"] {
		more.Time = &wireTime{Mtime: e.mtime}
		if !onlyMtime {
			more.Time.Crtime, more.Time.Ctime, more.Time.Atime = e.mtime, e.mtime, e.mtime+60
		}
	}
	if want["owner"] {
		more.Owner = map[string]any{"user": "admin", "group": "users"}
	}
	if more.Size != nil || more.Type != nil || more.Time != nil || more.Owner != nil {
		f.Additional = &more
	}
	b, _ := json.Marshal(f)
	return b
}

// downloadAPI finds the target of variants A (dlink), B and C (path=[…]).
func (s *Server) downloadAPI(w http.ResponseWriter, r *http.Request) {
	target, err := dlinkPath(r)
	if err == errNoDlink {
		if paths := paramList(r, "path"); len(paths) == 1 {
			target, err = paths[0], nil
		}
	}
	if err != nil {
		apiFail(w, 101)
		return
	}
	s.stats.downloads.Add(1)
	if s.injected(w, r, "download", target) {
		return
	}
	s.download(w, r, target, bodyFault{})
}

// bodyFault spoils a download body: cut drops the connection after that
// many bytes; stallAt sends that many and then waits stall.
type bodyFault struct {
	cut, stallAt int64
	stall        time.Duration
}

// download streams a file (or a folder as ZIP), spoiled by bf.
func (s *Server) download(w http.ResponseWriter, r *http.Request, target string, bf bodyFault) {
	if code := s.useSession(r, true); code != 0 {
		apiFail(w, code) // 200 with a 38-byte JSON body, as a real NAS does
		return
	}
	cfg := s.config()
	root := "/" + cfg.RootName
	if target != root && !strings.HasPrefix(target, root+"/") {
		apiFail(w, 407)
		return
	}
	e, d := s.lookup(target)
	switch {
	case d != nil:
		s.zipFolder(w, target)
		return
	case e == nil && param(r, "mode") == "open":
		http.NotFound(w, r)
		return
	case e == nil:
		apiFail(w, 408)
		return
	}
	start, end, status := int64(0), e.size, http.StatusOK
	if rng := r.Header.Get("Range"); rng != "" && !cfg.IgnoreRange {
		var ok bool
		start, end, ok = parseRange(rng, e.size)
		if !ok {
			w.Header().Set("Content-Range", fmt.Sprintf("bytes */%d", e.size))
			w.WriteHeader(http.StatusRequestedRangeNotSatisfiable)
			return
		}
		status = http.StatusPartialContent
		w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, end-1, e.size))
	}
	h := w.Header()
	if param(r, "mode") == "open" {
		ct := mime.TypeByExtension(path.Ext(e.name))
		if ct == "" {
			ct = "application/octet-stream"
		}
		h.Set("Content-Type", ct)
	} else {
		h.Set("Content-Type", "application/octet-stream")
		h.Set("Content-Disposition", "attachment; filename*=UTF-8''"+url.PathEscape(e.name))
	}
	h.Set("Content-Length", strconv.FormatInt(end-start, 10))
	w.WriteHeader(status)
	if r.Method == http.MethodHead {
		return
	}
	s.body(w, r, target, e, start, end, bf)
}

// body writes bytes [start, end) of e, spoiled by bf.
func (s *Server) body(w http.ResponseWriter, r *http.Request, target string, e *entry, start, end int64, bf bodyFault) {
	cut := bf.cut > 0 && start+bf.cut < end
	if cut {
		end = start + bf.cut
	}
	stallAt := int64(-1)
	if bf.stallAt > 0 {
		stallAt = start + bf.stallAt
	}
	buf := make([]byte, 64<<10)
	seed := seedOf(strings.TrimPrefix(target, "/"+s.config().RootName+"/"))
	flusher, _ := w.(http.Flusher)
	for off := start; off < end; {
		n := min(int64(len(buf)), end-off)
		if stallAt > off {
			n = min(n, stallAt-off)
		}
		if e.data != nil {
			copy(buf[:n], e.data[off:off+n])
		} else {
			fillSynthetic(buf[:n], seed, off)
		}
		if _, err := w.Write(buf[:n]); err != nil {
			return
		}
		off += n
		if off == stallAt {
			if flusher != nil {
				flusher.Flush()
			}
			select {
			case <-time.After(bf.stall):
			case <-r.Context().Done():
				return
			}
		}
	}
	if cut {
		if flusher != nil {
			flusher.Flush()
		}
		panic(http.ErrAbortHandler) // drop the connection mid-body
	}
}

// parseRange reads a single "bytes=N-" or "bytes=N-M".
func parseRange(v string, size int64) (int64, int64, bool) {
	spec, found := strings.CutPrefix(v, "bytes=")
	if !found || strings.Contains(spec, ",") {
		return 0, 0, false
	}
	a, b, _ := strings.Cut(spec, "-")
	start, err := strconv.ParseInt(a, 10, 64)
	if err != nil || start >= size {
		return 0, 0, false
	}
	end := size
	if b != "" {
		last, err := strconv.ParseInt(b, 10, 64)
		if err != nil || last < start {
			return 0, 0, false
		}
		end = min(last+1, size)
	}
	return start, end, true
}

func (s *Server) zipFolder(w http.ResponseWriter, folder string) {
	w.Header().Set("Content-Type", "application/zip")
	zw := zip.NewWriter(w)
	defer zw.Close()
	entries, _, _ := s.page(folder, 0, 0)
	for _, e := range entries {
		if e.isdir || e.raw != nil {
			continue
		}
		f, err := zw.Create(e.name)
		if err != nil {
			return
		}
		data := e.data
		if data == nil {
			data = SyntheticData(strings.TrimPrefix(folder+"/"+e.name, "/"+s.config().RootName+"/"), e.size)
		}
		_, _ = f.Write(data)
	}
}

// singleFileDownload is variant D: /fsdownload/<sharing_id>/<name>.
func (s *Server) singleFileDownload(w http.ResponseWriter, r *http.Request, rest string) {
	id, name, _ := strings.Cut(rest, "/")
	if id != s.config().SharingID {
		http.NotFound(w, r)
		return
	}
	target := "/" + s.config().RootName
	if e, _ := s.lookup(target); e == nil || e.name != unescape(name) {
		target += "/" + unescape(name) // a file in a folder share
	}
	if e, _ := s.lookup(target); e != nil {
		w.Header().Set("Last-Modified", time.Unix(e.mtime, 0).UTC().Format(http.TimeFormat))
	}
	s.stats.downloads.Add(1)
	if s.injected(w, r, "download", target) {
		return
	}
	s.download(w, r, target, bodyFault{})
}

// sharePage is /sharing/<id>: a page whose JavaScript builds the password
// form after a moment (as the real ExtJS UI does) and logs in with
// fetch(); public shares get the cookie with the page.
func (s *Server) sharePage(w http.ResponseWriter, r *http.Request, id string) {
	cfg := s.config()
	if id != cfg.SharingID {
		http.NotFound(w, r)
		return
	}
	if cfg.Password == "" {
		http.SetCookie(w, &http.Cookie{Name: "sharing_sid", Value: s.newSession(clientIP(r)), Path: "/", HttpOnly: true})
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, sharePageHTML, jsString(cfg.SharingID))
}

const sharePageHTML = `<!DOCTYPE html>
<html><head><title>Synology File Sharing</title></head>
<body><div id="app">Loading…</div>
<script>
setTimeout(function () {
  var app = document.getElementById("app");
  app.innerHTML = '<form id="f"><label>Password <input id="ext-comp-1025" name="ext-comp-1025" type="password" autocomplete="off"></label>' +
    '<button type="submit">Enter</button></form><p id="msg"></p>';
  document.getElementById("f").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var pw = document.getElementById("ext-comp-1025").value;
    var body = "api=SYNO.Core.Sharing.Login&version=1&method=login&sharing_id=" +
      encodeURIComponent(JSON.stringify(%s)) + "&password=" + encodeURIComponent(JSON.stringify(pw));
    fetch("/sharing/webapi/entry.cgi/SYNO.Core.Sharing.Login", {method: "POST",
      headers: {"Content-Type": "application/x-www-form-urlencoded"}, body: body})
      .then(function (r) { return r.json(); })
      .then(function (j) { document.getElementById("msg").textContent = j.success ? "Welcome" : "Wrong password"; });
  });
}, 400);
</script></body></html>
`

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// landing stands in for gofile.me: a page whose JavaScript (not an HTTP
// redirect) sends the browser on to the share page.
func (s *Server) landing(w http.ResponseWriter, r *http.Request) {
	cfg := s.config()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, `<!DOCTYPE html><html><body>Connecting to the NAS…
<script>setTimeout(function () { window.location.replace(%s); }, 500);</script></body></html>`, jsString("/sharing/"+cfg.SharingID))
}

// serv is the QuickConnect coordinator's get_server_info. The NAS is
// reachable at 127.0.0.1 on the fake's port; 127.0.0.3 (nothing listens)
// stands for an unreachable public address; with Decoy, 127.0.0.2 is a
// different NAS listed first.
func (s *Server) serv(w http.ResponseWriter, r *http.Request) {
	if s.injected(w, r, "serv", "") {
		return
	}
	var reqs []map[string]any
	b, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err := json.Unmarshal(b, &reqs); err != nil {
		var one map[string]any
		if json.Unmarshal(b, &one) != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		reqs = []map[string]any{one}
	}
	cfg := s.config()
	s.mu.Lock()
	redirect := s.redirect < cfg.Redirects
	s.redirect++
	s.mu.Unlock()
	port := 0
	if u, err := url.Parse(s.URL); err == nil {
		port, _ = strconv.Atoi(u.Port())
	}
	var out []map[string]any
	for _, q := range reqs {
		id, _ := q["serverID"].(string)
		gofile, _ := q["is_gofile"].(bool)
		known := (gofile && id == cfg.GofileID && q["path"] == cfg.SharingID) || (!gofile && strings.EqualFold(id, cfg.QuickConnect))
		switch {
		case redirect:
			out = append(out, map[string]any{"command": "get_server_info", "version": 1, "errno": 4, "suberrno": 2,
				"sites": []string{r.Host}})
		case !known:
			out = append(out, map[string]any{"command": "get_server_info", "version": 1, "errno": 4, "suberrno": 1,
				"errinfo": "get_server_info.go:69[Alias not found]"})
		default:
			out = append(out, s.serverInfo(cfg, port))
		}
	}
	writeJSON(w, out)
}

func (s *Server) serverInfo(cfg Config, port int) map[string]any {
	lan := []string{}
	if cfg.Decoy {
		lan = append(lan, "127.0.0.2")
	}
	return map[string]any{
		"command": "get_server_info", "version": 1, "errno": 0,
		"env": map[string]any{"control_host": "fake.quickconnect.invalid", "relay_region": ""},
		"server": map[string]any{
			"serverID": cfg.ServerID, "ds_state": "CONNECTED", "ddns": "NULL", "fqdn": "NULL",
			"external": map[string]any{"ip": "127.0.0.3", "ipv6": "::"},
			"interface": []map[string]any{{"ip": "127.0.0.1", "mask": "255.0.0.0", "name": "eth0",
				"ipv6": []map[string]any{{"addr_type": 32, "address": "fe80::1", "prefix_length": 64, "scope": "link"}}}},
		},
		"service":  map[string]any{"port": port, "ext_port": 0, "pingpong": "DISCONNECTED", "pingpong_desc": []string{}},
		"smartdns": map[string]any{"host": "", "external": "", "externalv6": "", "lan": lan, "lanv6": []string{}},
	}
}

// decoy is a different NAS at an address the coordinator lists first:
// it answers ping-pong with the wrong ezid and counts any login it gets.
func (s *Server) decoy(w http.ResponseWriter, r *http.Request) {
	s.stats.decoyRequests.Add(1)
	_ = r.ParseForm()
	if r.URL.Path == "/webman/pingpong.cgi" {
		writeJSON(w, map[string]any{"success": true, "ezid": md5hex("someone-else")})
		return
	}
	if r.Form.Get("password") != "" || r.Form.Get("api") == "SYNO.Core.Sharing.Login" {
		s.stats.decoyLogins.Add(1)
	}
	apiFail(w, 119)
}
