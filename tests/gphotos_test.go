package tests

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/ps-photos/ps/internal/source/gphotos/gphotostest"
	"github.com/ps-photos/ps/internal/testenv"
)

// gphotos_* scripts run against a fake Google (OAuth, Picker and Library
// APIs, byte URLs) holding 12 items, one a day from 2024-01-01 09:00 UTC,
// every fourth a video. The setup writes $WORK/client_secret.json for it
// and sets BROWSER to curl, which plays the person: it follows the sign-in
// link (the fake redirects to ps-auth's loopback listener) and opens the
// picker link (the fake then picks everything).
//
//	gphotosctl expire-tokens    every access token issued so far is rejected (401)
//	gphotosctl expire-urls      every base URL issued so far is expired (403)
//	gphotosctl throttle N       the next N API calls get 429 RESOURCE_EXHAUSTED
//	gphotosctl revoke           refresh tokens are revoked (invalid_grant)
//	gphotosctl counters         print refreshes, throttled, 401s and expired URLs
func init() {
	setups = append(setups, gphotosSetup)
	commands["gphotosctl"] = gphotosctl
}

var gphotosServers sync.Map // work dir → *gphotostest.Server

func gphotosItems() []gphotostest.Item {
	var out []gphotostest.Item
	for i := range 12 {
		it := gphotostest.Item{ID: fmt.Sprintf("AF1QipN%03d", i), Filename: fmt.Sprintf("PXL_%03d.jpg", i), MimeType: "image/jpeg",
			Created: time.Date(2024, 1, 1+i, 9, 0, 0, 0, time.UTC), Data: []byte(fmt.Sprintf("jpeg bytes of photo %d", i)), Width: 4032, Height: 3024}
		if i%4 == 3 {
			it.Video, it.Filename, it.MimeType, it.Data = true, fmt.Sprintf("PXL_%03d.mp4", i), "video/mp4", []byte(fmt.Sprintf("mp4 bytes of video %d", i))
		}
		out = append(out, it)
	}
	return out
}

func gphotosSetup(env *testscript.Env) error {
	if !strings.HasPrefix(filepath.Base(env.WorkDir), "script-gphotos_") {
		return nil
	}
	curl, err := exec.LookPath("curl")
	if err != nil {
		msg := "curl is not installed (apt-get install curl): it plays the browser"
		if testenv.InCI() {
			return fmt.Errorf("CI=true forbids skipping: %s", msg)
		}
		env.T().Skip(msg)
	}
	srv := gphotostest.Start(gphotostest.Options{ShortPages: true, RepeatBoundary: true}, gphotosItems())
	env.Defer(func() { srv.Close(); gphotosServers.Delete(env.WorkDir) })
	gphotosServers.Store(env.WorkDir, srv)
	if err := os.WriteFile(filepath.Join(env.WorkDir, "client_secret.json"), srv.ClientSecretJSON(), 0o600); err != nil {
		return err
	}
	env.Setenv("PS_GPHOTOS_PICKER_URL", srv.URL)
	env.Setenv("PS_GPHOTOS_LIBRARY_URL", srv.URL)
	env.Setenv("BROWSER", curl+" -s -o /dev/null -L")
	return nil
}

func gphotosctl(ts *testscript.TestScript, neg bool, args []string) {
	v, ok := gphotosServers.Load(ts.Getenv("WORK"))
	if !ok || neg || len(args) == 0 {
		ts.Fatalf("usage: gphotosctl expire-tokens|expire-urls|throttle N|revoke|counters (in a gphotos_* script)")
	}
	srv := v.(*gphotostest.Server)
	switch args[0] {
	case "expire-tokens":
		srv.ExpireTokens()
	case "expire-urls":
		srv.ExpireURLs()
	case "revoke":
		srv.RevokeRefreshTokens()
	case "throttle":
		n, err := strconv.Atoi(args[len(args)-1])
		ts.Check(err)
		srv.Throttle(n)
	case "counters":
		r, t, u, e := srv.Counters()
		fmt.Fprintf(ts.Stdout(), "refreshes=%d throttled=%d unauthorized=%d expired_urls=%d\n", r, t, u, e)
	default:
		ts.Fatalf("gphotosctl: unknown action %q", args[0])
	}
}
