// Package fetch is ps-fetch: it downloads the files item records describe.
// The engine is internal/fetch; this is the command line around it.
package fetch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ps-photos/ps/internal/cli"
	"github.com/ps-photos/ps/internal/fault"
	engine "github.com/ps-photos/ps/internal/fetch"
	"github.com/ps-photos/ps/internal/manifest"
	"github.com/ps-photos/ps/internal/naming"
	"github.com/ps-photos/ps/internal/progress"
	"github.com/ps-photos/ps/internal/record"
	"github.com/ps-photos/ps/internal/retry"
	"github.com/ps-photos/ps/internal/safefile"
	"github.com/ps-photos/ps/internal/source"
	"github.com/ps-photos/ps/internal/source/all"
)

const description = `Download the files that item records describe into a local folder.

ps-fetch reads item, result or failure records on stdin (their type does not matter), downloads each
through its source in parallel, and writes one result or failure record per item on stdout. Work starts
with the first line. Downloads go to NAME.XXXXXXXX.part files that are synced and renamed when complete;
an interrupted run resumes them. The output folder keeps a manifest (.ps-manifest.jsonl.zst) of what
ps-fetch wrote, so a re-run skips those files without touching the network.

Examples:
  ps-list /media/card | ps-fetch -o ~/Archive
  ps-list smb://nas/photos | ps-filter --ext CR3 | ps-fetch -o ~/Archive --name date -j 8 --failures failed.jsonl
  ps-fetch -o ~/Archive < failed.jsonl                  # retry exactly what failed
  jq -c '{type:"item", url:., path:(.|split("/")|last)}' -R urls.txt | ps-fetch -o out
  ps-list ~/Pictures | ps-fetch -o ~/Copy --mirror      # also delete what left the source

--name takes a preset or a template. Presets: path (the source's relative path, default), epoch
(1758941669.CR3: mtime in Unix seconds), date (2024/07/01/IMG_0001.CR3: capture date, else mtime, UTC).
Template fields: {path} {dir} {name} {stem} {ext} {id} {mtime:FORMAT} {taken:FORMAT}; FORMAT uses %Y %m %d
%H %M %S %j %b %F %T and %s (Unix seconds). Names that collide get _1, _2, … in input order.`

// Command is the ps-fetch command line.
type Command struct {
	cli.Globals
	cli.RecordInput
	Output         string        `short:"o" required:"" placeholder:"DIR" help:"Folder to download into (created if missing)."`
	Jobs           int           `short:"j" default:"4" placeholder:"N" help:"Parallel downloads."`
	Name           string        `placeholder:"TEMPLATE" help:"How to name files: path, epoch, date, or a template like '{taken:%Y/%m}/{name}'. Default: what this folder was last filled with, else path."`
	Failures       string        `placeholder:"FILE" help:"Also append every failure record to FILE (feed it back to retry)."`
	Retries        int           `default:"3" placeholder:"N" help:"Retries per item for transient and rate-limited errors."`
	Progress       string        `enum:"auto,bar,plain,none" default:"auto" placeholder:"auto|bar|plain|none" help:"Progress on stderr: bar (terminal), plain (a line every 10s), none; auto picks bar on a terminal, else none."`
	Force          bool          `help:"Download again even what the manifest says is there."`
	VerifyExisting bool          `help:"Re-hash files the manifest has and fetch again those that differ."`
	DryRun         bool          `help:"Print the records ps-fetch would write (status planned) and write nothing."`
	Mirror         bool          `help:"Delete files ps-fetch wrote for items no longer in the input (needs a complete, unfiltered listing)."`
	DeleteExcluded bool          `help:"With --mirror, also delete files of items a filter (ps-filter) left out of the listing."`
	MaxDelete      int           `default:"-1" placeholder:"N" help:"With --mirror, delete nothing (exit 1) when more than N files would go (default: -1, no limit)."`
	IdleTimeout    time.Duration `default:"60s" placeholder:"DURATION" help:"Retry a download that receives nothing for this long."`
	GiveUpAfter    int           `default:"10" placeholder:"N" help:"Stop trying a source after N items in a row failed with network errors (their retries spent); its other items fail at once, ready to re-run. 0: never."`
}

// Main runs ps-fetch.
func Main(args []string, stdio cli.Stdio) int {
	return cli.Run("ps-fetch", description+"\n\n"+envHelp+"\n\n"+exitHelp, &Command{}, args, stdio)
}

