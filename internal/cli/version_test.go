package cli

import (
	"runtime/debug"
	"testing"
)

func TestVersionLine(t *testing.T) {
	vcs := func(kv ...string) []debug.BuildSetting {
		var out []debug.BuildSetting
		for i := 0; i < len(kv); i += 2 {
			out = append(out, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return out
	}
	cases := []struct {
		name, version, commit string
		bi                    *debug.BuildInfo
		want                  string
	}{
		{"ldflags win over build info", "v1.2.0", "3f2a9c1d8e7b",
			&debug.BuildInfo{GoVersion: "go1.26.1", Main: debug.Module{Version: "v0.0.0-20260101000000-aaaaaaaaaaaa"},
				Settings: vcs("vcs.revision", "bbbbbbbbbbbbbbbbbbbb", "vcs.time", "2026-12-04T15:00:00Z")},
			"ps-list v1.2.0 (commit 3f2a9c1d8e7b, 2026-12-04T15:00:00Z) go1.26.1 linux/amd64"},
		{"go install @v1.3.0: the module version", "", "",
			&debug.BuildInfo{GoVersion: "go1.26.1", Main: debug.Module{Version: "v1.3.0"}},
			"ps-list v1.3.0 go1.26.1 linux/amd64"},
		{"go build in a checkout: pseudo-version, revision, modified", "", "",
			&debug.BuildInfo{GoVersion: "go1.26.1", Main: debug.Module{Version: "v0.0.0-20261204150000-0123456789ab+dirty"},
				Settings: vcs("vcs", "git", "vcs.revision", "0123456789abcdef0123", "vcs.time", "2026-12-04T15:00:00Z", "vcs.modified", "true")},
			"ps-list v0.0.0-20261204150000-0123456789ab+dirty (commit 0123456789ab (modified), 2026-12-04T15:00:00Z) go1.26.1 linux/amd64"},
		{"make build in a modified checkout", "v0.0.0-20261204163029-903ac0d46782", "903ac0d46782-dirty", nil,
			"ps-list v0.0.0-20261204163029-903ac0d46782 (commit 903ac0d46782-dirty) go1.26.0 linux/amd64"},
		{"nothing known", "", "", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}},
			"ps-list devel go1.26.0 linux/amd64"},
		{"no build info at all", "", "", nil, "ps-list devel go1.26.0 linux/amd64"},
	}
	for _, c := range cases {
		got := versionLine("ps-list", c.version, c.commit, c.bi, "go1.26.0", "linux/amd64")
		if got != c.want {
			t.Errorf("%s:\n got %q\nwant %q", c.name, got, c.want)
		}
	}
}
