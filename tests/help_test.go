package tests

// Help, completion scripts and man pages, checked across every tool: each
// flag --help lists has a help text and a meaningful placeholder, every
// default is shown, and the generated scripts and pages name every flag.

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"unicode"

	"github.com/ps-photos/ps/internal/cli"
	"github.com/ps-photos/ps/internal/cli/auth"
	"github.com/ps-photos/ps/internal/cli/check"
	"github.com/ps-photos/ps/internal/cli/fetch"
	"github.com/ps-photos/ps/internal/cli/filter"
	"github.com/ps-photos/ps/internal/cli/list"
	"github.com/ps-photos/ps/internal/cli/remove"
	"github.com/ps-photos/ps/internal/cli/watch"
	"github.com/ps-photos/ps/internal/cli/xmp"
	"github.com/ps-photos/ps/internal/source/all"
	"github.com/ps-photos/ps/internal/testenv"
)

type toolMain struct {
	name    string
	main    func([]string, cli.Stdio) int
	structs []any // the kong structs whose default tags --help must show
}

func toolMains() []toolMain {
	var authStructs, listStructs []any
	for _, f := range all.Registry().Factories() {
		if f.Auth != nil {
			authStructs = append(authStructs, f.Auth())
		}
		if f.ListFlags != nil {
			listStructs = append(listStructs, f.ListFlags())
		}
	}
	return []toolMain{
		{"ps-auth", auth.Main, append([]any{&auth.Command{}}, authStructs...)},
		{"ps-list", list.Main, append([]any{&list.Command{}}, listStructs...)},
		{"ps-filter", filter.Main, []any{&filter.Command{}}},
		{"ps-fetch", fetch.Main, []any{&fetch.Command{}}},
		{"ps-xmp", xmp.Main, []any{&xmp.Command{}}},
		{"ps-check", check.Main, []any{&check.Command{}}},
		{"ps-remove", remove.Main, []any{&remove.Command{}}},
		{"ps-watch", watch.Main, []any{&watch.Command{}}},
	}
}

// run runs a tool in-process and returns its stdout; it fails the test on
// a non-zero exit.
func run(t *testing.T, tool toolMain, args ...string) string {
	t.Helper()
	var out, errw bytes.Buffer
	if code := tool.main(args, cli.Stdio{In: strings.NewReader(""), Out: &out, Err: &errw}); code != 0 {
		t.Fatalf("%s %s: exit %d: %s", tool.name, strings.Join(args, " "), code, errw.String())
	}
	return out.String()
}

// helpRow is one flag of a --help page.
type helpRow struct {
	name, placeholder, help string
}

var (
	flagRow    = regexp.MustCompile(`^  (?:-\w, |    )?--([a-z0-9-]+)(?:=(\S+))?\s*(.*)$`)
	commandRow = regexp.MustCompile(`^  ([a-z0-9-]+)\s{2,}`)
)

// parseHelp reads the flag rows of a kong --help page and the commands it
// lists. A row's help may continue on the lines below it.
func parseHelp(page string) (rows []helpRow, commands []string) {
	section := ""
	for _, line := range strings.Split(page, "\n") {
		switch {
		case line == "Flags:" || strings.HasSuffix(line, " flags:"): // a source's own group
			section = "Flags:"
			continue
		case line == "Commands:" || line == "Arguments:":
			section = line
			continue
		case line == "" || !strings.HasPrefix(line, " "):
			if line != "" {
				section = ""
			}
			continue
		}
		switch section {
		case "Flags:":
			if m := flagRow.FindStringSubmatch(line); m != nil {
				rows = append(rows, helpRow{name: m[1], placeholder: m[2], help: m[3]})
			} else if len(rows) > 0 {
				rows[len(rows)-1].help += " " + strings.TrimSpace(line)
			}
		case "Commands:":
			if m := commandRow.FindStringSubmatch(line); m != nil {
				commands = append(commands, m[1])
			}
		}
	}
	return rows, commands
}

// pages returns every --help page of a tool: its own and its commands'.
func pages(t *testing.T, tool toolMain) map[string][]helpRow {
	out := map[string][]helpRow{}
	rows, commands := parseHelp(run(t, tool, "--help"))
	out[tool.name] = rows
	for _, c := range commands {
		sub, _ := parseHelp(run(t, tool, c, "--help"))
		out[tool.name+" "+c] = sub
	}
	return out
}

// kongPlaceholder is what kong shows when a flag names no placeholder:
// its Go type, or its default quoted, which tell the reader nothing.
var kongPlaceholder = regexp.MustCompile(`^(STRING|INT|INT64|UINT|FLOAT64|".*")(,\.\.\.)?$`)

