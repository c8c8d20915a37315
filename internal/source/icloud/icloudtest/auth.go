package icloudtest

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/ps-photos/ps/internal/source/icloud"
)

type challenge struct {
	account *Account
	A, b, B *big.Int
	bSent   []byte
	session string
}

// authSession is one sign-in, from signin/init to accountLogin.
type authSession struct {
	id       string
	account  *Account
	token    string // X-Apple-Session-Token
	verified bool   // password proven
	twoFA    bool   // code checked (or a trust token was valid)
	pushed   bool
	sms      bool
}

type trustToken struct {
	account *Account
	expires time.Time
}

type webSession struct {
	account *Account
	expires time.Time
}

// AddAccount creates an Apple ID with two-factor authentication on; code
// is the six-digit code its devices show ("012345" if empty).
func (s *Server) AddAccount(name, password, code string) *Account {
	if code == "" {
		code = "012345"
	}
	a := &Account{Name: strings.ToLower(name), Password: password, TwoFA: true, Code: code, DSID: fmt.Sprintf("%d", 10000000000+len(s.accounts))}
	a.salt = make([]byte, 16)
	rand.Read(a.salt)
	a.salt[0] = 0 // a leading zero byte, which broke clients that treat the salt as a number
	key, err := icloud.DeriveKey(s.opts.Protocol, password, a.salt, s.opts.Iterations)
	if err != nil {
		panic(err)
	}
	g := icloud.RFC5054Group2048
	a.verifier = g.Verifier(g.X(a.salt, nil, key)).Bytes()
	s.mu.Lock()
	s.accounts[a.Name] = a
	s.mu.Unlock()
	return a
}

func (s *Server) handleAuth(w http.ResponseWriter, r *http.Request) {
	op := strings.TrimPrefix(r.URL.Path, "/appleauth/auth/")
	switch {
	case op == "signin/init" && r.Method == http.MethodPost:
		s.signinInit(w, r)
	case op == "signin/complete" && r.Method == http.MethodPost:
		s.signinComplete(w, r)
	case op == "repair/complete":
		w.WriteHeader(http.StatusNoContent)
	case op == "verify/trusteddevice/securitycode" && r.Method == http.MethodPut:
		s.pushCode(w, r)
	case op == "verify/trusteddevice/securitycode" && r.Method == http.MethodPost:
		s.checkCode(w, r)
	case op == "verify/phone" && r.Method == http.MethodPut:
		s.pushSMS(w, r)
	case op == "verify/phone/securitycode" && r.Method == http.MethodPost:
		s.checkCode(w, r)
	case op == "2sv/trust":
		s.trustSession(w, r)
	case op == "signin":
		// The old plain-password sign-in: Apple refuses it nowadays.
		http.Error(w, "Service Temporary Unavailable", http.StatusServiceUnavailable)
	default:
		http.NotFound(w, r)
	}
}

