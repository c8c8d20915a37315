package icloud

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/ps-photos/ps/internal/fault"
	"github.com/ps-photos/ps/internal/record"
	"github.com/ps-photos/ps/internal/source"
	"github.com/ps-photos/ps/internal/state"
)

// The web client's public OAuth client id (also its widget key).
const widgetKey = "d39ba9916b7251055b22c7f910e2ea796ee65e98b2ddecea8f5dde8d9d1a815d"

// TrustLifetime is how long we assume a trust token lasts. Sources say 30
// to 60 days; 30 is the safe guess (docs/protocols/icloud.md §1.8).
const TrustLifetime = 30 * 24 * time.Hour

// trustWarning is how long before expiry ps-list and ps-fetch start to warn.
const trustWarning = 7 * 24 * time.Hour

// endpoints are the hosts of one domain.
type endpoints struct {
	auth, setup, authOrigin, home string
}

// endpointsFor returns Apple's hosts for domain "com" or "cn", overridden by
// PS_ICLOUD_AUTH_URL and PS_ICLOUD_SETUP_URL (tests, proxies).
func endpointsFor(domain string) endpoints {
	e := endpoints{
		auth: "https://idmsa.apple.com/appleauth/auth", setup: "https://setup.icloud.com/setup/ws/1",
		authOrigin: "https://idmsa.apple.com", home: "https://www.icloud.com",
	}
	if domain == "cn" {
		e = endpoints{
			auth: "https://idmsa.apple.com.cn/appleauth/auth", setup: "https://setup.icloud.com.cn/setup/ws/1",
			authOrigin: "https://idmsa.apple.com.cn", home: "https://www.icloud.com.cn",
		}
	}
	if v := os.Getenv("PS_ICLOUD_AUTH_URL"); v != "" {
		e.auth = strings.TrimRight(v, "/")
	}
	if v := os.Getenv("PS_ICLOUD_SETUP_URL"); v != "" {
		e.setup = strings.TrimRight(v, "/")
	}
	return e
}

// savedAuth is what ps-auth keeps between runs (state secrets, 0600): the
// trust token that spares the user a code, and the sign-in's headers.
type savedAuth struct {
	ClientID       string            `json:"client_id"`
	TrustToken     string            `json:"trust_token,omitempty"`
	TrustCreated   time.Time         `json:"trust_created,omitzero"`
	SessionToken   string            `json:"session_token,omitempty"`
	SessionID      string            `json:"session_id,omitempty"`
	Scnt           string            `json:"scnt,omitempty"`
	AccountCountry string            `json:"account_country,omitempty"`
	Cookies        map[string]string `json:"cookies,omitempty"`
}

// Account is a signed-in account: what ps-list needs to reach the photos.
type Account struct {
	Username     string
	Domain       string
	DSID         string
	ClientID     string
	PhotosURL    string
	Cookies      map[string]string
	TrustExpires time.Time
}

// accountInfo is the part of accountLogin's and validate's answer we use.
type accountInfo struct {
	DomainToUse string `json:"domainToUse"`
	DSInfo      *struct {
		DSID                      string `json:"dsid"`
		HSAVersion                int    `json:"hsaVersion"`
		HasICloudQualifyingDevice bool   `json:"hasICloudQualifyingDevice"`
		IsWebAccessAllowed        *bool  `json:"isWebAccessAllowed"`
		ICDPEnabled               bool   `json:"iCDPEnabled"`
	} `json:"dsInfo"`
	Webservices map[string]struct {
		URL    string `json:"url"`
		Status string `json:"status"`
	} `json:"webservices"`
	HSAChallengeRequired bool `json:"hsaChallengeRequired"`
	HSATrustedBrowser    bool `json:"hsaTrustedBrowser"`
	ICDPEnabled          bool `json:"iCDPEnabled"`
}

func (a *accountInfo) needs2FA() bool {
	return a.DSInfo != nil && a.DSInfo.HSAVersion >= 2 && (a.HSAChallengeRequired || !a.HSATrustedBrowser)
}

// Login is one sign-in.
type Login struct {
	Username string
	Domain   string // "com" or "cn"
	// Password is asked only when the saved web session is gone.
	Password func() (string, error)
	// Code asks for the two-factor code; attempt counts from 1.
	Code func(ctx context.Context, attempt int) (string, error)
	Log  *slog.Logger

	ep    endpoints
	c     *client
	saved savedAuth
	// The first trusted phone number of the 2FA challenge, for accounts
	// without an Apple device to show the code.
	phoneID   int
	phoneName string
}

