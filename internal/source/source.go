// Package source defines the one contract every photo source implements, and
// the registry that maps a location or a record's "source" field to the
// package that serves it.
//
// A source lives in its own package under internal/source/<name> and is
// listed once in internal/source/all. The tools (ps-list, ps-fetch, ps-auth)
// only ever talk to this package: adding a source never touches them.
//
// Contract for implementations:
//
//   - List streams. It calls sink.Item once per file as it is found, from any
//     number of goroutines (the sink is safe for concurrent use), and never
//     collects the whole listing first. A part it cannot read (an unreadable
//     folder, an entry with a hostile name) goes to sink.Failure and the
//     listing carries on; List's own error is for problems that end the
//     listing (auth rejected, root missing). If a sink call returns an
//     error, List stops promptly and returns it unchanged. List returns when
//     ctx is done.
//   - Items carry type "item", the source's redacted location in "source",
//     a stable source-scoped "id", a slash-separated "path" relative to the
//     listed root, "name", "size", "mtime" (UTC) and "media". Secrets (sids,
//     tokens, passwords) never go into a record other than a session record.
//   - Open returns the bytes of an item from offset. When the source cannot
//     honour the offset (an HTTP server answering 200 to a Range request) it
//     returns Content.Offset 0 and the caller restarts the file. It reports
//     the version of the bytes in Content.Version where it can, honours
//     WithIfRange (HTTP sources send If-Range), and its reader fails once
//     ctx is done (BindContext). A range the
//     server rejects as unsatisfiable is ErrBadRange. A vanished item is
//     fault.NotFound; an expired session is fault.Auth with a Hint naming
//     the ps-auth command to run.
//   - Every error that leaves a source is classified with fault.Wrap at the
//     protocol edge (the source's classify function). Sources retry single
//     requests (a page, a stat) through internal/retry; ps-fetch retries
//     whole items.
package source

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"time"

	"github.com/ps-photos/ps/internal/fault"
	"github.com/ps-photos/ps/internal/record"
)

// Source is a photo collection that can be listed and read.
type Source interface {
	// Location is the redacted location written into records' "source"
	// field: no passwords, sids or tokens.
	Location() string
	// List streams the items under the location the source was opened with.
	List(ctx context.Context, opts ListOptions, sink Sink) error
	// Open returns an item's bytes starting at offset (see Content).
	Open(ctx context.Context, item *record.Record, offset int64) (*Content, error)
	// Close releases connections. A source is used by one tool run.
	Close() error
}

// Sink receives what List finds. Implementations are safe for concurrent use.
type Sink interface {
	// Item takes one item record.
	Item(rec *record.Record) error
	// Failure reports a part of the listing that could not be read. rec names
	// it (source and path at least); err is classified.
	Failure(rec *record.Record, err error) error
}

// ListOptions are ps-list's shared listing options, which several sources
// honour, plus the listing flags of the source being listed. ps-list
// refuses a shared option the source's Factory.Honours does not name, so a
// source never has to guess whether an option it ignores was given.
type ListOptions struct {
	Jobs         int       // concurrent requests or folder reads (a hint every source may use)
	Folder       string    // start below the root (Honours.Folder)
	Hash         string    // "sha256": read each file and add its hash (Honours.Hash)
	Since, Until time.Time // push-down of date ranges (Honours.Dates)
	// Flags is the source's own listing flags: the value its
	// Factory.ListFlags returned, filled in from the command line, or nil
	// (a test or a tool listing with defaults). Read it with FlagsOf.
	Flags any
}

// FlagsOf returns opts.Flags as the source's flag struct *T, or def when
// the caller gave none (def holds the defaults the kong tags declare).
func FlagsOf[T any](opts ListOptions, def *T) *T {
	if f, ok := opts.Flags.(*T); ok && f != nil {
		return f
	}
	return def
}

// Honours names the shared listing options a source applies. ps-list
// refuses the others for the source's locations (exit 2) rather than
// silently list everything.
type Honours struct {
	Folder bool // --folder
	Hash   bool // --hash
	Dates  bool // --since and --until
}

