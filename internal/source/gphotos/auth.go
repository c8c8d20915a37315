package gphotos

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/ps-photos/ps/internal/fault"
	"github.com/ps-photos/ps/internal/record"
	"github.com/ps-photos/ps/internal/source"
	"github.com/ps-photos/ps/internal/state"
)

// Scopes ps asks for: only what the user asks for.
const (
	ScopePicker  = "https://www.googleapis.com/auth/photospicker.mediaitems.readonly"
	ScopeLibrary = "https://www.googleapis.com/auth/photoslibrary.readonly.appcreateddata"
)

// Where the token is kept: state secret "oauth" of source "gphotos:".
const (
	secretSource = "gphotos:"
	secretName   = "oauth"
	authHint     = "ps-auth gphotos --client-secret client_secret.json"
)

// saved is what ps keeps between runs (mode 0600): the user's own client
// (so refreshes work without the client file) and the token.
type saved struct {
	ClientID     string        `json:"client_id"`
	ClientSecret string        `json:"client_secret"`
	AuthURI      string        `json:"auth_uri"`
	TokenURI     string        `json:"token_uri"`
	Scopes       []string      `json:"scopes"`
	Token        *oauth2.Token `json:"token"`
}

func (s *saved) config() *oauth2.Config {
	return &oauth2.Config{ClientID: s.ClientID, ClientSecret: s.ClientSecret, Scopes: s.Scopes,
		Endpoint: oauth2.Endpoint{AuthURL: s.AuthURI, TokenURL: s.TokenURI, AuthStyle: oauth2.AuthStyleInParams}}
}

// AuthCmd is "ps-auth gphotos": OAuth 2.0 for installed apps, with a
// loopback redirect and PKCE, using the user's own Desktop client.
type AuthCmd struct {
	ClientSecret string        `required:"" type:"existingfile" placeholder:"FILE" help:"The client_secret_….json of your own Desktop OAuth client (Google Cloud console → Credentials)."`
	Picker       bool          `help:"Ask for the Picker scope: pick items by hand in Google Photos (the default)."`
	Library      bool          `help:"Ask for the Library scope for media this client uploaded (app-created data)."`
	Port         int           `default:"0" placeholder:"PORT" help:"Loopback port for Google's redirect (default 0: any free port)."`
	NoBrowser    bool          `help:"Only print the sign-in link; do not open a browser ($BROWSER or xdg-open)."`
	Timeout      time.Duration `default:"10m" placeholder:"DURATION" help:"How long to wait for the sign-in in the browser."`
}

// Help is shown by ps-auth gphotos --help.
func (c *AuthCmd) Help() string {
	return `Signs in to Google with OAuth 2.0 through your own Desktop OAuth client: it opens Google's sign-in page
in a browser and receives the answer on a loopback port. The token is saved with mode 0600 in the state
folder and renewed by itself. Google allows only the Picker scope (items chosen by hand) and, for the
Library API, media this client uploaded; for a whole library use a Takeout export (ps-list takeout:PATH).

Examples:
  ps-auth gphotos --client-secret client_secret.json && ps-list gphotos:picker | ps-fetch -o ~/Picked
  ps-auth gphotos --client-secret client_secret.json --no-browser     # sign in on another machine's browser
  ps-auth gphotos --client-secret client_secret.json --library`
}

// Run signs in and saves the token.
func (c *AuthCmd) Run(env *source.AuthEnv) error {
	secret, err := readClientSecret(c.ClientSecret)
	if err != nil {
		return err
	}
	if !c.Picker && !c.Library {
		c.Picker = true
	}
	if c.Picker {
		secret.Scopes = append(secret.Scopes, ScopePicker)
	}
	if c.Library {
		secret.Scopes = append(secret.Scopes, ScopeLibrary)
	}
	ctx, cancel := context.WithTimeout(env.Ctx, c.Timeout)
	defer cancel()
	tok, err := c.signIn(ctx, env, secret)
	if err != nil {
		return err
	}
	secret.Token = tok
	store := state.Store{Dir: env.Env.StateDir}
	if err := store.SaveSecretJSON(secretSource, secretName, secret); err != nil {
		return fault.Wrap(fault.Local, fmt.Errorf("save the Google token: %w", err))
	}
	location := "gphotos:picker"
	if !c.Picker {
		location = "gphotos:library"
	}
	rec := &record.Record{Type: record.TypeSession, Source: location, Created: time.Now().UTC(),
		Session: map[string]any{"client_id": secret.ClientID, "scopes": secret.Scopes}}
	if err := store.SaveSession(rec); err != nil {
		return fault.Wrap(fault.Local, err)
	}
	if env.Env.Log != nil {
		env.Env.Log.Info("Signed in to Google Photos; the token is saved (mode 0600) in " + env.Env.StateDir)
	}
	if err := env.Out.Encode(rec); err != nil {
		return err
	}
	return env.Out.Flush()
}

