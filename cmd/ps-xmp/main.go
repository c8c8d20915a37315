// Command ps-xmp: see "ps-xmp --help".
package main

import (
	"os"

	"github.com/ps-photos/ps/internal/cli"
	"github.com/ps-photos/ps/internal/cli/xmp"
)

func main() { os.Exit(xmp.Main(os.Args[1:], cli.OSStdio())) }
