package fetch

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/ps-photos/ps/internal/manifest"
	"github.com/ps-photos/ps/internal/naming"
	"github.com/ps-photos/ps/internal/record"
)

// mirror deletes the files ps-fetch wrote for items that are no longer in
// the source. It only runs when the listing is known to be whole (an end
// record with complete: true, no folder failures) and nothing failed in
// this run, and only touches items of the sources that listing covered.
func (e *engine) mirror() error {
	switch {
	case e.user.Err() != nil:
		return errors.New("not deleting anything: the run was interrupted")
	case len(e.complete) == 0:
		return errors.New(`not deleting anything: the input has no "end" record with "complete": true`)
	case e.listFault:
		return errors.New("not deleting anything: the listing was incomplete")
	case e.failed.Load() > 0:
		return errors.New("not deleting anything: some items failed in this run")
	}
	if e.mw != nil {
		if err := e.mw.Flush(); err != nil {
			return err
		}
	}
	return manifest.Scan(e.root, func(en *manifest.Entry) error {
		if !e.complete[en.Source] || !e.ix.Stale(en) {
			return nil
		}
		if _, claimed := e.claims.get(e.ix.NameHash(en.Local)); claimed {
			return nil
		}
		e.remove(en)
		return nil
	})
}

// remove deletes one stale file, if it is still the file ps-fetch wrote
// (a regular file of the recorded size), and says so with a deleted record.
func (e *engine) remove(en *manifest.Entry) {
	if err := naming.Check(en.Local); err != nil {
		e.log.Warn(fmt.Sprintf("mirror: manifest entry %q: %v", en.Local, err))
		return
	}
	if err := e.checkLinks(en.Local); err != nil {
		e.log.Warn("mirror: " + err.Error())
		return
	}
	p := e.abs(en.Local)
	st, err := os.Lstat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return
	}
	if err != nil || !st.Mode().IsRegular() || st.Size() != en.Size {
		e.log.Warn(fmt.Sprintf("mirror: leaving %s: it is not the file ps-fetch wrote", en.Local))
		return
	}
	mtime, _ := record.ParseTime(en.Mtime)
	rec := &record.Record{
		Type: record.TypeDeleted, Source: en.Source, ID: en.ID, Path: en.Path, Size: en.Size,
		Mtime: mtime, Local: filepath.Join(e.root, filepath.FromSlash(en.Local)),
	}
	if e.opts.DryRun {
		rec.Status = record.StatusPlanned
		e.emit(rec)
		e.deleted.Add(1)
		return
	}
	if err := os.Remove(p); err != nil {
		e.log.Error("mirror: " + err.Error())
		return
	}
	tomb := *en
	tomb.Deleted = true
	tomb.At = record.FormatTime(e.opts.Now())
	if err := e.mw.Add(&tomb); err != nil {
		e.log.Error("manifest: " + err.Error())
	}
	e.emit(rec)
	e.deleted.Add(1)
}
