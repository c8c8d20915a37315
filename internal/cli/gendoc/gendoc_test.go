package gendoc

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alecthomas/kong"
)

// A model whose help texts hold every character the scripts and the page
// must escape: quotes, brackets, colons, backslashes, a leading dot.
type tricky struct {
	Name   string   `placeholder:"N[:M]" help:"It's [the] name: a\\b. Second sentence."`
	Mode   string   `enum:"a,b" default:"a" help:".dot first"`
	Output string   `short:"o" placeholder:"DIR" help:"Folder 'out'."`
	Tags   []string `help:"Tags; repeatable."`
	Sub    struct {
		Deep bool "help:\"Deep `$(touch x)` flag.\""
	} `cmd:"" help:"A sub: command."`
}

func TestEscapingSurvivesTheShellsAndRoff(t *testing.T) {
	app, err := kong.New(&tricky{}, kong.Name("ps-tricky"), kong.Description(".Leading dot. Then text.\n\nExamples:\n  ps-tricky --name 'x'"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, shell := range Shells {
		var b bytes.Buffer
		if err := Completion(&b, app.Model, shell); err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"name", "mode", "output", "tags", "deep", "sub"} {
			if !strings.Contains(b.String(), want) {
				t.Errorf("%s script lacks %s", shell, want)
			}
		}
		file := filepath.Join(dir, "s."+shell)
		os.WriteFile(file, b.Bytes(), 0o644)
		if bin, err := exec.LookPath(shell); err == nil {
			if out, err := exec.Command(bin, "-n", file).CombinedOutput(); err != nil {
				t.Errorf("%s -n: %v\n%s\n%s", shell, err, out, b.String())
			}
		}
	}
	if err := Completion(&bytes.Buffer{}, app.Model, "tcsh"); err == nil {
		t.Error("tcsh: want an error")
	}
	var man bytes.Buffer
	if err := Man(&man, app.Model, ManInfo{Version: "v1.0.0", Date: "2026-12-04"}); err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(man.String(), "\n") {
		if strings.HasPrefix(line, ".") && !strings.HasPrefix(line, `.\"`) {
			req := strings.Fields(line)[0]
			if !strings.Contains(" .TH .SH .SS .TP .PP .RS .RE .nf .fi .B .I .BR ", " "+req+" ") {
				t.Errorf("text taken for a roff request: %q", line)
			}
		}
	}
	for _, want := range []string{`\&.Leading dot`, `\fB\-\-name\fR=\fIN[:M]\fR`, `a\eb`, `\fB\-o\fR, \fB\-\-output\fR`, "Default: a."} {
		if !strings.Contains(man.String(), want) {
			t.Errorf("man page lacks %q:\n%s", want, man.String())
		}
	}
}