var envHelp = cli.EnvHelp("PS_STATE_DIR", "XDG_STATE_HOME", "HTTPS_PROXY", "PS_QUICKCONNECT_URL", "NO_COLOR")

const exitHelp = cli.ExitHelp + ` A full disk stops the run (exit 1).`

// Run downloads stdin's items.
func (c *Command) Run(stdio cli.Stdio) error {
	if c.Jobs < 1 || c.Retries < 0 || c.GiveUpAfter < 0 {
		return cli.WithExit(cli.ExitUsage, errors.New("--jobs must be at least 1, --retries and --give-up-after at least 0"))
	}
	log := c.Logger(stdio.Err)
	if c.Name != "" {
		if _, err := naming.Parse(c.Name); err != nil {
			return cli.WithExit(cli.ExitUsage, err)
		}
	}
	// The folder's lock comes before any state in it is read or written
	// (.ps-fetch-name included). A folder another ps-fetch holds still
	// gets its items: each becomes a local failure, ready to re-feed.
	var lock *manifest.Lock
	var refused error
	if !c.DryRun {
		var err error
		lock, err = manifest.TakeLock(c.Output)
		switch {
		case errors.Is(err, manifest.ErrInUse):
			refused = err
			log.Error(err.Error())
		case err != nil:
			return err
		}
	}
	var tmpl *naming.Template
	if refused == nil {
		name, err := folderName(c.Output, c.Name, c.DryRun, log)
		if err == nil {
			tmpl, err = naming.Parse(name)
		}
		if err != nil {
			if lock != nil {
				lock.Release()
			}
			return err
		}
	}
	ctx, stop := cli.SignalContext(context.Background(), stdio.Err)
	defer stop()

	var failures *record.Encoder
	if c.Failures != "" && !c.DryRun {
		f, err := openFailures(c.Failures)
		if err != nil {
			return cli.WithExit(cli.ExitUsage, fmt.Errorf("--failures: %w", err))
		}
		defer f.Close()
		failures = record.NewLineEncoder(f)
		defer failures.Close()
	}
	mode := c.progressMode(stdio)
	prog := c.openProgress(mode, stdio, log)
	stdout := stdio.Out
	if mode == progress.Bar && stdio.OutTerminal() {
		// Records and bars share the terminal: print the records above
		// the bars so neither tears the other.
		stdout = prog.Above()
		log.Info("records go to this terminal; to keep them, redirect: ps-fetch … > results.jsonl")
	}
	out := record.NewEncoder(stdout)
	defer out.Close()
	pool := source.NewPool(all.Registry(), cli.Env(log))
	defer pool.Close()
	cli.HintStdin(stdio, "ps-list DIR | ps-fetch -o OUT")
	if mode == progress.Bar || mode == progress.Plain {
		go countAhead(ctx, stdio.In, prog)
	}
	stats, err := engine.Run(ctx, stdio.In, out, engine.Options{
		Dir: c.Output, Lock: lock, Refused: refused, Jobs: c.Jobs, Name: tmpl, Retries: c.Retries,
		Force: c.Force, VerifyExisting: c.VerifyExisting, DryRun: c.DryRun, Mirror: c.Mirror,
		DeleteExcluded: c.DeleteExcluded, MaxDelete: c.maxDelete(),
		IdleTimeout: c.IdleTimeout, GiveUpAfter: c.GiveUpAfter, Opener: pool, Failures: failures, Progress: prog, Log: log,
		Strict:    c.Strict,
		OnBadLine: func(le *record.LineError) { log.Error(le.Error()) },
		Backoff:   retry.Policy{Base: 500 * time.Millisecond, Max: 30 * time.Second, MaxWait: 5 * time.Minute},
	})
	prog.Finish()
	if cerr := out.Close(); cerr != nil && err == nil && !errors.Is(cerr, os.ErrClosed) {
		err = cerr
	}
	if failures != nil {
		if ferr := failures.Close(); ferr != nil && err == nil {
			err = fault.Wrap(fault.Local, fmt.Errorf("--failures: %w", ferr))
		}
	}
	return exitFor(stats, err)
}

