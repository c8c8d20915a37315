// Command ps-watch: see "ps-watch --help".
package main

import (
	"os"

	"github.com/ps-photos/ps/internal/cli"
	"github.com/ps-photos/ps/internal/cli/watch"
)

func main() { os.Exit(watch.Main(os.Args[1:], cli.OSStdio())) }
