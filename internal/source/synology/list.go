package synology

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/ps-photos/ps/internal/fault"
	"github.com/ps-photos/ps/internal/record"
	"github.com/ps-photos/ps/internal/source"
	"github.com/ps-photos/ps/internal/source/synology/api"
)

// Listing bounds: a hostile or broken server cannot make the walk endless.
const (
	pageLimit        = 1000    // entries asked for per page (the web client's value)
	maxDepth         = 64      // folders deeper than this are a failure, not a walk
	maxFolderEntries = 2000000 // a folder claiming more is listed up to this many
	maxSize          = 1 << 50 // 1 PiB: a larger "size" is a lie
)

// List walks the share from its root (or opts.Folder). Folders and the
// pages of large folders are read concurrently (opts.Jobs requests in
// flight, default 8) and items are written as each page arrives.
func (s *Source) List(ctx context.Context, opts source.ListOptions, sink source.Sink) error {
	init, err := s.c.initdata(ctx)
	if err != nil {
		return err
	}
	if init.Private.Filename == "" {
		return fault.Errorf(fault.Permanent, "the share names no root folder (Initdata has no Private.filename)")
	}
	root := "/" + init.Private.Filename
	if f := init.Sharing.App.IsFolder; f != nil && !*f {
		return s.listSingleFile(ctx, root, sink)
	}
	start, rel, err := startFolder(root, opts.Folder)
	if err != nil {
		return fault.Wrap(fault.Permanent, err)
	}
	jobs := opts.Jobs
	if jobs <= 0 {
		jobs = 8
	}
	w := &walker{src: s, sink: sink, jobs: jobs}
	return w.run(ctx, &folder{share: start, rel: rel, total: totalUnseen})
}

// startFolder joins --dir below the root.
func startFolder(root, sub string) (string, string, error) {
	sub = strings.Trim(sub, "/")
	if sub == "" {
		return root, "", nil
	}
	for _, seg := range strings.Split(sub, "/") {
		if err := checkName(seg); err != nil {
			return "", "", fmt.Errorf("--dir %q: %v", sub, err)
		}
	}
	return root + "/" + sub, sub, nil
}

// listSingleFile lists a share of one file: List does not apply, the file
// is the root itself. Its size (and, when the server sends one, its
// modification time) come from the first byte of a download.
func (s *Source) listSingleFile(ctx context.Context, root string, sink source.Sink) error {
	name := strings.TrimPrefix(root, "/")
	rec := &record.Record{
		Type: record.TypeItem, Source: s.loc, ID: root, Path: name, Name: name,
		Media: record.MediaOf(name), Meta: map[string]any{"single_file": true},
	}
	var size int64
	var mtime time.Time
	_, err := s.c.policy.Do(ctx, func(int) error {
		return s.c.withSession(ctx, func(sid string) error {
			var err error
			size, mtime, err = s.probeSingleFile(ctx, sid, root)
			return err
		})
	})
	switch {
	case err != nil && fault.ClassOf(err) == fault.Auth:
		return err
	case err != nil:
		return sink.Failure(rec, err)
	case size < 0:
		return sink.Failure(rec, fault.Errorf(fault.Permanent, "the server does not say how large the shared file is"))
	}
	rec.Size, rec.Mtime = size, mtime
	return sink.Item(rec)
}

// probeSingleFile asks for the first byte of the shared file to learn its
// size (Content-Range or Content-Length) and Last-Modified.
func (s *Source) probeSingleFile(ctx context.Context, sid, root string) (int64, time.Time, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.singleFileURL(root), nil)
	if err != nil {
		return 0, time.Time{}, fault.Wrap(fault.Permanent, err)
	}
	s.c.decorate(req, sid)
	req.Header.Set("Range", "bytes=0-0")
	resp, err := s.c.http.Do(req)
	if err != nil {
		return 0, time.Time{}, classifyNet(err)
	}
	defer drain(resp.Body)
	c, err := s.content(resp, root, 0)
	if err != nil {
		return 0, time.Time{}, err
	}
	mtime, _ := http.ParseTime(resp.Header.Get("Last-Modified"))
	return c.Size, mtime.UTC(), nil
}

