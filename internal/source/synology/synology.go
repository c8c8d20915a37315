// Package synology is the source for password-protected Synology File
// Station share links (https://gofile.me/<gid>/<id>,
// https://<host>/sharing/<id>, QuickConnect forms). ps-auth synology signs
// in over plain HTTP (QuickConnect resolution, candidate probing,
// Sharing.Login) or, as a fallback, through the system's Chromium; the
// source lists the share with FolderSharing.List and reads files with
// FolderSharing.Download and Range resume. The Synology wire format is
// described in docs/protocols/synology.md.
package synology

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ps-photos/ps/internal/fault"
	"github.com/ps-photos/ps/internal/record"
	"github.com/ps-photos/ps/internal/retry"
	"github.com/ps-photos/ps/internal/source"
	"github.com/ps-photos/ps/internal/source/synology/api"
	"github.com/ps-photos/ps/internal/state"
)

// Scheme is the location prefix of this source.
const Scheme = "synology"

// Factory registers the source and "ps-auth synology".
var Factory = source.Factory{
	Name:    "synology",
	Schemes: []string{Scheme},
	Help:    "a Synology share link (gofile.me, /sharing/<id>, QuickConnect): synology://…",
	New: func(ctx context.Context, env source.Env, location string, session *record.Record) (source.Source, error) {
		src, err := New(ctx, env, location, session)
		if err != nil {
			return nil, err // not a typed nil: callers compare the interface with nil
		}
		return src, nil
	},
	Auth:    func() any { return &AuthCommand{} },
	Honours: source.Honours{Folder: true},
	Claims:  IsShareLink,
}

// Session is what a session record's "session" object holds.
type Session struct {
	Base      string // scheme://host:port of the verified NAS address
	SharingID string
	SID       string
	Link      string // the link the user signed in with (no secrets)
	Insecure  bool   // certificate checks were turned off at sign-in
}

// Record makes the session record for location.
func (s Session) Record(location string, created time.Time) *record.Record {
	m := map[string]any{"base": s.Base, "sharing_id": s.SharingID, "sid": s.SID, "link": s.Link}
	if s.Insecure {
		m["insecure"] = true
	}
	return &record.Record{Type: record.TypeSession, Source: location, Created: created.UTC(), Session: m}
}

// sessionOf reads a session record.
func sessionOf(rec *record.Record) (Session, error) {
	str := func(k string) string { v, _ := rec.Session[k].(string); return v }
	s := Session{Base: str("base"), SharingID: str("sharing_id"), SID: str("sid"), Link: str("link")}
	s.Insecure, _ = rec.Session["insecure"].(bool)
	if s.Base == "" || s.SharingID == "" || s.SID == "" {
		return s, errors.New("the session record lacks base, sharing_id or sid")
	}
	return s, nil
}

// rememberedPassword is the secret --remember-password saves.
type rememberedPassword struct {
	Password string `json:"password"`
}

const secretName = "password"

// Source is one share, signed in.
type Source struct {
	loc  string
	c    *client
	log  *slog.Logger
	idle time.Duration // a download that sends nothing for this long is dropped
}

// New opens the share at location with session (a piped session record)
// or, when it is nil, the session ps-auth saved for location.
func New(ctx context.Context, env source.Env, location string, session *record.Record) (*Source, error) {
	link, err := LinkOfLocation(location)
	if err != nil {
		return nil, fault.Wrap(fault.Permanent, err)
	}
	location = link.Location()
	store := state.Store{Dir: env.StateDir}
	if session == nil {
		session, err = store.Session(location)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fault.WithHint(fault.Auth, fmt.Errorf("no saved session for %s", location), AuthHint(link.Page))
		}
		if err != nil {
			return nil, fault.WithHint(fault.Auth, fmt.Errorf("read the saved session for %s: %w", location, err), AuthHint(link.Page))
		}
	}
	sess, err := sessionOf(session)
	if err != nil {
		return nil, fault.WithHint(fault.Auth, err, AuthHint(link.Page))
	}
	if sess.Link == "" {
		sess.Link = link.Page
	}
	base, err := url.Parse(sess.Base)
	if err != nil || (base.Scheme != "https" && base.Scheme != "http") || base.Host == "" {
		return nil, fault.WithHint(fault.Auth, fmt.Errorf("the session's base %q is not an http(s) URL", sess.Base), AuthHint(sess.Link))
	}
	log := env.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &client{
		base: base, sharingID: sess.SharingID, http: newHTTPClient(sess.Insecure),
		policy: retry.Default, hint: AuthHint(sess.Link), sid: sess.SID,
	}
	var pw rememberedPassword
	if err := store.LoadSecretJSON(location, secretName, &pw); err == nil && pw.Password != "" {
		c.renew = func(ctx context.Context) (string, error) { return c.login(ctx, pw.Password) }
		c.saved = func(sid string) {
			renewed := sess
			renewed.SID = sid
			if err := store.SaveSession(renewed.Record(location, time.Now())); err != nil {
				log.Warn("could not save the renewed session", "err", err)
			} else {
				log.Info("the share session had expired; signed in again with the remembered password")
			}
		}
	}
	return &Source{loc: location, c: c, log: log, idle: 2 * time.Minute}, nil
}

