// Command ps-filter: see "ps-filter --help".
package main

import (
	"os"

	"github.com/ps-photos/ps/internal/cli"
	"github.com/ps-photos/ps/internal/cli/filter"
)

func main() { os.Exit(filter.Main(os.Args[1:], cli.OSStdio())) }