func (s *Server) signinInit(w http.ResponseWriter, r *http.Request) {
	var req struct {
		A           string   `json:"a"`
		AccountName string   `json:"accountName"`
		Protocols   []string `json:"protocols"`
	}
	if json.NewDecoder(r.Body).Decode(&req) != nil || req.A == "" || r.Header.Get("X-Apple-Widget-Key") == "" {
		writeJSON(w, http.StatusBadRequest, map[string]any{"hasError": true})
		return
	}
	if !slices.Contains(req.Protocols, s.opts.Protocol) {
		writeJSON(w, http.StatusBadRequest, map[string]any{"hasError": true, "reason": "protocol"})
		return
	}
	g := icloud.RFC5054Group2048
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.SignIns++
	acct := s.accounts[strings.ToLower(req.AccountName)]
	salt, verifier := make([]byte, 16), make([]byte, 256)
	rand.Read(salt)
	rand.Read(verifier) // unknown accounts get a random verifier: no proof will match
	if acct != nil {
		salt, verifier = acct.salt, acct.verifier
	}
	bsecret := make([]byte, 32)
	rand.Read(bsecret)
	ch := &challenge{account: acct, b: new(big.Int).SetBytes(bsecret), A: new(big.Int).SetBytes(decodeB64(req.A))}
	if new(big.Int).Mod(ch.A, g.N).Sign() == 0 {
		writeJSON(w, http.StatusBadRequest, map[string]any{"hasError": true})
		return
	}
	ch.B = g.ServerPublic(new(big.Int).SetBytes(verifier), ch.b)
	ch.bSent = s.srpBytes(ch.B)
	sess := &authSession{id: "sid-" + randHex(12), account: acct}
	ch.session = sess.id
	c := fmt.Sprintf("d-%s:MSA", randHex(10))
	s.challenges[c] = ch
	s.sessions[sess.id] = sess
	// Keep the verifier of unknown accounts with the challenge.
	if acct == nil {
		ch.account = &Account{Name: strings.ToLower(req.AccountName), salt: salt, verifier: verifier}
	}
	w.Header().Set("scnt", "scnt-"+randHex(8))
	w.Header().Set("X-Apple-ID-Session-Id", sess.id)
	w.Header().Set("Content-Type", "text/html;charset=UTF-8") // sic: JSON labelled HTML
	json.NewEncoder(w).Encode(map[string]any{
		"iteration": s.opts.Iterations, "salt": base64.StdEncoding.EncodeToString(salt),
		"protocol": s.opts.Protocol, "b": base64.StdEncoding.EncodeToString(ch.bSent), "c": c, "version": 1,
	})
}

// srpBytes encodes a value as this server's padding rule says.
func (s *Server) srpBytes(x *big.Int) []byte {
	if s.opts.UnpaddedSRP {
		return x.Bytes()
	}
	return icloud.RFC5054Group2048.Pad(x)
}

func (s *Server) signinComplete(w http.ResponseWriter, r *http.Request) {
	var req struct {
		AccountName string   `json:"accountName"`
		C           string   `json:"c"`
		M1          string   `json:"m1"`
		M2          string   `json:"m2"`
		TrustTokens []string `json:"trustTokens"`
	}
	json.NewDecoder(r.Body).Decode(&req)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.Completes++
	ch := s.challenges[req.C]
	delete(s.challenges, req.C)
	if ch == nil || !s.proofOK(ch, req.AccountName, req.M1, req.M2) || s.accounts[ch.account.Name] == nil {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"serviceErrors": []map[string]any{{
			"code": "-20101", "message": "Enter the email or phone number and password for your Apple Account.", "suppressDismissal": false}}})
		return
	}
	sess := s.sessions[ch.session]
	sess.verified = true
	sess.token = "tok-" + randHex(16)
	s.tokens[sess.token] = sess
	for _, t := range req.TrustTokens {
		if tt, ok := s.trust[t]; ok && tt.account == sess.account && time.Now().Before(tt.expires) {
			sess.twoFA = true
		}
	}
	s.sessionHeaders(w, sess)
	switch {
	case !sess.account.TwoFA:
		writeJSON(w, http.StatusPreconditionFailed, map[string]any{"auth_type": "sa"})
	case sess.twoFA:
		writeJSON(w, http.StatusOK, map[string]any{"authType": "hsa2"})
	case s.opts.Complete200:
		writeJSON(w, http.StatusOK, map[string]any{"auth_type": "hsa2"})
	default:
		writeJSON(w, http.StatusConflict, map[string]any{
			"authType":       "hsa2",
			"trustedDevices": []any{},
			"trustedPhoneNumbers": []map[string]any{{"id": 1, "numberWithDialCode": "+1 •••-•••-••03",
				"obfuscatedNumber": "(•••) •••-••03", "lastTwoDigits": "03", "pushMode": "sms"}},
			"securityCode": map[string]any{"length": 6, "tooManyCodesSent": false, "tooManyCodesValidated": false,
				"securityCodeLocked": false, "securityCodeCooldown": false},
		})
	}
}

