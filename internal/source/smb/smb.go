// Package smb is the source for SMB shares (a NAS, a Windows PC), through
// github.com/cloudsoda/go-smb2: the maintained fork of hirochachacha/go-smb2
// (which the module proxy no longer serves and which is dormant), the one
// rclone's SMB backend uses.
//
// Locations are smb://[user@]host[:port]/share[/path]. Credentials come
// from ps-auth smb, which saves them mode 0600 in the state folder (as a
// mount.cifs credentials file), or from PS_PASSWORD. Item ids are paths
// within the share, so a record opens the same file whatever folder was
// listed.
package smb

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path"
	"strings"
	"time"

	smb2 "github.com/cloudsoda/go-smb2"

	"github.com/ps-photos/ps/internal/fault"
	"github.com/ps-photos/ps/internal/record"
	"github.com/ps-photos/ps/internal/retry"
	"github.com/ps-photos/ps/internal/source"
	"github.com/ps-photos/ps/internal/state"
)

// Factory registers the SMB source.
var Factory = source.Factory{
	Name:    "smb",
	Schemes: []string{"smb"},
	Help:    "an SMB share: smb://[user@]host[:port]/share[/path]",
	New: func(_ context.Context, env source.Env, location string, session *record.Record) (source.Source, error) {
		s, err := FromLocation(env, location, session)
		if err != nil {
			return nil, err // a nil interface, not a nil *Source
		}
		return s, nil
	},
	Auth:    func() any { return &AuthCommand{} },
	Honours: source.Honours{Folder: true, Hash: true},
}

// DefaultConns is how many connections a source opens at most when
// nothing asks for more (ps-fetch reads several files at once through one
// source).
const DefaultConns = 8

// policy retries single requests. A restarting server needs a few seconds,
// so it is more patient than retry.Default.
var policy = retry.Policy{Attempts: 8, Base: 250 * time.Millisecond, Max: 4 * time.Second, MaxWait: time.Minute}

// Source lists and reads one SMB share (or a folder of it).
type Source struct {
	cfg    Config
	pool   *pool
	policy retry.Policy
	// ReadAhead is how many reads of one file are in flight at once (see
	// read.go); 1 reads strictly in turn.
	ReadAhead int
	// ChunkSize is the size of one read request.
	ChunkSize int
	// FolderTimeout bounds one attempt at reading a folder.
	FolderTimeout time.Duration
}

// FromLocation opens the source at location, signing in with the saved
// credentials of its share (or PS_PASSWORD). A session record's location
// is used when location is empty.
func FromLocation(env source.Env, location string, session *record.Record) (*Source, error) {
	if location == "" && session != nil {
		location = session.Source
	}
	cfg, err := ParseLocation(location)
	if err != nil {
		return nil, err
	}
	creds, err := loadCredentials(env, cfg)
	if err != nil {
		return nil, err
	}
	return New(cfg, creds), nil
}

// New returns a source for cfg that signs in with creds.
func New(cfg Config, creds Credentials) *Source {
	return &Source{
		cfg: cfg, pool: newPool(cfg, creds, DefaultConns), policy: policy,
		ReadAhead: defaultReadAhead, ChunkSize: defaultChunk, FolderTimeout: DefaultFolderTimeout,
	}
}

// loadCredentials finds what ps-auth smb saved for the share (for this
// user, or for the share when the location names no user), else takes
// PS_PASSWORD for the location's user.
func loadCredentials(env source.Env, cfg Config) (Credentials, error) {
	var creds Credentials
	store := state.Store{Dir: env.StateDir}
	keys := []string{cfg.ShareLocation()}
	if cfg.User == "" {
		keys = []string{cfg.hostShare()}
	}
	for _, k := range keys {
		err := store.LoadSecretJSON(k, credentialsName, &creds)
		if err == nil {
			return creds, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return creds, fault.Errorf(fault.Local, "read saved credentials for %s: %v", k, err)
		}
	}
	if pw, ok := os.LookupEnv("PS_PASSWORD"); ok && cfg.User != "" {
		return Credentials{Username: cfg.User, Password: pw, Domain: cfg.Domain}, nil
	}
	return creds, fault.WithHint(fault.Auth, errors.New("no saved credentials for "+cfg.ShareLocation()+" (sign in with ps-auth smb, or set PS_PASSWORD)"), cfg.Hint())
}

// Location is the redacted, canonical location.
func (s *Source) Location() string { return s.cfg.Location() }

// Close drops every connection.
func (s *Source) Close() error {
	s.pool.close()
	return nil
}

// do runs fn on a pooled connection, retrying transient failures on a
// fresh connection. fn's errors are classified here; a sink error comes
// back as the *sinkError fn returned, for List to unwrap.
//
// timeout bounds one attempt (0: no bound): a server that stops answering
// without closing the connection would otherwise hang the walk. An attempt
// that times out drops its connection, which may be the hung one.
func (s *Source) do(ctx context.Context, timeout time.Duration, fn func(share *smb2.Share) error) error {
	_, err := s.policy.Do(ctx, func(int) error {
		if err := ctx.Err(); err != nil {
			return fault.Wrap(fault.Canceled, err)
		}
		c, err := s.pool.get(ctx)
		if err != nil {
			return err
		}
		actx, cancel := ctx, context.CancelFunc(func() {})
		if timeout > 0 {
			actx, cancel = context.WithTimeout(ctx, timeout)
		}
		err = fn(c.share.WithContext(actx))
		cancel()
		if err != nil && ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
			err = &hungError{err}
		}
		s.pool.put(c, err)
		if isSinkError(err) {
			return fault.Wrap(fault.Permanent, err) // never retried
		}
		if ctx.Err() != nil && err != nil {
			return fault.Wrap(fault.Canceled, ctx.Err())
		}
		return classify(s.cfg, err)
	})
	var se *sinkError
	if errors.As(err, &se) {
		return se
	}
	return err
}

// hungError is a request that got no answer in time: the connection is
// dropped and the request retried on a fresh one.
type hungError struct{ err error }

func (e *hungError) Error() string { return "no answer from the server: " + e.err.Error() }
func (e *hungError) Unwrap() error { return e.err }

// unwrapSink returns the sink's own error unchanged, as the Source
// contract wants.
func unwrapSink(err error) error {
	var se *sinkError
	if errors.As(err, &se) {
		return se.err
	}
	return err
}

// sharePath turns a slash path within the share into go-smb2's form.
func sharePath(p string) string {
	return strings.ReplaceAll(p, "/", `\`)
}

// itemPath is the share path an item names: its id, else the listed
// folder joined with its path.
func (s *Source) itemPath(item *record.Record) (string, error) {
	p := item.ID
	if p == "" && item.Path != "" {
		p = path.Join(s.cfg.Folder, item.Path)
	}
	clean := path.Clean(p)
	if p == "" || clean != p || !isLocal(p) {
		return "", fault.Errorf(fault.Permanent, "item id %q is not a path inside share %s", p, s.cfg.Share)
	}
	return p, nil
}

var _ source.Source = (*Source)(nil)