// readClientSecret reads a Cloud console credentials file ("installed"
// for Desktop apps; "web" works too).
func readClientSecret(path string) (*saved, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fault.Wrap(fault.Permanent, err)
	}
	type cred struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
		AuthURI      string `json:"auth_uri"`
		TokenURI     string `json:"token_uri"`
	}
	var j struct{ Installed, Web *cred }
	if err := json.Unmarshal(b, &j); err != nil {
		return nil, fault.Errorf(fault.Permanent, "%s is not a Google client secret file: %v", path, err)
	}
	c := j.Installed
	if c == nil {
		c = j.Web
	}
	if c == nil || c.ClientID == "" {
		return nil, fault.Errorf(fault.Permanent, `%s has no "installed" client: create a Desktop app OAuth client and download its JSON`, path)
	}
	s := &saved{ClientID: c.ClientID, ClientSecret: c.ClientSecret, AuthURI: c.AuthURI, TokenURI: c.TokenURI}
	if s.AuthURI == "" {
		s.AuthURI = "https://accounts.google.com/o/oauth2/auth"
	}
	if s.TokenURI == "" {
		s.TokenURI = "https://oauth2.googleapis.com/token"
	}
	return s, nil
}

// signIn runs the browser flow: listen on a loopback port, send the user
// to Google with a PKCE challenge, take the code from the redirect and
// exchange it with the verifier.
func (c *AuthCmd) signIn(ctx context.Context, env *source.AuthEnv, s *saved) (*oauth2.Token, error) {
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", c.Port))
	if err != nil {
		return nil, fault.Wrap(fault.Local, fmt.Errorf("listen for Google's redirect: %w", err))
	}
	defer ln.Close()
	conf := s.config()
	conf.RedirectURL = fmt.Sprintf("http://127.0.0.1:%d/", ln.Addr().(*net.TCPAddr).Port)
	state := randomHex(16)
	verifier := oauth2.GenerateVerifier()
	authURL := conf.AuthCodeURL(state, oauth2.AccessTypeOffline, oauth2.ApprovalForce, oauth2.S256ChallengeOption(verifier))

	codes := make(chan callback, 1)
	srv := &http.Server{Handler: callbackHandler(state, codes), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer func() {
		// Let the browser get its "signed in" page before closing.
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()

	fmt.Fprintf(env.Err, "Sign in to Google Photos in your browser:\n\n  %s\n\nWaiting for Google to send you back to %s …\n", authURL, conf.RedirectURL)
	if !c.NoBrowser {
		openBrowser(authURL, env.Env)
	}
	var cb callback
	select {
	case cb = <-codes:
	case <-ctx.Done():
		return nil, fault.Wrap(fault.Canceled, fmt.Errorf("no sign-in within %s: %w", c.Timeout, ctx.Err()))
	}
	if cb.err != nil {
		return nil, fault.Wrap(fault.Auth, cb.err)
	}
	hc := &http.Client{Timeout: 30 * time.Second}
	tok, err := conf.Exchange(context.WithValue(ctx, oauth2.HTTPClient, hc), cb.code, oauth2.VerifierOption(verifier))
	if err != nil {
		return nil, classifyTokenError(err)
	}
	if tok.RefreshToken == "" {
		fmt.Fprintln(env.Err, "Google sent no refresh token: you will need to sign in again when the access token expires.")
	}
	return tok, nil
}

type callback struct {
	code string
	err  error
}

// callbackHandler takes the one redirect whose state matches.
func callbackHandler(state string, out chan<- callback) http.Handler {
	var once sync.Once
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("state") != state {
			http.Error(w, "unexpected request", http.StatusBadRequest)
			return
		}
		cb := callback{code: q.Get("code")}
		if e := q.Get("error"); e != "" || cb.code == "" {
			cb.err = fmt.Errorf("Google did not grant access: %s", strings.TrimSpace(e+" "+q.Get("error_description")))
		}
		msg := "Signed in: you can close this tab and return to the terminal."
		if cb.err != nil {
			msg = cb.err.Error()
		}
		fmt.Fprintf(w, "<!doctype html><title>ps-auth gphotos</title><p>%s</p>\n", html.EscapeString(msg))
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		once.Do(func() { out <- cb })
	})
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// openBrowser opens url with $BROWSER, else xdg-open when there is a
// display. Failing to open one is fine: the link is printed.
func openBrowser(url string, env source.Env) {
	var cmd []string
	if b := os.Getenv("BROWSER"); b != "" {
		cmd = append(strings.Fields(b), url)
	} else if os.Getenv("DISPLAY") != "" || os.Getenv("WAYLAND_DISPLAY") != "" {
		cmd = []string{"xdg-open", url}
	} else {
		return
	}
	c := exec.Command(cmd[0], cmd[1:]...)
	if err := c.Start(); err != nil {
		if env.Log != nil {
			env.Log.Debug("could not open a browser", "err", err)
		}
		return
	}
	go c.Wait()
}

// classifyTokenError: a revoked or expired grant needs a new sign-in;
// anything else from the token endpoint may be passing.
func classifyTokenError(err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		switch {
		case re.ErrorCode == "invalid_grant", re.ErrorCode == "invalid_client", re.ErrorCode == "unauthorized_client":
			return fault.WithHint(fault.Auth, fmt.Errorf("Google refused the sign-in (%s: %s)", re.ErrorCode, re.ErrorDescription), authHint)
		case re.Response != nil && re.Response.StatusCode == http.StatusTooManyRequests:
			return fault.Wrap(fault.RateLimited, err)
		case re.Response != nil && re.Response.StatusCode < 500:
			return fault.WithHint(fault.Auth, fmt.Errorf("Google's token endpoint: %s", re.ErrorCode), authHint)
		}
	}
	if errors.Is(err, context.Canceled) {
		return fault.Wrap(fault.Canceled, err)
	}
	return fault.Wrap(fault.Transient, err)
}

