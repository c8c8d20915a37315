// Package list is ps-list: it streams the items of a source as JSON lines.
package list

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync/atomic"
	"syscall"

	"github.com/alecthomas/kong"

	"github.com/ps-photos/ps/internal/cli"
	"github.com/ps-photos/ps/internal/fault"
	"github.com/ps-photos/ps/internal/record"
	"github.com/ps-photos/ps/internal/source"
	"github.com/ps-photos/ps/internal/source/all"
	"github.com/ps-photos/ps/internal/state"
)

const description = `List the files of a photo source as JSON lines (one "item" record per file, then an "end" record).

Examples:
  ps-list /media/card/DCIM                      # a memory card or any folder
  ps-list smb://me@nas/photos/2024 -j 16        # an SMB share (after ps-auth smb)
  ps-auth synology --link URL | ps-list         # the share a session record names
  ps-list                                       # the latest session ps-auth saved
  ps-list ~/Pictures | ps-filter --ext CR3 | ps-fetch -o ~/Archive
  ps-list icloud: --changes-since ~/.local/state/ps/icloud.changes | ps-fetch -o ~/iCloud
                                                # only what changed since the last run (see docs/sync.md)`

var envHelp = cli.EnvHelp("PS_STATE_DIR", "XDG_STATE_HOME", "PS_PASSWORD", "HTTPS_PROXY", "PS_QUICKCONNECT_URL", "NO_COLOR")

// Command is the ps-list command line: the flags every source shares. Each
// source adds its own (Factory.ListFlags) under its name in --help.
type Command struct {
	cli.Globals
	Location string `arg:"" optional:"" help:"What to list: a location of one of the sources below. Default: the session on stdin, else the latest saved session."`
	Jobs     int    `short:"j" default:"8" placeholder:"N" help:"Folders or pages read concurrently (local folders: 1 gives a stable order)."`
	Folder   string `name:"dir" aliases:"folder" placeholder:"DIR" help:"List only below this folder of the source (default: all of it). --folder is the old name."`
	Hash     string `enum:",sha256" default:"" placeholder:"sha256" help:"Read every file and add its sha256 (slow; for verification). Default: no hash."`
	Since    string `placeholder:"DATE" help:"Only items from this date on, where the source can filter (YYYY-MM-DD or RFC 3339)."`
	Until    string `placeholder:"DATE" help:"Only items up to this date (inclusive), where the source can filter."`
	Session  string `type:"existingfile" placeholder:"FILE" help:"Read the session record from this file (default: stdin, else the latest saved session)."`
	// ChangesSince is shared by the sources that implement
	// source.ChangeLister; the others refuse it (exit 2).
	ChangesSince string `name:"changes-since" placeholder:"STATEFILE" help:"List only what changed since the run that wrote STATEFILE (icloud:, local folders; icloud: also writes \"gone\" records for what was deleted); the first run, or one whose state the source refuses, lists everything. STATEFILE is written (mode 0600) only after the end record is out."`

	reg   *source.Registry
	flags map[string]any // each source's flag struct, by factory name
}

// Main runs ps-list.
func Main(args []string, stdio cli.Stdio) int {
	return MainWith(all.Registry(), args, stdio)
}

// MainWith runs ps-list over the sources of reg (tests pass fakes).
func MainWith(reg *source.Registry, args []string, stdio cli.Stdio) int {
	if err := refuseOpt(args); err != nil {
		fmt.Fprintf(stdio.Err, "ps-list: %v\n", err)
		return cli.ExitUsage
	}
	c := &Command{reg: reg, flags: map[string]any{}}
	var opts []kong.Option
	var groups []kong.Group
	for _, f := range reg.Factories() {
		if f.ListFlags == nil {
			continue
		}
		c.flags[f.Name] = f.ListFlags()
		opts = append(opts, kong.Embed(c.flags[f.Name], "group:"+f.Name))
		groups = append(groups, kong.Group{Key: f.Name, Title: f.Name + " flags:"})
	}
	opts = append(opts, kong.ExplicitGroups(groups))
	return cli.Run("ps-list", description+"\n\n"+sourcesHelp(reg)+"\n\n"+envHelp+"\n\n"+cli.ExitHelp, c, args, stdio, opts...)
}

// sourcesHelp lists the sources and their location forms for --help.
func sourcesHelp(reg *source.Registry) string {
	var b strings.Builder
	b.WriteString("Sources (flags under a source's name apply to its locations only):")
	for _, f := range reg.Factories() {
		fmt.Fprintf(&b, "\n  %-9s %s", f.Name, f.Help)
	}
	return b.String()
}

// refuseOpt explains the removed --opt KEY=VALUE: each source now has
// typed flags, and a key kong would call unknown deserves the new name.
func refuseOpt(args []string) error {
	for i, a := range args {
		if a == "--" {
			return nil
		}
		if kv, ok := strings.CutPrefix(a, "--opt="); ok || a == "--opt" {
			if !ok && i+1 < len(args) {
				kv = args[i+1]
			}
			key, _, _ := strings.Cut(kv, "=")
			return fmt.Errorf("--opt %s is now the source's own flag --%s (see ps-list --help)", kv, key)
		}
	}
	return nil
}