// folder is one folder being listed, possibly by several page requests.
type folder struct {
	share string // share path, "/<root>/a/b"
	rel   string // path relative to the listed root, "" for the root
	depth int

	mu       sync.Mutex
	total    int64               // totalUnseen until the first page says, totalUnknown if it did not
	page     int64               // entries the server actually returns per page
	next     int64               // next offset not yet asked for
	inflight int                 // page requests queued or running
	seen     map[uint64]struct{} // hashes of names listed so far (repeats)
	stopped  bool                // a failure ended this folder's listing
}

// Folder totals before the first page, and when it gave none: the folder
// is then walked page by page until an empty one.
const (
	totalUnseen  = -1
	totalUnknown = -2
)

// task is one page request.
type task struct {
	f      *folder
	offset int64
	want   int64
}

// walker runs page requests on a pool of jobs goroutines.
type walker struct {
	src  *Source
	sink source.Sink
	jobs int

	mu      sync.Mutex
	cond    *sync.Cond
	queue   []task
	running int
	err     error
}

func (w *walker) run(ctx context.Context, root *folder) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w.cond = sync.NewCond(&w.mu)
	root.inflight = 1
	w.queue = []task{{f: root, offset: 0, want: pageLimit}}
	var wg sync.WaitGroup
	for range w.jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				t, ok := w.take()
				if !ok {
					return
				}
				more, err := w.page(ctx, t)
				w.finish(more, err, cancel)
			}
		}()
	}
	wg.Wait()
	if w.err == nil && ctx.Err() != nil {
		return fault.Wrap(fault.Canceled, ctx.Err())
	}
	return w.err
}

// take returns the next task, or false when the walk is over.
func (w *walker) take() (task, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for len(w.queue) == 0 && w.running > 0 && w.err == nil {
		w.cond.Wait()
	}
	if len(w.queue) == 0 || w.err != nil {
		w.cond.Broadcast()
		return task{}, false
	}
	// A stack: finishing folders before starting new ones keeps the
	// queue and the repeat sets small.
	t := w.queue[len(w.queue)-1]
	w.queue = w.queue[:len(w.queue)-1]
	w.running++
	return t, true
}

func (w *walker) finish(more []task, err error, cancel context.CancelFunc) {
	w.mu.Lock()
	w.running--
	if err != nil && w.err == nil {
		w.err = err
		cancel()
	}
	w.queue = append(w.queue, more...)
	w.mu.Unlock()
	w.cond.Broadcast()
}

// page reads one page, emits its entries and returns the page requests
// that follow from it. Its error ends the whole walk (a sink error, a
// dead session, cancellation); a folder that cannot be read is a failure
// record.
func (w *walker) page(ctx context.Context, t task) ([]task, error) {
	f := t.f
	data, err := w.src.listPage(ctx, f.share, t.offset, t.want)
	if err != nil {
		switch fault.ClassOf(err) {
		case fault.Canceled, fault.Auth:
			return nil, err
		}
		return f.done(nil), w.folderFailure(f, fmt.Errorf("listing from entry %d: %w", t.offset, err))
	}
	files := data.Files
	fresh, err := w.entries(f, files)
	if err != nil {
		return nil, err
	}
	next, problem := f.plan(t, data.Total, len(files), fresh, w.jobs)
	if problem != nil {
		if err := w.folderFailure(f, problem); err != nil {
			return nil, err
		}
	}
	return next, nil
}

