package fetch

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/ps-photos/ps/internal/fault"
	"github.com/ps-photos/ps/internal/manifest"
	"github.com/ps-photos/ps/internal/naming"
	"github.com/ps-photos/ps/internal/record"
	"github.com/ps-photos/ps/internal/source"
)

// maxSuffix bounds the search for a free name.
const maxSuffix = 100000

// planOne handles one input record: records that are not items pass
// through; an item is named, then skipped, failed or returned as a job.
func (e *engine) planOne(rec *record.Record) *job {
	switch {
	case rec.Type == record.TypeEnd:
		if rec.Complete != nil && *rec.Complete {
			e.complete[rec.Source] = true
		} else {
			e.listFault = true
		}
		if rec.Count != nil {
			e.items[rec.Source] += *rec.Count // what the listing held, before any filter
		}
		if rec.Excluded != nil && *rec.Excluded > 0 {
			e.excluded[rec.Source] += *rec.Excluded
		}
		// Held until every result is out, so the end record stays the
		// last line, as it is in ps-list's output.
		e.ends = append(e.ends, rec)
		return nil
	case !isItem(rec):
		if rec.Type == record.TypeFailure {
			e.listFault = true // a folder could not be listed
		}
		e.emit(rec)
		return nil
	}
	e.items[rec.Source]++
	if e.refused != nil {
		e.fail(rec, fault.Wrap(fault.Local, fmt.Errorf("not attempted: %w", e.refused)), 0, false)
		return nil
	}
	if err := e.stopped(rec.Source); err != nil {
		e.fail(rec, err, 0, false)
		return nil
	}
	if err := e.describe(rec); err != nil {
		e.fail(rec, err, 0, false)
		return nil
	}
	cand, err := e.opts.Name.Render(rec)
	if err == nil {
		err = reserved(cand)
	}
	if err != nil {
		e.fail(rec, fault.Wrap(fault.Permanent, fmt.Errorf("cannot name the file safely: %w", err)), 0, false)
		return nil
	}
	src, id := manifest.Ident(rec)
	j := &job{rec: rec, key: e.ix.Key(src, id)}

	// A file the manifest says we wrote keeps its name.
	if hit, ok := e.ix.Lookup(j.key); ok {
		e.ix.MarkSeen(hit.Pos)
		name := naming.WithSuffix(cand, hit.Suffix)
		if e.ix.NameHash(name) == hit.Name {
			j.local, j.suffix = name, hit.Suffix
			if e.unchanged(j, hit.FP) && !e.opts.Force {
				if e.opts.VerifyExisting && !e.opts.DryRun {
					j.mode = modeVerify
					return j
				}
				e.skip(j)
				return nil
			}
			return e.queue(j)
		}
	}
	if err := e.assign(j, cand); err != nil {
		e.fail(rec, err, 0, false)
		return nil
	}
	if j.mode == modeAdopt && e.opts.DryRun {
		e.skip(j)
		return nil
	}
	return e.queue(j)
}

// queue returns j for a worker, or, in a dry run, prints it.
func (e *engine) queue(j *job) *job {
	if e.opts.DryRun {
		e.result(j.rec, record.StatusPlanned, j.local, j.rec.Hash["sha256"], 0)
		e.planned.Add(1)
		e.prog.Planned(j.rec.Size)
		return nil
	}
	return j
}

// skip writes the result of a file that is already there.
func (e *engine) skip(j *job) {
	sha := j.rec.Hash["sha256"]
	if sha == "" {
		sha = readHashXattr(e.abs(j.local))
	}
	if sha == "" {
		sha, _ = e.ix.SHA256(j.key)
	}
	e.result(j.rec, record.StatusSkipped, j.local, sha, 0)
	e.skipped.Add(1)
	e.prog.Skipped(false)
}

// describe fills in the mtime a record lacks, when the file's name is made
// from it, by asking a source that can tell (plain HTTP: a HEAD request's
// Last-Modified). Other records and sources are left as they are.
func (e *engine) describe(rec *record.Record) error {
	if !rec.Mtime.IsZero() || !e.opts.Name.NeedsMtime(rec) {
		return nil
	}
	src, _, err := e.opts.Opener.ForRecord(e.ctx, rec)
	if err != nil {
		return nil // the download reports it
	}
	d, ok := src.(source.Describer)
	if !ok {
		return nil
	}
	if err := d.Describe(e.ctx, rec); err != nil {
		return classified(err, fault.Transient)
	}
	return nil
}

// unchanged reports whether the item still has the size and mtime the
// manifest recorded and its local file is still there with that size.
func (e *engine) unchanged(j *job, fp uint32) bool {
	st, err := os.Lstat(e.abs(j.local))
	if err != nil || !st.Mode().IsRegular() {
		return false
	}
	size := j.rec.Size
	if size == 0 {
		size = st.Size() // a record without a size: trust the file's
	}
	return st.Size() == size && e.ix.Fingerprint(size, j.rec.Mtime) == fp
}

