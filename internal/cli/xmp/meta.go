package xmp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ps-photos/ps/internal/cli"
	"github.com/ps-photos/ps/internal/fault"
	"github.com/ps-photos/ps/internal/record"
	"github.com/ps-photos/ps/internal/xmp"
)

// metaRun is one ps-xmp --meta run: records stream from stdin through
// Jobs workers (each borrowing one exiftool process) to stdout, in the
// order they finish; memory does not grow with the number of records.
type metaRun struct {
	c      *Command
	log    *slog.Logger
	zone   *time.Location
	writer *xmp.MetaWriter // nil with --dry-run

	owner  map[string]string // Lightroom-named sidecar → the RAW that claimed it (read goroutine only)
	counts struct{ sidecar, file, nothing, failed atomic.Int64 }
}

// runMeta writes the records' metadata (--meta).
func (c *Command) runMeta(stdio cli.Stdio) error {
	if c.JpgDir != "" || c.RawDir != "" || c.Calibrate || c.AnalyzeOnly {
		return cli.WithExit(cli.ExitUsage, errors.New("--meta writes what the records on stdin know: --jpg-dir, --raw-dir, --calibrate and --analyze-only belong to styles"))
	}
	zone, err := time.LoadLocation(c.Zone)
	if err != nil {
		return cli.WithExit(cli.ExitUsage, fmt.Errorf("--zone: %w", err))
	}
	if stdio.InTerminal() {
		return cli.WithExit(cli.ExitUsage, errors.New("no records: pipe them in (ps-list … | ps-fetch -o DIR | ps-xmp --meta)"))
	}
	log := c.Logger(stdio.Err)
	ctx, stop := cli.SignalContext(context.Background(), stdio.Err)
	defer stop()
	jobs := c.jobs()
	run := &metaRun{c: c, log: log, zone: zone, owner: map[string]string{}}
	if !c.DryRun {
		if run.writer, err = xmp.NewMetaWriter(xmp.ReaderOptions{Jobs: jobs}); err != nil {
			return err
		}
		defer run.writer.Close()
	}

	bad, err := run.stream(ctx, stdio, jobs)
	if err != nil {
		return err
	}
	run.summary()
	if err := ctx.Err(); err != nil {
		return fault.Wrap(fault.Canceled, err)
	}
	if err := badInput(bad); err != nil {
		return err
	}
	if run.counts.failed.Load() > 0 {
		return cli.ErrPartial
	}
	return nil
}

// stream runs the records from stdin through jobs workers to stdout.
func (r *metaRun) stream(ctx context.Context, stdio cli.Stdio, jobs int) (int, error) {
	work := make(chan *metaJob, jobs)
	out := make(chan *record.Record, 2*jobs)
	var wg sync.WaitGroup
	for range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range work {
				out <- r.do(ctx, j)
			}
		}()
	}
	var bad int
	var readErr error
	go func() {
		var ends []*record.Record
		bad, readErr = r.read(ctx, stdio.In, work, out, &ends)
		close(work)
		wg.Wait()
		for _, e := range ends {
			out <- e
		}
		close(out)
	}()

	enc := record.NewEncoder(stdio.Out)
	var encErr error
	for rec := range out {
		if encErr == nil {
			encErr = enc.Encode(rec)
		}
	}
	if err := errors.Join(encErr, enc.Close()); err != nil {
		return bad, err
	}
	return bad, readErr
}

// metaJob is one local file whose record knows something to write.
type metaJob struct {
	rec   *record.Record
	local string
	meta  xmp.Meta
}

// read decodes stdin: local photos, videos and RAWs with metadata become
// jobs, end records wait for the last job, everything else passes on.
func (r *metaRun) read(ctx context.Context, in io.Reader, work chan<- *metaJob, out chan<- *record.Record, ends *[]*record.Record) (int, error) {
	dec := record.NewDecoder(in)
	bad := 0
	for ctx.Err() == nil {
		rec, err := dec.Decode()
		if errors.Is(err, io.EOF) {
			return bad, nil
		}
		var le *record.LineError
		if errors.As(err, &le) {
			r.log.Error(le.Error())
			bad++
			if r.c.Strict {
				return bad, cli.WithExit(cli.ExitUsage, fmt.Errorf("stopped at malformed line %d (--strict)", le.Line))
			}
			continue
		}
		if err != nil {
			return bad, fault.Wrap(fault.Local, err)
		}
		local := localFile(rec)
		switch {
		case rec.Type == record.TypeEnd:
			*ends = append(*ends, rec)
		case local == "" || !writable(rec, local):
			out <- rec
		default:
			m := xmp.MetaOf(rec)
			if m.Empty() {
				r.counts.nothing.Add(1)
				out <- rec
				continue
			}
			if err := r.claim(rec, local); err != nil {
				out <- r.fail(rec, err)
				continue
			}
			work <- &metaJob{rec: rec, local: local, meta: m}
		}
	}
	return bad, nil
}

