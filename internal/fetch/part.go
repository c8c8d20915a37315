package fetch

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/ps-photos/ps/internal/manifest"
	"github.com/ps-photos/ps/internal/record"
)

// partFile is a download in progress: NAME.XXXXXXXX.part beside its
// target, how many bytes it holds and their hashes. It ends in commit (the
// bytes take the final name) or discard (they are deleted); close alone
// keeps it for the next attempt or run to resume.
type partFile struct {
	path string
	f    *os.File // nil once committed, discarded or closed
	have int64
	hs   *hashes
	// version is the source's version of the bytes the part holds (see
	// source.Content.Version), kept in an attribute of the part across
	// runs; "" for none. versioned is false where the file system keeps
	// no attributes: then a part is resumed as it is.
	version   string
	versioned bool
}

// openPart opens (or creates) the part at path, positioned at its end.
func openPart(path string, rec *record.Record) (*partFile, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|oNoFollow, 0o644)
	if err != nil {
		return nil, err
	}
	have, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		f.Close()
		return nil, err
	}
	p := &partFile{path: path, f: f, have: have, hs: newHashes(rec), versioned: true}
	if have > 0 {
		p.version, p.versioned = readVersionXattr(path)
	}
	return p, nil
}

// setVersion records the version of the bytes an empty part is about to
// receive. A version that cannot be stored reads back as none, and the
// part then starts over rather than resume.
func (p *partFile) setVersion(v string) {
	tag := versionTag(v)
	if tag == p.version {
		return // a new part and a source without versions: no system call
	}
	p.version = tag
	writeVersionXattr(p.path, tag)
}

// resumable reports whether the part may be completed with bytes of the
// source's version v: it was started from v, or nothing tells otherwise
// (the source gives no versions, the file system keeps no attributes). A
// part without a version (an older ps-fetch's, or one begun without one)
// is not resumed from a source that has versions.
func (p *partFile) resumable(v string) bool {
	return v == "" || !p.versioned || p.version == versionTag(v)
}

// versionTag keeps a long validator short enough for an attribute.
func versionTag(v string) string {
	if len(v) <= 200 {
		return v
	}
	sum := sha256.Sum256([]byte(v))
	return "sha256 " + hex.EncodeToString(sum[:])
}

// hashPrefix feeds the bytes already in the part to the hashes.
func (p *partFile) hashPrefix(buf []byte) error {
	_, err := io.CopyBuffer(p.hs, io.NewSectionReader(p.f, 0, p.have), buf)
	return err
}

// restart empties the part and the hashes.
func (p *partFile) restart() error {
	p.hs.reset()
	p.have = 0
	if err := p.f.Truncate(0); err != nil {
		return err
	}
	_, err := p.f.Seek(0, io.SeekStart)
	return err
}

// seekEnd puts the write position after the bytes the part holds.
func (p *partFile) seekEnd() error {
	_, err := p.f.Seek(p.have, io.SeekStart)
	return err
}

// write appends b, hashing it, and starts its writeback.
func (p *partFile) write(b []byte) error {
	if _, err := p.f.Write(b); err != nil {
		return err
	}
	startWriteback(p.f, p.have, int64(len(b)))
	p.hs.Write(b)
	p.have += int64(len(b))
	return nil
}

// commit gives the verified bytes (sha256 sum) of the item tagged item
// their final name: synced, stamped with the item's mtime, renamed over
// target. rename replaces a symlink at target instead of following it, and
// the folders were checked, so nothing is written outside the output
// folder. A failure keeps the part.
func (p *partFile) commit(sync func(*os.File) error, sum, item string, mtime time.Time, target string) error {
	f := p.f
	if err := sync(f); err != nil {
		return err
	}
	writeHashXattr(p.path, sum)
	writeItemXattr(p.path, item)
	if p.version != "" {
		writeVersionXattr(p.path, "") // the part's business, not the file's
	}
	p.f = nil
	if err := f.Close(); err != nil {
		return err
	}
	if !mtime.IsZero() {
		if err := os.Chtimes(p.path, mtime, mtime); err != nil {
			return err
		}
	}
	return os.Rename(p.path, target)
}

// itemTag names an item version (source, id, size, mtime) in 32 hex
// digits: the tag a committed file carries (writeItemXattr). A hash, so
// that a URL's token never lands on disk.
func itemTag(rec *record.Record) string {
	src, id := manifest.Ident(rec)
	sum := sha256.Sum256([]byte(src + "\x00" + id + "\x00" + strconv.FormatInt(rec.Size, 10) + "\x00" + record.FormatTime(rec.Mtime)))
	return hex.EncodeToString(sum[:16])
}

// discard deletes the part: its bytes cannot be trusted.
func (p *partFile) discard() {
	if p.f != nil {
		p.f.Close()
		p.f = nil
	}
	os.Remove(p.path)
}

// close keeps the part for a resume, unless it is empty: then there is
// nothing to resume and no reason to leave a file behind.
func (p *partFile) close() {
	if p.f == nil {
		return
	}
	st, err := p.f.Stat()
	p.f.Close()
	p.f = nil
	if err == nil && st.Size() == 0 {
		os.Remove(p.path)
	}
}
