package tests

// What a person sees: the tools run on a real pseudo-terminal (creack/pty),
// the bytes the terminal receives are replayed on a small screen model, and
// the tests assert on what is left on the screen and on the frames drawn.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/ps-photos/ps/internal/fetch/fetchtest"
)

const termCols, termRows = 100, 40

// onTerminal runs the shell command line in dir with the terminal as its
// stdin, stdout and stderr (redirections in line change that), then types
// input, and returns every byte the terminal received.
func onTerminal(t *testing.T, dir string, env []string, line, input string) (string, int) {
	t.Helper()
	cmd := exec.Command("sh", "-c", line)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	tty, err := pty.StartWithSize(cmd, &pty.Winsize{Cols: termCols, Rows: termRows})
	if err != nil {
		t.Fatal(err)
	}
	defer tty.Close()
	if input != "" {
		go func() {
			time.Sleep(500 * time.Millisecond) // after the hint
			io.WriteString(tty, input)
		}()
	}
	var raw bytes.Buffer
	done := make(chan struct{})
	go func() {
		io.Copy(&raw, tty) // ends with EIO once the command is gone
		close(done)
	}()
	timer := time.AfterFunc(90*time.Second, func() { cmd.Process.Kill() })
	defer timer.Stop()
	err = cmd.Wait()
	<-done
	var exit *exec.ExitError
	code := 0
	if errors.As(err, &exit) {
		code = exit.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return raw.String(), code
}

var escape = regexp.MustCompile(`^\x1b\[([0-9;?]*)([A-Za-z])`)

// screen replays what a terminal received and returns the lines left on
// it, colours dropped, long lines unwrapped: it knows the moves live bars use (carriage return,
// cursor up, erase below, erase line).
func screen(raw string) []string {
	var lines [][]rune
	row, col := 0, 0
	put := func(r rune) {
		for len(lines) <= row {
			lines = append(lines, nil)
		}
		for len(lines[row]) <= col {
			lines[row] = append(lines[row], ' ')
		}
		lines[row][col] = r
		col++ // long lines are kept whole, as if the terminal rejoined them
	}
	for i := 0; i < len(raw); {
		if m := escape.FindStringSubmatch(raw[i:]); m != nil {
			i += len(m[0])
			n := 1
			fmt.Sscanf(m[1], "%d", &n)
			switch m[2] {
			case "A":
				row = max(row-n, 0)
			case "J":
				if row < len(lines) {
					lines[row] = lines[row][:min(col, len(lines[row]))]
					lines = lines[:row+1]
				}
			case "K":
				if row < len(lines) {
					lines[row] = lines[row][:min(col, len(lines[row]))]
				}
			}
			continue
		}
		r := []rune(raw[i:])[0]
		i += len(string(r))
		switch r {
		case '\r':
			col = 0
		case '\n':
			row++
			for len(lines) <= row {
				lines = append(lines, nil)
			}
		default:
			put(r)
		}
	}
	out := make([]string, 0, len(lines))
	for _, l := range lines {
		out = append(out, strings.TrimRight(string(l), " "))
	}
	for len(out) > 0 && out[len(out)-1] == "" {
		out = out[:len(out)-1]
	}
	return out
}

// slowServer serves n files of size bytes at rate bytes/s per response;
// h.bin fails every time (HTTP 500), g.bin is longer than its record says.
func slowServer(t *testing.T, dir string, n, size int, rate int64) {
	t.Helper()
	srv := fetchtest.New()
	t.Cleanup(srv.Close)
	srv.SetRate(rate)
	var list bytes.Buffer
	for i := range n {
		name := fmt.Sprintf("f%02d.bin", i)
		var faults []fetchtest.Fault
		switch i {
		case 3:
			name, faults = "g.bin", []fetchtest.Fault{fetchtest.Length}
		case 7:
			name, faults = "h.bin", []fetchtest.Fault{fetchtest.E500, fetchtest.E500}
		}
		rec := srv.Add(name, bytes.Repeat([]byte{byte(i)}, size), time.Date(2024, 7, 1, 0, 0, 0, 0, time.UTC), faults...)
		line, err := rec.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		list.Write(append(line, '\n'))
		if i == 1 {
			list.WriteString("{not json\n")
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "items.jsonl"), list.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

var statusLine = regexp.MustCompile(`(\d+)/(\d+) files +\d+%, .* / .*, .*/s, ETA `)

// On a terminal: bars with the whole input's total and an ETA, each
// failure and the malformed line printed whole above them, a list of the
// failures and the summary at the end, every line saying who wrote it,
// errors in red; and no bar left behind.
func TestTerminalProgressShowsTotalsAndFailures(t *testing.T) {
	for _, feed := range []string{"< items.jsonl", "cat items.jsonl |"} {
		t.Run(strings.Fields(feed)[0], func(t *testing.T) {
			dir := t.TempDir()
			slowServer(t, dir, 15, 150_000, 200_000)
			line := "ps-fetch -j 3 --retries 0 -o out > results.jsonl " + feed
			if strings.HasPrefix(feed, "cat") {
				line = feed + " ps-fetch -j 3 --retries 0 -o out > results.jsonl"
			}
			raw, code := onTerminal(t, dir, nil, line, "")
			final := screen(raw)
			text := strings.Join(final, "\n")
			if code != 2 {
				t.Errorf("exit %d, want 2 (a malformed line)\n%s", code, text)
			}
			for _, want := range []string{
				"ps-fetch: error: line 3: invalid JSON",
				"ps-fetch: error: failed: g.bin: the source reports 150007 bytes, the record says 150000 (permanent)",
				"ps-fetch: error: failed: h.bin: ",
				"ps-fetch: 2 failed:",
				"ps-fetch:   h.bin: ",
				"ps-fetch: 13 downloaded, 0 skipped, 2 failed, 1.9 MB in ",
				"ps-fetch: 1 malformed line(s) skipped",
			} {
				if !strings.Contains(text, want) {
					t.Errorf("the screen lacks %q:\n%s", want, text)
				}
			}
			if statusLine.MatchString(text) || strings.Contains(text, "f0") && strings.Contains(text, "kB / ") {
				t.Errorf("bars left on the screen:\n%s", text)
			}
			// Every frame counted the whole input: 15 files, not the few
			// read so far.
			frames := statusLine.FindAllStringSubmatch(raw, -1)
			if len(frames) < 3 {
				t.Fatalf("only %d progress frames:\n%q", len(frames), raw)
			}
			for _, f := range frames {
				if f[2] != "15" && f[2] != "0" {
					t.Errorf("a frame shows %s/%s files, want a total of 15", f[1], f[2])
				}
			}
			if !strings.Contains(raw, "\x1b[31merror:\x1b[0m") {
				t.Errorf("errors are not red: %q", raw)
			}
		})
	}
}

// NO_COLOR keeps the terminal colourless.
func TestTerminalNoColor(t *testing.T) {
	dir := t.TempDir()
	slowServer(t, dir, 4, 1000, 0)
	raw, _ := onTerminal(t, dir, []string{"NO_COLOR=1"}, "ps-fetch --retries 0 -o out < items.jsonl > results.jsonl", "")
	if strings.Contains(raw, "\x1b[31m") || strings.Contains(raw, "\x1b[33m") {
		t.Errorf("colour despite NO_COLOR: %q", raw)
	}
	if !strings.Contains(strings.Join(screen(raw), "\n"), "ps-fetch: error: failed: g.bin") {
		t.Errorf("no failure line: %q", raw)
	}
}

// With stdout on the terminal too, records are printed whole above the
// bars, after a hint to redirect them.
func TestTerminalRecordsAboveBars(t *testing.T) {
	dir := t.TempDir()
	slowServer(t, dir, 8, 100_000, 400_000)
	raw, _ := onTerminal(t, dir, nil, "ps-fetch -j 2 --retries 0 -o out < items.jsonl", "")
	final := screen(raw)
	text := strings.Join(final, "\n")
	if !strings.Contains(text, "ps-fetch: records go to this terminal; to keep them, redirect: ps-fetch … > results.jsonl") {
		t.Errorf("no hint:\n%s", text)
	}
	records := 0
	for _, l := range final {
		if !strings.HasPrefix(l, "{") {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Errorf("a torn record on the screen: %q", l)
			continue
		}
		records++
	}
	if records != 8 {
		t.Errorf("%d whole records on the screen, want 8:\n%s", records, text)
	}
}

// Run with nothing piped in, ps-fetch says it reads stdin; Ctrl-D ends
// the input.
func TestTerminalStdinHint(t *testing.T) {
	dir := t.TempDir()
	raw, code := onTerminal(t, dir, nil, "ps-fetch -o out", "\x04")
	text := strings.Join(screen(raw), "\n")
	if code != 0 || !strings.Contains(text, "ps-fetch: reading records from stdin… (end with Ctrl-D") ||
		!strings.Contains(text, "ps-fetch: 0 downloaded, 0 skipped, 0 failed") {
		t.Errorf("exit %d, screen:\n%s", code, text)
	}
}
