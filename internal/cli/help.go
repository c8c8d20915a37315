package cli

import (
	"fmt"
	"sort"
	"strings"

	"github.com/alecthomas/kong"

	"github.com/ps-photos/ps/internal/cli/gendoc"
)

// helpWithDefault is kong's help text with the flag's default appended,
// because a placeholder (--jobs=N) hides the value kong would otherwise
// print in its place. A help text that already says what the default is
// keeps its own wording.
func helpWithDefault(v *kong.Value) string {
	help := kong.DefaultHelpValueFormatter(v)
	if !v.HasDefault || v.Default == "" || v.IsBool() || strings.Contains(strings.ToLower(help), "default") {
		return help
	}
	return strings.TrimSuffix(help, ".") + fmt.Sprintf(" (default: %s).", v.Default)
}

// Environment variables, described once; each tool lists those it reads.
var envHelp = map[string]string{
	"PS_PASSWORD":         "the password, when no --password-file is given (else a prompt without echo)",
	"PS_STATE_DIR":        "where sessions and saved credentials are kept (default $XDG_STATE_HOME/ps)",
	"XDG_STATE_HOME":      "the state folder's parent (default ~/.local/state)",
	"NO_COLOR":            "set to anything: no colour on stderr (https://no-color.org)",
	"HTTPS_PROXY":         "proxy for https:// requests (also HTTP_PROXY for http://; NO_PROXY lists hosts to reach directly)",
	"PS_QUICKCONNECT_URL": "the Synology QuickConnect coordinator to ask (default global.quickconnect.to, then .cn)",
	"BROWSER":             "the browser ps-auth gphotos opens for Google's sign-in (else xdg-open)",
}

// EnvHelp is the "Environment:" paragraph of a tool's --help for the
// variables it reads, in the order given.
func EnvHelp(names ...string) string {
	width := 0
	for _, n := range names {
		width = max(width, len(n))
	}
	var b strings.Builder
	b.WriteString("Environment:")
	for _, n := range names {
		text, ok := envHelp[n]
		if !ok {
			panic("cli.EnvHelp: undocumented variable " + n)
		}
		fmt.Fprintf(&b, "\n  %-*s  %s", width, n, text)
	}
	return b.String()
}

// EnvNames lists every variable EnvHelp knows, sorted (for tests and docs).
func EnvNames() []string {
	var out []string
	for n := range envHelp {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// completionFlag is the hidden --completion=SHELL: it prints the tool's
// completion script, built from the same kong model --help shows.
type completionFlag string

// BeforeReset runs before required flags are checked, so
// "ps-fetch --completion bash" needs no -o.
func (completionFlag) BeforeReset(app *kong.Kong, ctx *kong.Context, trace *kong.Path) error {
	shell := fmt.Sprint(ctx.FlagValue(trace.Flag))
	if err := gendoc.Completion(app.Stdout, app.Model, shell); err != nil {
		return err
	}
	app.Exit(ExitOK)
	return nil
}

// manFlag is the hidden --man: it prints the tool's man page.
type manFlag bool

// BeforeReset prints the page and exits.
func (manFlag) BeforeReset(app *kong.Kong, vars kong.Vars) error {
	info := gendoc.ManInfo{Version: strings.TrimPrefix(vars["version"], app.Model.Name+" "), Date: buildDate()}
	if v, _, ok := strings.Cut(info.Version, " "); ok {
		info.Version = v
	}
	if err := gendoc.Man(app.Stdout, app.Model, info); err != nil {
		return err
	}
	app.Exit(ExitOK)
	return nil
}