// proofOK recomputes the client's proofs from A and the verifier. The
// server learns A from signin/init; it is kept on the challenge.
func (s *Server) proofOK(ch *challenge, accountName, m1b64, m2b64 string) bool {
	if ch.A == nil {
		return false
	}
	g := icloud.RFC5054Group2048
	u := g.U(ch.A, ch.B)
	S := g.ServerS(ch.A, new(big.Int).SetBytes(ch.account.verifier), u, ch.b)
	k := g.H(s.srpBytes(S))
	aBytes := s.srpBytes(ch.A)
	m1 := g.M1([]byte(strings.ToLower(accountName)), ch.account.salt, aBytes, ch.bSent, k)
	m2 := g.M2(aBytes, m1, k)
	return bytes.Equal(m1, decodeB64(m1b64)) && bytes.Equal(m2, decodeB64(m2b64))
}

func decodeB64(s string) []byte {
	b, _ := base64.StdEncoding.DecodeString(s)
	return b
}

func (s *Server) sessionHeaders(w http.ResponseWriter, sess *authSession) {
	h := w.Header()
	h.Set("X-Apple-Session-Token", sess.token)
	h.Set("X-Apple-ID-Session-Id", sess.id)
	h.Set("X-Apple-ID-Account-Country", "USA")
	h.Set("X-Apple-TwoSV-Trust-Eligible", "true")
	h.Set("scnt", "scnt-"+randHex(8))
}

// session finds the sign-in a request belongs to (by its session id).
func (s *Server) session(r *http.Request) *authSession {
	sess := s.sessions[r.Header.Get("X-Apple-ID-Session-Id")]
	if sess == nil || !sess.verified || r.Header.Get("scnt") == "" {
		return nil
	}
	return sess
}