// Run signs in, reusing what saved holds, and returns the account and what
// to save for next time.
func (l *Login) Run(ctx context.Context, saved savedAuth) (*Account, savedAuth, error) {
	l.Username = strings.ToLower(strings.TrimSpace(l.Username))
	l.ep = endpointsFor(l.Domain)
	l.c = newClient(l.Log, authHint(l.Username, l.Domain))
	l.saved = saved
	if l.saved.ClientID == "" {
		l.saved.ClientID = "auth-" + newUUID()
	}
	if len(l.saved.Cookies) > 0 {
		if info, cookies, err := l.validate(ctx); err == nil {
			l.c.log.Info("icloud: the saved session is still valid")
			l.saved.Cookies = cookies
			acct, err := l.account(info, cookies)
			return acct, l.saved, err
		}
	}
	info, cookies, err := l.signIn(ctx)
	if err != nil {
		return nil, l.saved, err
	}
	acct, err := l.account(info, cookies)
	return acct, l.saved, err
}

func newUUID() string {
	b := make([]byte, 16)
	rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func (l *Login) account(info *accountInfo, cookies map[string]string) (*Account, error) {
	if info.DomainToUse != "" {
		return nil, fault.Errorf(fault.Permanent, "Apple wants this account signed in through %s: run ps-auth icloud again with --region %s",
			info.DomainToUse, map[bool]string{true: "cn", false: "com"}[strings.HasSuffix(strings.ToLower(info.DomainToUse), ".cn")])
	}
	if info.DSInfo == nil {
		return nil, fault.Errorf(fault.Transient, "accountLogin answered without account data")
	}
	if info.ICDPEnabled || info.DSInfo.ICDPEnabled {
		return nil, fault.Wrap(fault.Permanent, fmt.Errorf(adpMessage, "Advanced Data Protection is on"))
	}
	if w := info.DSInfo.IsWebAccessAllowed; w != nil && !*w {
		return nil, fault.Wrap(fault.Permanent, fmt.Errorf(adpMessage, "web access is off"))
	}
	ck, ok := info.Webservices["ckdatabasews"]
	if !ok || ck.URL == "" {
		return nil, fault.Errorf(fault.Permanent, "accountLogin gave no photos service (ckdatabasews) for this account")
	}
	trust := l.saved.TrustCreated
	if trust.IsZero() {
		trust = time.Now()
	}
	return &Account{
		Username: l.Username, Domain: l.Domain, DSID: info.DSInfo.DSID, ClientID: l.saved.ClientID,
		PhotosURL: strings.TrimRight(ck.URL, "/"), Cookies: cookies, TrustExpires: trust.Add(TrustLifetime).UTC(),
	}, nil
}

// authHeaders are the headers of every idmsa call; idmsa sign-in calls
// use idmsa's own Origin.
func (l *Login) authHeaders(signin bool) http.Header {
	origin := l.ep.home
	if signin {
		origin = l.ep.authOrigin
	}
	h := http.Header{}
	h.Set("Accept", "application/json, text/javascript")
	h.Set("Content-Type", "application/json")
	h.Set("Origin", origin)
	h.Set("Referer", origin+"/")
	h.Set("X-Apple-OAuth-Client-Id", widgetKey)
	h.Set("X-Apple-Widget-Key", widgetKey)
	h.Set("X-Apple-OAuth-Client-Type", "firstPartyAuth")
	h.Set("X-Apple-OAuth-Redirect-URI", l.ep.home)
	h.Set("X-Apple-OAuth-Require-Grant-Code", "true")
	h.Set("X-Apple-OAuth-Response-Mode", "web_message")
	h.Set("X-Apple-OAuth-Response-Type", "code")
	h.Set("X-Apple-OAuth-State", l.saved.ClientID)
	if l.saved.Scnt != "" {
		h.Set("scnt", l.saved.Scnt)
	}
	if l.saved.SessionID != "" {
		h.Set("X-Apple-ID-Session-Id", l.saved.SessionID)
	}
	return h
}

// capture keeps the session headers of every answer (docs/protocols/icloud.md §1.2).
func (l *Login) capture(r *response) {
	if r == nil {
		return
	}
	set := func(dst *string, name string) {
		if v := r.header.Get(name); v != "" {
			*dst = v
		}
	}
	set(&l.saved.Scnt, "scnt")
	set(&l.saved.SessionID, "X-Apple-ID-Session-Id")
	set(&l.saved.SessionToken, "X-Apple-Session-Token")
	set(&l.saved.AccountCountry, "X-Apple-ID-Account-Country")
	if v := r.header.Get("X-Apple-TwoSV-Trust-Token"); v != "" {
		l.saved.TrustToken = v
		l.saved.TrustCreated = time.Now().UTC()
	}
}

func (l *Login) call(ctx context.Context, r request) (*response, error) {
	resp, err := l.c.do(ctx, r)
	l.capture(resp)
	return resp, err
}

func (l *Login) homeHeaders() http.Header {
	h := http.Header{}
	h.Set("Origin", l.ep.home)
	h.Set("Referer", l.ep.home+"/")
	h.Set("Accept", "*/*")
	return h
}

// validate checks the saved web session.
func (l *Login) validate(ctx context.Context) (*accountInfo, map[string]string, error) {
	h := l.homeHeaders()
	h.Set("Cookie", cookieHeader(l.saved.Cookies))
	resp, err := l.c.once(ctx, request{where: "validate", method: http.MethodPost, url: l.ep.setup + "/validate", header: h, raw: []byte("null")})
	if err != nil {
		return nil, nil, err
	}
	var info accountInfo
	if err := json.Unmarshal(resp.body, &info); err != nil || info.DSInfo == nil || info.needs2FA() {
		return nil, nil, errors.New("validate: no usable session")
	}
	return &info, mergeCookies(l.saved.Cookies, resp.resp.Cookies()), nil
}

// signIn runs SRP, two-factor authentication if needed, and accountLogin.
func (l *Login) signIn(ctx context.Context) (*accountInfo, map[string]string, error) {
	password, err := l.Password()
	if err != nil {
		return nil, nil, fault.Wrap(fault.Auth, err)
	}
	l.saved.Cookies = nil
	var complete *response
	for attempt := 1; ; attempt++ {
		complete, err = l.srp(ctx, password)
		if errors.Is(err, errAmbiguousS) && attempt < 4 {
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		break
	}
	if complete.status == http.StatusPreconditionFailed {
		// An account without two-factor authentication: Apple wants a
		// "repair" step before the session works.
		if _, err := l.call(ctx, request{where: "repair/complete", method: http.MethodPost, url: l.ep.auth + "/repair/complete", header: l.authHeaders(false), raw: []byte("{}")}); err != nil {
			return nil, nil, err
		}
	}
	info, cookies, err := l.accountLogin(ctx)
	if err != nil {
		return nil, nil, err
	}
	if info.DSInfo != nil && info.DSInfo.HSAVersion == 1 && (info.HSAChallengeRequired || !info.HSATrustedBrowser) {
		return nil, nil, fault.Errorf(fault.Permanent, "this Apple ID uses the old two-step verification, which ps does not support: turn on two-factor authentication for it")
	}
	if !info.needs2FA() {
		return info, cookies, nil
	}
	sms := info.DSInfo != nil && !info.DSInfo.HasICloudQualifyingDevice && l.phoneID != 0
	if err := l.twoFactor(ctx, sms); err != nil {
		return nil, nil, err
	}
	return l.accountLogin(ctx)
}

// srp runs signin/init and signin/complete. The answer is 200 (no code
// needed), 409 (code needed) or 412 (no 2FA on the account).
func (l *Login) srp(ctx context.Context, password string) (*response, error) {
	cl, err := newRandomSRPClient()
	if err != nil {
		return nil, fault.Wrap(fault.Permanent, err)
	}
	init, err := l.call(ctx, request{
		where: "signin/init", method: http.MethodPost, url: l.ep.auth + "/signin/init", header: l.authHeaders(true),
		body: map[string]any{"a": base64.StdEncoding.EncodeToString(RFC5054Group2048.Pad(cl.A)), "accountName": l.Username, "protocols": []string{ProtocolS2K, ProtocolS2KFO}},
	})
	if err != nil {
		return nil, authFailure(err, l.c.hint)
	}
	var ch struct {
		Iteration int    `json:"iteration"`
		Salt      string `json:"salt"`
		Protocol  string `json:"protocol"`
		B         string `json:"b"`
		C         string `json:"c"`
	}
	if err := json.Unmarshal(init.body, &ch); err != nil {
		return nil, fault.Errorf(fault.Permanent, "signin/init: unreadable answer: %v", err)
	}
	salt, err1 := base64.StdEncoding.DecodeString(ch.Salt)
	bBytes, err2 := base64.StdEncoding.DecodeString(ch.B)
	if err := errors.Join(err1, err2); err != nil {
		return nil, fault.Errorf(fault.Permanent, "signin/init: bad salt or B: %v", err)
	}
	key, err := DeriveKey(ch.Protocol, password, salt, ch.Iteration)
	if err != nil {
		return nil, fault.Wrap(fault.Permanent, err)
	}
	m1, m2, err := cl.proofs(l.Username, salt, key, bBytes)
	if err != nil {
		if errors.Is(err, errAmbiguousS) {
			return nil, err
		}
		return nil, fault.Wrap(fault.Permanent, err)
	}
	trust := []string{}
	if l.saved.TrustToken != "" {
		trust = append(trust, l.saved.TrustToken)
	}
	resp, err := l.call(ctx, request{
		where: "signin/complete", method: http.MethodPost, url: l.ep.auth + "/signin/complete?isRememberMeEnabled=true",
		header: l.authHeaders(true), accept: []int{http.StatusConflict, http.StatusPreconditionFailed},
		body: map[string]any{"accountName": l.Username, "c": ch.C, "m1": base64.StdEncoding.EncodeToString(m1),
			"m2": base64.StdEncoding.EncodeToString(m2), "rememberMe": true, "trustTokens": trust},
	})
	if err != nil {
		if statusOf(err) == http.StatusUnauthorized {
			return nil, fault.WithHint(fault.Auth, errors.New("Apple rejected the Apple ID or password (check --username and the password file)"), l.c.hint)
		}
		return nil, authFailure(err, l.c.hint)
	}
	if resp.status == http.StatusConflict && (resp.header.Get("X-Apple-EDP") != "" || resp.header.Get("X-Apple-PDP") != "") {
		l.c.log.Warn("icloud: Apple asks for the escrow step (X-Apple-EDP), which ps does not do yet; trying without")
	}
	var challenge struct {
		TrustedPhoneNumbers []struct {
			ID                 int    `json:"id"`
			ObfuscatedNumber   string `json:"obfuscatedNumber"`
			NumberWithDialCode string `json:"numberWithDialCode"`
		} `json:"trustedPhoneNumbers"`
	}
	if json.Unmarshal(resp.body, &challenge) == nil && len(challenge.TrustedPhoneNumbers) > 0 {
		p := challenge.TrustedPhoneNumbers[0]
		l.phoneID, l.phoneName = p.ID, orDefault(p.ObfuscatedNumber, p.NumberWithDialCode)
	}
	if resp.status == http.StatusConflict && strings.Contains(string(resp.body), "fsaChallenge") {
		return nil, fault.Errorf(fault.Permanent, "this Apple ID uses security keys (FIDO), which iCloud's web sign-in for ps cannot use")
	}
	return resp, nil
}

// authFailure keeps throttling and outages as they are and makes other
// sign-in refusals auth errors.
func authFailure(err error, hint string) error {
	switch fault.ClassOf(err) {
	case fault.RateLimited, fault.Transient, fault.Canceled:
		return err
	}
	if statusOf(err) == http.StatusUnauthorized || statusOf(err) == http.StatusForbidden {
		return fault.WithHint(fault.Auth, err, hint)
	}
	return err
}

// accountLogin turns the sign-in into an iCloud web session.
func (l *Login) accountLogin(ctx context.Context) (*accountInfo, map[string]string, error) {
	resp, err := l.call(ctx, request{
		where: "accountLogin", method: http.MethodPost, url: l.ep.setup + "/accountLogin", header: l.homeHeaders(),
		body: map[string]any{"accountCountryCode": l.saved.AccountCountry, "dsWebAuthToken": l.saved.SessionToken,
			"extended_login": true, "trustToken": l.saved.TrustToken},
	})
	if err != nil {
		return nil, nil, authFailure(err, l.c.hint)
	}
	var info accountInfo
	if err := json.Unmarshal(resp.body, &info); err != nil {
		return nil, nil, fault.Errorf(fault.Permanent, "accountLogin: unreadable answer: %v", err)
	}
	l.saved.Cookies = mergeCookies(l.saved.Cookies, resp.resp.Cookies())
	return &info, l.saved.Cookies, nil
}

// twoFactor asks Apple to push a code to the trusted devices, checks the
// code the user types, and trusts this session so the next sign-ins need
// no code.
//
// Accounts without an Apple device get the code by SMS to their first
// trusted phone number instead.
func (l *Login) twoFactor(ctx context.Context, sms bool) error {
	ask := request{where: "request a code", method: http.MethodPut, url: l.ep.auth + "/verify/trusteddevice/securitycode", header: l.authHeaders(false)}
	check := l.ep.auth + "/verify/trusteddevice/securitycode"
	phone := map[string]any{"id": l.phoneID}
	if sms {
		l.c.log.Info("icloud: no Apple device on this account; Apple sends the code by SMS to " + l.phoneName)
		h := l.authHeaders(false)
		h.Set("Content-Type", "application/json; charset=utf-8")
		ask = request{where: "request an SMS code", method: http.MethodPut, url: l.ep.auth + "/verify/phone", header: h,
			body: map[string]any{"phoneNumber": phone, "mode": "sms"}}
		check = l.ep.auth + "/verify/phone/securitycode"
	}
	// Since iOS 26.4 the code is only sent when asked for.
	if _, err := l.call(ctx, ask); err != nil {
		if sms {
			return authFailure(err, l.c.hint)
		}
		l.c.log.Warn("icloud: asking Apple to send a code failed; a code may still arrive", "err", err)
	}
	for attempt := 1; ; attempt++ {
		code, err := l.Code(ctx, attempt)
		if err != nil {
			return fault.WithHint(fault.Auth, err, l.c.hint)
		}
		code = strings.TrimSpace(code)
		h := l.authHeaders(false)
		h.Set("Accept", "application/json")
		body := map[string]any{"securityCode": map[string]string{"code": code}}
		if sms {
			h.Set("Accept", "application/json; charset=utf-8")
			body["phoneNumber"], body["mode"] = phone, "sms"
		}
		resp, err := l.call(ctx, request{
			where: "verify code", method: http.MethodPost, url: check, header: h, body: body, accept: []int{http.StatusConflict},
		})
		if err == nil && codeAccepted(resp) {
			break
		}
		if err != nil && codeOf(err) != "-21669" && statusOf(err) != http.StatusBadRequest {
			return authFailure(err, l.c.hint)
		}
		if attempt >= 3 {
			return fault.WithHint(fault.Auth, errors.New("Apple rejected the verification code three times"), l.c.hint)
		}
		l.c.log.Warn("icloud: Apple rejected the verification code; try again")
	}
	if _, err := l.call(ctx, request{where: "2sv/trust", method: http.MethodGet, url: l.ep.auth + "/2sv/trust", header: l.authHeaders(false)}); err != nil {
		return authFailure(err, l.c.hint)
	}
	return nil
}

// codeAccepted reads a code check's answer: 204, or (iOS 26.4+) 409 that
// says the code is valid or carries a new session token.
func codeAccepted(r *response) bool {
	if r.status/100 == 2 {
		return true
	}
	var body struct {
		SecurityCode struct {
			Valid bool `json:"valid"`
		} `json:"securityCode"`
	}
	json.Unmarshal(r.body, &body)
	return body.SecurityCode.Valid || r.header.Get("X-Apple-Session-Token") != ""
}

func mergeCookies(old map[string]string, set []*http.Cookie) map[string]string {
	out := map[string]string{}
	for k, v := range old {
		out[k] = v
	}
	for _, c := range set {
		if c.MaxAge < 0 || (!c.Expires.IsZero() && c.Expires.Before(time.Now())) {
			delete(out, c.Name)
			continue
		}
		out[c.Name] = c.Value
	}
	return out
}

func cookieHeader(m map[string]string) string {
	var parts []string
	for k, v := range m {
		parts = append(parts, k+"="+v)
	}
	return strings.Join(parts, "; ")
}

// --- ps-auth icloud

// AuthCommand is "ps-auth icloud".
type AuthCommand struct {
	Username     string `required:"" placeholder:"EMAIL" help:"Apple ID (e-mail address)."`
	PasswordFile string `type:"existingfile" placeholder:"FILE" help:"Read the password from this file (else PS_PASSWORD, else a prompt)."`
	Code         string `placeholder:"CODE" help:"The six-digit two-factor code, for scripts (else it is read from stdin or asked for)."`
	Domain       string `name:"region" aliases:"domain" enum:"com,cn" default:"com" placeholder:"com|cn" help:"Apple's service region: com (the default), or cn for accounts in mainland China. --domain is the old name."`
}

// Help is shown by ps-auth icloud --help.
func (a *AuthCommand) Help() string {
	return `Signs in to iCloud with the Apple ID and its password, then asks for the six-digit code your Apple devices
show (or one sent by SMS), read from stdin, a prompt, or --code. The session and Apple's trust token are saved
with mode 0600 in the state folder; later runs need no code until Apple's trust runs out (about 30 days). Accounts with Advanced
Data Protection must allow "Access iCloud Data on the Web".

Examples:
  ps-auth icloud --username me@example.com
  ps-auth icloud --username me@example.com --password-file pw | ps-list icloud: | ps-fetch -o ~/iCloud
  ps-auth icloud --username me@example.cn --region cn`
}

// SessionSource is the location a session record is for.
const SessionSource = "icloud:"

// Run signs in and prints the session record.
func (a *AuthCommand) Run(env *source.AuthEnv) error {
	store := state.Store{Dir: env.Env.StateDir}
	username := strings.ToLower(strings.TrimSpace(a.Username))
	var saved savedAuth
	if err := store.LoadSecretJSON(SessionSource+username, "auth", &saved); err != nil && !errors.Is(err, fs.ErrNotExist) {
		env.Env.Log.Warn("icloud: ignoring unreadable saved sign-in", "err", err)
	}
	in := bufio.NewReader(env.Stdin)
	login := &Login{
		Username: username, Domain: a.Domain, Log: env.Env.Log,
		Password: func() (string, error) {
			return env.Password(a.PasswordFile, "Apple ID password for "+username+": ")
		},
		Code: func(ctx context.Context, attempt int) (string, error) {
			if a.Code != "" && attempt == 1 {
				return a.Code, nil
			}
			if a.Code != "" {
				return "", errors.New("the --code given was rejected")
			}
			fmt.Fprint(env.Err, "Enter the verification code shown on your Apple devices: ")
			line, err := in.ReadString('\n')
			if strings.TrimSpace(line) == "" && err != nil {
				if err == io.EOF {
					return "", errors.New("no verification code: type it when asked, pipe it on stdin, or give --code")
				}
				return "", err
			}
			return line, nil
		},
	}
	acct, newSaved, err := login.Run(env.Ctx, saved)
	// Keep the client id and any trust token even when the sign-in failed
	// later on: they make the next attempt smoother.
	if serr := store.SaveSecretJSON(SessionSource+username, "auth", newSaved); serr != nil && err == nil {
		err = fault.Wrap(fault.Local, serr)
	}
	if err != nil {
		return err
	}
	rec := acct.SessionRecord(time.Now())
	if err := store.SaveSession(rec); err != nil {
		return fault.Wrap(fault.Local, err)
	}
	env.Env.Log.Info("icloud: signed in", "account", username, "trusted_until", acct.TrustExpires.Format(time.DateOnly))
	if err := env.Out.Encode(rec); err != nil {
		return err
	}
	return env.Out.Flush()
}

// SessionRecord is the session record of an account (docs/records.md).
func (a *Account) SessionRecord(now time.Time) *record.Record {
	cookies := map[string]any{}
	for k, v := range a.Cookies {
		cookies[k] = v
	}
	return &record.Record{
		Type: record.TypeSession, Source: SessionSource, Created: now.UTC(), Expires: a.TrustExpires,
		Session: map[string]any{
			"username": a.Username, "domain": orDefault(a.Domain, "com"), "dsid": a.DSID, "client_id": a.ClientID,
			"photos_url": a.PhotosURL, "cookies": cookies, "trust_expires": record.FormatTime(a.TrustExpires),
		},
	}
}

// accountFromSession reads a session record back.
func accountFromSession(rec *record.Record) (*Account, error) {
	s := rec.Session
	str := func(k string) string { v, _ := s[k].(string); return v }
	a := &Account{Username: str("username"), Domain: str("domain"), DSID: str("dsid"), ClientID: str("client_id"),
		PhotosURL: str("photos_url"), Cookies: map[string]string{}, TrustExpires: rec.Expires}
	if t, err := record.ParseTime(str("trust_expires")); err == nil {
		a.TrustExpires = t
	}
	if m, ok := s["cookies"].(map[string]any); ok {
		for k, v := range m {
			if sv, ok := v.(string); ok {
				a.Cookies[k] = sv
			}
		}
	}
	if a.PhotosURL == "" || len(a.Cookies) == 0 {
		return nil, fault.WithHint(fault.Auth, errors.New("the iCloud session record is incomplete"), authHint(a.Username, a.Domain))
	}
	return a, nil
}
