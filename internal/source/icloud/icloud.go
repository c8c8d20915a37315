// Package icloud is the iCloud Photos source: Apple's SRP sign-in with
// two-factor authentication (ps-auth icloud), and listing and downloading
// through the Photos CloudKit service, following
// docs/protocols/icloud.md.
//
// Locations:
//
//	icloud:                     the whole library (without hidden and deleted)
//	icloud:album/NAME           a user album
//	icloud:favorites            a smart folder (videos, screenshots, live, …)
//	icloud:library/ZONE/…       the same in another library (see --library)
package icloud

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"path"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/ps-photos/ps/internal/fault"
	"github.com/ps-photos/ps/internal/record"
	"github.com/ps-photos/ps/internal/source"
	"github.com/ps-photos/ps/internal/state"
)

// Factory registers the iCloud source.
var Factory = source.Factory{
	Name:    "icloud",
	Schemes: []string{"icloud"},
	Help:    "iCloud Photos (icloud:, icloud:album/NAME, icloud:favorites, …)",
	New: func(ctx context.Context, env source.Env, location string, session *record.Record) (source.Source, error) {
		return Open(ctx, env, location, session)
	},
	Auth:      func() any { return &AuthCommand{} },
	Honours:   source.Honours{Dates: true},
	ListFlags: func() any { return &ListFlags{} },
}

// ListFlags are the iCloud source's own ps-list flags.
type ListFlags struct {
	Size          []string `name:"variant" aliases:"size" placeholder:"VARIANT" help:"Size variants to list: original, medium, thumb, adjusted, alternative (default: original). --size is the old name."`
	Library       string   `placeholder:"NAME" help:"Library to list: personal or shared (default: personal)."`
	LivePhotos    string   `enum:",skip,include,only" default:"" placeholder:"skip|include|only" help:"Live photos' video parts: skip, include or only (default: include)."`
	ListAlbums    bool     `help:"List albums instead of items."`
	ListLibraries bool     `help:"List libraries instead of items."`
}

// Location is a parsed icloud: location.
type Location struct {
	Library string // "" personal, "shared", or a zone name
	Album   string // user album name
	Smart   string // smart folder name
}

// ParseLocation reads icloud:[library/LIB/][album/NAME|SMART].
func ParseLocation(s string) (Location, error) {
	rest, ok := strings.CutPrefix(s, "icloud:")
	if !ok {
		return Location{}, fault.Errorf(fault.Permanent, "%q is not an icloud: location", s)
	}
	rest = strings.TrimPrefix(rest, "//")
	var loc Location
	if lib, ok := strings.CutPrefix(rest, "library/"); ok {
		name, after, _ := strings.Cut(lib, "/")
		loc.Library, rest = name, after
	}
	switch {
	case rest == "" || rest == "/":
	case strings.HasPrefix(rest, "album/"):
		loc.Album = strings.TrimPrefix(rest, "album/")
	default:
		name := strings.Trim(strings.ToLower(rest), "/")
		if _, ok := smartFolders[name]; !ok {
			var names []string
			for k := range smartFolders {
				names = append(names, k)
			}
			sort.Strings(names)
			return Location{}, fault.Errorf(fault.Permanent, "unknown iCloud folder %q: use icloud:, icloud:album/NAME or one of icloud:%s", rest, strings.Join(names, ", icloud:"))
		}
		loc.Smart = name
	}
	return loc, nil
}

// String is the canonical location.
func (l Location) String() string {
	s := "icloud:"
	if l.Library != "" && l.Library != "personal" {
		s += "library/" + l.Library + "/"
	}
	switch {
	case l.Album != "":
		s += "album/" + l.Album
	case l.Smart != "":
		s += l.Smart
	}
	return s
}

// Source lists and reads one account's photos.
type Source struct {
	loc  Location
	acct *Account
	ck   *ck
	c    *client
	env  source.Env

	// Download URLs found by re-querying (Open), by item id; used once.
	mu      sync.Mutex
	urls    map[string]string
	queries map[zone]listQuery
	refresh singleflight.Group
	// pageSize is positions per page (records = 2×).
	pageSize int
}

