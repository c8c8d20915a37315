// Command mksample writes the demo's sample folder: go run ./internal/demo/mksample DIR.
package main

import (
	"fmt"
	"os"

	"github.com/ps-photos/ps/internal/demo"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: mksample DIR")
		os.Exit(2)
	}
	if err := demo.MakeSample(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "mksample:", err)
		os.Exit(1)
	}
}
