// Command mkbench writes the synthetic Takeout bench/takeout.sh lists.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/ps-photos/ps/internal/source/takeout/takeouttest"
)

func main() {
	out := flag.String("o", "", "folder to write the zip parts into")
	items := flag.Int("items", 50000, "distinct photos")
	parts := flag.Int("parts", 5, "zip parts")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "usage: mkbench -o DIR [-items N] [-parts N]")
		os.Exit(2)
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := takeouttest.Bench(*out, *items, *parts); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