// Open opens location with the session record given, or the saved one.
func Open(ctx context.Context, env source.Env, location string, session *record.Record) (*Source, error) {
	loc, err := ParseLocation(location)
	if err != nil {
		return nil, err
	}
	if session == nil || session.Source != SessionSource {
		session, err = state.Store{Dir: env.StateDir}.Session(SessionSource)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fault.WithHint(fault.Auth, errors.New("not signed in to iCloud"), authHint("", ""))
		}
		if err != nil {
			return nil, fault.WithHint(fault.Auth, fmt.Errorf("read the saved iCloud session: %w", err), authHint("", ""))
		}
	}
	acct, err := accountFromSession(session)
	if err != nil {
		return nil, err
	}
	hint := authHint(acct.Username, acct.Domain)
	if err := checkTrust(env, acct, time.Now(), hint); err != nil {
		return nil, err
	}
	c := newClient(env.Log, hint)
	return &Source{loc: loc, acct: acct, ck: newCK(c, acct), c: c, env: env, urls: map[string]string{}, queries: map[zone]listQuery{}, pageSize: 100}, nil
}

// checkTrust warns when the trust token is about to expire and refuses
// when it has: Apple will then ask for a code again.
func checkTrust(env source.Env, acct *Account, now time.Time, hint string) error {
	if acct.TrustExpires.IsZero() {
		return nil
	}
	left := acct.TrustExpires.Sub(now)
	switch {
	case left <= 0:
		return fault.WithHint(fault.Auth, fmt.Errorf("the iCloud sign-in of %s expired on %s", acct.Username, acct.TrustExpires.Format(time.DateOnly)), hint)
	case left < trustWarning && env.Log != nil:
		env.Log.Warn(fmt.Sprintf("icloud: the sign-in of %s expires in %d day(s) (%s): run %q soon", acct.Username,
			int(left.Hours()/24)+1, acct.TrustExpires.Format(time.DateOnly), hint))
	}
	return nil
}

// Location is the source's location.
func (s *Source) Location() string { return s.loc.String() }

// Close has nothing to release.
func (s *Source) Close() error {
	s.c.http.CloseIdleConnections()
	s.c.download.CloseIdleConnections()
	return nil
}

// zone is a library: a zone in the private or shared database.
type zone struct{ db, name string }

// zones lists the libraries of both databases.
func (s *Source) zones(ctx context.Context) ([]zone, error) {
	var out []zone
	for _, db := range []string{"private", "shared"} {
		var resp struct {
			Zones []struct {
				ZoneID struct {
					ZoneName string `json:"zoneName"`
				} `json:"zoneID"`
				Deleted bool `json:"deleted"`
			} `json:"zones"`
		}
		if err := s.ck.post(ctx, db, "zones/list", false, map[string]any{}, &resp); err != nil {
			if db == "shared" && fault.ClassOf(err) == fault.NotFound {
				continue
			}
			return nil, err
		}
		for _, z := range resp.Zones {
			if !z.Deleted {
				out = append(out, zone{db: db, name: z.ZoneID.ZoneName})
			}
		}
	}
	return out, nil
}

// resolveZone finds the library to list: PrimarySync, the shared library,
// or a zone named outright.
func (s *Source) resolveZone(ctx context.Context, lib string) (zone, error) {
	if lib == "" || lib == "personal" || lib == "PrimarySync" {
		return zone{db: "private", name: "PrimarySync"}, nil
	}
	zones, err := s.zones(ctx)
	if err != nil {
		return zone{}, err
	}
	for _, z := range zones {
		if z.name == lib || (lib == "shared" && strings.HasPrefix(z.name, "SharedSync-")) {
			return z, nil
		}
	}
	return zone{}, fault.Errorf(fault.NotFound, "no iCloud library %q (see ps-list icloud: --list-libraries)", lib)
}

// checkIndexing refuses to list a library Apple is still indexing.
func (s *Source) checkIndexing(ctx context.Context, z zone) error {
	var resp queryResponse
	body := map[string]any{"query": map[string]any{"recordType": "CheckIndexingState"}, "zoneID": map[string]any{"zoneName": z.name}}
	if err := s.ck.post(ctx, z.db, "records/query", true, body, &resp); err != nil {
		return err
	}
	if len(resp.Records) > 0 {
		if st := resp.Records[0].str("state"); st != "" && st != "FINISHED" {
			return fault.Errorf(fault.Transient, "iCloud has not finished indexing the library %s (%s): try again later", z.name, st)
		}
	}
	return nil
}

// album is a user album.
type album struct {
	record, name, parent string
	folder               bool
}

