// Package auth is ps-auth: it signs in to a source, saves the session with
// mode 0600 in the state folder, and writes a session record on stdout so
// that "ps-auth … | ps-list" works.
package auth

import (
	"context"

	"github.com/alecthomas/kong"

	"github.com/ps-photos/ps/internal/cli"
	"github.com/ps-photos/ps/internal/record"
	"github.com/ps-photos/ps/internal/source"
	"github.com/ps-photos/ps/internal/source/all"
)

const description = `Sign in to a photo source and print a session record (JSON) for ps-list.

The session is also saved, mode 0600, under $XDG_STATE_HOME/ps (default ~/.local/state/ps), so ps-list
with no argument and ps-fetch find it later. Passwords come from --password-file, the PS_PASSWORD
environment variable, or a prompt without echo; never from the command line.

Run "ps-auth SOURCE --help" for a source's flags and examples.

Examples:
  ps-auth synology --link https://gofile.me/7g4WA/ZRnqeWks3 --password-file pw | ps-list
  ps-auth smb --server nas.local --share photos --user me
  ps-auth icloud --username me@example.com
  ps-auth gphotos --client-secret client_secret.json`

var envHelp = cli.EnvHelp("PS_PASSWORD", "PS_STATE_DIR", "XDG_STATE_HOME", "HTTPS_PROXY", "PS_QUICKCONNECT_URL", "BROWSER", "NO_COLOR")

// Command is the ps-auth root; each source adds its subcommand.
type Command struct {
	cli.Globals
}

// Main runs ps-auth.
func Main(args []string, stdio cli.Stdio) int {
	return MainWith(all.Registry(), args, stdio)
}

// MainWith runs ps-auth over the sources of reg (tests pass fakes).
func MainWith(reg *source.Registry, args []string, stdio cli.Stdio) int {
	root := &Command{}
	opts := []kong.Option{}
	for _, f := range reg.Factories() {
		if f.Auth == nil {
			continue
		}
		opts = append(opts, kong.DynamicCommand(f.Name, "Sign in to "+f.Help+".", "", f.Auth()))
	}
	env := &authEnvProvider{root: root, stdio: stdio}
	defer env.close()
	opts = append(opts, kong.BindToProvider(env.provide))
	return cli.Run("ps-auth", description+"\n\n"+envHelp+"\n\n"+cli.ExitHelp, root, args, stdio, opts...)
}

type authEnvProvider struct {
	root  *Command
	stdio cli.Stdio
	out   *record.Encoder
	stop  func()
}

// provide builds the AuthEnv a subcommand's Run receives. Records are
// flushed on every write because a session is one line; close flushes
// what is left and ends the signal context once the run is over.
func (p *authEnvProvider) provide() (*source.AuthEnv, error) {
	log := p.root.Logger(p.stdio.Err)
	ctx, stop := cli.SignalContext(context.Background(), p.stdio.Err)
	p.stop = stop
	p.out = record.NewEncoder(p.stdio.Out)
	return &source.AuthEnv{
		Ctx:   ctx,
		Env:   cli.Env(log),
		Out:   p.out,
		Stdin: p.stdio.In,
		Err:   p.stdio.Err,
	}, nil
}

// close ends what provide started (nothing when no subcommand ran).
func (p *authEnvProvider) close() {
	if p.out != nil {
		p.out.Close()
	}
	if p.stop != nil {
		p.stop()
	}
}
