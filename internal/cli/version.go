package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// Version and Commit may be set at build time with
// -ldflags "-X github.com/ps-photos/ps/internal/cli.Version=v1.2.0 -X ….Commit=…".
// Left empty (go install …/cmd/...@latest, go build), the module's build
// information fills them in: the module version go install resolved (or the
// pseudo-version go build stamps from the checkout) and the VCS revision.
var (
	Version = ""
	Commit  = ""
)

// VersionLine is what --version prints, for example
// "ps-list v1.2.0 (commit 3f2a9c1d8e7b, 2026-12-04T15:00:00Z) go1.26.0 linux/amd64".
func VersionLine(name string) string {
	bi, _ := debug.ReadBuildInfo()
	return versionLine(name, Version, Commit, bi, runtime.Version(), runtime.GOOS+"/"+runtime.GOARCH)
}

// versionLine builds the line from the -X values, falling back to the
// build information for what they leave empty.
func versionLine(name, version, commit string, bi *debug.BuildInfo, goVersion, platform string) string {
	var revision, when string
	modified := false
	if bi != nil {
		if version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			version = bi.Main.Version
		}
		if bi.GoVersion != "" {
			goVersion = bi.GoVersion
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				revision = s.Value
			case "vcs.time":
				when = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	if commit == "" {
		commit = revision
		if len(commit) > 12 {
			commit = commit[:12]
		}
	}
	if version == "" {
		version = "devel"
	}
	var details []string
	if commit != "" {
		c := "commit " + commit
		if modified && !strings.HasSuffix(commit, "-dirty") {
			c += " (modified)"
		}
		details = append(details, c)
	}
	if when != "" {
		details = append(details, when)
	}
	line := name + " " + version
	if len(details) > 0 {
		line += " (" + strings.Join(details, ", ") + ")"
	}
	return fmt.Sprintf("%s %s %s", line, goVersion, platform)
}

// buildDate is the commit date of the build (YYYY-MM-DD), or "".
func buildDate() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	for _, s := range bi.Settings {
		if s.Key == "vcs.time" && len(s.Value) >= 10 {
			return s.Value[:10]
		}
	}
	return ""
}
