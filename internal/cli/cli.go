// Package cli is the plumbing every ps binary shares: injected stdio, the
// global flags, logging to stderr, the kong parser set-up and the mapping
// from errors to exit codes. Only Main functions return exit codes; nothing
// below them calls os.Exit.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/alecthomas/kong"

	"github.com/ps-photos/ps/internal/fault"
	"github.com/ps-photos/ps/internal/record"
	"github.com/ps-photos/ps/internal/source"
	"github.com/ps-photos/ps/internal/state"
)

// Exit codes shared by every ps tool.
const (
	ExitOK          = 0   // everything processed (filtering out everything is still 0)
	ExitPartial     = 1   // at least one failure record was emitted
	ExitUsage       = 2   // usage error or malformed input
	ExitAuth        = 3   // authentication required or rejected: run ps-auth
	ExitInterrupted = 130 // interrupted (Ctrl-C, SIGTERM)
)

// ExitHelp is appended to every --help.
const ExitHelp = `Exit status: 0 all good; 1 some items failed (see the failure records); 2 usage error or bad input; 3 authentication needed (run ps-auth); 130 interrupted.`

// Stdio is the process's standard streams, injected so tests run tools
// in-process.
type Stdio struct {
	In  io.Reader
	Out io.Writer
	Err io.Writer
	// Terminal, when set, says which streams are terminals instead of
	// asking the OS, so tests run the terminal-only branches (bars,
	// colour, the stdin hint) without a terminal.
	Terminal *Terminals
}

// OSStdio returns the real standard streams.
func OSStdio() Stdio { return Stdio{In: os.Stdin, Out: os.Stdout, Err: os.Stderr} }

// Globals are the flags every tool has.
type Globals struct {
	Quiet      bool             `short:"q" help:"Print nothing on stderr but errors."`
	LogFormat  string           `enum:"text,json" default:"text" placeholder:"text|json" help:"How stderr messages look: text for people, json for machines."`
	Version    kong.VersionFlag `help:"Print the version, commit, Go version and OS/arch, and exit."`
	Completion completionFlag   `hidden:"" placeholder:"SHELL" help:"Print the completion script for SHELL (bash, zsh or fish) and exit."`
	Man        manFlag          `hidden:"" help:"Print the man page and exit."`
}

// RecordInput is embedded by the tools that read records on stdin.
type RecordInput struct {
	Strict bool `help:"Stop at the first malformed input line instead of skipping it (exit 2)."`
}

// GlobalFlags lets Run find the globals embedded in any command.
func (g *Globals) GlobalFlags() *Globals { return g }

// exitError carries an explicit exit code.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// ExitCode implements kong's ExitCoder.
func (e *exitError) ExitCode() int { return e.code }

// WithExit attaches an exit code to err.
func WithExit(code int, err error) error { return &exitError{code: code, err: err} }

// ErrPartial is returned by a tool whose run emitted failure records; it
// maps to exit 1 and prints nothing more (the records say it all).
var ErrPartial = &exitError{code: ExitPartial, err: errors.New("some items failed")}

// CodeOf maps an error to an exit code.
func CodeOf(err error) int {
	if err == nil {
		return ExitOK
	}
	var ec interface{ ExitCode() int }
	if errors.As(err, &ec) {
		return ec.ExitCode()
	}
	var pe *kong.ParseError
	if errors.As(err, &pe) {
		return ExitUsage
	}
	if source.IsUsage(err) {
		return ExitUsage
	}
	var le *record.LineError
	if errors.As(err, &le) {
		return ExitUsage
	}
	switch fault.ClassOf(err) {
	case fault.Auth:
		return ExitAuth
	case fault.Canceled:
		return ExitInterrupted
	}
	return ExitPartial
}

// Logger builds the stderr logger the globals ask for.
func (g *Globals) Logger(w io.Writer) *slog.Logger {
	level := slog.LevelInfo
	if g.Quiet {
		level = slog.LevelError
	}
	opts := &slog.HandlerOptions{Level: level}
	screen, _ := w.(*Screen)
	if g.LogFormat == "json" {
		log := slog.New(slog.NewJSONHandler(w, opts))
		if screen != nil {
			log = log.With("tool", screen.Name())
		}
		return log
	}
	return slog.New(&textHandler{w: w, level: level, color: screen != nil && screen.Color()})
}