// assign gives j a fresh name: the candidate, or the first of cand_1,
// cand_2, … that no other item owns (in the manifest or earlier in this
// run) and that holds no file we did not write. Input order decides who
// gets the plain name, so the outcome never depends on download timing.
func (e *engine) assign(j *job, cand string) error {
	if e.claimedUpTo == nil {
		e.claimedUpTo, e.suffixOf = map[uint64]int{}, map[uint64]int{}
	}
	candHash := e.ix.NameHash(cand)
	start := e.claimedUpTo[candHash]
	if start > 0 {
		// Every name below start is claimed in this run; one may be this
		// item's own (the same item twice in the input): it keeps it.
		if name := naming.WithSuffix(cand, e.suffixOf[j.key]); e.suffixOf[j.key] < start {
			if owner, ok := e.claims.get(e.ix.NameHash(name)); ok && owner == j.key {
				j.local, j.suffix = name, e.suffixOf[j.key]
				return nil
			}
		}
	}
	for n := start; n <= maxSuffix; n++ {
		name := naming.WithSuffix(cand, n)
		if n > 0 {
			if err := naming.CheckLength(name); err != nil {
				return fault.Wrap(fault.Permanent, fmt.Errorf("cannot name the file safely: %w", err))
			}
		}
		h := e.ix.NameHash(name)
		if owner, ok := e.claims.get(h); ok {
			if owner != j.key {
				continue
			}
			j.local, j.suffix = name, n // the same item twice in the input
			return nil
		}
		if e.ix.NameTakenByOther(h, j.key) {
			continue
		}
		free, adopt, err := e.onDisk(name, j.rec)
		if err != nil {
			return err
		}
		if !free && !adopt {
			continue
		}
		e.claims.put(h, j.key)
		if e.claimed++; e.claimed == bigTable {
			lowGC()
		}
		if n == start {
			e.claimedUpTo[candHash] = n + 1
		}
		if n > 0 {
			e.suffixOf[j.key] = n
		}
		j.local, j.suffix = name, n
		if adopt && !e.opts.Force {
			j.mode = modeAdopt
		}
		if n > 0 {
			e.reserve(j)
		}
		return nil
	}
	return fault.Errorf(fault.Permanent, "no free name for %s after %d tries", cand, maxSuffix)
}

// reserve writes a pending manifest line for a suffixed name before the
// download starts. If it fails, its failure record may come back in
// another order (a failures file lists items as they failed); the line
// makes the item keep its _N, so names and half-done .part files still
// match on the retry.
func (e *engine) reserve(j *job) {
	if e.mw == nil {
		return // dry run
	}
	src, id := manifest.Ident(j.rec)
	err := e.mw.Add(&manifest.Entry{
		Source: src, ID: id, Path: j.rec.Path, Size: j.rec.Size, Mtime: manifest.MtimeString(j.rec.Mtime),
		Local: j.local, N: j.suffix, Pending: true, At: record.FormatTime(e.opts.Now()),
	})
	if err != nil {
		e.log.Error("manifest: " + err.Error())
	}
}

// onDisk looks at what is at name: nothing (free), or a file that is
// this item's bytes from a run that died before its manifest entry was on
// disk (adopt: the item tag ps-fetch put on the file says so, or, on file
// systems without attributes, the same size and mtime). Anything else
// belongs to someone else. A symlink is refused outright: ps-fetch never
// writes through one.
func (e *engine) onDisk(name string, rec *record.Record) (free, adopt bool, err error) {
	if err := e.checkLinks(name); err != nil {
		return false, false, err
	}
	st, err := os.Lstat(e.abs(name))
	switch {
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscallENOTDIR):
		return true, false, nil
	case err != nil:
		return false, false, fault.Wrap(fault.Local, err)
	case st.Mode()&fs.ModeSymlink != 0:
		return false, false, fault.Errorf(fault.Permanent, "refusing to write through the symlink %s in the output folder", name)
	case !st.Mode().IsRegular():
		return false, false, nil
	}
	same := rec.Size > 0 && st.Size() == rec.Size && !rec.Mtime.IsZero() && st.ModTime().Equal(rec.Mtime)
	return false, same || readItemXattr(e.abs(name)) == itemTag(rec), nil
}

// checkLinks refuses a name whose folders, inside the output folder, are
// symlinks (which could point anywhere). Folders found to be real are
// remembered once all their parents are checked too.
func (e *engine) checkLinks(name string) error {
	var real []string
	dir := name
	for {
		i := strings.LastIndexByte(dir, '/')
		if i < 0 {
			break
		}
		dir = dir[:i]
		if _, ok := e.dirs.Load(dir); ok {
			break // checked, and so are its parents
		}
		st, err := os.Lstat(e.abs(dir))
		if err != nil {
			continue // not there yet: created as a real folder later
		}
		if st.Mode()&fs.ModeSymlink != 0 {
			return fault.Errorf(fault.Permanent, "refusing to write through the symlink %s in the output folder", dir)
		}
		if !st.IsDir() {
			return fault.Errorf(fault.Permanent, "%s in the output folder is a file, not a folder", dir)
		}
		real = append(real, dir)
	}
	for _, d := range real {
		e.dirs.Store(d, true)
	}
	return nil
}

// reserved refuses names ps-fetch uses for itself.
func reserved(name string) error {
	base := name[strings.LastIndexByte(name, '/')+1:]
	switch {
	case name == manifest.FileName, name == ".ps-fetch-name":
		return fmt.Errorf("%s is a name ps-fetch keeps for itself", name)
	case isPartName(base):
		return fmt.Errorf("%s looks like one of ps-fetch's partial downloads (NAME.XXXXXXXX.part)", name)
	}
	return nil
}

func (e *engine) abs(rel string) string { return filepath.Join(e.root, filepath.FromSlash(rel)) }

// isPartName reports whether base looks like a partial download:
// NAME.<8 hex digits>.part.
func isPartName(base string) bool {
	rest, ok := strings.CutSuffix(base, ".part")
	if !ok || len(rest) < 9 || rest[len(rest)-9] != '.' {
		return false
	}
	for _, c := range rest[len(rest)-8:] {
		if !strings.ContainsRune("0123456789abcdef", c) {
			return false
		}
	}
	return true
}
