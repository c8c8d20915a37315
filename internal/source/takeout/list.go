package takeout

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/ps-photos/ps/internal/fault"
	"github.com/ps-photos/ps/internal/record"
	"github.com/ps-photos/ps/internal/source"
)

// List reads every part, then writes one item per distinct content.
// Items can only be written once every part has been read: a later part
// may hold another copy (another album) of any file, or its sidecar.
// Options: --dir keeps items whose path is below it; --since/--until
// keep items taken in that range; --root NAME names the Google Photos
// folder when its localized name is not recognized.
func (s *Source) List(ctx context.Context, opts source.ListOptions, sink source.Sink) error {
	switch {
	case s.input == "":
		return fault.Errorf(fault.Permanent, "takeout: needs a path: takeout:FOLDER, takeout:PART.zip or takeout:'DIR/takeout-*.zip'")
	case len(s.paths) == 0:
		return fault.Errorf(fault.NotFound, "takeout:%s: no Takeout parts match", s.input)
	}
	parts, err := findParts(s.base, s.paths)
	if err != nil {
		return err
	}
	if len(parts) == 1 && partNumber.MatchString(parts[0].abs) {
		s.logf("takeout: %s is one part of a multi-part export: items and sidecars in the other parts are missing; "+
			"list them all (takeout:'DIR/takeout-*.zip'), and never use ps-fetch --mirror on one part", filepath.Base(parts[0].abs))
	}
	l := &lister{src: s, opts: opts, sink: sink, parts: parts, x: newIndex(), root: source.FlagsOf(opts, &ListFlags{}).Root}
	if err := l.readParts(ctx); err != nil {
		return err
	}
	return l.emit(ctx)
}

type lister struct {
	src   *Source
	opts  source.ListOptions
	sink  source.Sink
	parts []part
	x     *index
	root  string
	// progress, for the log while the parts are read (no item can be
	// written before every part has been)
	files, bytes, partsDone atomic.Int64
}

// progressEvery is how often a long read of the parts says how far it is.
const progressEvery = 10 * time.Second

func (l *lister) reportProgress(done <-chan struct{}) {
	t := time.NewTicker(progressEvery)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
			l.src.info(fmt.Sprintf("takeout: read %d media files (%.1f GB) of %d/%d parts; items follow once every part is read",
				l.files.Load(), float64(l.bytes.Load())/1e9, l.partsDone.Load(), len(l.parts)))
		}
	}
}

// partNumber matches the name of one part of a multi-part export.
var partNumber = regexp.MustCompile(`-\d{3}\.(zip|tgz|tar\.gz)$`)

// sinkError carries a sink's error out of a part walk unchanged.
type sinkError struct{ err error }

func (e *sinkError) Error() string { return e.err.Error() }

