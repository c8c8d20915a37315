// Package fetch is ps-fetch. It is being built (issue: the download engine).
package fetch

import (
	"errors"

	"github.com/ps-photos/ps/internal/cli"
)

const description = `Download the files that item records describe into a local folder (not built yet).

ps-fetch will read item, result or failure records on stdin, download each through its source in
parallel (-j), resume interrupted downloads, verify sizes and hashes, and write one result or failure
record per item on stdout; --failures FILE collects failures so "ps-fetch -o DIR < FILE" retries them.`

// Command is the ps-fetch command line.
type Command struct {
	cli.Globals
}

// Main runs ps-fetch.
func Main(args []string, stdio cli.Stdio) int {
	return cli.Run("ps-fetch", description+"\n\n"+cli.ExitHelp, &Command{}, args, stdio)
}

// Run explains that the tool is not built yet.
func (c *Command) Run() error {
	return cli.WithExit(cli.ExitUsage, errors.New("ps-fetch is not built yet: see ps-fetch --help for what it will do"))
}
