// Package xmp is ps-xmp: it writes Lightroom XMP sidecars that carry a
// photographer's Camera Raw style from edited JPGs onto the RAW files.
package xmp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/ps-photos/ps/internal/cli"
	"github.com/ps-photos/ps/internal/fault"
	"github.com/ps-photos/ps/internal/record"
	"github.com/ps-photos/ps/internal/xmp"
)

const description = `Write Lightroom XMP sidecars for RAW files from the Camera Raw settings in edited JPGs.

ps-xmp reads the Camera Raw settings (crs) embedded in the JPGs of --jpg-dir, works out which settings are
the photographer's style (the same in every JPG) and which were tuned per shot (exposure, white balance,
crop, local corrections, ...), and writes one sidecar per RAW: IMG_0001.xmp beside IMG_0001.CR3, as
Lightroom Classic expects (--sidecar-name ext gives IMG_0001.CR3.xmp for darktable and digiKam).
Import the RAWs (or "Read Metadata from File") and the style is applied.

With --calibrate, JPGs are matched to RAWs by capture time (DateTimeOriginal, sub-seconds and camera serial
number when known): a matched RAW gets all of its JPG's settings, and every other RAW gets the style plus
exposure and white balance estimated from the 5 matched RAWs nearest in ISO, shutter time, aperture, focal
length and flash (docs/xmp.md explains the method).

RAWs come from result records on stdin (ps-fetch output; "local" is the file) or item records of a local
folder, or from --raw-dir. Other records pass through unchanged; each RAW's record comes out with an "xmp"
field naming its sidecar. exiftool must be installed (apt-get install libimage-exiftool-perl).

With --meta, ps-xmp writes what each record knows instead (Google Takeout's JSON sidecars, the iCloud
listing): capture time with its zone, GPS, title and description, favourite as rating 5, hidden or archived
as a label, albums as keywords, people. Photos, videos and RAWs get an XMP sidecar (IMG_0001.JPG.xmp;
a RAW's is named as above), merged into one that is there, or with --write-into-file JPEG, HEIC, TIFF, PNG,
WebP, MP4 and MOV files get it themselves (capture time and GPS only where missing; RAWs always get a
sidecar). --mtime taken sets modification times to the capture time.

Examples:
  ps-xmp --raw-dir ~/Shoot --jpg-dir ~/Shoot/previews --analyze-only
  ps-xmp --raw-dir ~/Shoot --jpg-dir ~/Shoot/previews --calibrate
  ps-list smb://nas/shoot | ps-filter --ext CR3 | ps-fetch -o ~/Shoot | ps-xmp --jpg-dir ~/previews --calibrate
  ps-list 'takeout:~/Downloads/takeout-*.zip' | ps-fetch -o ~/GooglePhotos | ps-xmp --meta
  ps-list icloud: | ps-fetch -o ~/iCloud | ps-xmp --meta --write-into-file --mtime taken`

// Command is the ps-xmp command line.
type Command struct {
	cli.Globals
	cli.RecordInput
	JpgDir         string        `name:"jpg-dir" type:"existingdir" placeholder:"DIR" help:"Folder of edited JPGs with embedded Camera Raw settings (searched recursively); required unless --meta."`
	RawDir         string        `name:"raw-dir" type:"existingdir" placeholder:"DIR" help:"Folder of RAWs (searched recursively) instead of records on stdin."`
	Calibrate      bool          `help:"Match JPGs to RAWs by capture time; give matched RAWs their JPG's settings and the others settings estimated from their nearest matched neighbours."`
	MatchTolerance time.Duration `default:"0s" placeholder:"DURATION" help:"How far apart capture times may be and still match (e.g. 2s, for clocks that differ)."`
	AnalyzeOnly    bool          `help:"Print the analysis (and the matching, with --calibrate) instead of writing sidecars."`
	JSON           bool          `name:"json" help:"With --analyze-only: print JSON instead of a table."`
	SidecarName    string        `enum:"lightroom,ext" default:"lightroom" placeholder:"lightroom|ext" help:"Sidecar names: lightroom (IMG_0001.xmp) or ext (IMG_0001.CR3.xmp)."`
	SkipExisting   bool          `help:"Leave existing sidecars alone."`
	DryRun         bool          `help:"Write nothing; print the records as if the sidecars had been written."`
	Tolerance      float64       `name:"style-tolerance" aliases:"tolerance" default:"0.01" placeholder:"NUMBER" help:"Numbers closer than this count as equal when telling style from per-image (default: 0.01). --tolerance is the old name."`
	Neighbours     int           `default:"5" placeholder:"N" help:"How many matched RAWs an unmatched RAW's settings are estimated from."`
	Jobs           int           `short:"j" default:"0" placeholder:"N" help:"exiftool processes reading in parallel (default: the number of CPUs, at most 4)."`
	Meta           bool          `help:"Write what the records know (capture time, GPS, description, favourite, albums, people) instead of a Camera Raw style: into XMP sidecars, or with --write-into-file into the files."`
	WriteIntoFile  bool          `name:"write-into-file" help:"With --meta: write into JPEG, HEIC, TIFF, PNG, WebP, MP4 and MOV files themselves (capture time and GPS only where missing); RAWs and other files still get sidecars."`
	Zone           string        `default:"Local" placeholder:"ZONE" help:"With --meta: time zone for capture times whose zone the record does not give (IANA name, Local or UTC)."`
	Mtime          string        `enum:"keep,taken" default:"keep" placeholder:"keep|taken" help:"With --meta: taken sets each file's modification time to its capture time; keep leaves it."`
}