// tokens hands out access tokens, refreshing them through the user's
// client and saving every refreshed token again (x/oauth2 does not).
type tokens struct {
	store state.Store
	mu    sync.Mutex
	s     *saved
	ts    oauth2.TokenSource
	hc    *http.Client
}

func loadTokens(env source.Env) (*tokens, error) {
	store := state.Store{Dir: env.StateDir}
	var s saved
	if err := store.LoadSecretJSON(secretSource, secretName, &s); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fault.WithHint(fault.Auth, errors.New("not signed in to Google Photos"), authHint)
		}
		return nil, fault.Wrap(fault.Local, err)
	}
	if s.Token == nil {
		return nil, fault.WithHint(fault.Auth, errors.New("the saved Google sign-in has no token"), authHint)
	}
	t := &tokens{store: store, s: &s, hc: &http.Client{Timeout: 30 * time.Second}}
	t.reset(s.Token)
	return t, nil
}

func (t *tokens) reset(tok *oauth2.Token) {
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, t.hc)
	t.ts = oauth2.ReuseTokenSource(tok, t.s.config().TokenSource(ctx, tok))
}

func (t *tokens) has(scope string) bool {
	for _, s := range t.s.Scopes {
		if s == scope {
			return true
		}
	}
	return false
}

// token returns a valid access token, refreshing (and saving) as needed.
func (t *tokens) token() (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	tok, err := t.ts.Token()
	if err != nil {
		return "", classifyTokenError(err)
	}
	if tok.AccessToken != t.s.Token.AccessToken || tok.RefreshToken != t.s.Token.RefreshToken {
		if tok.RefreshToken == "" {
			tok.RefreshToken = t.s.Token.RefreshToken
		}
		t.s.Token = tok
		if err := t.store.SaveSecretJSON(secretSource, secretName, t.s); err != nil {
			return "", fault.Wrap(fault.Local, fmt.Errorf("save the refreshed Google token: %w", err))
		}
	}
	return tok.AccessToken, nil
}

// invalidate forgets an access token the server rejected (401), so the
// next call refreshes even though its expiry has not passed.
func (t *tokens) invalidate(rejected string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.s.Token.AccessToken != rejected {
		return // another request already refreshed it
	}
	stale := *t.s.Token
	stale.Expiry = time.Unix(1, 0)
	t.reset(&stale)
}
