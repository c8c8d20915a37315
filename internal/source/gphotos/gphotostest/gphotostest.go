// Package gphotostest is a fake Google: the OAuth 2.0 authorization and
// token endpoints, the Photos Picker API and the Photos Library API, and
// the lh3-style byte URLs, following section 7 of the Google Photos fact
// sheet: pagination with opaque tokens and short pages, an item repeated
// across a page boundary, 401 UNAUTHENTICATED for expired access tokens,
// 429 RESOURCE_EXHAUSTED when throttling, base URLs that expire, picker
// byte fetches that require a Bearer token, and invalid_grant for a
// refresh token that was revoked.
package gphotostest

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Item is one media item the fake account holds.
type Item struct {
	ID       string
	Filename string
	MimeType string
	Created  time.Time // capture time; zero: undated
	Data     []byte
	Video    bool
	Archived bool
	Width    int
	Height   int
}

// Options shape the fake's behaviour; the zero value is a plain server.
type Options struct {
	ClientID, ClientSecret string
	TokenTTL               time.Duration // access token lifetime (default 1h)
	BaseURLTTL             time.Duration // base URL lifetime (default 60 min)
	PageSize               int           // the largest page served (default 100)
	ShortPages             bool          // serve pages one item shorter than asked
	RepeatBoundary         bool          // repeat the last item of a page first on the next
	PollInterval           string        // picker pollingConfig.pollInterval (default "0.05s")
	PickAfterPolls         int           // the "human" picks everything after this many polls (0: only via pickerUri)
	DailyAPICalls          int           // API calls a day before 429 (Google: 10,000; 0: unlimited)
	DailyByteCalls         int           // byte (base URL) requests a day before 429 (Google: 75,000; 0: unlimited)
	Now                    func() time.Time
}

// Server is a running fake.
type Server struct {
	*httptest.Server
	opts Options

	mu        sync.Mutex
	items     []Item
	codes     map[string]authCode
	access    map[string]tokenInfo // access token → info
	refresh   map[string][]string  // refresh token → scopes
	sessions  map[string]*pickSession
	urls      map[string]urlInfo // base URL key → item and issue time
	throttle  int                // answer the next N API calls with 429
	apiCalls  int
	byteCalls int
	seq       int
	// Counters tests assert on.
	Refreshes, Throttled, Expired401, ExpiredURLs int
}

type authCode struct {
	challenge, redirect string
	scopes              []string
}

type tokenInfo struct {
	scopes  []string
	expires time.Time
}

type pickSession struct {
	id      string
	polls   int
	set     bool
	picked  []string
	expires time.Time
	deleted bool
}

type urlInfo struct {
	item   string
	issued time.Time
	picker bool
}

// Scopes the fake knows.
const (
	ScopePicker  = "https://www.googleapis.com/auth/photospicker.mediaitems.readonly"
	ScopeLibrary = "https://www.googleapis.com/auth/photoslibrary.readonly.appcreateddata"
)

