// Package icloudtest is a fake iCloud for tests: Apple's sign-in (SRP with
// a real verifier, two-factor codes, trust tokens), the setup service
// (accountLogin, validate) and the Photos CloudKit service (indexing
// state, zones, counts, paged record queries, albums, expiring download
// URLs), speaking the wire format of docs/protocols/icloud.md.
//
// The points docs/protocols/icloud.md marks as guesses are options, so tests can
// pin the client's tolerance: SRP padding, 200 vs 409 for "needs 2FA",
// 409 on a valid code, the iOS 26.4 push trigger, URL lifetime, page cap.
// Faults (throttling, session expiry, Advanced Data Protection) are
// injected per path.
package icloudtest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/ps-photos/ps/internal/testenv"
)

// Options are the fake's behaviours where Apple's is uncertain or where a
// test wants a fault.
type Options struct {
	// UnpaddedSRP makes the server hash A, B and S unpadded, as pysrp does;
	// the default pads them, as rclone and icloud-photos-sync do.
	UnpaddedSRP bool
	Protocol    string // s2k (default) or s2k_fo
	Iterations  int    // PBKDF2 rounds (default 1000; Apple uses ~20000)
	// Complete200 answers a sign-in that needs 2FA with 200 and
	// {"auth_type":"hsa2"} (2023 fixtures) instead of 409.
	Complete200 bool
	// CodeAnswer409 answers a valid code with 409 and securityCode.valid
	// (seen after iOS 26.4) instead of 204.
	CodeAnswer409 bool
	// RequirePush: codes are only delivered after the client asked with
	// PUT …/verify/trusteddevice/securitycode (iOS 26.4 and later).
	RequirePush bool
	URLTTL      time.Duration // download URL lifetime (default 15 min)
	TrustTTL    time.Duration // trust token lifetime (default 30 days)
	WebTTL      time.Duration // web session cookie lifetime (default 34 days)
	Latency     time.Duration // added to every request
	PageCap     int           // most records per page (default 200)
	ADP         bool          // Advanced Data Protection on: CloudKit says ACCESS_DENIED
	NoWebAccess bool          // "Access iCloud Data on the Web" off
	DomainToUse string        // accountLogin asks for another domain
	// CountOffset is added to every count: a stale count, as when assets
	// were added or deleted since Apple last counted.
	CountOffset int
	// TokenErrorCode and TokenErrorStatus answer an expired or garbage
	// sync token (default BAD_REQUEST, 400: kei's observation; what an
	// expired one gets is not known).
	TokenErrorCode   string
	TokenErrorStatus int
	// NoQuerySyncToken leaves syncToken out of records/query answers, so
	// the client must get one from changes/database.
	NoQuerySyncToken bool
	// NoLookup refuses records/lookup (BAD_REQUEST), as if the Photos
	// container did not serve it.
	NoLookup bool
}

// Account is one Apple ID.
type Account struct {
	Name     string
	Password string
	TwoFA    bool   // HSA2 account (default in AddAccount)
	NoDevice bool   // no Apple device: codes go by SMS to the trusted number
	Code     string // the code the trusted devices show
	DSID     string
	salt     []byte
	verifier []byte
}

// Stats counts what clients did.
type Stats struct {
	SignIns       int // signin/init calls
	Completes     int // signin/complete calls
	CodePushes    int // PUT …/securitycode
	CodeChecks    int // POST …/securitycode
	Trusts        int
	AccountLogins int
	Queries       int // records/query (all kinds)
	PageQueries   int // records/query on list indexes
	Downloads     int // GET of a download URL (any status)
	Expired       int // downloads answered 410
	Throttled     int // injected faults answered
	Requests      int // every request, of any kind
	Changes       int // changes/zone calls
	Lookups       int // records/lookup calls
	TokensRefused int // changes/zone calls refused for their token
}

// Fault is an injected error answered instead of the real response.
type Fault struct {
	Path   string // substring of the request path ("records/query", "signin/init", "/B/")
	Status int
	// Code is a CloudKit serverErrorCode for a JSON body (THROTTLED,
	// ACCESS_DENIED, AUTHENTICATION_REQUIRED, …); empty sends Text.
	Code       string
	Text       string
	RetryAfter int // seconds, in the body (CloudKit) and the header
	Count      int // how many requests to answer so (0: one)

	ledger *testenv.Injected
}

// Server is a running fake.
type Server struct {
	URL  string
	srv  *httptest.Server
	opts Options

	mu         sync.Mutex
	accounts   map[string]*Account
	challenges map[string]*challenge   // by c
	sessions   map[string]*authSession // by session id (X-Apple-ID-Session-Id)
	tokens     map[string]*authSession // by session token
	trust      map[string]trustToken
	web        map[string]webSession // by X-APPLE-WEBAUTH-TOKEN
	zones      []*Zone
	urlSerial  int64
	minSerial  map[string]int64 // asset record → URLs issued before are expired
	expireNext map[string]bool  // asset record → the next download is 410
	emptyPages map[int]int      // startRank → how many more times to answer it empty
	faults     []*Fault
	ledger     testenv.Faults // every fault injected, with what fired
	// Caches that live as long as the library: each index's asset list
	// (key: zone, index, filter) and each resource's checksum.
	selections   sync.Map
	checksums    sync.Map
	stats        Stats
	indexingRun  int
	emptyChanges int // changes/zone pages still to answer empty
}