// Env returns the source environment for a tool run.
func Env(log *slog.Logger) source.Env {
	return source.Env{StateDir: state.Dir(), Log: log}
}

// SignalContext is cancelled on the first SIGINT or SIGTERM. A second
// signal exits at once with 130, as users expect from a second Ctrl-C.
func SignalContext(parent context.Context, errw io.Writer) (context.Context, func()) {
	ctx, cancel := context.WithCancel(parent)
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	go func() {
		select {
		case <-ch:
			cancel()
		case <-ctx.Done():
			return
		}
		select {
		case <-ch:
			fmt.Fprintln(errw, "interrupted again: exiting now")
			os.Exit(ExitInterrupted)
		case <-parent.Done():
		}
	}()
	return ctx, func() { signal.Stop(ch); cancel() }
}

// Run parses args into cmd with kong and runs it, mapping the outcome to an
// exit code. Extra kong options (bindings, dynamic commands) may be given.
func Run(name, description string, cmd any, args []string, stdio Stdio, options ...kong.Option) (code int) {
	// kong calls Exit for --help and --version; turn that into a return so
	// nothing below Main ends the process.
	exitCode := ExitOK
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(exitSignal); !ok {
				panic(r)
			}
			code = exitCode
		}
	}()
	// Every stderr line says which tool wrote it; the terminal question is
	// settled before stderr is wrapped.
	terms := stdio.terminals()
	stdio.Terminal = &terms
	screen := NewScreen(name, stdio.Err, stdio.Color())
	stdio.Err = screen
	opts := []kong.Option{
		kong.Name(name),
		kong.Description(description),
		kong.Writers(stdio.Out, stdio.Err),
		kong.Exit(func(c int) { exitCode = c; panic(exitSignal{}) }),
		kong.Vars{"version": VersionLine(name)},
		kong.ConfigureHelp(kong.HelpOptions{Compact: true, WrapUpperBound: 100}),
		kong.ValueFormatter(helpWithDefault),
		kong.Bind(stdio),
	}
	parser, err := kong.New(cmd, append(opts, options...)...)
	if err != nil {
		fmt.Fprintf(stdio.Err, "%v\n", err)
		return ExitUsage
	}
	kctx, err := parser.Parse(args)
	if err != nil {
		fmt.Fprintf(stdio.Err, "%v (see %s --help)\n", err, name)
		return ExitUsage
	}
	if g, ok := cmd.(interface{ GlobalFlags() *Globals }); ok && g.GlobalFlags().LogFormat == "json" {
		screen.setPrefix(false) // JSON lines carry "tool"
	}
	err = kctx.Run()
	if err == nil {
		return ExitOK
	}
	if !errors.Is(err, ErrPartial) {
		reportError(name, cmd, err, stdio.Err)
	}
	return CodeOf(err)
}

type exitSignal struct{}

// reportError prints the error that ended a run, once, in the log format
// the user asked for, with the command that fixes it when one is known.
func reportError(name string, cmd any, err error, w io.Writer) {
	hint := fault.HintOf(err)
	if g, ok := cmd.(interface{ GlobalFlags() *Globals }); ok && g.GlobalFlags().LogFormat == "json" {
		attrs := []any{"class", string(fault.ClassOf(err))}
		if hint != "" {
			attrs = append(attrs, "hint", hint)
		}
		g.GlobalFlags().Logger(w).Error(err.Error(), attrs...)
		return
	}
	msg := err.Error()
	if hint != "" && !strings.Contains(msg, hint) {
		msg += "\n  run: " + hint
	}
	color := false
	if s, ok := w.(*Screen); ok {
		color = s.Color()
	}
	fmt.Fprintln(w, Paint(color, Red, msg))
}

// ParseDate reads a date flag: YYYY-MM-DD (local midnight; with endOfDay
// the last instant of that day, so --until is inclusive) or RFC 3339.
func ParseDate(s string, endOfDay bool) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	t, err := time.ParseInLocation("2006-01-02", s, time.Local)
	if err != nil {
		return time.Time{}, fmt.Errorf("want YYYY-MM-DD or RFC 3339, got %q", s)
	}
	if endOfDay {
		t = t.AddDate(0, 0, 1).Add(-time.Nanosecond)
	}
	return t, nil
}
