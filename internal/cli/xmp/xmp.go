// Package xmp is ps-xmp. It is being built (issue: Lightroom sidecars).
package xmp

import (
	"errors"

	"github.com/ps-photos/ps/internal/cli"
)

const description = `Write Lightroom XMP sidecars for RAW files from the Camera Raw settings in edited JPGs (not built yet).

ps-xmp will read result records (or --raw-dir DIR) and --jpg-dir DIR, work out which settings are the
photographer's style and which were tuned per shot, and write one .xmp sidecar per RAW.`

// Command is the ps-xmp command line.
type Command struct {
	cli.Globals
}

// Main runs ps-xmp.
func Main(args []string, stdio cli.Stdio) int {
	return cli.Run("ps-xmp", description+"\n\n"+cli.ExitHelp, &Command{}, args, stdio)
}

// Run explains that the tool is not built yet.
func (c *Command) Run() error {
	return cli.WithExit(cli.ExitUsage, errors.New("ps-xmp is not built yet: see ps-xmp --help for what it will do"))
}