// plan records what a page said and decides which pages to ask for next:
// once the first page shows the server's real page size, up to jobs
// pages of the folder are requested at once. Offsets always advance by
// the number of entries actually returned.
func (f *folder) plan(t task, total api.Int, got, fresh int, jobs int) ([]task, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.inflight--
	if f.stopped {
		return f.doneLocked(nil), nil
	}
	if f.total == totalUnseen {
		f.total = totalUnknown
		if total.Valid && total.Value >= 0 {
			f.total = min(total.Value, maxFolderEntries)
		}
		f.page = int64(max(got, 1))
		f.next = t.offset + int64(got)
	}
	var problem error
	var more []task
	switch {
	case got > 0 && fresh == 0:
		problem = fmt.Errorf("the server repeated entries it had already listed (at entry %d): stopped", t.offset)
	case f.total == totalUnknown:
		if next := t.offset + int64(got); got > 0 && next < maxFolderEntries {
			more = append(more, task{f: f, offset: next, want: pageLimit})
		}
	case got == 0 && t.offset < f.total:
		problem = fmt.Errorf("the server returned no entries at %d of a claimed %d: listing stopped", t.offset, f.total)
	case int64(got) < t.want && t.offset+int64(got) < f.total && t.offset != 0:
		// A short page in the middle: ask for the gap.
		more = append(more, task{f: f, offset: t.offset + int64(got), want: t.want - int64(got)})
	}
	if problem != nil {
		f.stopped = true
		return f.doneLocked(nil), problem
	}
	if total.Valid && total.Value > maxFolderEntries && t.offset == 0 {
		problem = fmt.Errorf("the folder claims %d entries; only the first %d are listed", total.Value, maxFolderEntries)
	}
	for f.total >= 0 && f.next < f.total && f.inflight+len(more) < jobs {
		want := min(f.page, f.total-f.next, pageLimit)
		more = append(more, task{f: f, offset: f.next, want: want})
		f.next += want
	}
	return f.doneLocked(more), problem
}

// done and doneLocked count the follow-up tasks and free the repeat set
// when the folder has nothing left in flight.
func (f *folder) done(more []task) []task {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.inflight--
	f.stopped = true
	return f.doneLocked(more)
}

func (f *folder) doneLocked(more []task) []task {
	f.inflight += len(more)
	if f.inflight == 0 {
		f.seen = nil
	}
	return more
}

// listPage is one FolderSharing.List request.
func (s *Source) listPage(ctx context.Context, folderPath string, offset, limit int64) (*api.ListData, error) {
	params := url.Values{
		"offset":         {strconv.FormatInt(offset, 10)},
		"limit":          {strconv.FormatInt(limit, 10)},
		"sort_by":        {`"name"`},
		"sort_direction": {`"ASC"`},
		"action":         {`"enum"`},
		"filetype":       {`"all"`},
		"additional":     {`["size","time"]`},
		"folder_path":    {quote(folderPath)},
		"_sharing_id":    {quote(s.c.sharingID)},
	}
	var d api.ListData
	if err := s.c.call(ctx, api.APIList, "list", 2, params, &d); err != nil {
		return nil, err
	}
	return &d, nil
}

// entries emits a page's files, queues its folders, and returns how many
// entries were new (not repeats).
func (w *walker) entries(f *folder, files []api.File) (int, error) {
	fresh := 0
	var subfolders []*folder
	for i := range files {
		e := &files[i]
		if !f.firstSight(e.Name) {
			if err := w.entryFailure(f, e.Name, errors.New("listed twice in one folder")); err != nil {
				return fresh, err
			}
			continue
		}
		fresh++
		if err := checkEntry(f.share, e); err != nil {
			if err := w.entryFailure(f, e.Name, err); err != nil {
				return fresh, err
			}
			continue
		}
		rel := path.Join(f.rel, e.Name)
		if e.IsDir {
			if f.depth+1 > maxDepth {
				if err := w.entryFailure(f, e.Name, fmt.Errorf("folder nested deeper than %d levels (a loop?)", maxDepth)); err != nil {
					return fresh, err
				}
				continue
			}
			subfolders = append(subfolders, &folder{share: e.Path, rel: rel, depth: f.depth + 1, total: totalUnseen})
			continue
		}
		rec, err := w.item(e, rel)
		if err == nil {
			err = w.sink.Item(rec)
		} else {
			err = w.sink.Failure(rec, err)
		}
		if err != nil {
			return fresh, err
		}
	}
	w.queueFolders(subfolders)
	return fresh, nil
}

