// Command ps-auth: see "ps-auth --help".
package main

import (
	"os"

	"github.com/ps-photos/ps/internal/cli"
	"github.com/ps-photos/ps/internal/cli/auth"
)

func main() { os.Exit(auth.Main(os.Args[1:], cli.OSStdio())) }
