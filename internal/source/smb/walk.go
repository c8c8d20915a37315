package smb

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path"
	"strings"
	"time"

	smb2 "github.com/cloudsoda/go-smb2"

	"github.com/ps-photos/ps/internal/fault"
	"github.com/ps-photos/ps/internal/record"
	"github.com/ps-photos/ps/internal/source"
)

// maxConns caps the folders read at once, whatever -j says.
const maxConns = 32

// listConns is how many connections a walk with jobs readers uses: one per
// four readers. go-smb2 multiplexes the readers' requests on a connection,
// and every connection costs the server a process and a sign-in; on
// loopback a 5,000-file walk with -j 8 took 0.54 s on one connection, 0.57 s
// on two and 0.97 s on eight. More than one keeps a slow disk busy.
func listConns(jobs int) int { return max(1, (jobs+3)/4) }

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
			return fault.Errorf(fault.Permanent, "--dir %q leaves the share", opts.Folder)
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
	s.pool.limit(listConns(jobs))
	w := &walker{src: s, opts: opts, sink: sink}
	return unwrapSink(source.WalkFolders(ctx, jobs, start, w.readDir))
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
	var toHash []os.FileInfo // with --hash, files are hashed after the folder is read
	err := w.src.do(ctx, w.src.FolderTimeout, func(share *smb2.Share) error {
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
				switch {
				case !safeName(name):
					if err := w.unsafeName(dir, name); err != nil {
						return err
					}
				case fi.IsDir():
					subdirs = append(subdirs, path.Join(dir, name))
				case w.opts.Hash != "":
					toHash = append(toHash, fi)
				default:
					if err := w.sink.Item(w.item(dir, fi)); err != nil {
						return &sinkError{err}
					}
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
	if herr := w.hashAll(ctx, dir, toHash); herr != nil {
		return nil, herr
	}
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
	rec := record.FolderFailure(w.src.Location(), dir)
	if dir == "" {
		rec.Path = "."
	}
	if serr := w.sink.Failure(rec, err); serr != nil {
		return nil, &sinkError{serr}
	}
	return subdirs, nil // what was found before the error is still walked
}

// item is the record of one file of folder dir.
func (w *walker) item(dir string, fi os.FileInfo) *record.Record {
	rel := path.Join(dir, fi.Name())
	return &record.Record{
		Type: record.TypeItem, Source: w.src.Location(), ID: path.Join(w.src.cfg.Folder, rel),
		Path: rel, Name: fi.Name(), Size: fi.Size(), Mtime: fi.ModTime().UTC(), Media: record.MediaOf(fi.Name()),
	}
}

// unsafeName reports an entry whose name could climb out of its folder. The
// failure names the folder (never the hostile path) and is marked a
// listing problem, so ps-fetch passes it through.
func (w *walker) unsafeName(dir, name string) error {
	rec := record.FolderFailure(w.src.Location(), dir)
	rec.Meta["name"] = name
	if dir == "" {
		rec.Path = "."
	}
	if err := w.sink.Failure(rec, fault.Errorf(fault.Permanent, "unsafe file name %q in folder %q", name, dir)); err != nil {
		return &sinkError{err}
	}
	return nil
}

// hashAll reads each file on the server, adds its sha256 and emits it.
// Each file has its own retries and time bound (a minute, plus a second
// per MiB); one that cannot be read becomes its failure record. Only sink
// errors, cancellation and a rejected sign-in are returned.
func (w *walker) hashAll(ctx context.Context, dir string, files []os.FileInfo) error {
	for _, fi := range files {
		rec := w.item(dir, fi)
		var sum string
		timeout := time.Minute + time.Duration(fi.Size()>>20)*time.Second
		err := w.src.do(ctx, timeout, func(share *smb2.Share) error {
			var err error
			sum, err = hashFile(share, rec.ID)
			return err
		})
		switch {
		case err == nil:
			rec.Hash = map[string]string{"sha256": sum}
			err = w.sink.Item(rec)
		case fault.ClassOf(err) == fault.Canceled, fault.ClassOf(err) == fault.Auth:
			return err
		default:
			err = w.sink.Failure(rec, errorf(w.src.cfg, err, "hash %s", rec.ID))
		}
		if err != nil {
			return &sinkError{err}
		}
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