func (s *Source) albums(ctx context.Context, z zone) ([]album, error) {
	var out []album
	marker := ""
	for range 1000 {
		body := map[string]any{"query": map[string]any{"recordType": "CPLAlbumByPositionLive"}, "zoneID": map[string]any{"zoneName": z.name}}
		if marker != "" {
			body["continuationMarker"] = marker
		}
		var resp queryResponse
		if err := s.ck.post(ctx, z.db, "records/query", true, body, &resp); err != nil {
			return nil, err
		}
		for _, r := range resp.Records {
			if r.RecordType != "CPLAlbum" || r.int("isDeleted") == 1 || r.Deleted || strings.HasPrefix(r.RecordName, "----") {
				continue
			}
			name, _ := decodeB64Name(r.str("albumNameEnc"))
			out = append(out, album{record: r.RecordName, name: name, parent: r.str("parentId"), folder: r.int("albumType") == 3})
		}
		if resp.ContinuationMarker == "" || len(resp.Records) == 0 || resp.ContinuationMarker == marker {
			break
		}
		marker = resp.ContinuationMarker
	}
	return out, nil
}

func decodeB64Name(s string) (string, bool) {
	b, err := base64Std(s)
	if err != nil {
		return s, false
	}
	return string(b), true
}

// query resolves the location to the index to page through.
func (s *Source) query(ctx context.Context, z zone) (listQuery, error) {
	switch {
	case s.loc.Smart != "":
		return smartFolders[s.loc.Smart], nil
	case s.loc.Album != "":
		albums, err := s.albums(ctx, z)
		if err != nil {
			return listQuery{}, err
		}
		for _, a := range albums {
			if a.name == s.loc.Album && !a.folder {
				return albumQuery(a.record), nil
			}
		}
		return listQuery{}, fault.Errorf(fault.NotFound, "no iCloud album %q (see ps-list icloud: --list-albums)", s.loc.Album)
	}
	return allPhotos, nil
}

// count asks how many positions an index has.
func (s *Source) count(ctx context.Context, z zone, q listQuery) (int, error) {
	body := map[string]any{"batch": []any{map[string]any{
		"resultsLimit": 1, "zoneWide": true, "zoneID": map[string]any{"zoneName": z.name},
		"query": map[string]any{"recordType": "HyperionIndexCountLookup", "filterBy": map[string]any{
			"fieldName": "indexCountID", "comparator": "IN",
			"fieldValue": map[string]any{"type": "STRING_LIST", "value": []string{q.countID}}}},
	}}}
	var resp struct {
		Batch []queryResponse `json:"batch"`
	}
	if err := s.ck.post(ctx, z.db, "internal/records/query/batch", true, body, &resp); err != nil {
		return 0, err
	}
	if len(resp.Batch) == 0 || len(resp.Batch[0].Records) == 0 {
		return 0, nil
	}
	return int(resp.Batch[0].Records[0].int("itemCount")), nil
}

// locationFor is the location written into items listed with opts.
func (s *Source) locationFor(lib string) string {
	l := s.loc
	if lib != "" {
		l.Library = lib
	}
	return l.String()
}

// List pages through the location's index (see list.go).
func (s *Source) List(ctx context.Context, opts source.ListOptions, sink source.Sink) error {
	if err := ctx.Err(); err != nil {
		return fault.Wrap(fault.Canceled, err)
	}
	flags := source.FlagsOf(opts, &ListFlags{})
	lib := flags.Library
	if lib == "" {
		lib = s.loc.Library
	}
	if flags.ListLibraries {
		return s.listLibraries(ctx, sink)
	}
	z, err := s.resolveZone(ctx, lib)
	if err != nil {
		return err
	}
	if err := s.checkIndexing(ctx, z); err != nil {
		return err
	}
	if flags.ListAlbums {
		return s.listAlbums(ctx, z, lib, sink)
	}
	q, err := s.query(ctx, z)
	if err != nil {
		return err
	}
	rules, err := newItemRules(opts, flags)
	if err != nil {
		return err
	}
	l := &lister{src: s, z: z, q: q, rules: rules, sink: sink, location: s.locationFor(lib), opts: opts, seen: map[string]bool{}}
	return l.run(ctx)
}

func (s *Source) listLibraries(ctx context.Context, sink source.Sink) error {
	zones, err := s.zones(ctx)
	if err != nil {
		return err
	}
	for _, z := range zones {
		lib := z.name
		if z.name == "PrimarySync" {
			lib = ""
		}
		loc := Location{Library: lib}
		rec := record.NewLibrary(loc.String(), z.name, z.name)
		rec.Meta = map[string]any{"zone": z.name, "database": z.db, "shared": strings.HasPrefix(z.name, "SharedSync-")}
		if err := sink.Item(rec); err != nil {
			return err
		}
	}
	return nil
}