// Location is the redacted synology:// location.
func (s *Source) Location() string { return s.loc }

// Close drops idle connections.
func (s *Source) Close() error {
	s.c.http.CloseIdleConnections()
	return nil
}

// Open reads an item from offset with FolderSharing.Download (the web
// client's dlink URL) and a Range header. A 200 to a ranged request means
// the server restarted the file: Content.Offset is then 0.
func (s *Source) Open(ctx context.Context, item *record.Record, offset int64) (*source.Content, error) {
	p := item.ID
	if err := checkSharePath(p); err != nil {
		return nil, fault.Wrap(fault.Permanent, err)
	}
	target := s.downloadURL(p)
	if single, _ := item.Meta["single_file"].(bool); single {
		target = s.singleFileURL(p)
	}
	var content *source.Content
	_, err := s.c.policy.Do(ctx, func(int) error {
		return s.c.withSession(ctx, func(sid string) error {
			var err error
			content, err = s.download(ctx, sid, target, p, offset)
			if errors.Is(err, errRangeMismatch) {
				offset = 0 // never append to bytes from the wrong place
			}
			return err
		})
	})
	if err != nil {
		return nil, err
	}
	if content.ReadCloser != nil {
		content.ReadCloser = source.BindContext(ctx, content.ReadCloser)
	}
	return content, nil
}

// checkSharePath accepts only absolute, clean share paths: an item id
// from a record file is input, not trusted.
func checkSharePath(p string) error {
	if !strings.HasPrefix(p, "/") || p == "/" || strings.ContainsRune(p, 0) || path.Clean(p) != p {
		return fmt.Errorf("item id %q is not a path inside the share", p)
	}
	return nil
}

