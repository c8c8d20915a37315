package cli

import (
	"bytes"
	"io"
	"os"
	"sync"

	"github.com/mattn/go-isatty"
)

// Terminals says which standard streams are terminals.
type Terminals struct{ In, Out, Err bool }

// terminals asks the OS which streams are terminals, unless the caller
// said so in s.Terminal (tests do, to run the terminal-only branches
// without one).
func (s Stdio) terminals() Terminals {
	if s.Terminal != nil {
		return *s.Terminal
	}
	return Terminals{In: isTerminal(s.In), Out: isTerminal(s.Out), Err: isTerminal(rawWriter(s.Err))}
}

// InTerminal reports whether stdin is a terminal (a person would have to
// type the records).
func (s Stdio) InTerminal() bool { return s.terminals().In }

// OutTerminal reports whether stdout is a terminal.
func (s Stdio) OutTerminal() bool { return s.terminals().Out }

// ErrTerminal reports whether stderr is a terminal (live progress bars).
func (s Stdio) ErrTerminal() bool { return s.terminals().Err }

// Color reports whether stderr may be coloured: a terminal, and NO_COLOR
// unset (https://no-color.org).
func (s Stdio) Color() bool { return s.ErrTerminal() && os.Getenv("NO_COLOR") == "" }

func isTerminal(v any) bool {
	f, ok := v.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}

// HintStdin tells a person who ran a tool with nothing piped in why it
// waits: it is reading records they would have to type.
func HintStdin(stdio Stdio, example string) {
	if stdio.InTerminal() {
		io.WriteString(stdio.Err, "reading records from stdin… (end with Ctrl-D; usually they are piped in: "+example+")\n")
	}
}

// ANSI colours for stderr; only used when Stdio.Color says so.
const (
	Red    = "\x1b[31m"
	Yellow = "\x1b[33m"
	Reset  = "\x1b[0m"
)

// Paint wraps s in colour when on is set.
func Paint(on bool, colour, s string) string {
	if !on {
		return s
	}
	return colour + s + Reset
}

// Screen is stderr as every ps tool writes it: each line starts with the
// tool's name ("ps-fetch: …"), so a pipeline of three tools says who spoke,
// and while live progress bars are drawn, whole lines are handed to them
// to print above the bars instead of being torn by the next redraw.
type Screen struct {
	mu      sync.Mutex
	raw     io.Writer // the real stderr
	above   io.Writer // while bars are live: prints above them
	name    string
	prefix  bool
	color   bool
	midLine bool         // the last write ended without a newline
	pending bytes.Buffer // a partial line held while bars are live
}

// NewScreen wraps stderr for the tool name.
func NewScreen(name string, raw io.Writer, color bool) *Screen {
	return &Screen{raw: raw, name: name, prefix: true, color: color}
}

// Name is the tool's name.
func (s *Screen) Name() string { return s.name }

// Color reports whether the screen takes colour.
func (s *Screen) Color() bool { return s.color }

// Raw is the real stderr (live bars draw on it).
func (s *Screen) Raw() io.Writer { return s.raw }

// setPrefix turns the name prefix on or off (off for --log-format json,
// whose lines are JSON objects that carry the tool's name).
func (s *Screen) setPrefix(on bool) {
	s.mu.Lock()
	s.prefix = on
	s.mu.Unlock()
}

// Divert sends whole lines to w (live bars' "print above") until the
// returned function is called.
func (s *Screen) Divert(w io.Writer) (restore func()) {
	s.mu.Lock()
	s.above = w
	s.mu.Unlock()
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.above = nil
		if s.pending.Len() > 0 {
			s.raw.Write(s.pending.Bytes())
			s.pending.Reset()
		}
	}
}

// Write prefixes every line with the tool's name.
func (s *Screen) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var b bytes.Buffer
	for rest := p; len(rest) > 0; {
		if !s.midLine && s.prefix {
			b.WriteString(s.name)
			b.WriteString(": ")
		}
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			b.Write(rest)
			s.midLine = true
			break
		}
		b.Write(rest[:i+1])
		rest = rest[i+1:]
		s.midLine = false
	}
	if s.above == nil {
		if _, err := s.raw.Write(b.Bytes()); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	// Live bars redraw by lines: hand them whole lines only.
	s.pending.Write(b.Bytes())
	if i := bytes.LastIndexByte(s.pending.Bytes(), '\n'); i >= 0 {
		whole := append([]byte(nil), s.pending.Bytes()[:i+1]...)
		s.pending.Next(i + 1)
		if _, err := s.above.Write(whole); err != nil {
			s.raw.Write(whole) // the bars just stopped
		}
	}
	return len(p), nil
}

// rawWriter unwraps a Screen to the real stderr.
func rawWriter(w io.Writer) io.Writer {
	if s, ok := w.(*Screen); ok {
		return s.raw
	}
	return w
}

// IsTerminal reports whether w (or the stderr a Screen wraps) is a
// terminal, asking the OS. Tools should ask their Stdio instead
// (InTerminal, OutTerminal, ErrTerminal), which tests can override.
func IsTerminal(w any) bool {
	if wr, ok := w.(io.Writer); ok {
		w = rawWriter(wr)
	}
	return isTerminal(w)
}