// Main runs ps-xmp.
func Main(args []string, stdio cli.Stdio) int {
	return cli.Run("ps-xmp", description+"\n\n"+cli.EnvHelp("NO_COLOR")+"\n\n"+cli.ExitHelp, &Command{}, args, stdio)
}

// entry is one input record in order: a RAW to write a sidecar for, or a
// record that passes through.
type entry struct {
	rec  *record.Record
	raw  string // local path of the RAW; "" passes through
	shot int    // index into the RAWs read, -1 if unread
	fail error
}

// Run reads the JPGs, analyses them and writes the sidecars.
func (c *Command) Run(stdio cli.Stdio) error {
	if c.Neighbours < 1 {
		return cli.WithExit(cli.ExitUsage, errors.New("--neighbours must be at least 1"))
	}
	if c.Meta {
		return c.runMeta(stdio)
	}
	if c.WriteIntoFile || c.Mtime != "keep" {
		return cli.WithExit(cli.ExitUsage, errors.New("--write-into-file and --mtime need --meta"))
	}
	if c.JpgDir == "" {
		return cli.WithExit(cli.ExitUsage, errors.New("--jpg-dir is required (or --meta, to write the records' metadata)"))
	}
	if c.MatchTolerance < 0 {
		return cli.WithExit(cli.ExitUsage, errors.New("--match-tolerance must not be negative"))
	}
	log := c.Logger(stdio.Err)
	ctx, stop := cli.SignalContext(context.Background(), stdio.Err)
	defer stop()
	reader, err := xmp.NewReader(xmp.ReaderOptions{Jobs: c.jobs()})
	if err != nil {
		return err
	}

	entries, bad, err := c.inputs(ctx, stdio, log)
	if err != nil {
		return err
	}
	edits, err := c.readEdits(ctx, reader, log)
	if err != nil {
		return err
	}
	analysis := xmp.Analyze(edits, c.Tolerance)
	raws, shots := c.readRAWs(ctx, reader, entries)
	if err := ctx.Err(); err != nil {
		return fault.Wrap(fault.Canceled, err)
	}
	var plan *xmp.Plan
	if c.Calibrate {
		plan = xmp.Calibrate(analysis, edits, shots, xmp.CalibrateOptions{
			Tolerance: c.MatchTolerance, K: c.Neighbours, Tol: c.Tolerance})
		if len(plan.Matches) == 0 && len(shots) > 0 {
			log.Warn("no JPG matched a RAW by capture time: every RAW gets the style alone (try --match-tolerance)")
		}
	} else {
		plan = xmp.StylePlan(analysis, len(shots))
	}

	if c.AnalyzeOnly {
		rep := newReport(c, analysis, edits, shots, raws, plan)
		if err := rep.print(stdio.Out, c.JSON); err != nil {
			return err
		}
		return badInput(bad)
	}
	failed, err := c.writeAll(stdio, log, entries, shots, plan)
	if err != nil {
		return err
	}
	if err := badInput(bad); err != nil {
		return err
	}
	if failed > 0 {
		return cli.ErrPartial
	}
	return nil
}

// jobs is how many exiftool processes run: -j, else the CPUs, at most 4.
func (c *Command) jobs() int {
	if c.Jobs > 0 {
		return c.Jobs
	}
	return min(runtime.NumCPU(), 4)
}

func badInput(bad int) error {
	if bad > 0 {
		return cli.WithExit(cli.ExitUsage, fmt.Errorf("%d malformed line(s) skipped", bad))
	}
	return nil
}

