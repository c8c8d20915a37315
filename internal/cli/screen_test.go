package cli

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestScreenPrefixesEveryLineAcrossWrites(t *testing.T) {
	var raw bytes.Buffer
	s := NewScreen("ps-fetch", &raw, false)
	s.Write([]byte("Password: "))
	s.Write([]byte("\nfirst\nsec"))
	s.Write([]byte("ond\n"))
	want := "ps-fetch: Password: \nps-fetch: first\nps-fetch: second\n"
	if raw.String() != want {
		t.Errorf("got %q, want %q", raw.String(), want)
	}
}

// While bars are live, only whole lines reach them.
func TestScreenDivertsWholeLines(t *testing.T) {
	var raw, above bytes.Buffer
	s := NewScreen("ps-list", &raw, false)
	restore := s.Divert(&above)
	s.Write([]byte("one\ntw"))
	if above.String() != "ps-list: one\n" {
		t.Errorf("above got %q", above.String())
	}
	s.Write([]byte("o\nthr"))
	restore()
	s.Write([]byte("ee\n"))
	if above.String() != "ps-list: one\nps-list: two\n" || raw.String() != "ps-list: three\n" {
		t.Errorf("above %q, raw %q", above.String(), raw.String())
	}
}

// A diverted line whose bars just stopped still reaches the screen.
func TestScreenFallsBackWhenBarsAreGone(t *testing.T) {
	var raw bytes.Buffer
	s := NewScreen("ps-fetch", &raw, false)
	s.Divert(failingWriter{})
	s.Write([]byte("late\n"))
	if raw.String() != "ps-fetch: late\n" {
		t.Errorf("raw %q", raw.String())
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("done") }

func TestLoggerColoursLevelsOnlyWhenAsked(t *testing.T) {
	for _, color := range []bool{false, true} {
		var raw bytes.Buffer
		g := &Globals{}
		log := g.Logger(NewScreen("ps-xmp", &raw, color))
		log.Error("bad")
		log.Warn("odd")
		log.Info("fine")
		want := "ps-xmp: error: bad\nps-xmp: warn: odd\nps-xmp: fine\n"
		if color {
			want = "ps-xmp: " + Red + "error:" + Reset + " bad\nps-xmp: " + Yellow + "warn:" + Reset + " odd\nps-xmp: fine\n"
		}
		if raw.String() != want {
			t.Errorf("colour %v: got %q, want %q", color, raw.String(), want)
		}
	}
}

// --log-format json: no prefix (the line is a JSON object) but a "tool".
func TestRunJSONLinesCarryTheToolNotAPrefix(t *testing.T) {
	var out, errb bytes.Buffer
	code := Run("ps-test", "test", &brokenCmd{}, []string{"--log-format", "json"}, Stdio{In: strings.NewReader(""), Out: &out, Err: &errb, Terminal: &Terminals{}})
	if code != ExitPartial {
		t.Fatalf("exit %d, stderr %q", code, errb.String())
	}
	if !strings.HasPrefix(errb.String(), `{"time":`) || !strings.Contains(errb.String(), `"msg":"it broke","tool":"ps-test"`) {
		t.Errorf("stderr %q", errb.String())
	}
	errb.Reset()
	Run("ps-test", "test", &brokenCmd{}, nil, Stdio{In: strings.NewReader(""), Out: &out, Err: &errb, Terminal: &Terminals{}})
	if errb.String() != "ps-test: it broke\n" {
		t.Errorf("text stderr %q", errb.String())
	}
}

type brokenCmd struct{ Globals }

func (c *brokenCmd) Run(stdio Stdio) error { return errors.New("it broke") }

func TestHintStdinOnlyOnATerminal(t *testing.T) {
	for _, tty := range []bool{false, true} {
		var errb bytes.Buffer
		HintStdin(Stdio{Err: &errb, Terminal: &Terminals{In: tty}}, "ps-list | ps-x")
		if got := strings.Contains(errb.String(), "reading records from stdin"); got != tty {
			t.Errorf("terminal %v: hint %q", tty, errb.String())
		}
	}
}