func (w *walker) queueFolders(subs []*folder) {
	if len(subs) == 0 {
		return
	}
	w.mu.Lock()
	for i := len(subs) - 1; i >= 0; i-- {
		subs[i].inflight = 1
		w.queue = append(w.queue, task{f: subs[i], offset: 0, want: pageLimit})
	}
	w.mu.Unlock()
	w.cond.Broadcast()
}

// firstSight reports whether name is new in f.
func (f *folder) firstSight(name string) bool {
	h := fnv.New64a()
	h.Write([]byte(name))
	key := h.Sum64()
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.seen == nil {
		f.seen = map[uint64]struct{}{}
	}
	if _, ok := f.seen[key]; ok {
		return false
	}
	f.seen[key] = struct{}{}
	return true
}

// item builds the record of a file entry; the error says why its
// metadata is unusable (the record is then a failure).
func (w *walker) item(e *api.File, rel string) (*record.Record, error) {
	rec := &record.Record{
		Type: record.TypeItem, Source: w.src.loc, ID: e.Path, Path: rel, Name: e.Name,
		Media: record.MediaOf(e.Name),
	}
	if e.Additional == nil {
		return rec, nil
	}
	if t := e.Additional.Time; t != nil && t.Mtime.Valid && t.Mtime.Value > 0 {
		rec.Mtime = time.Unix(t.Mtime.Value, 0).UTC()
	}
	size := e.Additional.Size
	switch {
	case !size.Valid:
	case size.Value < 0 || size.Value > maxSize:
		return rec, fault.Errorf(fault.Permanent, "the server gives an impossible size (%d bytes)", size.Value)
	default:
		rec.Size = size.Value
	}
	return rec, nil
}

// checkEntry enforces the listing rules: a usable name, and a path that
// is exactly the folder's path plus that name (compared in NFC, since
// names may come back in either normal form).
func checkEntry(folderPath string, e *api.File) error {
	if err := checkName(e.Name); err != nil {
		return err
	}
	want := folderPath + "/" + e.Name
	if e.Path != want && norm.NFC.String(e.Path) != norm.NFC.String(want) {
		return fmt.Errorf("its path %q is not its folder plus its name", e.Path)
	}
	return nil
}

// checkName rejects names that could escape a folder or hide a byte.
func checkName(name string) error {
	switch {
	case name == "":
		return errors.New("empty name")
	case name == "." || name == "..":
		return fmt.Errorf("name %q is a path step", name)
	case !utf8.ValidString(name):
		return errors.New("name is not valid UTF-8")
	case len(name) > 1024:
		return errors.New("name longer than 1024 bytes")
	case strings.ContainsAny(name, "/\\"):
		return fmt.Errorf("name %q contains a path separator", name)
	case strings.ContainsFunc(name, unicode.IsControl):
		return fmt.Errorf("name %q contains a control character", name)
	}
	return nil
}

func (w *walker) entryFailure(f *folder, name string, err error) error {
	rel := path.Join(f.rel, strings.ToValidUTF8(name, "\uFFFD"))
	rec := &record.Record{Type: record.TypeFailure, Source: w.src.loc, Path: rel, Name: name}
	return w.sink.Failure(rec, fault.Wrap(fault.Permanent, fmt.Errorf("entry refused: %w", err)))
}

func (w *walker) folderFailure(f *folder, err error) error {
	rel := f.rel
	if rel == "" {
		rel = "."
	}
	rec := record.FolderFailure(w.src.loc, rel)
	rec.ID = f.share
	return w.sink.Failure(rec, err)
}
