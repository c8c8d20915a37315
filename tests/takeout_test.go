package tests

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/rogpeppe/go-internal/testscript"

	tt "github.com/ps-photos/ps/internal/source/takeout/takeouttest"
	"github.com/ps-photos/ps/internal/testenv"
)

// mktakeout writes a generated Google Takeout for a script:
//
//	mktakeout english DIR 1|2   the English test library, export 1 or 2 (see takeouttest.English)
//	mktakeout lang CODE DIR     a small library in one language (see takeouttest.Langs)
//	mktakeout world DIR         one export per language after the first five, zip and tgz, sidecars named the hard ways (takeouttest.World)
func init() {
	setups = append(setups, takeoutSetup)
	commands["mktakeout"] = func(ts *testscript.TestScript, neg bool, args []string) {
		if neg || len(args) != 3 && (len(args) != 2 || args[0] != "world") {
			ts.Fatalf("usage: mktakeout english DIR 1|2 | mktakeout lang CODE DIR | mktakeout world DIR")
		}
		var parts map[string][]tt.File
		var dir string
		switch args[0] {
		case "english":
			exiftool := ts.Getenv("EXIFTOOL")
			dir = ts.MkAbs(args[1])
			tmp, err := os.MkdirTemp("", "mktakeout-")
			ts.Check(err)
			defer os.RemoveAll(tmp)
			parts, err = tt.English(exiftool, tmp, map[string]int{"1": 1, "2": 2}[args[2]])
			ts.Check(err)
		case "lang":
			dir = ts.MkAbs(args[2])
			for _, l := range tt.Langs {
				if l.Code == args[1] {
					parts = map[string][]tt.File{"takeout-" + l.Code + "-001.zip": tt.Localized(l)}
				}
			}
			if parts == nil {
				ts.Fatalf("mktakeout: no language %q", args[1])
			}
		case "world":
			dir = ts.MkAbs(args[1])
			parts = tt.World()
		default:
			ts.Fatalf("mktakeout: unknown library %q", args[0])
		}
		ts.Check(tt.Write(dir, parts))
	}
}

// takeoutSetup finds exiftool for takeout_* scripts, skipping them
// without it (failing under CI=true, like testenv.LookTool).
func takeoutSetup(env *testscript.Env) error {
	if !strings.HasPrefix(filepath.Base(env.WorkDir), "script-takeout_") {
		return nil
	}
	for _, p := range []string{"exiftool", "/usr/bin/exiftool"} {
		if abs, err := exec.LookPath(p); err == nil {
			env.Setenv("EXIFTOOL", abs)
			return nil
		}
	}
	msg := "exiftool is not installed (apt-get install libimage-exiftool-perl)"
	if testenv.InCI() {
		return fmt.Errorf("CI=true forbids skipping: %s", msg)
	}
	env.T().Skip(msg)
	return nil
}
