package icloud

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ps-photos/ps/internal/fault"
)

func TestClassify(t *testing.T) {
	cases := []struct {
		status int
		header string
		body   string
		class  fault.Class
		want   string // in the message
	}{
		{503, "", "Service Temporary Unavailable", fault.RateLimited, "503"},
		{429, "7", `{"serverErrorCode":"TRY_AGAIN_LATER"}`, fault.RateLimited, "TRY_AGAIN_LATER"},
		{400, "", `{"serverErrorCode":"THROTTLED","retryAfter":3}`, fault.RateLimited, "THROTTLED"},
		{421, "", ``, fault.RateLimited, "421"},
		{450, "", ``, fault.RateLimited, "450"},
		{421, "", `{"serverErrorCode":"AUTHENTICATION_REQUIRED"}`, fault.Auth, "expired"},
		{421, "", `{"success":false,"error":"Missing X-APPLE-WEBAUTH-TOKEN cookie"}`, fault.Auth, "expired"},
		{403, "", `{"serverErrorCode":"ACCESS_DENIED","reason":"private db access disabled for this account"}`, fault.Permanent, "Advanced Data Protection"},
		{404, "", `{"serverErrorCode":"ZONE_NOT_FOUND"}`, fault.NotFound, "no such library"},
		{401, "", `{"serverErrorCode":"AUTHENTICATION_FAILED"}`, fault.Permanent, "icloud.com"},
		{500, "", `{"error":"Missing X-APPLE-WEBAUTH-TOKEN cookie"}`, fault.Permanent, "new terms"},
		{500, "", `oops`, fault.Transient, "500"},
		{400, "", `{"serverErrorCode":"BAD_REQUEST","reason":"Index has invalid data"}`, fault.Permanent, "invalid data"},
		{410, "", `Gone`, fault.NotFound, "410"},
	}
	for _, c := range cases {
		resp := &http.Response{StatusCode: c.status, Header: http.Header{}}
		if c.header != "" {
			resp.Header.Set("Retry-After", c.header)
		}
		err := classify("records/query", resp, []byte(c.body), "ps-auth icloud --username me@example.com")
		if got := fault.ClassOf(err); got != c.class || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%d %s: %v (class %s), want class %s and %q", c.status, c.body, err, got, c.class, c.want)
		}
		if c.class == fault.Auth && fault.HintOf(err) != "ps-auth icloud --username me@example.com" {
			t.Errorf("%d %s: hint %q", c.status, c.body, fault.HintOf(err))
		}
	}
	resp := &http.Response{StatusCode: 503, Header: http.Header{}}
	err := classify("q", resp, []byte(`{"serverErrorCode":"THROTTLED","retryAfter":5}`), "")
	if d := time.Until(fault.RetryAfterOf(err)); d < 4*time.Second || d > 6*time.Second {
		t.Errorf("retryAfter 5 gave a wait of %v", d)
	}
}

func TestEndpoints(t *testing.T) {
	t.Setenv("PS_ICLOUD_AUTH_URL", "")
	t.Setenv("PS_ICLOUD_SETUP_URL", "")
	if e := endpointsFor("cn"); e.auth != "https://idmsa.apple.com.cn/appleauth/auth" || e.setup != "https://setup.icloud.com.cn/setup/ws/1" || e.home != "https://www.icloud.com.cn" {
		t.Errorf("cn endpoints %+v", e)
	}
	if e := endpointsFor("com"); e.auth != "https://idmsa.apple.com/appleauth/auth" || e.setup != "https://setup.icloud.com/setup/ws/1" {
		t.Errorf("com endpoints %+v", e)
	}
	t.Setenv("PS_ICLOUD_AUTH_URL", "http://127.0.0.1:9/auth/")
	if e := endpointsFor("com"); e.auth != "http://127.0.0.1:9/auth" {
		t.Errorf("override: %+v", e)
	}
	if h := authHint("me@example.com", "cn"); h != "ps-auth icloud --username me@example.com --region cn" {
		t.Errorf("hint %q", h)
	}
}
