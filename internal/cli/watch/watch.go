// Package watch is ps-watch: it runs a ps pipeline every so often, for a
// NAS or home server that keeps a library in step unattended.
package watch

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/ps-photos/ps/internal/cli"
	"github.com/ps-photos/ps/internal/record"
	"github.com/ps-photos/ps/internal/retry"
	"github.com/ps-photos/ps/internal/state"
	engine "github.com/ps-photos/ps/internal/watch"
)

const description = `Run a command (a ps pipeline) every so often, unattended. Each cycle's stdout and stderr pass
through; after each cycle ps-watch writes a "cycle" record (its number, exit code, when the next starts).

Examples:
  ps-watch --every 15m -- sh -c 'ps-list icloud: --changes-since ~/.local/state/ps/icloud.changes | ps-fetch -o ~/iCloud'
  ps-watch --every 1h --before 'ps-auth synology --link URL --password-file pw --remember-password >/dev/null' \
      --notify-command 'mail -s "ps-watch" me@example.com' -- sh -c 'ps-list | ps-fetch -o /volume1/photos'
  ps-watch --every 6h --cycles 1 -- sh -c '…'      # one cycle, with ps-watch's notifications (for a systemd timer)

A cycle that fails (any exit code but 0) makes the next one wait longer: --every plus a random back-off that
doubles with each failure in a row (from --backoff, at most --max-backoff), reset by a cycle that succeeds.
A cycle (or --before command) that exits 3 means the sign-in expired: --notify-command is run with the message
in $PS_WATCH_MESSAGE and on stdin ($PS_WATCH_EVENT is auth-expired); so it is when a saved session expires
within --expiry-warning (auth-expiring, once a day), and when --notify-after cycles in a row failed for
another reason (failing). Messages never hold a password or token.

SIGTERM or SIGINT stops ps-watch: the running cycle's process group gets the signal, ps-watch waits for it
(killing it after --stop-timeout) and exits 0 (SIGTERM) or 130 (SIGINT); no new cycle starts. The commands run
with stdin from /dev/null and $PS_WATCH_CYCLE set. See docs/sync.md.`

// Command is the ps-watch command line.
type Command struct {
	cli.Globals
	Every         time.Duration `required:"" help:"Start a cycle this often (15m, 1h, 24h)."`
	Before        string        `placeholder:"SHELL-COMMAND" help:"Run this (with /bin/sh) before each cycle, e.g. a ps-auth that renews the session; the cycle is skipped when it fails."`
	NotifyCommand string        `placeholder:"SHELL-COMMAND" help:"Run this (with /bin/sh) when the sign-in has expired or is about to; the message is in $PS_WATCH_MESSAGE and on stdin."`
	ExpiryWarning time.Duration `default:"168h" help:"Notify when a saved session expires within this (0 turns it off)."`
	NotifyAfter   int           `default:"5" help:"Notify when this many cycles in a row failed (0 turns it off)."`
	Backoff       time.Duration `default:"1m" help:"First back-off ceiling after a failed cycle (doubles with each failure in a row)."`
	MaxBackoff    time.Duration `default:"6h" help:"Largest back-off ceiling."`
	Cycles        int           `placeholder:"N" help:"Stop after this many cycles (default 0: until stopped)."`
	StopTimeout   time.Duration `default:"1m" help:"After SIGTERM/SIGINT, how long the running cycle may take to stop before it is killed."`
	Command       []string      `arg:"" passthrough:"" help:"The command to run each cycle (after --); use sh -c '…' for a pipeline."`
}

// Main runs ps-watch.
func Main(args []string, stdio cli.Stdio) int {
	return cli.Run("ps-watch", description+"\n\n"+cli.EnvHelp("PS_STATE_DIR", "XDG_STATE_HOME", "HTTPS_PROXY", "NO_COLOR")+"\n\n"+cli.ExitHelp, &Command{}, args, stdio)
}

// Run watches until stopped.
func (c *Command) Run(stdio cli.Stdio) error {
	if c.Every < time.Second {
		return cli.WithExit(cli.ExitUsage, fmt.Errorf("--every %s: want at least 1s", c.Every))
	}
	argv := c.Command
	if len(argv) > 0 && argv[0] == "--" {
		argv = argv[1:]
	}
	if len(argv) == 0 {
		return cli.WithExit(cli.ExitUsage, fmt.Errorf("no command to run: ps-watch --every 15m -- COMMAND …"))
	}
	log := c.Logger(stdio.Err)
	out := record.NewEncoder(stdio.Out)
	defer out.Close()
	w := engine.New(engine.Options{
		Every: c.Every, Backoff: retry.Policy{Base: c.Backoff, Max: c.MaxBackoff}, Cycles: c.Cycles,
		Command: argv, Before: c.Before, Notify: c.NotifyCommand,
		ExpiryWarning: c.ExpiryWarning, NotifyAfter: c.NotifyAfter, StateDir: state.Dir(), StopTimeout: c.StopTimeout,
		Log: log, Out: out, Stdout: stdio.Out, Stderr: stdio.Err,
	})
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)
	go func() {
		for sig := range sigs {
			if w.StopSignal() == nil {
				log.Info(fmt.Sprintf("%v: stopping after the running cycle", sig))
			}
			w.Stop(sig)
		}
	}()
	code := w.Run()
	if err := out.Close(); err != nil {
		return err
	}
	switch w.StopSignal() {
	case nil:
	case syscall.SIGINT:
		return cli.WithExit(cli.ExitInterrupted, fmt.Errorf("interrupted"))
	default:
		return nil // SIGTERM: a requested stop, as systemd does it
	}
	switch code {
	case 0:
		return nil
	case cli.ExitAuth, cli.ExitUsage:
		return cli.WithExit(code, fmt.Errorf("the last cycle exited %d", code))
	}
	return cli.WithExit(cli.ExitPartial, fmt.Errorf("the last cycle exited %d", code))
}