func TestHelpDescribesEveryFlag(t *testing.T) {
	for _, tool := range toolMains() {
		defaults := defaultTags(tool.structs)
		seen := map[string]bool{}
		for page, rows := range pages(t, tool) {
			if len(rows) < 4 {
				t.Errorf("%s --help: found only %d flags; the help parser is out of step with kong", page, len(rows))
			}
			for _, r := range rows {
				seen[r.name] = true
				if strings.TrimSpace(r.help) == "" {
					t.Errorf("%s --%s has no help text", page, r.name)
				}
				if kongPlaceholder.MatchString(r.placeholder) {
					t.Errorf("%s --%s=%s: say what the value is (DATE, SIZE, FILE, DIR, N, …)", page, r.name, r.placeholder)
				}
				if def, ok := defaults[r.name]; ok && !strings.Contains(strings.ToLower(r.help), "default") {
					t.Errorf("%s --%s: the default %q is not shown: %s", page, r.name, def, r.help)
				}
			}
		}
		for name := range defaults {
			if !seen[name] {
				t.Errorf("%s: --%s has a default tag but no --help page lists it", tool.name, name)
			}
		}
	}
}

// defaultTags maps the flag names of structs (embedded ones included) that
// have a default tag to that default.
func defaultTags(structs []any) map[string]string {
	out := map[string]string{}
	var walk func(reflect.Type)
	walk = func(typ reflect.Type) {
		for i := range typ.NumField() {
			f := typ.Field(i)
			if f.Anonymous && f.Type.Kind() == reflect.Struct {
				walk(f.Type)
				continue
			}
			def, ok := f.Tag.Lookup("default")
			_, hidden := f.Tag.Lookup("hidden")
			_, isArg := f.Tag.Lookup("arg")
			if !ok || hidden || isArg || f.Type.Kind() == reflect.Bool {
				continue
			}
			name := f.Tag.Get("name")
			if name == "" {
				name = kebab(f.Name)
			}
			out[name] = def
		}
	}
	for _, s := range structs {
		walk(reflect.TypeOf(s).Elem())
	}
	return out
}

// kebab is kong's flag name for a field: GiveUpAfter → give-up-after.
func kebab(s string) string {
	var b strings.Builder
	rs := []rune(s)
	for i, r := range rs {
		if unicode.IsUpper(r) && i > 0 && (unicode.IsLower(rs[i-1]) || i+1 < len(rs) && unicode.IsLower(rs[i+1])) {
			b.WriteByte('-')
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

func TestCompletionAndManPagesNameEveryFlag(t *testing.T) {
	dir := t.TempDir()
	for _, tool := range toolMains() {
		var flags []string
		for _, rows := range pages(t, tool) {
			for _, r := range rows {
				flags = append(flags, r.name)
			}
		}
		for _, shell := range []string{"bash", "zsh", "fish"} {
			script := run(t, tool, "--completion", shell)
			for _, f := range flags {
				if !regexp.MustCompile(`(^|[^a-z0-9-])(--|-l )` + regexp.QuoteMeta(f) + `([^a-z0-9-]|$)`).MatchString(script) {
					t.Errorf("%s --completion %s lacks --%s", tool.name, shell, f)
				}
			}
			file := filepath.Join(dir, tool.name+"."+shell)
			if err := os.WriteFile(file, []byte(script), 0o644); err != nil {
				t.Fatal(err)
			}
			checkSyntax(t, shell, file)
		}
		man := run(t, tool, "--man")
		for _, f := range flags {
			if !strings.Contains(man, `\fB\-\-`+strings.ReplaceAll(f, "-", `\-`)+`\fR`) {
				t.Errorf("%s --man lacks --%s", tool.name, f)
			}
		}
		page := filepath.Join(dir, tool.name+".1")
		if err := os.WriteFile(page, []byte(man), 0o644); err != nil {
			t.Fatal(err)
		}
		checkManPage(t, tool.name, page)
	}
}

// checkSyntax parses a completion script with its shell, without running it.
func checkSyntax(t *testing.T, shell, file string) {
	t.Helper()
	bin := testenv.LookTool(t, shell, shell)
	if out, err := exec.Command(bin, "-n", file).CombinedOutput(); err != nil {
		t.Errorf("%s -n %s: %v\n%s", shell, filepath.Base(file), err, out)
	}
}

// checkManPage renders the page with man -l and groff's warnings on: it
// must render, warn about nothing, and show the NAME line.
func checkManPage(t *testing.T, name, page string) {
	t.Helper()
	groff := testenv.LookTool(t, "groff-base", "groff")
	out, err := exec.Command(groff, "-man", "-Tutf8", "-ww", "-z", page).CombinedOutput()
	if err != nil || len(out) > 0 {
		t.Errorf("groff %s: %v\n%s", filepath.Base(page), err, out)
	}
	man := testenv.LookTool(t, "man-db", "man")
	cmd := exec.Command(man, "-l", page)
	cmd.Env = append(os.Environ(), "MANPAGER=cat", "PAGER=cat", "MANWIDTH=100")
	out, err = cmd.Output()
	if err != nil || !strings.Contains(string(out), name+" - ") && !strings.Contains(string(out), name+" — ") && !strings.Contains(string(out), name+" ‐ ") {
		t.Errorf("man -l %s: %v\n%.400s", filepath.Base(page), err, out)
	}
}
