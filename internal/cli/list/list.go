// Package list is ps-list: it streams the items of a source as JSON lines.
package list

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"syscall"

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
  ps-list ~/Pictures | ps-filter --ext CR3 | ps-fetch -o ~/Archive`

// Command is the ps-list command line.
type Command struct {
	cli.Globals
	Location      string            `arg:"" optional:"" help:"What to list: a folder, file:///path, smb://…, synology://…, takeout:PATH, icloud:, gphotos:…. Default: the session on stdin, else the latest saved session."`
	Jobs          int               `short:"j" default:"8" help:"Folders or pages read concurrently (local folders: 1 gives a stable order)."`
	Folder        string            `help:"Start below this folder of the source."`
	Hash          string            `enum:",sha256" default:"" help:"Read every file and add its hash (slow; for verification)."`
	Since         string            `help:"Only items from this date on, where the source can filter (YYYY-MM-DD or RFC 3339)."`
	Until         string            `help:"Only items up to this date, where the source can filter."`
	Size          []string          `help:"Size variants to list, for sources that have them (original, medium, thumb, adjusted, alternative)."`
	Library       string            `help:"Library to list, for sources with several (icloud: personal or shared)."`
	LivePhotos    string            `enum:",skip,include,only" default:"" help:"Live photos' video parts: skip, include or only."`
	ListAlbums    bool              `help:"List albums instead of items."`
	ListLibraries bool              `help:"List libraries instead of items."`
	FollowLinks   bool              `help:"Follow symbolic links that lead out of a local folder."`
	Session       string            `type:"existingfile" help:"Read the session record from this file."`
	Opt           map[string]string `help:"Source-specific option KEY=VALUE (repeatable)."`
}

// Main runs ps-list.
func Main(args []string, stdio cli.Stdio) int {
	return cli.Run("ps-list", description+"\n\n"+cli.ExitHelp, &Command{}, args, stdio)
}

// Run lists one location.
func (c *Command) Run(stdio cli.Stdio) error {
	log := c.Logger(stdio.Err)
	ctx, stop := cli.SignalContext(context.Background(), stdio.Err)
	defer stop()
	opts, err := c.options()
	if err != nil {
		return cli.WithExit(cli.ExitUsage, err)
	}
	location, session, err := c.resolve(stdio)
	if err != nil {
		return err
	}
	env := cli.Env(log)
	src, err := all.Registry().Open(ctx, env, location, session)
	if err != nil {
		return err
	}
	defer src.Close()

	enc := record.NewEncoder(stdio.Out)
	defer enc.Close()
	sink := &streamSink{enc: enc}
	listErr := src.List(ctx, opts, sink)
	if listErr != nil && fault.ClassOf(listErr) != fault.Canceled && !isBrokenPipe(listErr) {
		// The listing ended early: say so as a record, too, so a pipeline
		// that only reads stdout knows.
		sink.Failure(&record.Record{Type: record.TypeFailure, Source: src.Location(), Path: ".", Meta: map[string]any{"folder": true}}, listErr)
	}
	complete := listErr == nil && sink.failures.Load() == 0
	if err := enc.Encode(record.NewEnd(src.Location(), complete, sink.items.Load())); err != nil {
		return err
	}
	if err := enc.Close(); err != nil {
		if isBrokenPipe(err) {
			return nil
		}
		return err
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

func (c *Command) options() (source.ListOptions, error) {
	opts := source.ListOptions{
		Jobs: c.Jobs, Folder: c.Folder, Hash: c.Hash, Variants: c.Size, Library: c.Library,
		LivePhotos: c.LivePhotos, ListAlbums: c.ListAlbums, ListLibraries: c.ListLibraries,
		FollowLinks: c.FollowLinks, Opts: c.Opt,
	}
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
	if f, ok := stdio.In.(*os.File); !ok || !cli.IsTerminal(f) {
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
	s.items.Add(1)
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
