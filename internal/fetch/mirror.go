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
// this run, and only touches items of the sources that listing covered,
// and not of a source whose listing a filter cut (unless DeleteExcluded)
// or that listed no item at all (an unmounted card lists as empty). It
// deletes nothing when it would delete more than MaxDelete files.
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
	sources := map[string]bool{}
	for src := range e.complete {
		switch {
		case e.excluded[src] > 0 && !e.opts.DeleteExcluded:
			e.log.Warn(fmt.Sprintf("mirror: not deleting anything of %s: a filter excluded %d items from its listing (--delete-excluded deletes them too)", src, e.excluded[src]))
		case e.items[src] == 0:
			e.log.Warn(fmt.Sprintf("mirror: not deleting anything of %s: its listing holds no item (an unmounted card or an empty share?)", src))
		default:
			sources[src] = true
		}
	}
	if e.mw != nil {
		if err := e.mw.Flush(); err != nil {
			return err
		}
	}
	var stale []manifest.Entry
	err := manifest.Scan(e.root, func(en *manifest.Entry) error {
		if !sources[en.Source] || !e.ix.Stale(en) {
			return nil
		}
		if _, claimed := e.claims.get(e.ix.NameHash(en.Local)); claimed {
			return nil
		}
		// Later lines of the same item (a pending line, then the final
		// one) are not stale again: each file is planned once.
		if hit, ok := e.ix.Lookup(e.ix.Key(en.Source, en.ID)); ok {
			e.ix.MarkSeen(hit.Pos)
		}
		stale = append(stale, *en)
		return nil
	})
	if err != nil {
		return err
	}
	if limit := e.opts.MaxDelete; limit != nil && len(stale) > *limit {
		err := fmt.Errorf("would delete %d files, more than --max-delete %d: deleting none", len(stale), *limit)
		e.mu.Lock()
		e.mirrorStop = err
		e.mu.Unlock()
		return err
	}
	for i := range stale {
		e.remove(&stale[i])
	}
	return nil
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
		e.prog.Deleted()
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
	e.prog.Deleted()
}
