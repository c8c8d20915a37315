// Command ps-list: see "ps-list --help".
package main

import (
	"os"

	"github.com/ps-photos/ps/internal/cli"
	"github.com/ps-photos/ps/internal/cli/list"
)

func main() { os.Exit(list.Main(os.Args[1:], cli.OSStdio())) }