// downloadURL is variant A of docs/protocols/synology.md §5.1.
func (s *Source) downloadURL(sharePath string) string {
	u := s.c.base.JoinPath("/fsdownload/webapi/file_download.cgi", url.PathEscape(path.Base(sharePath))) // JoinPath takes escaped elements
	q := url.Values{
		"dlink":       {`"` + fmt.Sprintf("%x", sharePath) + `"`},
		"noCache":     {strconv.FormatInt(time.Now().UnixMilli(), 10)},
		"_sharing_id": {quote(s.c.sharingID)},
		"api":         {api.APIDownload},
		"version":     {"2"},
		"method":      {"download"},
		"mode":        {"download"},
		"stdhtml":     {"false"},
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// singleFileURL is variant D, for a share of one file.
func (s *Source) singleFileURL(sharePath string) string {
	return s.c.base.JoinPath("fsdownload", url.PathEscape(s.c.sharingID), url.PathEscape(path.Base(sharePath))).String()
}

func (s *Source) download(ctx context.Context, sid, target, sharePath string, offset int64) (*source.Content, error) {
	ctx, cancel := context.WithCancel(ctx)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		cancel()
		return nil, fault.Wrap(fault.Permanent, err)
	}
	s.c.decorate(req, sid)
	if offset > 0 {
		req.Header.Set("Range", "bytes="+strconv.FormatInt(offset, 10)+"-")
		source.SetIfRange(ctx, req, offset)
	}
	resp, err := s.c.http.Do(req)
	if err != nil {
		cancel()
		return nil, classifyNet(err)
	}
	content, err := s.content(resp, sharePath, offset)
	if err != nil {
		drain(resp.Body)
		cancel()
		return nil, err
	}
	content.ReadCloser = newIdleBody(resp.Body, s.idle, cancel)
	return content, nil
}

// content checks a download answer: the status, a JSON or HTML error page
// in place of bytes, the encoding, and the Content-Range of a 206.
func (s *Source) content(resp *http.Response, sharePath string, offset int64) (*source.Content, error) {
	what := "download " + sharePath
	switch resp.StatusCode {
	case http.StatusOK, http.StatusPartialContent:
	case http.StatusRequestedRangeNotSatisfiable:
		// "bytes */T" with T == offset: the file is already complete.
		if _, total, ok := parseContentRange(resp.Header.Get("Content-Range")); ok && total == offset && offset > 0 {
			return &source.Content{Offset: offset, Size: total}, nil
		}
		return nil, source.ErrBadRange
	default:
		return nil, classifyStatus(what, resp)
	}
	ctype := strings.ToLower(resp.Header.Get("Content-Type"))
	switch {
	case strings.HasPrefix(ctype, "application/json"), strings.HasPrefix(ctype, "text/json"):
		if err := decodeEnvelope(api.APIDownload, resp.Body, nil); err != nil {
			return nil, err
		}
		return nil, fault.Errorf(fault.Transient, "%s: the server sent a JSON answer instead of the file", what)
	case strings.HasPrefix(ctype, "text/html"):
		return nil, fault.Errorf(fault.Transient, "%s: the server sent an HTML page instead of the file (a relay or login page?)", what)
	}
	if enc := resp.Header.Get("Content-Encoding"); enc != "" && !strings.EqualFold(enc, "identity") {
		return nil, fault.Errorf(fault.Permanent, "%s: unexpected Content-Encoding %q", what, enc)
	}
	size := int64(-1)
	if resp.StatusCode == http.StatusOK {
		if resp.ContentLength >= 0 {
			size = resp.ContentLength
		}
		return &source.Content{Offset: 0, Size: size, Version: source.HTTPVersion(resp.Header)}, nil
	}
	start, total, ok := parseContentRange(resp.Header.Get("Content-Range"))
	if !ok || start != offset {
		return nil, fault.Wrap(fault.Transient, fmt.Errorf("%s: %w: asked for %d, got %q", what, errRangeMismatch, offset, resp.Header.Get("Content-Range")))
	}
	return &source.Content{Offset: offset, Size: total, Version: source.HTTPVersion(resp.Header)}, nil
}

// errRangeMismatch is a 206 whose bytes start elsewhere than asked: the
// next attempt starts the file over.
var errRangeMismatch = errors.New("the server answered a different range")

// parseContentRange reads "bytes N-M/T"; T may be "*" (total -1) and the
// range may be "*" (start -1, as a 416 sends it).
func parseContentRange(v string) (start, total int64, ok bool) {
	rest, found := strings.CutPrefix(strings.TrimSpace(v), "bytes ")
	rng, tot, found2 := strings.Cut(rest, "/")
	if !found || !found2 {
		return 0, 0, false
	}
	total = -1
	var err error
	if tot != "*" {
		if total, err = strconv.ParseInt(tot, 10, 64); err != nil {
			return 0, 0, false
		}
	}
	if rng == "*" {
		return -1, total, true
	}
	first, _, found := strings.Cut(rng, "-")
	if !found {
		return 0, 0, false
	}
	if start, err = strconv.ParseInt(first, 10, 64); err != nil {
		return 0, 0, false
	}
	return start, total, true
}

// idleBody is a download body that fails (transient) when the server
// stops sending for idle, instead of hanging forever on a stalled relay,
// and classifies read errors at the edge.
type idleBody struct {
	body    io.ReadCloser
	idle    time.Duration
	timer   *time.Timer
	cancel  context.CancelFunc
	stalled atomic.Bool
}

func newIdleBody(body io.ReadCloser, idle time.Duration, cancel context.CancelFunc) *idleBody {
	b := &idleBody{body: body, idle: idle, cancel: cancel}
	b.timer = time.AfterFunc(idle, func() { b.stalled.Store(true); cancel() })
	return b
}

func (b *idleBody) Read(p []byte) (int, error) {
	n, err := b.body.Read(p)
	b.timer.Reset(b.idle)
	switch {
	case err == nil, err == io.EOF:
		return n, err
	case b.stalled.Load():
		return n, fault.Errorf(fault.Transient, "the download stalled: nothing received for %s", b.idle)
	}
	return n, classifyNet(err)
}

func (b *idleBody) Close() error {
	b.timer.Stop()
	err := b.body.Close()
	b.cancel()
	return err
}

var _ source.Source = (*Source)(nil)
