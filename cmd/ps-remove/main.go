// Command ps-remove: see "ps-remove --help".
package main

import (
	"os"

	"github.com/ps-photos/ps/internal/cli"
	"github.com/ps-photos/ps/internal/cli/remove"
)

func main() { os.Exit(remove.Main(os.Args[1:], cli.OSStdio())) }