// writable says a file's metadata belongs in its own XMP: photos, videos
// and RAWs, not sidecars or other files.
func writable(rec *record.Record, local string) bool {
	switch mediaOf(rec, local) {
	case record.MediaRaw, record.MediaPhoto, record.MediaVideo:
		return true
	}
	return false
}

// mediaOf is the record's media kind, else the local file's by its name.
func mediaOf(rec *record.Record, local string) string {
	if rec.Media == "" || rec.Media == record.MediaOther {
		return record.MediaOf(filepath.Base(local))
	}
	return rec.Media
}

// do writes one file's metadata and returns its record again, with "xmp"
// (the sidecar) or "xmp_embedded" (written into the file), or a failure.
func (r *metaRun) do(ctx context.Context, j *metaJob) *record.Record {
	if err := ctx.Err(); err != nil {
		return r.fail(j.rec, fault.Wrap(fault.Canceled, err))
	}
	if st, err := os.Stat(j.local); err != nil || !st.Mode().IsRegular() {
		return r.fail(j.rec, fault.Errorf(fault.NotFound, "%s: no such file", j.local))
	}
	field, value, err := r.write(j)
	if err != nil {
		return r.fail(j.rec, interrupted(ctx, err))
	}
	if r.c.Mtime == "taken" && !j.meta.Taken.IsZero() && r.writer != nil {
		if err := os.Chtimes(j.local, j.meta.Taken, j.meta.Taken); err != nil {
			return r.fail(j.rec, fault.Wrap(fault.Local, err))
		}
	}
	out := j.rec.Clone()
	if err := out.Set(field, value); err != nil {
		return r.fail(j.rec, err)
	}
	return out
}

// write puts the metadata where it goes (nowhere with --dry-run) and
// returns the record field that says where.
func (r *metaRun) write(j *metaJob) (string, any, error) {
	media := mediaOf(j.rec, j.local)
	target := xmp.IntoSidecar
	if r.c.WriteIntoFile {
		target = xmp.TargetOf(filepath.Base(j.local), media)
	}
	if target != xmp.IntoSidecar {
		if r.writer != nil {
			if err := r.writer.WriteFile(j.local, j.meta.Tags(target, r.zone)); err != nil {
				return "", nil, err
			}
		}
		r.counts.file.Add(1)
		return "xmp_embedded", true, nil
	}
	naming := xmp.NameExt // IMG_0001.JPG.xmp: a RAW+JPEG pair's JPEG never takes the RAW's sidecar
	if media == record.MediaRaw {
		naming = r.c.SidecarName
	}
	side := xmp.SidecarPath(j.local, naming)
	if r.writer != nil {
		if err := r.writer.WriteSidecar(side, j.meta, r.zone); err != nil {
			return "", nil, err
		}
	}
	r.counts.sidecar.Add(1)
	return "xmp", side, nil
}

// interrupted: Ctrl-C reaches the exiftool processes too (they clean up
// their temporary files and quit), so a write that fails after it is
// "canceled", to be re-fed, not the file's fault.
func interrupted(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fault.Wrap(fault.Canceled, err)
	}
	return err
}

// claim makes sure two RAWs never share a Lightroom-named sidecar
// (IMG_0001.CR2 and IMG_0001.CR3): the first in input order keeps it.
// Only such RAWs are remembered; every other sidecar name is unique.
func (r *metaRun) claim(rec *record.Record, local string) error {
	if r.c.SidecarName != xmp.NameLightroom || mediaOf(rec, local) != record.MediaRaw {
		return nil
	}
	side := xmp.SidecarPath(local, xmp.NameLightroom)
	if prev, ok := r.owner[side]; ok && prev != local {
		return fault.Errorf(fault.Permanent, "%s and %s would share the sidecar %s: use --sidecar-name ext", prev, local, side)
	}
	r.owner[side] = local
	return nil
}

func (r *metaRun) fail(rec *record.Record, err error) *record.Record {
	r.counts.failed.Add(1)
	return failure(rec, err)
}

func (r *metaRun) summary() {
	verb := "wrote"
	if r.c.DryRun {
		verb = "would write"
	}
	r.log.Info(fmt.Sprintf("%s metadata into %d sidecar(s) and %d file(s); %d record(s) had nothing to write, %d failed",
		verb, r.counts.sidecar.Load(), r.counts.file.Load(), r.counts.nothing.Load(), r.counts.failed.Load()))
}