// Run lists one location.
func (c *Command) Run(kctx *kong.Context, stdio cli.Stdio) error {
	log := c.Logger(stdio.Err)
	ctx, stop := cli.SignalContext(context.Background(), stdio.Err)
	defer stop()
	opts, err := c.options()
	if err != nil {
		return source.Usage(err)
	}
	location, session, err := c.resolve(stdio)
	if err != nil {
		return err
	}
	factory, err := c.reg.Lookup(location)
	if err != nil {
		return err
	}
	if err := refuseForeignFlags(kctx, factory); err != nil {
		return err
	}
	opts.Flags = c.flags[factory.Name]
	env := cli.Env(log)
	src, err := c.reg.Open(ctx, env, location, session)
	if err != nil {
		return err
	}
	defer src.Close()

	enc := record.NewEncoder(stdio.Out)
	defer enc.Close()
	sink := &streamSink{enc: enc}
	var changes *changeRun
	var listErr error
	if c.ChangesSince != "" {
		if changes, err = startChanges(c.ChangesSince, src, opts, log); err != nil {
			return source.Usage(err)
		}
		listErr = changes.list(ctx, sink)
		if source.IsUsage(listErr) {
			return listErr // refused before anything was listed
		}
	} else {
		listErr = src.List(ctx, opts, sink)
	}
	if listErr != nil && fault.ClassOf(listErr) != fault.Canceled && !isBrokenPipe(listErr) {
		// The listing ended early: say so as a record, too, so a pipeline
		// that only reads stdout knows.
		sink.Failure(record.FolderFailure(src.Location(), "."), listErr)
	}
	whole := listErr == nil && sink.failures.Load() == 0
	end := record.NewEnd(src.Location(), whole, sink.items.Load())
	if changes != nil {
		changes.mark(end)
	}
	if err := enc.Encode(end); err != nil {
		return err
	}
	if err := enc.Close(); err != nil {
		if isBrokenPipe(err) {
			return nil
		}
		return err
	}
	if changes != nil && whole {
		// Only now: a run killed before its end record was out lists the
		// same changes again.
		if err := changes.save(); err != nil {
			return err
		}
	}
	switch {
	case listErr != nil:
		return listErr
	case sink.failures.Load() > 0:
		log.Warn(fmt.Sprintf("listing incomplete: %d part(s) could not be read", sink.failures.Load()))
		return cli.ErrPartial
	}
	return nil
}

// sharedFlags are the shared listing flags a source may not honour.
var sharedFlags = map[string]func(source.Honours) bool{
	"dir":   func(h source.Honours) bool { return h.Folder },
	"hash":  func(h source.Honours) bool { return h.Hash },
	"since": func(h source.Honours) bool { return h.Dates },
	"until": func(h source.Honours) bool { return h.Dates },
}

// refuseForeignFlags fails on a flag given on the command line that the
// source of the location cannot honour: another source's flag, or a shared
// one its factory does not name. Ignoring it would list more than asked.
func refuseForeignFlags(kctx *kong.Context, f source.Factory) error {
	for _, p := range kctx.Path {
		flag := p.Flag
		if flag == nil {
			continue
		}
		if flag.Group != nil && flag.Group.Key != f.Name {
			return source.Usagef("--%s is a flag of the %s source; %s locations do not take it", flag.Name, flag.Group.Key, f.Name)
		}
		if honours, shared := sharedFlags[flag.Name]; shared && !honours(f.Honours) {
			return source.Usagef("the %s source cannot apply --%s; leave it out (or filter the listing with ps-filter)", f.Name, flag.Name)
		}
	}
	return nil
}

func (c *Command) options() (source.ListOptions, error) {
	opts := source.ListOptions{Jobs: c.Jobs, Folder: c.Folder, Hash: c.Hash}
	var err error
	if opts.Since, err = cli.ParseDate(c.Since, false); err != nil {
		return opts, fmt.Errorf("--since: %w", err)
	}
	if opts.Until, err = cli.ParseDate(c.Until, true); err != nil {
		return opts, fmt.Errorf("--until: %w", err)
	}
	return opts, nil
}

// resolve finds what to list: the argument, a session record from
// --session or stdin, or the latest saved session.
func (c *Command) resolve(stdio cli.Stdio) (string, *record.Record, error) {
	if c.Location != "" {
		return c.Location, nil, nil
	}
	if c.Session != "" {
		f, err := os.Open(c.Session)
		if err != nil {
			return "", nil, err
		}
		defer f.Close()
		return readSession(f)
	}
	if !stdio.InTerminal() {
		if loc, sess, err := readSession(stdio.In); err == nil || !errors.Is(err, errNoSession) {
			return loc, sess, err
		}
	}
	sess, err := state.Store{Dir: state.Dir()}.Latest()
	if err != nil {
		return "", nil, cli.WithExit(cli.ExitUsage, err)
	}
	return sess.Source, sess, nil
}

var errNoSession = errors.New("no session record on stdin")

func readSession(r io.Reader) (string, *record.Record, error) {
	dec := record.NewDecoder(r)
	for {
		rec, err := dec.Decode()
		if errors.Is(err, io.EOF) {
			return "", nil, errNoSession
		}
		if err != nil {
			return "", nil, cli.WithExit(cli.ExitUsage, fmt.Errorf("session input: %w", err))
		}
		if rec.Type == record.TypeSession {
			return rec.Source, rec, nil
		}
	}
}

// streamSink writes items as they arrive and turns listing problems into
// failure records.
type streamSink struct {
	enc      *record.Encoder
	items    atomic.Int64
	failures atomic.Int64
}

func (s *streamSink) Item(rec *record.Record) error {
	if rec.Type == "" {
		rec.Type = record.TypeItem
	}
	if rec.Type == record.TypeItem {
		s.items.Add(1) // albums and libraries are not items
	}
	return s.enc.Encode(rec)
}

func (s *streamSink) Failure(rec *record.Record, err error) error {
	s.failures.Add(1)
	class := fault.ClassOf(err)
	return s.enc.Encode(rec.AsFailure(string(class), err.Error(), 1, fault.HintOf(err)))
}

func isBrokenPipe(err error) bool {
	return errors.Is(err, syscall.EPIPE)
}
