package source

import (
	"context"
	"net/http"
	"testing"
	"time"
)

func TestHTTPVersion(t *testing.T) {
	date := "Mon, 01 Jul 2024 11:00:00 GMT"
	for _, c := range []struct {
		etag, modified, want string
	}{
		{`"abc"`, date, `"abc"`},
		{`W/"abc"`, date, date}, // a weak ETag may stay across byte changes
		{"", date, date},
		{"", "", ""},
	} {
		h := http.Header{}
		if c.etag != "" {
			h.Set("ETag", c.etag)
		}
		if c.modified != "" {
			h.Set("Last-Modified", c.modified)
		}
		if got := HTTPVersion(h); got != c.want {
			t.Errorf("ETag %q, Last-Modified %q: %q, want %q", c.etag, c.modified, got, c.want)
		}
	}
}

func TestSetIfRangeSendsOnlyValidators(t *testing.T) {
	file := FileVersion(time.Date(2024, 7, 1, 10, 0, 0, 0, time.UTC), 42)
	for _, c := range []struct {
		version string
		offset  int64
		want    string
	}{
		{`"abc"`, 10, `"abc"`},
		{"Mon, 01 Jul 2024 11:00:00 GMT", 10, "Mon, 01 Jul 2024 11:00:00 GMT"},
		{`"abc"`, 0, ""}, // not a ranged request
		{file, 10, ""},   // not an HTTP validator
		{"", 10, ""},
	} {
		req, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1/x", nil)
		SetIfRange(WithIfRange(context.Background(), c.version), req, c.offset)
		if got := req.Header.Get("If-Range"); got != c.want {
			t.Errorf("version %q at %d: If-Range %q, want %q", c.version, c.offset, got, c.want)
		}
	}
}