func (s *Source) listAlbums(ctx context.Context, z zone, lib string, sink source.Sink) error {
	albums, err := s.albums(ctx, z)
	if err != nil {
		return err
	}
	for _, a := range albums {
		if a.folder {
			continue
		}
		loc := Location{Library: lib, Album: a.name}
		var count *int64
		if n, err := s.count(ctx, z, albumQuery(a.record)); err == nil {
			count = new(int64(n))
		}
		rec := record.NewAlbum(loc.String(), a.record, a.name, count)
		rec.Meta = map[string]any{"zone": z.name}
		if a.parent != "" {
			rec.Meta[record.MetaParentFolder] = a.parent
		}
		if err := sink.Item(rec); err != nil {
			return err
		}
	}
	return nil
}

// Open returns an item's bytes from offset. The download URL comes from
// the asset's CloudKit record, looked up again by the item's rank; an
// expired URL (410, or 403 from the CDN) is looked up once more.
func (s *Source) Open(ctx context.Context, item *record.Record, offset int64) (*source.Content, error) {
	for attempt := 1; ; attempt++ {
		u, err := s.downloadURL(ctx, item, attempt > 1)
		if err != nil {
			return nil, err
		}
		c, err := s.get(ctx, u, offset)
		if err == nil {
			c.ReadCloser = source.BindContext(ctx, c.ReadCloser)
			return c, nil
		}
		if st := statusOf(err); (st == http.StatusGone || st == http.StatusForbidden) && attempt < 3 {
			s.c.log.Debug("icloud: download URL expired; looking it up again", "id", item.ID)
			continue
		}
		return nil, err
	}
}

// get downloads u from offset.
func (s *Source) get(ctx context.Context, u string, offset int64) (*source.Content, error) {
	var content *source.Content
	_, err := s.c.policy.Do(ctx, func(int) error {
		if err := s.c.waitPause(ctx); err != nil {
			return err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return fault.Wrap(fault.Permanent, err)
		}
		req.Header.Set("User-Agent", userAgent)
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", offset))
		source.SetIfRange(ctx, req, offset)
		resp, err := s.c.download.Do(req)
		if err != nil {
			return classifyNet("download", err)
		}
		switch resp.StatusCode {
		case http.StatusOK, http.StatusPartialContent:
			content = &source.Content{ReadCloser: resp.Body, Size: -1, Version: source.HTTPVersion(resp.Header)}
			if resp.StatusCode == http.StatusPartialContent {
				content.Offset = offset
				content.Size = contentRangeSize(resp.Header.Get("Content-Range"))
			} else {
				content.Size = resp.ContentLength
			}
			return nil
		case http.StatusRequestedRangeNotSatisfiable:
			resp.Body.Close()
			// Asking for the bytes from the very end (a finished file, an
			// empty one) is not an error: there is simply nothing left.
			if total := contentRangeSize(resp.Header.Get("Content-Range")); total == offset {
				content = &source.Content{ReadCloser: io.NopCloser(strings.NewReader("")), Offset: offset, Size: total}
				return nil
			}
			return source.ErrBadRange
		}
		body := make([]byte, 512)
		n, _ := resp.Body.Read(body)
		resp.Body.Close()
		err = classify("download", resp, body[:n], s.c.hint)
		if resp.StatusCode == http.StatusGone || resp.StatusCode == http.StatusForbidden {
			// An expired URL: not a reason to retry the same URL.
			return fault.Wrap(fault.NotFound, err)
		}
		if t := fault.RetryAfterOf(err); !t.IsZero() {
			s.c.pause(t)
		}
		return err
	})
	return content, err
}

func contentRangeSize(v string) int64 {
	_, total, ok := strings.Cut(v, "/")
	if !ok {
		return -1
	}
	var n int64
	if _, err := fmt.Sscan(total, &n); err != nil {
		return -1
	}
	return n
}

// splitID splits an item id into the asset record name and the variant.
func splitID(id string) (asset, variant string) {
	if i := strings.LastIndexByte(id, '~'); i > 0 {
		return id[:i], id[i+1:]
	}
	return id, "original"
}

// itemID is the id of one variant of an asset.
func itemID(asset, variant string) string {
	if variant == "original" {
		return asset
	}
	return asset + "~" + variant
}

func stem(name string) string { return strings.TrimSuffix(name, path.Ext(name)) }