// ChangeLister is a source that can list only what changed since an
// earlier listing (ps-list --changes-since).
type ChangeLister interface {
	// ListChanges lists what changed since the state an earlier call
	// returned (nil: everything, as List does). Changed and new items go
	// to sink.Item as List sends them; items the location no longer shows
	// (deleted, trashed, hidden) go to sink.Item as records of type
	// "gone". It returns the state to give the next call, which the
	// caller saves only once the listing's end record is written (a run
	// that dies before that lists the same changes again), and whether
	// the listing was incremental: false when it was a full listing (no
	// state yet, or the source refused the old one). A location that
	// cannot be listed this way is a UsageError, returned before anything
	// is listed.
	ListChanges(ctx context.Context, opts ListOptions, since []byte, sink Sink) (next []byte, incremental bool, err error)
}

// Content is an open item.
type Content struct {
	io.ReadCloser
	// Offset is where the returned bytes start: the offset asked for, or 0
	// when the source had to restart.
	Offset int64
	// Size is the item's full size as the source reports it, or -1.
	Size int64
	// Version names the version of the item these bytes are of (see
	// HTTPVersion, FileVersion), or "" when the source cannot tell.
	Version string
	// ModTime is the item's modification time as the source reports it
	// (HTTP Last-Modified), or zero; ps-fetch uses it when the record has
	// no mtime.
	ModTime time.Time
}

// Describer is a source that can find metadata a record lacks before the
// item is fetched (plain HTTP: the mtime, from a HEAD request's
// Last-Modified). ps-fetch asks when the file's name is made from it.
type Describer interface {
	Describe(ctx context.Context, item *record.Record) error
}

// ErrBadRange means the source rejected the offset (HTTP 416): the caller
// checks the size and restarts from 0.
var ErrBadRange = errors.New("requested range not satisfiable")

// Env is what a tool hands a source.
type Env struct {
	// StateDir holds sessions and saved credentials ($XDG_STATE_HOME/ps).
	StateDir string
	Log      *slog.Logger
}

// Factory opens sources of one kind. Exactly one of Schemes matches a
// location: "smb" matches "smb://…", "takeout" matches "takeout:…", and
// "file" also matches plain paths.
type Factory struct {
	// Name is the source's name, as in "ps-auth NAME".
	Name string
	// Schemes are the location prefixes (before ':') this factory serves.
	Schemes []string
	// Help is one line for ps-list --help.
	Help string
	// New opens the source at location (a ps-list argument or a record's
	// "source" field). session is the session record piped into ps-list,
	// or nil: sources then read their saved session from env.StateDir.
	New func(ctx context.Context, env Env, location string, session *record.Record) (Source, error)
	// Claims, when set, says whether the factory serves a location whose
	// scheme belongs to another (a https://gofile.me/… share link is a
	// Synology share, not a plain web page). Claims are asked before
	// schemes.
	Claims func(location string) bool
	// Honours names the shared ps-list options the source applies.
	Honours Honours
	// ListFlags, when set, returns a new kong flag struct of the source's
	// own ps-list flags (the iCloud library, the Takeout root, …). ps-list
	// shows them under the source's name in --help, refuses them for other
	// sources' locations, and passes the filled struct in
	// ListOptions.Flags. Flag names must not clash with another source's.
	ListFlags func() any
	// Auth, when set, is the kong command struct of "ps-auth NAME"; its
	// Run method takes an *AuthEnv.
	Auth func() any
}

// AuthEnv is what a ps-auth subcommand's Run receives.
type AuthEnv struct {
	Ctx   context.Context
	Env   Env
	Out   *record.Encoder
	Stdin io.Reader
	Err   io.Writer
}

// BindContext returns rc with reads that fail once ctx is done. Open uses
// it so that Ctrl-C (or ps-fetch's idle timeout) stops a copy in flight:
// a local file or a body already buffered would otherwise be read to its
// end whatever the context says.
func BindContext(ctx context.Context, rc io.ReadCloser) io.ReadCloser {
	return &ctxReader{ReadCloser: rc, ctx: ctx}
}

type ctxReader struct {
	io.ReadCloser
	ctx context.Context
}

func (r *ctxReader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, fault.Wrap(fault.Canceled, err)
	}
	return r.ReadCloser.Read(p)
}