// Start runs a fake holding items.
func Start(opts Options, items []Item) *Server {
	if opts.ClientID == "" {
		opts.ClientID = "fake-client.apps.googleusercontent.com"
	}
	if opts.ClientSecret == "" {
		opts.ClientSecret = "fake-secret"
	}
	if opts.TokenTTL == 0 {
		opts.TokenTTL = time.Hour
	}
	if opts.BaseURLTTL == 0 {
		opts.BaseURLTTL = 60 * time.Minute
	}
	if opts.PageSize == 0 {
		opts.PageSize = 100
	}
	if opts.PollInterval == "" {
		opts.PollInterval = "0.05s"
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Server{opts: opts, items: items, codes: map[string]authCode{}, access: map[string]tokenInfo{},
		refresh: map[string][]string{}, sessions: map[string]*pickSession{}, urls: map[string]urlInfo{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /o/oauth2/auth", s.authorize)
	mux.HandleFunc("POST /token", s.token)
	mux.HandleFunc("POST /v1/sessions", s.api(s.createSession))
	mux.HandleFunc("GET /v1/sessions/{id}", s.api(s.getSession))
	mux.HandleFunc("DELETE /v1/sessions/{id}", s.api(s.deleteSession))
	mux.HandleFunc("GET /pick/{id}", s.pick)
	mux.HandleFunc("GET /v1/mediaItems", s.api(s.listItems))
	mux.HandleFunc("POST /v1/mediaItems:search", s.api(s.search))
	mux.HandleFunc("GET /v1/mediaItems:batchGet", s.api(s.batchGet))
	mux.HandleFunc("GET /lh3/{key}", s.bytes)
	s.Server = httptest.NewServer(mux)
	return s
}

// ClientSecretJSON is a Cloud console "Desktop app" credentials file
// pointing at the fake.
func (s *Server) ClientSecretJSON() []byte {
	b, _ := json.Marshal(map[string]any{"installed": map[string]any{
		"client_id": s.opts.ClientID, "client_secret": s.opts.ClientSecret, "project_id": "fake",
		"auth_uri": s.URL + "/o/oauth2/auth", "token_uri": s.URL + "/token",
		"redirect_uris": []string{"http://localhost"},
	}})
	return b
}

// Throttle answers the next n API calls with 429 RESOURCE_EXHAUSTED.
func (s *Server) Throttle(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.throttle = n
}

// ExpireTokens makes every access token issued so far invalid (as an hour
// passing would), while clients still believe they are good.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, t := range s.access {
		t.expires = time.Time{}
		s.access[k] = t
	}
}

// ExpireURLs makes every base URL issued so far expired.
func (s *Server) ExpireURLs() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, u := range s.urls {
		u.issued = time.Time{}
		s.urls[k] = u
	}
}

// ExpireSessions moves every picking session past its expireTime.
func (s *Server) ExpireSessions() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ps := range s.sessions {
		ps.expires = time.Time{}
	}
}

// RevokeRefreshTokens makes refreshes fail with invalid_grant.
func (s *Server) RevokeRefreshTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refresh = map[string][]string{}
}

// Calls returns how many API and byte requests were served.
func (s *Server) Calls() (api, bytes int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.apiCalls, s.byteCalls
}

func (s *Server) next(prefix string) string {
	s.seq++
	return fmt.Sprintf("%s%06d", prefix, s.seq)
}

// --- OAuth ---

func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	redirect := q.Get("redirect_uri")
	u, err := url.Parse(redirect)
	switch {
	case q.Get("client_id") != s.opts.ClientID:
		http.Error(w, "invalid_client", http.StatusUnauthorized)
		return
	case err != nil || u.Scheme != "http" || (u.Hostname() != "127.0.0.1" && u.Hostname() != "localhost" && u.Hostname() != "::1"):
		http.Error(w, "redirect_uri must be a loopback address", http.StatusBadRequest)
		return
	case q.Get("response_type") != "code" || q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "":
		http.Error(w, "PKCE with S256 is required", http.StatusBadRequest)
		return
	case q.Get("access_type") != "offline":
		http.Error(w, "access_type=offline is needed for a refresh token", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	code := s.next("code-")
	s.codes[code] = authCode{challenge: q.Get("code_challenge"), redirect: redirect, scopes: strings.Fields(q.Get("scope"))}
	s.mu.Unlock()
	v := url.Values{"code": {code}, "state": {q.Get("state")}, "scope": {q.Get("scope")}}
	http.Redirect(w, r, redirect+"?"+v.Encode(), http.StatusFound)
}

func tokenError(w http.ResponseWriter, code int, kind, desc string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]string{"error": kind, "error_description": desc})
}

