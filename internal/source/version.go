package source

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Versions. Content.Version names the version of an item's bytes that an
// Open returned, so ps-fetch never completes a partial download of one
// version with bytes of another (the source changed between a kill and
// the resume). Sources fill it with what they have: an HTTP validator
// (HTTPVersion), or modification time and size (FileVersion). "" means the
// source gives nothing to tell versions apart.

// HTTPVersion is the validator of a response: its ETag when strong (a weak
// one may stay the same across byte changes, and If-Range refuses it),
// else its Last-Modified, else "".
func HTTPVersion(h http.Header) string {
	if etag := h.Get("ETag"); etag != "" && !strings.HasPrefix(etag, "W/") {
		return etag
	}
	return h.Get("Last-Modified")
}

// FileVersion is the version of a file that has no validator of its own.
func FileVersion(mtime time.Time, size int64) string {
	return "mtime " + mtime.UTC().Format(time.RFC3339Nano) + " size " + strconv.FormatInt(size, 10)
}

type ifRangeKey struct{}

// WithIfRange asks the Open that gets ctx to send bytes from its offset
// only while the item still has version v (an HTTP source sends v as
// If-Range); otherwise it returns the whole item from 0, Content.Offset 0.
func WithIfRange(ctx context.Context, v string) context.Context {
	if v == "" {
		return ctx
	}
	return context.WithValue(ctx, ifRangeKey{}, v)
}

// SetIfRange adds the If-Range header WithIfRange asked for to a ranged
// request, when the version is an HTTP validator (a strong ETag or a
// date): anything else would only make the server send the whole file.
func SetIfRange(ctx context.Context, req *http.Request, offset int64) {
	v, _ := ctx.Value(ifRangeKey{}).(string)
	if v == "" || offset <= 0 {
		return
	}
	if _, err := http.ParseTime(v); err == nil || strings.HasPrefix(v, `"`) {
		req.Header.Set("If-Range", v)
	}
}
