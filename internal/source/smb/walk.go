package smb

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path"
	"strings"
	"sync"
	"time"

	smb2 "github.com/cloudsoda/go-smb2"

	"github.com/ps-photos/ps/internal/fault"
	"github.com/ps-photos/ps/internal/record"
	"github.com/ps-photos/ps/internal/source"
)

// maxConns caps the connections one run opens, whatever -j says: each is
// a process on the server.
const maxConns = 32

// DefaultFolderTimeout bounds the reading of one folder (a listing of
// 100,000 names takes seconds).
const DefaultFolderTimeout = 3 * time.Minute

// List walks the share below the location's folder (and opts.Folder),
// reading opts.Jobs folders at once, each on its own connection, and
// streams items as folders are read. A folder that cannot be read becomes
// a failure record and the walk goes on; a dropped connection is dialed
// again and the folder re-read, skipping what was already sent.
func (s *Source) List(ctx context.Context, opts source.ListOptions, sink source.Sink) error {
	start := ""
	if opts.Folder != "" {
		start = path.Clean(opts.Folder)
		if !isLocal(start) {
			return fault.Errorf(fault.Permanent, "--folder %q leaves the share", opts.Folder)
		}
		if start == "." {
			start = ""
		}
	}
	if opts.Hash != "" && opts.Hash != "sha256" {
		return fault.Errorf(fault.Permanent, "hash %q is not supported (sha256 is)", opts.Hash)
	}
	if err := s.checkFolder(ctx, start); err != nil {
		return err
	}
	jobs := min(max(opts.Jobs, 1), maxConns)
	s.pool.grow(jobs)
	w := &walker{src: s, opts: opts, sink: sink}
	return unwrapSink(w.run(ctx, start, jobs))
}

// checkFolder makes sure the walk's first folder exists and is a folder,
// so a wrong location or rejected sign-in ends List with its error.
func (s *Source) checkFolder(ctx context.Context, rel string) error {
	sp := path.Join(s.cfg.Folder, rel)
	return s.do(ctx, time.Minute, func(share *smb2.Share) error {
		st, err := share.Stat(sharePath(sp))
		if err != nil {
			return errorf(s.cfg, err, "folder %q of share %s", sp, s.cfg.Share)
		}
		if !st.IsDir() {
			return fault.Errorf(fault.Permanent, "%q of share %s is not a folder", sp, s.cfg.Share)
		}
		return nil
	})
}

type walker struct {
	src  *Source
	opts source.ListOptions
	sink source.Sink
}

// run reads folders with a pool of jobs goroutines; the queue is a stack,
// so the walk goes deep first and memory stays small.
func (w *walker) run(ctx context.Context, start string, jobs int) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu      sync.Mutex
		cond    = sync.NewCond(&mu)
		queue   = []string{start}
		running = 0
		first   error
	)
	var wg sync.WaitGroup
	for range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				for len(queue) == 0 && running > 0 && first == nil {
					cond.Wait()
				}
				if len(queue) == 0 || first != nil {
					mu.Unlock()
					cond.Broadcast()
					return
				}
				dir := queue[len(queue)-1]
				queue = queue[:len(queue)-1]
				running++
				mu.Unlock()

				subdirs, err := w.readDir(ctx, dir)

				mu.Lock()
				running--
				if err != nil && first == nil {
					first = err
					cancel()
				}
				queue = append(queue, subdirs...)
				mu.Unlock()
				cond.Broadcast()
			}
		}()
	}
	wg.Wait()
	return first
}

// readDir emits the files of one folder (relative to the location) and
// returns its subfolders. Only sink errors and cancellation are returned;
// anything else becomes a failure record for the folder.
func (w *walker) readDir(ctx context.Context, dir string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, fault.Wrap(fault.Canceled, err)
	}
	sp := path.Join(w.src.cfg.Folder, dir)
	done := map[string]bool{} // names handled, kept across retries
	var subdirs []string
	// Hashing reads whole files inside the attempt: no time bound then.
	timeout := w.src.FolderTimeout
	if w.opts.Hash != "" {
		timeout = 0
	}
	err := w.src.do(ctx, timeout, func(share *smb2.Share) error {
		f, err := share.Open(sharePath(sp))
		if err != nil {
			return err
		}
		defer f.Close()
		for {
			infos, rerr := f.Readdir(256)
			for _, fi := range infos {
				name := fi.Name()
				if done[name] {
					continue
				}
				done[name] = true
				if !safeName(name) {
					rec := &record.Record{Type: record.TypeFailure, Source: w.src.Location(), Path: path.Join(dir, name)}
					if err := w.sink.Failure(rec, fault.Errorf(fault.Permanent, "unsafe name %q in %q", name, sp)); err != nil {
						return &sinkError{err}
					}
					continue
				}
				if fi.IsDir() {
					subdirs = append(subdirs, path.Join(dir, name))
					continue
				}
				if err := w.file(ctx, share, dir, fi); err != nil {
					delete(done, name) // not sent: the retry sends it
					return err
				}
			}
			if rerr == io.EOF || (rerr == nil && len(infos) == 0) {
				return nil
			}
			if rerr != nil {
				return rerr
			}
		}
	})
	switch {
	case err == nil:
		return subdirs, nil
	case isSinkError(err), fault.ClassOf(err) == fault.Canceled:
		return nil, err
	case fault.ClassOf(err) == fault.Auth:
		// Signing in failed (the password changed, the account was
		// locked): every other folder would fail the same way.
		return nil, err
	}
	if ctx.Err() != nil {
		return nil, fault.Wrap(fault.Canceled, ctx.Err())
	}
	rec := &record.Record{Type: record.TypeFailure, Source: w.src.Location(), Path: dir, Meta: map[string]any{"folder": true}}
	if dir == "" {
		rec.Path = "."
	}
	if serr := w.sink.Failure(rec, err); serr != nil {
		return nil, &sinkError{serr}
	}
	return subdirs, nil // what was found before the error is still walked
}

// file emits the item for one directory entry, hashing it when asked. A
// sink error comes back as a sinkError; a hash that fails on a broken
// connection comes back as is, so the folder is retried; any other hash
// failure becomes the item's failure record.
func (w *walker) file(ctx context.Context, share *smb2.Share, dir string, fi os.FileInfo) error {
	rel := path.Join(dir, fi.Name())
	rec := &record.Record{
		Type: record.TypeItem, Source: w.src.Location(), ID: path.Join(w.src.cfg.Folder, rel),
		Path: rel, Name: fi.Name(), Size: fi.Size(), Mtime: fi.ModTime().UTC(), Media: record.MediaOf(fi.Name()),
	}
	if w.opts.Hash == "sha256" {
		sum, err := hashFile(share, rec.ID)
		switch {
		case err != nil && (brokenConn(err) || ctx.Err() != nil):
			return err
		case err != nil:
			if serr := w.sink.Failure(rec, errorf(w.src.cfg, err, "hash %s", rec.ID)); serr != nil {
				return &sinkError{serr}
			}
			return nil
		}
		rec.Hash = map[string]string{"sha256": sum}
	}
	if err := w.sink.Item(rec); err != nil {
		return &sinkError{err}
	}
	return nil
}

// safeName refuses names a hostile server could use to climb out of the
// folder (go-smb2 already drops "." and "..").
func safeName(name string) bool {
	return name != "" && name != "." && name != ".." && !strings.ContainsAny(name, "/\\\x00")
}

// hashFile reads a file on the server and returns its SHA-256.
func hashFile(share *smb2.Share, p string) (string, error) {
	f, err := share.Open(sharePath(p))
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil { // File.WriteTo reads 1 MiB at a time
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