// readParts walks the parts concurrently (--jobs of them at a time). A part
// that cannot be read is a failure record; the others carry on.
func (l *lister) readParts(ctx context.Context) error {
	done := make(chan struct{})
	defer close(done)
	go l.reportProgress(done)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(l.opts.Jobs, 1))
	for i := range l.parts {
		p := &l.parts[i]
		g.Go(func() error {
			err := p.walk(gctx, l.src.base, l.visitor(gctx, uint16(i)))
			l.partsDone.Add(1)
			var se *sinkError
			switch {
			case err == nil:
				return nil
			case errors.As(err, &se):
				return se.err
			case fault.ClassOf(err) == fault.Canceled || gctx.Err() != nil:
				return fault.Wrap(fault.Canceled, context.Cause(gctx))
			}
			return l.failure(p.abs, true, err)
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fault.Wrap(fault.Canceled, err)
	}
	return nil
}

func (l *lister) failure(p string, folder bool, err error) error {
	rec := record.FolderFailure(Location, p)
	if !folder {
		rec.Meta = nil
	}
	if serr := l.sink.Failure(rec, err); serr != nil {
		return &sinkError{serr}
	}
	return nil
}

// headSize is how much of each file is kept for EXIF and type sniffing.
const headSize = 128 << 10

var bufs = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

// visitor handles one entry of part number pi.
func (l *lister) visitor(ctx context.Context, pi uint16) visit {
	return func(e *entry, r io.Reader) error {
		lib, ok := libraryPath(e.name, l.root)
		if !ok || lib == "" {
			return nil // another Google product
		}
		dir, name := path.Split(lib)
		dir = strings.TrimSuffix(dir, "/")
		lower := strings.ToLower(name)
		switch {
		case strings.HasSuffix(lower, ".json"):
			return l.readSidecar(e, r, dir, name)
		case strings.HasSuffix(lower, ".html"), name == ".DS_Store", name == "Thumbs.db", strings.HasPrefix(name, "._"):
			return nil
		}
		var media string
		var exif int64
		sum, size, err := hashEntry(r, func(head []byte) {
			media = mediaKind(name, head)
			if t := exifTaken(head); !t.IsZero() {
				exif = t.Unix()
			}
		})
		if err == nil && size != e.size && l.parts[pi].kind != partFiles {
			err = fault.Errorf(fault.Permanent, "%s: read %d bytes, the archive says %d (truncated download?)", e.name, size, e.size)
		}
		if err != nil {
			if ctx.Err() != nil {
				return fault.Wrap(fault.Canceled, ctx.Err())
			}
			var ee *entryError
			if errors.As(err, &ee) {
				err = ee.err
			}
			return l.failure(lib, false, classifyArchive(err))
		}
		l.files.Add(1)
		l.bytes.Add(size)
		rawDir, rawBase := path.Split(e.name)
		if rawBase == name {
			name = rawBase // one string for both
		}
		l.x.addContent(sum, size, exif, media, dir, rawDir, occurrence{
			part: pi, index: uint32(e.index), mtime: e.mtime.Unix(), name: name, base: rawBase,
		})
		return nil
	}
}

func (l *lister) readSidecar(e *entry, r io.Reader, dir, name string) error {
	sc, album, err := readJSON(r, isAlbumMetadata(name))
	if err != nil {
		// A sidecar that cannot be read leaves its media without metadata
		// (flagged no_sidecar); the listing is still complete.
		l.src.logf("takeout: skipping unreadable JSON %s: %v", e.name, err)
		return nil
	}
	switch {
	case album != nil:
		l.x.addAlbum(dir, album)
	case sc != nil:
		if n, ok := parseSidecarName(name); ok {
			sc.json = name
			l.x.addSidecar(dir, n, sc)
		}
	}
	return nil
}

// hashEntry reads a file to its end and returns its SHA-256 and size;
// inspect sees its first bytes (EXIF, file type) without a copy.
func hashEntry(r io.Reader, inspect func(head []byte)) ([sha256.Size]byte, int64, error) {
	var sum [sha256.Size]byte
	bp := bufs.Get().(*[]byte)
	defer bufs.Put(bp)
	buf := *bp
	h := sha256.New()
	n, err := io.ReadFull(r, buf[:headSize])
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return sum, 0, err
	}
	inspect(buf[:n])
	h.Write(buf[:n])
	size := int64(n)
	if n == headSize {
		m, err := io.CopyBuffer(h, r, buf)
		if err != nil {
			return sum, 0, err
		}
		size += m
	}
	h.Sum(sum[:0])
	return sum, size, nil
}

// mediaKind is the record's media: from the extension, with ".MP"
// (motion photos' video) as video and files without an extension sniffed.
func mediaKind(name string, head []byte) string {
	switch record.Ext(name) {
	case "MP":
		return record.MediaVideo
	case "":
		return sniff(head)
	}
	return record.MediaOf(name)
}

func sniff(b []byte) string {
	switch {
	case bytes.HasPrefix(b, []byte{0xFF, 0xD8, 0xFF}), bytes.HasPrefix(b, []byte("\x89PNG")),
		bytes.HasPrefix(b, []byte("GIF8")), bytes.HasPrefix(b, []byte("RIFF")) && len(b) > 12 && string(b[8:12]) == "WEBP":
		return record.MediaPhoto
	case len(b) > 12 && string(b[4:8]) == "ftyp":
		switch string(b[8:12]) {
		case "heic", "heix", "mif1", "msf1", "avif":
			return record.MediaPhoto
		}
		return record.MediaVideo
	}
	return record.MediaOther
}

// emit writes the items in path order.
func (l *lister) emit(ctx context.Context) error {
	last := map[uint16]int64{} // per tar part: the entry of the item written before
	for _, c := range l.x.ordered() {
		if err := ctx.Err(); err != nil {
			return fault.Wrap(fault.Canceled, err)
		}
		rec := l.record(c)
		if !l.wanted(rec) {
			continue
		}
		if loc, _ := rec.Meta["takeout"].(map[string]any); loc["index"] != nil {
			prim := c.occs[0].part
			if after, ok := last[prim]; ok {
				loc["after"] = after
			}
			last[prim] = loc["index"].(int64)
		}
		if err := l.sink.Item(rec); err != nil {
			return err
		}
	}
	return nil
}

func (l *lister) wanted(rec *record.Record) bool {
	if f := strings.Trim(l.opts.Folder, "/"); f != "" && rec.Path != f && !strings.HasPrefix(rec.Path, f+"/") {
		return false
	}
	if !l.opts.Since.IsZero() && rec.Taken.Before(l.opts.Since) {
		return false
	}
	if !l.opts.Until.IsZero() && rec.Taken.After(l.opts.Until) {
		return false
	}
	return true
}