func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		tokenError(w, 400, "invalid_request", err.Error())
		return
	}
	f := r.PostForm
	if f.Get("client_id") != s.opts.ClientID || f.Get("client_secret") != s.opts.ClientSecret {
		tokenError(w, 401, "invalid_client", "The OAuth client was not found.")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var scopes []string
	switch f.Get("grant_type") {
	case "authorization_code":
		c, ok := s.codes[f.Get("code")]
		delete(s.codes, f.Get("code"))
		sum := sha256.Sum256([]byte(f.Get("code_verifier")))
		switch {
		case !ok:
			tokenError(w, 400, "invalid_grant", "Malformed auth code.")
			return
		case base64.RawURLEncoding.EncodeToString(sum[:]) != c.challenge:
			tokenError(w, 400, "invalid_grant", "Invalid code verifier.")
			return
		case f.Get("redirect_uri") != c.redirect:
			tokenError(w, 400, "redirect_uri_mismatch", "Bad Request")
			return
		}
		scopes = c.scopes
	case "refresh_token":
		sc, ok := s.refresh[f.Get("refresh_token")]
		if !ok {
			tokenError(w, 400, "invalid_grant", "Token has been expired or revoked.")
			return
		}
		scopes = sc
		s.Refreshes++
	default:
		tokenError(w, 400, "unsupported_grant_type", "Invalid grant_type")
		return
	}
	access := s.next("ya29.fake-")
	s.access[access] = tokenInfo{scopes: scopes, expires: s.opts.Now().Add(s.opts.TokenTTL)}
	out := map[string]any{"access_token": access, "expires_in": int(s.opts.TokenTTL.Seconds()),
		"token_type": "Bearer", "scope": strings.Join(scopes, " ")}
	if f.Get("grant_type") == "authorization_code" {
		rt := s.next("1//fake-refresh-")
		s.refresh[rt] = scopes
		out["refresh_token"] = rt
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(out)
}

// --- API plumbing ---

// Status writes a google.rpc.Status error.
func Status(w http.ResponseWriter, code int, status, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": code, "message": msg, "status": status}})
}

// api checks the bearer token and the throttle before a handler.
func (s *Server) api(h func(w http.ResponseWriter, r *http.Request, scopes []string)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.apiCalls++
		if s.opts.DailyAPICalls > 0 && s.apiCalls > s.opts.DailyAPICalls {
			s.Throttled++
			s.mu.Unlock()
			Status(w, 429, "RESOURCE_EXHAUSTED", "Quota exceeded for quota metric 'All requests' and limit 'All requests per day' of service 'photoslibrary.googleapis.com' for consumer 'project_number:0'.")
			return
		}
		if s.throttle > 0 {
			s.throttle--
			s.Throttled++
			s.mu.Unlock()
			Status(w, 429, "RESOURCE_EXHAUSTED", "Quota exceeded for quota metric 'All requests' and limit 'All requests per day' of service 'photoslibrary.googleapis.com' for consumer 'project_number:0'.")
			return
		}
		scopes, ok := s.bearer(r)
		s.mu.Unlock()
		if !ok {
			Status(w, 401, "UNAUTHENTICATED", "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.")
			return
		}
		h(w, r, scopes)
	}
}

// bearer returns the scopes of a live access token. Callers hold mu.
func (s *Server) bearer(r *http.Request) ([]string, bool) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	t, known := s.access[tok]
	if !ok || !known {
		return nil, false
	}
	if !s.opts.Now().Before(t.expires) {
		s.Expired401++
		return nil, false
	}
	return t.scopes, true
}

func needScope(w http.ResponseWriter, scopes []string, want string) bool {
	if slices.Contains(scopes, want) {
		return true
	}
	Status(w, 403, "PERMISSION_DENIED", "Request had insufficient authentication scopes.")
	return false
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	json.NewEncoder(w).Encode(v)
}

// baseURL issues a fresh base URL for an item. Callers hold mu.
func (s *Server) baseURL(id string, picker bool) string {
	key := s.next("u")
	s.urls[key] = urlInfo{item: id, issued: s.opts.Now(), picker: picker}
	return s.URL + "/lh3/" + key
}

func (s *Server) item(id string) (Item, bool) {
	for _, it := range s.items {
		if it.ID == id {
			return it, true
		}
	}
	return Item{}, false
}

// page cuts ids into a page: size ≤ the server's page size (a short one
// when asked), an opaque token, and the boundary item repeated if asked.
func (s *Server) page(ids []string, size int, token string) ([]string, string) {
	start := 0
	if token != "" {
		b, err := hex.DecodeString(token)
		if err == nil {
			start, _ = strconv.Atoi(string(b))
		}
	}
	size = min(size, s.opts.PageSize)
	if s.opts.ShortPages && size > 1 {
		size--
	}
	from := start
	if s.opts.RepeatBoundary && start > 0 {
		from = start - 1
	}
	end := min(start+size, len(ids))
	next := ""
	if end < len(ids) {
		next = hex.EncodeToString([]byte(strconv.Itoa(end)))
	}
	return ids[min(from, len(ids)):end], next
}

