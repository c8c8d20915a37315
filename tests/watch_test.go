package tests

import (
	"os"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

func init() {
	commands["wait-for"] = waitFor
}

// wait-for FILE [TIMEOUT] waits until FILE exists (for background
// commands such as ps-watch); TIMEOUT defaults to 30s.
func waitFor(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) == 0 || len(args) > 2 {
		ts.Fatalf("usage: wait-for FILE [TIMEOUT]")
	}
	timeout := 30 * time.Second
	if len(args) == 2 {
		d, err := time.ParseDuration(args[1])
		ts.Check(err)
		timeout = d
	}
	deadline := time.Now().Add(timeout)
	for {
		if _, err := os.Stat(ts.MkAbs(args[0])); err == nil {
			return
		}
		if time.Now().After(deadline) {
			ts.Fatalf("%s did not appear within %s", args[0], timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
