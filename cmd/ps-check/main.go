// Command ps-check: see "ps-check --help".
package main

import (
	"os"

	"github.com/ps-photos/ps/internal/cli"
	"github.com/ps-photos/ps/internal/cli/check"
)

func main() { os.Exit(check.Main(os.Args[1:], cli.OSStdio())) }
