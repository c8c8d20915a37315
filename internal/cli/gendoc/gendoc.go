// Package gendoc writes shell completion scripts (bash, zsh, fish) and a
// man page from a tool's kong model, so both always list the flags the
// parser accepts. It walks the model kong built (including commands a
// source adds at run time) rather than a copy of it.
//
// The scripts are static: they need nothing from the tool at completion
// time, so they work the same for every shell and install as plain files
// (make install puts them where bash-completion, zsh and fish look).
package gendoc

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/alecthomas/kong"
)

// Shells are the shells Completion writes scripts for.
var Shells = []string{"bash", "zsh", "fish"}

// Completion writes the completion script of app for shell.
func Completion(w io.Writer, app *kong.Application, shell string) error {
	m := model(app)
	switch shell {
	case "bash":
		return bash(w, m)
	case "zsh":
		return zsh(w, m)
	case "fish":
		return fish(w, m)
	}
	return fmt.Errorf("no completion for shell %q: want %s", shell, strings.Join(Shells, ", "))
}

// tool is the part of a kong model completion and man pages need.
type tool struct {
	name        string
	help        string // the description, as --help prints it
	flags       []flag // the root's flags, including the embedded globals
	positionals []positional
	commands    []command
}

type command struct {
	name   string
	help   string // one line
	detail string // the command's Help(), if any
	flags  []flag
}

type positional struct {
	name, help string
	optional   bool
	files      bool // a path, so files complete
}

type flag struct {
	name        string
	short       rune
	help        string
	placeholder string // "" for a boolean
	def         string
	enum        []string
	value       valueKind
	repeatable  bool
}

type valueKind int

const (
	valueNone valueKind = iota // a boolean
	valueText                  // free text: no completion
	valueFile                  // a file name
	valueDir                   // a folder name
	valueEnum                  // one of enum
)

func model(app *kong.Application) tool {
	t := tool{name: app.Name, help: app.Help, flags: flags(app.Node)}
	for _, p := range app.Positional {
		t.positionals = append(t.positionals, positional{
			// Every ps positional is a path or a location that may be one.
			name: p.Name, help: p.Help, optional: !p.Required, files: true,
		})
	}
	for _, c := range app.Children {
		if c.Hidden || c.Type != kong.CommandNode {
			continue
		}
		t.commands = append(t.commands, command{name: c.Name, help: c.Help, detail: c.Detail, flags: flags(c)})
	}
	sort.Slice(t.commands, func(i, j int) bool { return t.commands[i].name < t.commands[j].name })
	return t
}

func flags(n *kong.Node) []flag {
	var out []flag
	for _, f := range n.Flags {
		if f.Hidden {
			continue
		}
		fl := flag{name: f.Name, short: f.Short, help: f.Help, def: f.Default, repeatable: f.IsSlice() || f.IsMap()}
		if f.Enum != "" {
			fl.enum = f.EnumSlice()
		}
		if !f.IsBool() && !f.IsCounter() {
			fl.placeholder = f.FormatPlaceHolder()
			fl.value = kindOf(f)
		}
		out = append(out, fl)
	}
	return out
}

func kindOf(f *kong.Flag) valueKind {
	ph := strings.ToUpper(f.PlaceHolder)
	switch {
	case f.Enum != "":
		return valueEnum
	case f.Tag.Type == "existingdir" || ph == "DIR":
		return valueDir
	case f.Tag.Type == "path" || f.Tag.Type == "existingfile" || ph == "FILE":
		return valueFile
	}
	return valueText
}

// firstSentence is a help text cut for a completion menu: its first
// sentence, on one line.
func firstSentence(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if i := strings.Index(s, ". "); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSuffix(s, ".")
}

// words is every flag name with its dashes, for one word list.
func (fs flagList) words() []string {
	var out []string
	for _, f := range fs {
		out = append(out, "--"+f.name)
		if f.short != 0 {
			out = append(out, "-"+string(f.short))
		}
	}
	return out
}

type flagList []flag

// funcName makes a shell function name from a tool name.
func funcName(name string) string { return "_" + strings.ReplaceAll(name, "-", "_") }

// enumWords lists an enum's choices, leaving out the empty one.
func enumWords(f flag) []string {
	var out []string
	for _, e := range f.enum {
		if e != "" {
			out = append(out, e)
		}
	}
	return out
}