// --- Picker API ---

func (s *Server) createSession(w http.ResponseWriter, r *http.Request, scopes []string) {
	if !needScope(w, scopes, ScopePicker) {
		return
	}
	s.mu.Lock()
	id := s.next("session-")
	ps := &pickSession{id: id, expires: s.opts.Now().Add(time.Hour)}
	s.sessions[id] = ps
	out := s.sessionJSON(ps)
	s.mu.Unlock()
	writeJSON(w, out)
}

// sessionJSON renders a PickingSession. Callers hold mu.
func (s *Server) sessionJSON(ps *pickSession) map[string]any {
	out := map[string]any{"id": ps.id, "pickerUri": s.URL + "/pick/" + ps.id,
		"expireTime": ps.expires.UTC().Format(time.RFC3339), "pickingConfig": map[string]any{"maxItemCount": "2000"},
		"mediaItemsSet": ps.set}
	if !ps.set {
		out["pollingConfig"] = map[string]any{"pollInterval": s.opts.PollInterval, "timeoutIn": "1800s"}
	}
	return out
}

// session finds a live session or writes the error. Callers hold mu.
func (s *Server) session(w http.ResponseWriter, id string) *pickSession {
	ps := s.sessions[id]
	switch {
	case ps == nil || ps.deleted:
		Status(w, 404, "NOT_FOUND", "Requested entity was not found.")
		return nil
	case !s.opts.Now().Before(ps.expires):
		Status(w, 403, "PERMISSION_DENIED", "The caller does not have permission")
		return nil
	}
	return ps
}

func (s *Server) getSession(w http.ResponseWriter, r *http.Request, scopes []string) {
	if !needScope(w, scopes, ScopePicker) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ps := s.session(w, r.PathValue("id"))
	if ps == nil {
		return
	}
	ps.polls++
	if !ps.set && s.opts.PickAfterPolls > 0 && ps.polls >= s.opts.PickAfterPolls {
		s.pickAll(ps)
	}
	writeJSON(w, s.sessionJSON(ps))
}

// pickAll plays the human: everything is picked and Done tapped.
func (s *Server) pickAll(ps *pickSession) {
	ps.set = true
	ps.picked = nil
	for _, it := range s.items {
		ps.picked = append(ps.picked, it.ID)
	}
}

// pick is the pickerUri: opening it (a test's "browser") picks everything.
func (s *Server) pick(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ps := s.session(w, r.PathValue("id"))
	if ps == nil {
		return
	}
	s.pickAll(ps)
	fmt.Fprintf(w, "picked %d items\n", len(ps.picked))
}

func (s *Server) deleteSession(w http.ResponseWriter, r *http.Request, scopes []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ps := s.session(w, r.PathValue("id")); ps != nil {
		ps.deleted = true
		writeJSON(w, map[string]any{})
	}
}

func pageSize(w http.ResponseWriter, v string, def int) (int, bool) {
	if v == "" {
		return def, true
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		Status(w, 400, "INVALID_ARGUMENT", "Invalid page size.")
		return 0, false
	}
	if n == 0 {
		return def, true
	}
	return min(n, 100), true
}

