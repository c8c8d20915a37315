// Package remove is ps-remove: delete from the source what ps-fetch has
// safely on disk.
package remove

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ps-photos/ps/internal/cli"
	"github.com/ps-photos/ps/internal/fault"
	"github.com/ps-photos/ps/internal/record"
	engine "github.com/ps-photos/ps/internal/remove"
	"github.com/ps-photos/ps/internal/source"
	"github.com/ps-photos/ps/internal/source/all"
)

const description = `Delete from the source the items ps-fetch has safely on disk, to free a memory card, a phone's
iCloud storage or a share. It reads ps-fetch's result records and, WITHOUT --yes, only says what it would
remove ("removed" records with status "planned"); with --yes it removes them.

An item is removed only when its result is "downloaded" or "skipped", it carries a sha256, the local file
has the record's size and re-hashing it gives that sha256, and the source still holds the same version
(size, and mtime where the source has one). Failure records and anything else pass through untouched:
nothing is ever removed for a failure. Local folders and SMB shares delete the file; iCloud moves the
photo to Recently Deleted (kept there about 30 days), as iCloud.com does.

Examples:
  ps-list /media/card | ps-fetch -o ~/Photos > fetched.jsonl
  ps-remove < fetched.jsonl                              # what would be removed
  ps-remove --yes < fetched.jsonl > removed.jsonl        # remove it
  ps-list icloud: | ps-fetch -o ~/iCloud | ps-remove --keep-recent 30 --yes

Every removal is a "removed" record on stdout (status "removed", or "planned" without --yes); a result that
fails a check becomes a failure record saying why (exit 1).`

// Command is the ps-remove command line.
type Command struct {
	cli.Globals
	cli.RecordInput
	Yes        bool `help:"Really remove. Without it ps-remove only reports what it would remove."`
	KeepRecent int  `default:"0" placeholder:"DAYS" help:"Keep items taken (else modified) in the last DAYS days at the source (default: ${default}, keep none)."`
	Jobs       int  `short:"j" default:"4" placeholder:"N" help:"Files verified and removed at once (default: ${default})."`
}

var envHelp = cli.EnvHelp("PS_STATE_DIR", "XDG_STATE_HOME", "HTTPS_PROXY", "NO_COLOR")

// Main runs ps-remove.
func Main(args []string, stdio cli.Stdio) int {
	return cli.Run("ps-remove", description+"\n\n"+envHelp+"\n\n"+cli.ExitHelp, &Command{}, args, stdio)
}

// Run removes what stdin's results allow.
func (c *Command) Run(stdio cli.Stdio) error {
	if c.KeepRecent < 0 || c.Jobs < 1 {
		return cli.WithExit(cli.ExitUsage, errors.New("--keep-recent must be at least 0 and --jobs at least 1"))
	}
	log := c.Logger(stdio.Err)
	ctx, stop := cli.SignalContext(context.Background(), stdio.Err)
	defer stop()
	out := record.NewEncoder(stdio.Out)
	defer out.Close()
	pool := source.NewPool(all.Registry(), cli.Env(log))
	defer pool.Close()

	stats, err := engine.Run(ctx, stdio.In, out, engine.Options{
		Yes: c.Yes, KeepRecent: time.Duration(c.KeepRecent) * 24 * time.Hour, Jobs: c.Jobs,
		Strict: c.Strict, Opener: pool,
		OnBadLine: func(le *record.LineError) { log.Error(le.Error()) },
	})
	if cerr := out.Close(); cerr != nil && err == nil {
		err = fault.Wrap(fault.Local, cerr)
	}
	log.Info(stats.Summary(c.Yes))
	var le *record.LineError
	switch {
	case fault.ClassOf(err) == fault.Canceled:
		return cli.WithExit(cli.ExitInterrupted, errors.New("interrupted: re-run to remove the rest"))
	case errors.As(err, &le):
		return cli.WithExit(cli.ExitUsage, err)
	case err != nil:
		return err
	case stats.Auth != nil:
		return cli.WithExit(cli.ExitAuth, stats.Auth)
	case stats.BadLines > 0:
		return cli.WithExit(cli.ExitUsage, fmt.Errorf("%d malformed line(s) skipped", stats.BadLines))
	case stats.Refused > 0:
		return cli.ErrPartial
	}
	return nil
}