// record builds the item of one content: listed under its first copy
// (the year folder when it has one), with the metadata of the first copy
// that has a sidecar and the albums of every copy.
func (l *lister) record(c *content) *record.Record {
	x := l.x
	prim := c.occs[0]
	hexSum := hex.EncodeToString(c.sum[:])
	meta := map[string]any{}
	var sc *sidecar
	var how string
	albums := map[string]bool{}
	for _, o := range c.occs {
		switch classifyFolder(x.dirs[o.dir]) {
		case kindAlbum:
			albums[x.albumTitle(o.dir)] = true
		case kindTrash:
			meta["trashed"] = true
		case kindArchive:
			meta["archived"] = true
		}
		if sc == nil {
			sc, how = x.match(o.dir, o.name)
		}
	}
	rec := &record.Record{
		Type: record.TypeItem, Source: Location, ID: hexSum, Path: x.occPath(&prim), Name: prim.name,
		Size: c.size, Media: c.media, Hash: map[string]string{"sha256": hexSum}, Meta: meta,
	}
	switch {
	case sc != nil && sc.taken != 0:
		rec.Taken = time.Unix(sc.taken, 0).UTC()
		meta["taken_from"] = "sidecar"
	case c.exif != 0:
		rec.Taken = time.Unix(c.exif, 0).UTC()
		meta["taken_from"] = "exif"
	case sc != nil && sc.uploaded != 0:
		// Not the capture time, but the same in every export, unlike
		// the archive's entry times.
		rec.Taken = time.Unix(sc.uploaded, 0).UTC()
		meta["taken_from"] = "upload"
	default:
		rec.Taken = time.Unix(prim.mtime, 0).UTC()
		meta["taken_from"] = "archive"
	}
	// The archive's entry times are the export's, not the photo's: the
	// capture time is the stable modification time (as gpth sets it), so
	// a later export of the same library lists the same mtime.
	rec.Mtime = rec.Taken
	meta["archive_time"] = record.FormatTime(time.Unix(prim.mtime, 0))
	if sc != nil {
		addSidecarMeta(meta, sc, how, x.sidecarPath(sc))
		if rec.Media == record.MediaOther && record.Ext(sc.title) != "" {
			rec.Media = record.MediaOf(sc.title)
		}
	} else {
		meta["no_sidecar"] = true
	}
	// A suffix cut with a long name ("-ha edi") is only a guess until
	// the original's sidecar confirms it.
	if m := parseMediaName(prim.name); m.edited != "" && (!m.editedCut || how == matchEdited) {
		meta["edited"] = true
	}
	if len(albums) > 0 {
		list := make([]string, 0, len(albums))
		for a := range albums {
			list = append(list, a)
		}
		slices.Sort(list)
		meta["albums"] = list
	}
	if len(c.occs) > 1 {
		meta["copies"] = len(c.occs)
	}
	var loc map[string]any
	if p := l.parts[prim.part]; p.kind == partFiles {
		loc = map[string]any{"file": filepath.Join(l.src.base, filepath.FromSlash(x.entry(&prim)))}
	} else {
		loc = map[string]any{"archive": p.abs, "entry": x.entry(&prim)}
		if p.kind != partZip {
			loc["index"] = int64(prim.index)
		}
	}
	meta["takeout"] = loc
	return rec
}

func addSidecarMeta(meta map[string]any, sc *sidecar, how, scPath string) {
	meta["sidecar"] = scPath
	meta["sidecar_match"] = how
	if sc.title != "" {
		meta["title"] = sc.title
	}
	if sc.description != "" {
		meta["description"] = sc.description
	}
	for _, f := range []struct {
		flag uint8
		key  string
	}{{flagFavorite, "favorite"}, {flagArchived, "archived"}, {flagTrashed, "trashed"}, {flagPartner, "partner_shared"}} {
		if sc.flags&f.flag != 0 {
			meta[f.key] = true
		}
	}
	if sc.gps != nil {
		meta["gps"] = map[string]any{"lat": sc.gps.Lat, "lon": sc.gps.Lon, "alt": sc.gps.Alt}
	}
	if len(sc.people) > 0 {
		meta["people"] = sc.people
	}
}

func (s *Source) info(msg string) {
	if s.log != nil {
		s.log.Info(msg)
	}
}

func (s *Source) logf(format string, args ...any) {
	if s.log != nil {
		s.log.Warn(fmt.Sprintf(format, args...))
	}
}
