// Package filter is ps-filter: it selects item records and passes every
// other record through unchanged.
package filter

import (
	"fmt"
	"strings"

	"github.com/ps-photos/ps/internal/cli"
	engine "github.com/ps-photos/ps/internal/filter"
	"github.com/ps-photos/ps/internal/record"
)

const description = `Select item records from a JSON-lines stream. Records that are not items (session, end, failure,
result) pass through unchanged, and an item that passes is written byte for byte as it came in. An end record
after which items were dropped says how many ("excluded": N), so ps-fetch --mirror does not delete them.

All selections must hold (AND); values within one flag are alternatives (OR).

Examples:
  ps-list /media/card | ps-filter --ext CR3 --since 2024-06-01
  ps-list smb://nas/photos | ps-filter --dir 2024/Trips --not-dir 2024/Trips/tmp --min-size 1M
  ps-list ~/Pictures | ps-filter --media raw,video --include '**/DCIM/**' --exclude '*.THM'
  ps-list ~/Pictures | ps-filter --by taken --newest 100
  ps-list ~/Pictures | ps-filter --ext JPG --invert          # everything but JPGs

Dates are YYYY-MM-DD (local time; --until includes the whole day) or RFC 3339. Sizes take k, M, G, T
(powers of 1024) or kB, MB, GB, TB (powers of 1000).`

// Command is the ps-filter command line.
type Command struct {
	cli.Globals
	cli.RecordInput
	Ext     []string `help:"File extensions to keep (case-insensitive, comma-separated, repeatable): CR3,JPG. Spellings of one format match each other: jpg/jpeg/jpe, tif/tiff, heic/heif/hif, mpg/mpeg, mov/qt." placeholder:"EXT"`
	Media   []string `help:"Media kinds to keep: raw, photo, video, sidecar, other." placeholder:"KIND"`
	Since   string   `placeholder:"DATE" help:"Keep items from this date or time on."`
	Until   string   `placeholder:"DATE" help:"Keep items up to this date or time (a date includes the whole day)."`
	By      string   `enum:"mtime,taken" default:"mtime" placeholder:"mtime|taken" help:"Which time --since, --until and --newest use: mtime, or taken (falling back to mtime)."`
	MinSize string   `placeholder:"SIZE" help:"Keep items at least this big (10M, 1.5G)."`
	MaxSize string   `placeholder:"SIZE" help:"Keep items at most this big."`
	Include []string `help:"Keep items whose path matches one of these globs (** matches any folders; a pattern without / matches the name)." placeholder:"GLOB"`
	Exclude []string `help:"Drop items whose path matches one of these globs." placeholder:"GLOB"`
	Dir     []string `help:"Keep only items under one of these folders (an allow list)." placeholder:"DIR"`
	NotDir  []string `help:"Drop items under any of these folders (a deny list)." placeholder:"DIR"`
	Newest  int      `placeholder:"N" help:"Keep only the N newest matching items (by --by), in input order (default: all)."`
	Invert  bool     `help:"Keep the items that do not match instead."`
}

// Main runs ps-filter.
func Main(args []string, stdio cli.Stdio) int {
	return cli.Run("ps-filter", description+"\n\n"+cli.EnvHelp("NO_COLOR")+"\n\n"+cli.ExitHelp, &Command{}, args, stdio)
}

// Run filters stdin to stdout.
func (c *Command) Run(stdio cli.Stdio) error {
	crit, err := c.criteria()
	if err != nil {
		return cli.WithExit(cli.ExitUsage, err)
	}
	log := c.Logger(stdio.Err)
	cli.HintStdin(stdio, "ps-list DIR | ps-filter …")
	stats, err := engine.Run(stdio.In, stdio.Out, crit, engine.Options{
		Strict: c.Strict,
		Newest: c.Newest,
		Report: func(e *record.LineError) { log.Error(e.Error()) },
	})
	if err == engine.ErrStopped {
		return cli.WithExit(cli.ExitUsage, err)
	}
	if err != nil {
		return err
	}
	if stats.Bad > 0 {
		return cli.WithExit(cli.ExitUsage, fmt.Errorf("%d malformed line(s) skipped", stats.Bad))
	}
	return nil
}

func (c *Command) criteria() (*engine.Criteria, error) {
	crit := &engine.Criteria{ByTaken: c.By == "taken", Invert: c.Invert, Exts: engine.ExtSet(splitList(c.Ext))}
	for _, m := range splitList(c.Media) {
		if !record.ValidMedia(m) {
			return nil, fmt.Errorf("--media %q: want raw, photo, video, sidecar or other", m)
		}
		if crit.Media == nil {
			crit.Media = map[string]bool{}
		}
		crit.Media[m] = true
	}
	var err error
	if crit.Since, err = cli.ParseDate(c.Since, false); err != nil {
		return nil, fmt.Errorf("--since: %w", err)
	}
	if crit.Until, err = cli.ParseDate(c.Until, true); err != nil {
		return nil, fmt.Errorf("--until: %w", err)
	}
	if c.MinSize != "" {
		if crit.MinSize, err = engine.ParseSize(c.MinSize); err != nil {
			return nil, fmt.Errorf("--min-size: %w", err)
		}
	}
	if c.MaxSize != "" {
		if crit.MaxSize, err = engine.ParseSize(c.MaxSize); err != nil {
			return nil, fmt.Errorf("--max-size: %w", err)
		}
	}
	for _, list := range []struct {
		in  []string
		out *[]engine.Glob
	}{{c.Include, &crit.Include}, {c.Exclude, &crit.Exclude}} {
		for _, p := range list.in {
			g, err := engine.ParseGlob(p)
			if err != nil {
				return nil, err
			}
			*list.out = append(*list.out, g)
		}
	}
	for _, d := range c.Dir {
		crit.Dirs = append(crit.Dirs, engine.CleanDir(d))
	}
	for _, d := range c.NotDir {
		crit.NotDirs = append(crit.NotDirs, engine.CleanDir(d))
	}
	if c.Newest < 0 {
		return nil, fmt.Errorf("--newest must be positive")
	}
	return crit, nil
}

// splitList splits comma-separated, repeatable flag values.
func splitList(vals []string) []string {
	var out []string
	for _, v := range vals {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}