// readEdits lists and reads the JPGs; only those with Camera Raw
// settings count.
func (c *Command) readEdits(ctx context.Context, reader *xmp.Reader, log *slog.Logger) ([]xmp.Edit, error) {
	paths, err := listFiles(ctx, c.JpgDir, func(r *record.Record) bool { return r.Media == record.MediaPhoto })
	if err != nil {
		return nil, err
	}
	read, errs := reader.ReadEdits(ctx, paths)
	if err := ctx.Err(); err != nil {
		return nil, fault.Wrap(fault.Canceled, err)
	}
	var edits []xmp.Edit
	dropped := map[string]bool{}
	for i, e := range read {
		switch {
		case errs[i] != nil:
			log.Warn("skipping JPG: " + errs[i].Error())
		case len(e.Settings) == 0:
			log.Info("no Camera Raw settings, skipped: " + e.Path)
		default:
			for _, d := range e.Dropped {
				dropped[d] = true
			}
			edits = append(edits, e)
		}
	}
	if len(dropped) > 0 {
		log.Warn("ignored settings that are not plain Camera Raw properties: " + strings.Join(sortedKeys(dropped), ", "))
	}
	if len(edits) == 0 {
		return nil, cli.WithExit(cli.ExitUsage, fmt.Errorf("no JPG in %s carries Camera Raw settings", c.JpgDir))
	}
	log.Info(fmt.Sprintf("read Camera Raw settings from %d JPG(s)", len(edits)))
	return edits, nil
}

// readRAWs reads the shooting data of the RAWs when calibration needs it;
// entries learn which shot is theirs. It returns the RAWs' paths.
func (c *Command) readRAWs(ctx context.Context, reader *xmp.Reader, entries []*entry) ([]string, []xmp.Shot) {
	var raws []string
	var owners []*entry
	for _, e := range entries {
		if e.raw != "" && e.fail == nil {
			raws = append(raws, e.raw)
			owners = append(owners, e)
		}
	}
	if !c.Calibrate {
		// The style needs no shooting data, only RAWs that exist.
		var paths []string
		var shots []xmp.Shot
		for i, p := range raws {
			if st, err := os.Stat(p); err != nil || !st.Mode().IsRegular() {
				owners[i].fail = fault.Errorf(fault.NotFound, "%s: no such file", p)
				continue
			}
			owners[i].shot = len(shots)
			shots = append(shots, xmp.Shot{Path: p, Flash: -1})
			paths = append(paths, p)
		}
		return paths, shots
	}
	read, errs := reader.ReadShots(ctx, raws)
	var paths []string
	var shots []xmp.Shot
	for i, s := range read {
		if errs[i] != nil {
			owners[i].fail = errs[i]
			continue
		}
		owners[i].shot = len(shots)
		shots = append(shots, s)
		paths = append(paths, raws[i])
	}
	return paths, shots
}

// writeAll writes one sidecar per RAW and the records, in input order.
func (c *Command) writeAll(stdio cli.Stdio, log *slog.Logger, entries []*entry, shots []xmp.Shot, plan *xmp.Plan) (int, error) {
	enc := record.NewEncoder(stdio.Out)
	defer enc.Close()
	owner := map[string]string{} // sidecar path → RAW that claimed it
	failed, written := 0, map[string]int{}
	for _, e := range entries {
		out := e.rec
		switch {
		case e.raw == "":
		case e.fail != nil:
			out = failure(e.rec, e.fail)
		default:
			side := xmp.SidecarPath(e.raw, c.SidecarName)
			if prev, ok := owner[side]; ok && prev != e.raw {
				out = failure(e.rec, fault.Errorf(fault.Permanent,
					"%s and %s would share the sidecar %s: use --sidecar-name ext", prev, e.raw, side))
				break
			}
			owner[side] = e.raw
			err := error(nil)
			if !c.DryRun {
				err = xmp.WriteSidecar(side, xmp.Marshal(plan.Settings[e.shot]), c.SkipExisting)
			}
			switch {
			case errors.Is(err, xmp.ErrExists):
				log.Info("kept existing sidecar " + side)
				written["kept"]++
			case err != nil:
				out = failure(e.rec, err)
			default:
				written[plan.From[e.shot]]++
			}
			if out == e.rec {
				out = e.rec.Clone()
				if err := out.Set("xmp", side); err != nil {
					return failed, err
				}
			}
		}
		if out.Type == record.TypeFailure && e.raw != "" {
			failed++
		}
		if err := enc.Encode(out); err != nil {
			return failed, err
		}
	}
	verb := "wrote"
	if c.DryRun {
		verb = "would write"
	}
	log.Info(fmt.Sprintf("%s %d sidecar(s): %d matched, %d estimated from neighbours, %d style only; %d kept, %d failed",
		verb, written[xmp.FromMatch]+written[xmp.FromNearest]+written[xmp.FromStyle],
		written[xmp.FromMatch], written[xmp.FromNearest], written[xmp.FromStyle], written["kept"], failed))
	return failed, enc.Close()
}

func failure(rec *record.Record, err error) *record.Record {
	return rec.AsFailure(string(fault.ClassOf(err)), err.Error(), 1, fault.HintOf(err))
}

func sortedKeys(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// displayName shortens a path for tables: relative to base when inside it.
func displayName(base, path string) string {
	if rel, err := filepath.Rel(base, path); err == nil && !strings.HasPrefix(rel, "..") {
		return rel
	}
	return path
}
