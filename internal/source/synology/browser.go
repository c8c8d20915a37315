package synology

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"time"

	"github.com/go-rod/rod"
	"github.com/go-rod/rod/lib/input"
	"github.com/go-rod/rod/lib/launcher"
	"github.com/go-rod/rod/lib/proto"

	"github.com/ps-photos/ps/internal/fault"
)

// chromiumNames are looked up on PATH when --chromium is not given. ps
// never downloads a browser.
var chromiumNames = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}

// findChromium returns the browser to drive.
func findChromium(explicit string) (string, error) {
	if explicit != "" {
		if st, err := os.Stat(explicit); err != nil || st.IsDir() {
			return "", fault.Errorf(fault.Permanent, "--chromium %s: no such program", explicit)
		}
		return explicit, nil
	}
	for _, n := range chromiumNames {
		if p, err := exec.LookPath(n); err == nil {
			return p, nil
		}
		if p := "/usr/bin/" + n; isFile(p) {
			return p, nil
		}
	}
	return "", fault.Errorf(fault.Permanent, "browser sign-in needs Chromium (apt-get install chromium) or --chromium PATH")
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

type browserOptions struct {
	Bin      string
	Show     bool
	Page     string // the link to open
	Password string
	Log      *slog.Logger
	// Timeout bounds the whole sign-in: the landing page's redirects, the
	// password form, and the cookie.
	Timeout time.Duration
}

// browserResult is what a browser sign-in yields.
type browserResult struct {
	base      *url.URL
	sharingID string
	sid       string
}

var sharingPagePath = regexp.MustCompile(`^/sharing/([A-Za-z0-9_-]{1,64})/?$`)

// browserSignIn opens the link in a fresh, throw-away Chromium profile,
// waits until the browser lands on a /sharing/<id> page, types the
// password into the page's password field, and takes the sharing_sid
// cookie.
func browserSignIn(ctx context.Context, o browserOptions) (browserResult, error) {
	if o.Timeout == 0 {
		o.Timeout = 90 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	profile, err := os.MkdirTemp("", "ps-chromium-")
	if err != nil {
		return browserResult{}, fault.Wrap(fault.Local, err)
	}
	defer os.RemoveAll(profile)

	l := launcher.New().Context(ctx).Bin(o.Bin).Leakless(false).Headless(!o.Show).NoSandbox(true).
		UserDataDir(profile).
		Set("disable-gpu").Set("disable-quic").Set("no-first-run").Set("disable-background-networking").
		Set("disable-component-update").Set("disable-sync").Set("no-default-browser-check")
	controlURL, err := l.Launch()
	if err != nil {
		return browserResult{}, fault.Errorf(fault.Permanent, "start %s: %v", o.Bin, err)
	}
	defer l.Kill()
	b := rod.New().ControlURL(controlURL).Context(ctx)
	if err := b.Connect(); err != nil {
		return browserResult{}, fault.Errorf(fault.Permanent, "connect to %s: %v", o.Bin, err)
	}
	defer b.Close()
	page, err := b.Page(proto.TargetCreateTarget{URL: o.Page})
	if err != nil {
		return browserResult{}, browserError(ctx, err, o.Password)
	}
	res, err := waitForSession(ctx, page, o)
	if err != nil {
		return browserResult{}, browserError(ctx, err, o.Password)
	}
	return res, nil
}

// waitForSession polls the page: once it is a share page, it fills in the
// password (once) and waits for the cookie.
func waitForSession(ctx context.Context, page *rod.Page, o browserOptions) (browserResult, error) {
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	submitted := false
	lastURL := ""
	for {
		select {
		case <-ctx.Done():
			if submitted {
				return browserResult{}, fault.Errorf(fault.Auth, "the share page did not accept the password (wrong password?)")
			}
			return browserResult{}, fault.Errorf(fault.Transient, "the browser never reached a /sharing/<id> page (last: %s)", Redact(lastURL))
		case <-tick.C:
		}
		info, err := page.Info()
		if err != nil {
			continue
		}
		lastURL = info.URL
		u, err := url.Parse(info.URL)
		if err != nil {
			continue
		}
		m := sharingPagePath.FindStringSubmatch(u.Path)
		if m == nil || (u.Scheme != "https" && u.Scheme != "http") {
			continue
		}
		res := browserResult{base: &url.URL{Scheme: u.Scheme, Host: u.Host}, sharingID: m[1]}
		if sid := sharingCookie(page, info.URL); sid != "" {
			res.sid = sid
			return res, nil
		}
		if !submitted {
			submitted, err = fillPassword(page, o.Password)
			if err != nil {
				return browserResult{}, err
			}
		}
	}
}

func sharingCookie(page *rod.Page, pageURL string) string {
	cookies, err := page.Cookies([]string{pageURL})
	if err != nil {
		return ""
	}
	for _, c := range cookies {
		if c.Name == "sharing_sid" && c.Value != "" {
			return c.Value
		}
	}
	return ""
}

// fillPassword types the password into the first visible password field
// and presses Enter. It reports false while the form is not there yet.
func fillPassword(page *rod.Page, password string) (bool, error) {
	fields, err := page.Elements(`input[type="password"]`)
	if err != nil {
		return false, nil
	}
	for _, f := range fields {
		if ok, _ := f.Visible(); !ok {
			continue
		}
		if err := f.Input(password); err != nil {
			return false, fmt.Errorf("type the password: %w", err)
		}
		if err := f.Type(input.Enter); err != nil {
			return false, fmt.Errorf("submit the password: %w", err)
		}
		return true, nil
	}
	return false, nil
}

// browserError classifies a driver error and makes sure no secret leaks
// through its text.
func browserError(ctx context.Context, err error, password string) error {
	var fe *fault.Error
	if errors.As(err, &fe) {
		return err
	}
	msg := scrub(err.Error(), password)
	if errors.Is(ctx.Err(), context.Canceled) {
		return fault.Errorf(fault.Canceled, "browser sign-in: %s", msg)
	}
	return fault.Errorf(fault.Transient, "browser sign-in: %s", msg)
}
