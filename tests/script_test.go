// Package tests runs the ps tools end to end, as a user types them, with
// testscript: each tests/testdata/*.txtar file is one pipeline behaviour.
//
// The ps-* commands run the same Main functions as the binaries. Sources
// that need servers (fakes, smbd) register extra commands and set-up in
// their own *_test.go file here through the setups and commands maps, so
// adding a source never touches this file.
package tests

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/ps-photos/ps/internal/cli"
	"github.com/ps-photos/ps/internal/cli/auth"
	"github.com/ps-photos/ps/internal/cli/check"
	"github.com/ps-photos/ps/internal/cli/fetch"
	"github.com/ps-photos/ps/internal/cli/filter"
	"github.com/ps-photos/ps/internal/cli/list"
	"github.com/ps-photos/ps/internal/cli/remove"
	"github.com/ps-photos/ps/internal/cli/watch"
	"github.com/ps-photos/ps/internal/cli/xmp"
	"github.com/ps-photos/ps/internal/testenv"
)

// setups run before each script; they may start servers (stopped through
// env.Defer) and set environment variables.
var setups []func(env *testscript.Env) error

// commands are extra script commands (fake servers, fault injection).
var commands = map[string]func(ts *testscript.TestScript, neg bool, args []string){}

func TestMain(m *testing.M) {
	main := func(f func([]string, cli.Stdio) int) func() {
		return func() { os.Exit(f(os.Args[1:], cli.OSStdio())) }
	}
	testscript.Main(m, map[string]func(){
		"ps-auth":   main(auth.Main),
		"ps-list":   main(list.Main),
		"ps-filter": main(filter.Main),
		"ps-fetch":  main(fetch.Main),
		"ps-xmp":    main(xmp.Main),
		"ps-remove": main(remove.Main),
		"ps-check":  main(check.Main),
		"ps-watch":  main(watch.Main),
	})
}

func TestScripts(t *testing.T) {
	fixtures := filepath.Dir(testenv.Fixture(t, "CanonRaw.cr3"))
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata",
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		UpdateScripts:       os.Getenv("UPDATE_SCRIPTS") == "1",
		Cmds:                commands,
		Condition: func(cond string) (bool, error) {
			if cond == "root" {
				return os.Geteuid() == 0, nil
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
		Setup: func(env *testscript.Env) error {
			env.Setenv("PS_STATE_DIR", filepath.Join(env.WorkDir, ".state"))
			env.Setenv("FIXTURES", fixtures)
			env.Setenv("TZ", "UTC")
			env.Setenv("CI", os.Getenv("CI"))
			for _, s := range setups {
				if err := s(env); err != nil {
					return err
				}
			}
			return nil
		},
	})
}
