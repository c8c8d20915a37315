package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ps-photos/ps/internal/fault"
	"github.com/ps-photos/ps/internal/record"
	"github.com/ps-photos/ps/internal/source"
)

func TestCodeOf(t *testing.T) {
	for name, c := range map[string]struct {
		err  error
		want int
	}{
		"ok":                {nil, ExitOK},
		"partial":           {ErrPartial, ExitPartial},
		"explicit":          {WithExit(ExitUsage, errors.New("bad")), ExitUsage},
		"explicit wrapped":  {fmt.Errorf("run: %w", WithExit(ExitAuth, errors.New("x"))), ExitAuth},
		"malformed line":    {fmt.Errorf("input: %w", &record.LineError{Line: 3, Err: errors.New("not JSON")}), ExitUsage},
		"source usage":      {fmt.Errorf("list: %w", source.Usagef("--size on a folder")), ExitUsage},
		"auth":              {fault.WithHint(fault.Auth, errors.New("expired"), "ps-auth smb"), ExitAuth},
		"interrupted":       {fmt.Errorf("list: %w", context.Canceled), ExitInterrupted},
		"classified cancel": {fault.Wrap(fault.Canceled, errors.New("stop")), ExitInterrupted},
		"other failure":     {fault.Wrap(fault.Transient, errors.New("reset")), ExitPartial},
		"unclassified":      {errors.New("odd"), ExitPartial},
		"usage beats class": {source.Usage(fault.Wrap(fault.Auth, errors.New("no password"))), ExitUsage},
	} {
		if got := CodeOf(c.err); got != c.want {
			t.Errorf("%s: CodeOf(%v) = %d, want %d", name, c.err, got, c.want)
		}
	}
}

// Run maps kong's own errors, --help and a Run error to exit codes and
// prints the error once, with its hint.
type testCmd struct {
	Globals
	Fail string `help:"x"`
}

func (c *testCmd) Run() error {
	if c.Fail == "auth" {
		return fault.WithHint(fault.Auth, errors.New("session expired"), "ps-auth smb --server nas")
	}
	if c.Fail == "usage" {
		return source.Usagef("--size is an icloud flag")
	}
	return nil
}

func TestRun(t *testing.T) {
	for _, c := range []struct {
		args   []string
		code   int
		stderr string
	}{
		{nil, ExitOK, ""},
		{[]string{"--help"}, ExitOK, ""},
		{[]string{"--nope"}, ExitUsage, "ps-test: unknown flag --nope (see ps-test --help)\n"},
		{[]string{"--fail", "auth"}, ExitAuth, "ps-test: session expired\nps-test:   run: ps-auth smb --server nas\n"},
		{[]string{"--fail", "usage"}, ExitUsage, "ps-test: --size is an icloud flag\n"},
	} {
		var out, errw bytes.Buffer
		code := Run("ps-test", "test", &testCmd{}, c.args, Stdio{In: strings.NewReader(""), Out: &out, Err: &errw})
		if code != c.code || errw.String() != c.stderr {
			t.Errorf("%v: exit %d, stderr %q; want %d, %q", c.args, code, errw.String(), c.code, c.stderr)
		}
	}
}

func TestParseDate(t *testing.T) {
	defer func(l *time.Location) { time.Local = l }(time.Local)
	zone, err := time.LoadLocation("Europe/Zurich")
	if err != nil {
		t.Skip("no time zone data:", err)
	}
	time.Local = zone
	for _, c := range []struct {
		in       string
		endOfDay bool
		want     time.Time
	}{
		{"", false, time.Time{}},
		{"", true, time.Time{}},
		{"2024-03-05", false, time.Date(2024, 3, 5, 0, 0, 0, 0, zone)},
		// --until is inclusive: the last instant of the day, also on the
		// day the clocks change (23 hours long).
		{"2024-03-05", true, time.Date(2024, 3, 5, 23, 59, 59, 999999999, zone)},
		{"2024-03-31", true, time.Date(2024, 3, 31, 23, 59, 59, 999999999, zone)},
		{"2024-03-05T10:20:30Z", true, time.Date(2024, 3, 5, 10, 20, 30, 0, time.UTC)},
		{"2024-03-05T10:20:30.5+02:00", false, time.Date(2024, 3, 5, 8, 20, 30, 500000000, time.UTC)},
	} {
		got, err := ParseDate(c.in, c.endOfDay)
		if err != nil || !got.Equal(c.want) {
			t.Errorf("ParseDate(%q, %v) = %v, %v; want %v", c.in, c.endOfDay, got, err, c.want)
		}
	}
	for _, bad := range []string{"2024-13-01", "05.03.2024", "yesterday", "2024-03-05 10:20"} {
		if _, err := ParseDate(bad, false); err == nil || !strings.Contains(err.Error(), "YYYY-MM-DD or RFC 3339") {
			t.Errorf("ParseDate(%q): %v", bad, err)
		}
	}
}