// exitFor maps the run's outcome to the shared exit codes.
func exitFor(s engine.Stats, err error) error {
	var le *record.LineError
	switch {
	case s.Canceled:
		return cli.WithExit(cli.ExitInterrupted, errors.New("interrupted: unfinished items were written as canceled failures; run again to resume"))
	case errors.As(err, &le):
		return cli.WithExit(cli.ExitUsage, err)
	case err != nil:
		return err
	case s.Auth != nil:
		return cli.WithExit(cli.ExitAuth, s.Auth)
	case s.DiskFull != nil:
		return cli.WithExit(cli.ExitPartial, fmt.Errorf("stopped because the disk is full: %w", s.DiskFull))
	case s.BadLines > 0:
		return cli.WithExit(cli.ExitUsage, fmt.Errorf("%d malformed line(s) skipped", s.BadLines))
	case s.MirrorStopped != nil:
		return cli.WithExit(cli.ExitPartial, fmt.Errorf("mirror: %w", s.MirrorStopped))
	case s.Failed > 0:
		return cli.ErrPartial
	}
	return nil
}

// maxDelete is --max-delete for the engine: nil when there is no limit.
func (c *Command) maxDelete() *int {
	if c.MaxDelete < 0 {
		return nil
	}
	return &c.MaxDelete
}

func (c *Command) progressMode(stdio cli.Stdio) string {
	if c.Quiet {
		return progress.Quiet
	}
	switch c.Progress {
	case "bar":
		return progress.Bar
	case "plain":
		return progress.Plain
	case "none":
		return progress.None
	}
	if stdio.ErrTerminal() {
		return progress.Bar
	}
	return progress.None
}

// openProgress starts the progress display; while bars are live, log
// lines go above them.
func (c *Command) openProgress(mode string, stdio cli.Stdio, log *slog.Logger) *progress.Progress {
	cfg := progress.Config{Mode: mode, W: stdio.Err, Color: stdio.Color(), FailuresFile: c.Failures, DryRun: c.DryRun, Mirror: c.Mirror}
	screen, _ := stdio.Err.(*cli.Screen)
	if screen != nil {
		cfg.Bars = screen.Raw()
	}
	if c.LogFormat == "json" {
		cfg.Log = log
	}
	prog := progress.Open(cfg)
	if mode == progress.Bar && screen != nil {
		restore := screen.Divert(prog.Above())
		prog.OnFinish(restore)
	}
	return prog
}

// nameFile remembers the --name a folder was filled with, so that
// "ps-fetch -o DIR < failed.jsonl" names retried files like the first run.
const nameFile = ".ps-fetch-name"

// folderName returns the naming to use: the flag when given (and then
// remembered for the folder), else the folder's remembered naming, else
// "path".
func folderName(dir, flag string, dryRun bool, log *slog.Logger) (string, error) {
	stored, err := safefile.ReadFile(filepath.Join(dir, nameFile))
	remembered := strings.TrimSpace(string(stored))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", fault.Wrap(fault.Local, err)
	}
	if remembered != "" {
		if _, err := naming.Parse(remembered); err != nil {
			return "", fault.Wrap(fault.Local, fmt.Errorf("%s: %w", filepath.Join(dir, nameFile), err))
		}
	}
	if flag == "" {
		if remembered != "" {
			return remembered, nil
		}
		return "path", nil
	}
	if remembered != "" && remembered != flag {
		log.Warn(fmt.Sprintf("%s was filled with --name %s; files fetched now are named by %s", dir, remembered, flag))
	}
	if dryRun || remembered == flag {
		return flag, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fault.Wrap(fault.Local, err)
	}
	if err := safefile.WriteFile(filepath.Join(dir, nameFile), []byte(flag+"\n"), 0o644); err != nil {
		return "", fault.Wrap(fault.Local, err)
	}
	return flag, nil
}

// openFailures opens the --failures file for appending. A run killed
// while writing it may have left a torn last line: that is cut back to the
// last whole line, so the next record starts a line of its own and the
// file stays valid input (the torn record also went to stdout, and the
// item is fetched again by re-feeding the listing).
func openFailures(p string) (*os.File, error) {
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	if err := cutTornLine(f); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// cutTornLine truncates f after its last "\n" when it does not end in one.
func cutTornLine(f *os.File) error {
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() || st.Size() == 0 {
		return err // a pipe or device: nothing to cut
	}
	size := st.Size()
	buf := make([]byte, 64<<10)
	for end := size; end > 0; {
		start := max(0, end-int64(len(buf)))
		chunk := buf[:end-start]
		if _, err := f.ReadAt(chunk, start); err != nil {
			return err
		}
		if end == size && chunk[len(chunk)-1] == '\n' {
			return nil // ends in a whole line
		}
		if i := bytes.LastIndexByte(chunk, '\n'); i >= 0 {
			return f.Truncate(start + int64(i) + 1)
		}
		end = start
	}
	return f.Truncate(0) // one torn line and nothing else
}