// New starts a fake with the given library zones (Generate or hand-made).
func New(opts Options, zones ...*Zone) *Server {
	if opts.Protocol == "" {
		opts.Protocol = "s2k"
	}
	if opts.Iterations == 0 {
		opts.Iterations = 1000
	}
	if opts.URLTTL == 0 {
		opts.URLTTL = 15 * time.Minute
	}
	if opts.TrustTTL == 0 {
		opts.TrustTTL = 30 * 24 * time.Hour
	}
	if opts.WebTTL == 0 {
		opts.WebTTL = 34 * 24 * time.Hour
	}
	if opts.PageCap == 0 {
		opts.PageCap = 200
	}
	if len(zones) == 0 {
		zones = []*Zone{{Name: "PrimarySync"}}
	}
	s := &Server{
		opts: opts, accounts: map[string]*Account{}, challenges: map[string]*challenge{},
		sessions: map[string]*authSession{}, tokens: map[string]*authSession{},
		trust: map[string]trustToken{}, web: map[string]webSession{}, zones: zones,
		minSerial: map[string]int64{}, expireNext: map[string]bool{}, emptyPages: map[int]int{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/appleauth/auth/", s.handleAuth)
	mux.HandleFunc("/setup/ws/1/", s.handleSetup)
	mux.HandleFunc("/database/1/com.apple.photos.cloud/production/", s.handleCloudKit)
	mux.HandleFunc("/B/", s.handleDownload)
	s.srv = httptest.NewServer(s.wrap(mux))
	s.URL = s.srv.URL
	return s
}

// Close stops the server.
func (s *Server) Close() { s.srv.CloseClientConnections(); s.srv.Close() }

// Env is the environment that points the client at this fake.
func (s *Server) Env() map[string]string {
	return map[string]string{
		"PS_ICLOUD_AUTH_URL":  s.URL + "/appleauth/auth",
		"PS_ICLOUD_SETUP_URL": s.URL + "/setup/ws/1",
	}
}

// SetOptions changes behaviour between steps of a test.
func (s *Server) SetOptions(f func(*Options)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(&s.opts)
}

// Inject queues a fault.
func (s *Server) Inject(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.Count == 0 {
		f.Count = 1
	}
	f.ledger = s.ledger.Add(fmt.Sprintf("%d %s on %q ×%d", f.Status, f.Code, f.Path, f.Count))
	s.faults = append(s.faults, &f)
}

// Faults is the ledger of injected faults: test helpers Check it at
// clean-up, so a fault that never fired fails the test.
func (s *Server) Faults() *testenv.Faults { return &s.ledger }

// Stats returns the counters so far.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// Zones returns the library (callers must not change it while clients run).
func (s *Server) Zones() []*Zone { return s.zones }

// ExpireWebSessions ends every web session, as Apple does after a while:
// CloudKit then answers 421 until the user signs in again.
func (s *Server) ExpireWebSessions() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.web = map[string]webSession{}
}

// ExpireTrust forgets every trust token: the next sign-in needs a code.
func (s *Server) ExpireTrust() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.trust = map[string]trustToken{}
}

// ExpireURLs makes the next download of the named asset (file name or
// record name) answer 410 Gone, and with it every URL issued for it so
// far: the client holds an expired URL and must query the asset again.
func (s *Server) ExpireURLs(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	found := false
	for _, z := range s.zones {
		for _, a := range z.Assets {
			if a.Name == name || a.Record == name {
				s.expireNext[a.Record] = true
				found = true
			}
		}
	}
	return found
}

// EmptyPageAt answers the next times queries at startRank with no records,
// the transient gaps kei reports.
func (s *Server) EmptyPageAt(rank, times int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.emptyPages[rank] = times
}

// IndexingRunning makes the next n CheckIndexingState queries say RUNNING.
func (s *Server) IndexingRunning(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.indexingRun = n
}

// wrap adds latency and injected faults.
func (s *Server) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		lat := s.opts.Latency
		s.stats.Requests++
		s.mu.Unlock()
		if lat > 0 {
			select {
			case <-time.After(lat):
			case <-r.Context().Done():
				return
			}
		}
		if f := s.takeFault(r.URL.Path); f != nil {
			writeFault(w, f)
			return
		}
		h.ServeHTTP(w, r)
	})
}

func (s *Server) takeFault(p string) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if strings.Contains(p, f.Path) {
			f.Count--
			if f.Count <= 0 {
				s.faults = append(s.faults[:i], s.faults[i+1:]...)
			}
			s.stats.Throttled++
			f.ledger.Fire()
			return f
		}
	}
	return nil
}

func writeFault(w http.ResponseWriter, f *Fault) {
	if f.RetryAfter > 0 {
		w.Header().Set("Retry-After", itoa(int64(f.RetryAfter)))
	}
	if f.Code == "" {
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(f.Status)
		text := f.Text
		if text == "" {
			text = http.StatusText(f.Status)
		}
		w.Write([]byte(text))
		return
	}
	body := map[string]any{"uuid": randHex(8), "serverErrorCode": f.Code, "reason": f.Text}
	if f.RetryAfter > 0 {
		body["retryAfter"] = f.RetryAfter
	}
	writeJSON(w, f.Status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func itoa(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// SetAccount changes an account (NoDevice, TwoFA, Code) between steps.
func (s *Server) SetAccount(name string, f func(*Account)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.accounts[strings.ToLower(name)]; a != nil {
		f(a)
	}
}