// listItems is both the picker's mediaItems.list (with sessionId) and
// the Library API's mediaItems.list (without).
func (s *Server) listItems(w http.ResponseWriter, r *http.Request, scopes []string) {
	q := r.URL.Query()
	if q.Get("sessionId") == "" {
		s.libraryList(w, r, scopes)
		return
	}
	if !needScope(w, scopes, ScopePicker) {
		return
	}
	size, ok := pageSize(w, q.Get("pageSize"), 50)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ps := s.session(w, q.Get("sessionId"))
	if ps == nil {
		return
	}
	if !ps.set {
		Status(w, 400, "FAILED_PRECONDITION", "The user has not finished picking media items.")
		return
	}
	ids, next := s.page(ps.picked, size, q.Get("pageToken"))
	var out []map[string]any
	for _, id := range ids {
		it, _ := s.item(id)
		typ := "PHOTO"
		if it.Video {
			typ = "VIDEO"
		}
		md := map[string]any{"width": it.Width, "height": it.Height, "cameraMake": "FakeCam", "cameraModel": "F1"}
		if it.Video {
			md["videoMetadata"] = map[string]any{"fps": 30, "processingStatus": "READY"}
		} else {
			md["photoMetadata"] = map[string]any{"focalLength": 4.2, "apertureFNumber": 1.8, "isoEquivalent": 100, "exposureTime": "0.008s"}
		}
		m := map[string]any{"id": id, "type": typ, "mediaFile": map[string]any{
			"baseUrl": s.baseURL(id, true), "mimeType": it.MimeType, "filename": it.Filename, "mediaFileMetadata": md}}
		if !it.Created.IsZero() {
			m["createTime"] = it.Created.UTC().Format(time.RFC3339)
		}
		out = append(out, m)
	}
	resp := map[string]any{"mediaItems": out}
	if next != "" {
		resp["nextPageToken"] = next
	}
	writeJSON(w, resp)
}

// --- Library API ---

// libraryItem renders a Library API MediaItem. Callers hold mu.
func (s *Server) libraryItem(it Item) map[string]any {
	md := map[string]any{"width": strconv.Itoa(it.Width), "height": strconv.Itoa(it.Height)}
	if !it.Created.IsZero() {
		md["creationTime"] = it.Created.UTC().Format(time.RFC3339)
	}
	if it.Video {
		md["video"] = map[string]any{"cameraMake": "FakeCam", "fps": 29.97, "status": "READY"}
	} else {
		md["photo"] = map[string]any{"cameraMake": "FakeCam", "cameraModel": "F1", "focalLength": 4.25, "apertureFNumber": 1.8, "isoEquivalent": 100, "exposureTime": "0.008s"}
	}
	return map[string]any{"id": it.ID, "productUrl": "https://photos.google.com/lr/photo/" + it.ID,
		"baseUrl": s.baseURL(it.ID, false), "mimeType": it.MimeType, "filename": it.Filename, "mediaMetadata": md}
}

func (s *Server) libraryPage(w http.ResponseWriter, keep func(Item) bool, size int, token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []string
	// Newest first, as the API lists.
	sorted := slices.Clone(s.items)
	slices.SortStableFunc(sorted, func(a, b Item) int { return b.Created.Compare(a.Created) })
	for _, it := range sorted {
		if keep(it) {
			ids = append(ids, it.ID)
		}
	}
	page, next := s.page(ids, size, token)
	out := []map[string]any{}
	for _, id := range page {
		it, _ := s.item(id)
		out = append(out, s.libraryItem(it))
	}
	resp := map[string]any{}
	if len(out) > 0 {
		resp["mediaItems"] = out
	}
	if next != "" {
		resp["nextPageToken"] = next
	}
	writeJSON(w, resp)
}

func (s *Server) libraryList(w http.ResponseWriter, r *http.Request, scopes []string) {
	if !needScope(w, scopes, ScopeLibrary) {
		return
	}
	size, ok := pageSize(w, r.URL.Query().Get("pageSize"), 25)
	if !ok {
		return
	}
	s.libraryPage(w, func(it Item) bool { return !it.Archived }, size, r.URL.Query().Get("pageToken"))
}

type date struct{ Year, Month, Day int }

func (d date) time(end bool) time.Time {
	t := time.Date(d.Year, time.Month(max(d.Month, 1)), max(d.Day, 1), 0, 0, 0, 0, time.UTC)
	if end {
		t = t.AddDate(0, 0, 1)
	}
	return t
}

type dateRange struct {
	StartDate date `json:"startDate"`
	EndDate   date `json:"endDate"`
}

// ranges accepts a list of ranges or, as photosync sends it, one object.
type ranges []dateRange

func (r *ranges) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '{' {
		var one dateRange
		if err := json.Unmarshal(b, &one); err != nil {
			return err
		}
		*r = ranges{one}
		return nil
	}
	return json.Unmarshal(b, (*[]dateRange)(r))
}