func (s *Server) pushCode(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.CodePushes++
	sess := s.session(r)
	if sess == nil {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	sess.pushed = true
	w.Header().Set("scnt", "scnt-"+randHex(8))
	w.WriteHeader(http.StatusAccepted)
}

// pushSMS sends the code to a trusted phone number.
func (s *Server) pushSMS(w http.ResponseWriter, r *http.Request) {
	var req struct {
		PhoneNumber struct {
			ID int `json:"id"`
		} `json:"phoneNumber"`
		Mode string `json:"mode"`
	}
	json.NewDecoder(r.Body).Decode(&req)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.CodePushes++
	sess := s.session(r)
	if sess == nil || req.PhoneNumber.ID != 1 || req.Mode != "sms" {
		writeJSON(w, http.StatusBadRequest, map[string]any{"hasError": true})
		return
	}
	sess.pushed, sess.sms = true, true
	writeJSON(w, http.StatusOK, map[string]any{"trustedPhoneNumber": map[string]any{"id": 1}})
}

func (s *Server) checkCode(w http.ResponseWriter, r *http.Request) {
	var req struct {
		SecurityCode struct {
			Code string `json:"code"`
		} `json:"securityCode"`
	}
	json.NewDecoder(r.Body).Decode(&req)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.CodeChecks++
	sess := s.session(r)
	if sess == nil {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	// A device code needs a device; an SMS code needs the SMS step first.
	smsCheck := strings.HasSuffix(r.URL.Path, "/verify/phone/securitycode")
	delivered := (sess.pushed || !s.opts.RequirePush) && !(sess.account.NoDevice && !smsCheck) && (!smsCheck || sess.sms)
	if !delivered || req.SecurityCode.Code != sess.account.Code {
		writeJSON(w, http.StatusBadRequest, map[string]any{"service_errors": []map[string]any{{
			"code": "-21669", "title": "Incorrect Verification Code", "message": "Incorrect verification code.", "suppressDismissal": false}},
			"hasError": true})
		return
	}
	sess.twoFA = true
	delete(s.tokens, sess.token)
	sess.token = "tok-" + randHex(16)
	s.tokens[sess.token] = sess
	s.sessionHeaders(w, sess)
	w.Header().Set("X-Apple-OAuth-Grant-Code", "grant-"+randHex(8))
	if s.opts.CodeAnswer409 {
		writeJSON(w, http.StatusConflict, map[string]any{"securityCode": map[string]any{"code": req.SecurityCode.Code, "valid": true}})
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) trustSession(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.Trusts++
	sess := s.session(r)
	if sess == nil || !sess.twoFA {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	tok := "HSARMTKNSRVXWFla" + randHex(24)
	s.trust[tok] = trustToken{account: sess.account, expires: time.Now().Add(s.opts.TrustTTL)}
	delete(s.tokens, sess.token)
	sess.token = "tok-" + randHex(16)
	s.tokens[sess.token] = sess
	s.sessionHeaders(w, sess)
	w.Header().Set("X-Apple-TwoSV-Trust-Token", tok)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleSetup(w http.ResponseWriter, r *http.Request) {
	switch strings.TrimPrefix(r.URL.Path, "/setup/ws/1/") {
	case "accountLogin":
		s.accountLogin(w, r)
	case "validate":
		s.validate(w, r)
	default:
		http.NotFound(w, r)
	}
}

func (s *Server) accountLogin(w http.ResponseWriter, r *http.Request) {
	var req struct {
		AccountCountryCode string `json:"accountCountryCode"`
		DSWebAuthToken     string `json:"dsWebAuthToken"`
		ExtendedLogin      bool   `json:"extended_login"`
		TrustToken         string `json:"trustToken"`
	}
	json.NewDecoder(r.Body).Decode(&req)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.AccountLogins++
	sess := s.tokens[req.DSWebAuthToken]
	if sess == nil {
		writeJSON(w, 421, map[string]any{"success": false, "error": "Invalid global session"})
		return
	}
	if s.opts.DomainToUse != "" {
		writeJSON(w, http.StatusOK, map[string]any{"domainToUse": s.opts.DomainToUse})
		return
	}
	trusted := sess.twoFA
	if tt, ok := s.trust[req.TrustToken]; ok && tt.account == sess.account && time.Now().Before(tt.expires) {
		trusted = true
	}
	challenge := sess.account.TwoFA && !trusted
	if !challenge {
		tok := "webauth-" + randHex(16)
		s.web[tok] = webSession{account: sess.account, expires: time.Now().Add(s.opts.WebTTL)}
		for _, c := range []string{"X-APPLE-WEBAUTH-TOKEN", "X-APPLE-WEBAUTH-USER", "X-APPLE-DS-WEB-SESSION-TOKEN"} {
			v := tok
			if c != "X-APPLE-WEBAUTH-TOKEN" {
				v = randHex(8)
			}
			http.SetCookie(w, &http.Cookie{Name: c, Value: v, Path: "/", HttpOnly: true, Expires: time.Now().Add(s.opts.WebTTL)})
		}
	}
	writeJSON(w, http.StatusOK, s.accountBody(sess.account, challenge, trusted))
}

func (s *Server) accountBody(a *Account, challenge, trusted bool) map[string]any {
	return map[string]any{
		"dsInfo": map[string]any{"dsid": a.DSID, "appleId": a.Name, "hsaVersion": 2, "hasICloudQualifyingDevice": !a.NoDevice,
			"isWebAccessAllowed": !s.opts.NoWebAccess, "iCDPEnabled": s.opts.ADP},
		"webservices":          map[string]any{"ckdatabasews": map[string]any{"url": s.URL, "pcsRequired": true, "status": "active"}},
		"hsaChallengeRequired": challenge, "hsaTrustedBrowser": trusted, "isExtendedLogin": true,
		"iCDPEnabled": s.opts.ADP, "pcsEnabled": true, "version": 2,
	}
}

func (s *Server) validate(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ws, ok := s.webSession(r)
	if !ok {
		writeJSON(w, 421, map[string]any{"success": false, "error": "Missing X-APPLE-WEBAUTH-TOKEN cookie"})
		return
	}
	writeJSON(w, http.StatusOK, s.accountBody(ws.account, false, true))
}

func (s *Server) webSession(r *http.Request) (webSession, bool) {
	c, err := r.Cookie("X-APPLE-WEBAUTH-TOKEN")
	if err != nil {
		return webSession{}, false
	}
	ws, ok := s.web[c.Value]
	return ws, ok && time.Now().Before(ws.expires)
}
