// Package check is ps-check: compare an archive with what ps-fetch wrote
// into it, and with a fresh listing of its source.
package check

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/ps-photos/ps/internal/check"
	"github.com/ps-photos/ps/internal/cli"
	"github.com/ps-photos/ps/internal/fault"
	"github.com/ps-photos/ps/internal/record"
	"github.com/ps-photos/ps/internal/source"
	"github.com/ps-photos/ps/internal/source/all"
)

const description = `Compare an archive ps-fetch filled with what it wrote there (its manifest), and with a fresh
listing of the source when one is piped in, without downloading or changing anything — like rclone check.

Each difference is a "check" record on stdout: status missing (a file the manifest has is not on disk, or
a listed item was never fetched), changed (the file on disk is not the bytes ps-fetch wrote — for a JPEG,
"check.image" says "same" when only its metadata changed, "changed" when the picture did; or the source
now has another version), gone (a complete listing no longer has it) or extra (a file ps-fetch did not
write). "where" says which side differs: "archive" or "source".

Examples:
  ps-check -o ~/Photos                              # every file still as fetched? (re-hashes each)
  ps-check -o ~/Photos --quick                      # sizes only: fast
  ps-list /media/card | ps-check -o ~/Photos        # also: what is new, changed or gone at the source
  ps-check -o ~/Photos | jq -r 'select(.status=="changed") | .local'

Exit status: 0 the archive matches; 1 differences were found; 2 usage error or bad input; 3 a source
needs ps-auth; 130 interrupted.`

var envHelp = cli.EnvHelp("PS_STATE_DIR", "XDG_STATE_HOME", "HTTPS_PROXY", "NO_COLOR")

// Command is the ps-check command line.
type Command struct {
	cli.Globals
	Output  string `short:"o" required:"" type:"path" placeholder:"DIR" help:"The archive: the folder ps-fetch wrote (-o of ps-fetch)."`
	Quick   bool   `help:"Compare sizes only; do not re-hash every file."`
	All     bool   `help:"Also write a record for each file that is as fetched (status ok)."`
	Offline bool   `help:"Never read the source: a changed JPEG's check.image stays unknown."`
	Jobs    int    `short:"j" default:"4" placeholder:"N" help:"Files hashed at once (default: ${default})."`
}

// Main runs ps-check.
func Main(args []string, stdio cli.Stdio) int {
	return cli.Run("ps-check", strings.Replace(description, "\n\nExit status:", "\n\n"+envHelp+"\n\nExit status:", 1), &Command{}, args, stdio)
}

// Run compares the archive.
func (c *Command) Run(stdio cli.Stdio) error {
	if c.Jobs < 1 {
		return cli.WithExit(cli.ExitUsage, errors.New("--jobs must be at least 1"))
	}
	log := c.Logger(stdio.Err)
	ctx, stop := cli.SignalContext(context.Background(), stdio.Err)
	defer stop()
	out := record.NewEncoder(stdio.Out)
	defer out.Close()
	opts := check.Options{Dir: c.Output, Quick: c.Quick, All: c.All, Jobs: c.Jobs,
		OnBadLine: func(le *record.LineError) { log.Error(le.Error()) }}
	if !stdio.InTerminal() {
		opts.Listing = stdio.In
	}
	if !c.Offline {
		pool := source.NewPool(all.Registry(), cli.Env(log))
		defer pool.Close()
		opts.Opener = pool
	}
	stats, err := check.Run(ctx, out, opts)
	if cerr := out.Close(); cerr != nil && err == nil {
		err = fault.Wrap(fault.Local, cerr)
	}
	log.Info(summary(stats))
	switch {
	case fault.ClassOf(err) == fault.Canceled:
		return cli.WithExit(cli.ExitInterrupted, errors.New("interrupted"))
	case err != nil:
		return err
	case stats.BadLines > 0:
		return cli.WithExit(cli.ExitUsage, fmt.Errorf("%d malformed line(s) skipped", stats.BadLines))
	case stats.Differences() > 0:
		return cli.ErrPartial
	}
	return nil
}

func summary(s *check.Stats) string {
	keys := make([]string, 0, len(s.Counts))
	for k := range s.Counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%d %s", s.Counts[k], k))
	}
	if len(parts) == 0 {
		return "nothing to check"
	}
	return strings.Join(parts, ", ")
}
