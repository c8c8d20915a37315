// Command ps-fetch: see "ps-fetch --help".
package main

import (
	"os"

	"github.com/ps-photos/ps/internal/cli"
	"github.com/ps-photos/ps/internal/cli/fetch"
)

func main() { os.Exit(fetch.Main(os.Args[1:], cli.OSStdio())) }
