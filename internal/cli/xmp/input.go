package xmp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"

	"github.com/ps-photos/ps/internal/cli"
	"github.com/ps-photos/ps/internal/fault"
	"github.com/ps-photos/ps/internal/record"
	"github.com/ps-photos/ps/internal/source"
	"github.com/ps-photos/ps/internal/source/local"
)

// inputs collects the records to work on, from --raw-dir or stdin. It
// returns how many malformed lines were skipped.
func (c *Command) inputs(ctx context.Context, stdio cli.Stdio, log *slog.Logger) ([]*entry, int, error) {
	if c.RawDir != "" {
		recs, err := listRecords(ctx, c.RawDir, func(r *record.Record) bool { return r.Media == record.MediaRaw })
		if err != nil {
			return nil, 0, err
		}
		root, _ := source.LocalPath(c.RawDir)
		entries := make([]*entry, len(recs))
		for i, r := range recs {
			entries[i] = &entry{rec: r, raw: filepath.Join(root, filepath.FromSlash(r.Path)), shot: -1}
		}
		if len(entries) == 0 {
			log.Warn("no RAW files in " + c.RawDir)
		}
		return entries, 0, nil
	}
	if c.AnalyzeOnly && !c.Calibrate {
		return nil, 0, nil // the style needs no RAWs
	}
	if stdio.InTerminal() {
		return nil, 0, cli.WithExit(cli.ExitUsage, errors.New("no RAWs: give --raw-dir DIR or pipe records in (ps-fetch … | ps-xmp)"))
	}
	return readStdin(stdio.In, c.Strict, log)
}

// readStdin decodes records; RAWs on this machine become work, anything
// else passes through.
func readStdin(in io.Reader, strict bool, log *slog.Logger) ([]*entry, int, error) {
	dec := record.NewDecoder(in)
	var entries []*entry
	bad, remote := 0, 0
	for {
		rec, err := dec.Decode()
		if errors.Is(err, io.EOF) {
			break
		}
		var le *record.LineError
		if errors.As(err, &le) {
			log.Error(le.Error())
			bad++
			if strict {
				return nil, bad, cli.WithExit(cli.ExitUsage, fmt.Errorf("stopped at malformed line %d (--strict)", le.Line))
			}
			continue
		}
		if err != nil {
			return nil, bad, fault.Wrap(fault.Local, err)
		}
		raw := localRAW(rec)
		if raw == "" && isRAWRecord(rec) && rec.Type != record.TypeFailure {
			remote++
		}
		entries = append(entries, &entry{rec: rec, raw: raw, shot: -1})
	}
	if remote > 0 {
		log.Warn(fmt.Sprintf("%d RAW record(s) name no local file (fetch them with ps-fetch first); passed through", remote))
	}
	return entries, bad, nil
}

func isRAWRecord(rec *record.Record) bool {
	if rec.Media == record.MediaRaw {
		return true
	}
	name := rec.BaseName()
	if rec.Local != "" {
		name = filepath.Base(rec.Local)
	}
	return record.MediaOf(name) == record.MediaRaw
}

// localRAW returns the local path of a RAW record: "local" of a result,
// or source + path of an item from a local folder. Failures, planned
// results and other files give "".
func localRAW(rec *record.Record) string {
	if !isRAWRecord(rec) {
		return ""
	}
	return localFile(rec)
}

// localFile returns the local path of any file record, as localRAW does.
func localFile(rec *record.Record) string {
	if !rec.IsFileRecord() && rec.Local == "" {
		return ""
	}
	if rec.Type == record.TypeFailure || rec.Status == record.StatusPlanned {
		return ""
	}
	if rec.Local != "" {
		return rec.Local
	}
	if rec.Type != record.TypeItem || rec.Path == "" {
		return ""
	}
	if rec.Source == "" && filepath.IsAbs(rec.Path) {
		return filepath.Clean(rec.Path)
	}
	if !strings.HasPrefix(rec.Source, "file:") || !filepath.IsLocal(filepath.FromSlash(rec.Path)) {
		return ""
	}
	root, err := source.LocalPath(rec.Source)
	if err != nil {
		return ""
	}
	return filepath.Join(root, filepath.FromSlash(rec.Path))
}

// listFiles returns the absolute paths of the files under dir that keep
// accepts, in listing order.
func listFiles(ctx context.Context, dir string, keep func(*record.Record) bool) ([]string, error) {
	recs, err := listRecords(ctx, dir, keep)
	if err != nil {
		return nil, err
	}
	root, _ := source.LocalPath(dir)
	paths := make([]string, len(recs))
	for i, r := range recs {
		paths[i] = filepath.Join(root, filepath.FromSlash(r.Path))
	}
	return paths, nil
}

// listRecords lists a local folder with the local source, as ps-list
// would, keeping the items keep accepts.
func listRecords(ctx context.Context, dir string, keep func(*record.Record) bool) ([]*record.Record, error) {
	src, err := local.New(dir)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	sink := &collect{keep: keep}
	if err := src.List(ctx, source.ListOptions{Jobs: 1}, sink); err != nil {
		return nil, err
	}
	if sink.err != nil {
		return nil, sink.err
	}
	return sink.recs, nil
}

// collect is a Sink keeping items in order; the first unreadable part
// of the folder ends the run, since the analysis would be incomplete.
type collect struct {
	mu   sync.Mutex
	keep func(*record.Record) bool
	recs []*record.Record
	err  error
}

func (s *collect) Item(rec *record.Record) error {
	if s.keep(rec) {
		s.mu.Lock()
		s.recs = append(s.recs, rec)
		s.mu.Unlock()
	}
	return nil
}

func (s *collect) Failure(rec *record.Record, err error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil {
		s.err = fmt.Errorf("reading %s: %w", rec.Path, err)
	}
	return nil
}