type searchBody struct {
	AlbumID   string `json:"albumId"`
	PageSize  int    `json:"pageSize"`
	PageToken string `json:"pageToken"`
	Filters   *struct {
		DateFilter *struct {
			Ranges ranges `json:"ranges"`
		} `json:"dateFilter"`
		IncludeArchivedMedia bool `json:"includeArchivedMedia"`
	} `json:"filters"`
}

func (s *Server) search(w http.ResponseWriter, r *http.Request, scopes []string) {
	if !needScope(w, scopes, ScopeLibrary) {
		return
	}
	var b searchBody
	if err := json.NewDecoder(r.Body).Decode(&b); err != nil {
		Status(w, 400, "INVALID_ARGUMENT", "Invalid JSON payload received. "+err.Error())
		return
	}
	if b.AlbumID != "" && b.Filters != nil {
		Status(w, 400, "INVALID_ARGUMENT", "Album ID and filters cannot both be set.")
		return
	}
	size, ok := pageSize(w, strconv.Itoa(b.PageSize), 25)
	if !ok {
		return
	}
	now := s.opts.Now()
	keep := func(it Item) bool {
		if it.Archived && (b.Filters == nil || !b.Filters.IncludeArchivedMedia) {
			return false
		}
		if b.Filters == nil || b.Filters.DateFilter == nil {
			return true
		}
		// Date filters leave out undated and future-dated items.
		if it.Created.IsZero() || it.Created.After(now) {
			return false
		}
		for _, rg := range b.Filters.DateFilter.Ranges {
			if !it.Created.Before(rg.StartDate.time(false)) && it.Created.Before(rg.EndDate.time(true)) {
				return true
			}
		}
		return false
	}
	s.libraryPage(w, keep, size, b.PageToken)
}

func (s *Server) batchGet(w http.ResponseWriter, r *http.Request, scopes []string) {
	if !needScope(w, scopes, ScopeLibrary) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var results []map[string]any
	for _, id := range r.URL.Query()["mediaItemIds"] {
		if it, ok := s.item(id); ok {
			results = append(results, map[string]any{"mediaItem": s.libraryItem(it)})
		} else {
			results = append(results, map[string]any{"status": map[string]any{"code": 5, "message": "Invalid media item ID."}})
		}
	}
	writeJSON(w, map[string]any{"mediaItemResults": results})
}

// --- bytes ---

// bytes serves "<baseUrl>=d" and "=dv". Picker URLs need the Bearer
// token; expired URLs answer 403 with an image content type, as Google's
// do.
func (s *Server) bytes(w http.ResponseWriter, r *http.Request) {
	key, param, _ := strings.Cut(r.PathValue("key"), "=")
	s.mu.Lock()
	s.byteCalls++
	if s.opts.DailyByteCalls > 0 && s.byteCalls > s.opts.DailyByteCalls {
		s.Throttled++
		s.mu.Unlock()
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(429) // lh3 answers quota errors as plain HTTP 429
		return
	}
	u, ok := s.urls[key]
	it, _ := s.item(u.item)
	expired := ok && !s.opts.Now().Before(u.issued.Add(s.opts.BaseURLTTL))
	if expired {
		s.ExpiredURLs++
	}
	_, authed := s.bearer(r)
	s.mu.Unlock()
	switch {
	case !ok:
		w.Header().Set("Content-Type", "image/png")
		w.WriteHeader(404)
		return
	case u.picker && !authed:
		Status(w, 401, "UNAUTHENTICATED", "Request is missing required authentication credential.")
		return
	case expired:
		w.Header().Set("Content-Type", "image/png")
		w.WriteHeader(403)
		return
	case param != "d" && param != "dv", it.Video != (param == "dv"):
		w.Header().Set("Content-Type", "image/png")
		w.WriteHeader(400)
		return
	}
	w.Header().Set("Content-Type", it.MimeType)
	http.ServeContent(w, r, it.Filename, it.Created, strings.NewReader(string(it.Data)))
}

// Counters returns Refreshes, Throttled, Expired401 and ExpiredURLs.
func (s *Server) Counters() (refreshes, throttled, unauthorized, expiredURLs int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.Refreshes, s.Throttled, s.Expired401, s.ExpiredURLs
}
