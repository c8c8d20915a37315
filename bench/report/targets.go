package main

import (
	"fmt"
	"strings"
)

// A target is a figure one of the issues asks for. eval returns what was
// measured and the verdict: "met", "not met", "not measured" or "reported"
// (for issues that ask for a figure but set no bar).
type target struct {
	issue int
	what  string
	eval  func([]*group) (measured, verdict string)
}

// extraOutputs holds what section scripts printed, by script name, for
// targets that only ask for a figure.
var extraOutputs map[string]string

var targets = []target{
	{2, "ps-filter ≥ 10× jq on 1,000,000 records", ratioTarget("filter", "loopback", "records", "jq", 10)},
	{3, "ps-fetch ≥ 1.0× rclone (best of --transfers 4, 8): 100 × 25 MiB over HTTP", ratioTarget("http", "loopback", "× 25 MiB", "rclone", 1)},
	{3, "ps-fetch ≥ 1.0× rclone (best of --transfers 4, 8): 5,000 × 64 KiB over HTTP", ratioTarget("http", "loopback", "× 64 KiB", "rclone", 1)},
	{3, "(context, no bar of its own) 1.0× rclone \"is several times aria2c\": ps-fetch vs aria2c -j8", httpContext("aria2c")},
	{3, "(context, no bar of its own) the same verified result from rclone: rclone copy, then rclone hashsum sha256", httpContext("verified:")},
	{3, "ps-fetch peak memory for 1,000,000 input records < 64 MiB", memoryTarget},
	{4, "Synology: list 100,000 files in 200 folders with 50 ms per request in < 3 s, memory flat", synologyTarget},
	{5, "SMB: ps-list | ps-fetch -j8 ≥ 1.0× rclone --transfers 8 on 100 × 25 MiB", ratioTarget("smb", "loopback", "× 25 MiB", "rclone", 1)},
	{5, "SMB: ps-list | ps-fetch -j8 ≥ 1.5× rclone --transfers 8 on 5,000 × 64 KiB", ratioTarget("smb", "loopback", "× 64 KiB", "rclone", 1.5)},
	{5, "SMB: ps-list of 5,000 files at least as fast as rclone lsjson -R", ratioTarget("smb", "loopback", "list", "rclone", 1)},
	{6, "ps-xmp, 10,000 RAWs + 300 JPGs calibrated, within 1.3× of exiftool -j on the same files", ratioTarget("xmp", "", "", "exiftool", 1/1.3)},
	{7, "Takeout: list 50,000 items in 5 zip parts: items/s and peak memory (no bar set)", reportTarget("takeout")},
	{8, "iCloud: list 100,000 assets with 50 ms latency: items/s and peak memory vs a sequential pager", goBenchOnly("go test -run '^$' -bench List100k -benchtime 1x ./internal/source/icloud")},
	{14, "ps-xmp --meta: metadata written for 10,000 photos (sidecars; into files), side by side with exiftool -json= (no bar set)", reportTarget("meta")},
}

// find returns the first comparison of section (and profile, when given)
// whose case name contains part.
func find(groups []*group, section, profile, part string) *group {
	for _, g := range groups {
		if g.section == section && (profile == "" || g.profile == profile) && strings.Contains(g.caseName, part) {
			return g
		}
	}
	return nil
}

// why explains why a comparison has no figure for ps.
func why(g *group, section string) string {
	if g == nil {
		return "not measured: no " + section + " comparison ran"
	}
	if ps := g.ps(); ps != nil && ps.skipped != "" {
		return "not measured: " + ps.skipped
	}
	if ps := g.ps(); ps != nil && ps.failed != "" {
		return "failed: " + ps.failed
	}
	for _, t := range g.tools { // a section script that failed as a whole
		if t.failed != "" {
			return t.label + " failed: " + t.failed
		}
	}
	return "not measured"
}

// ratioTarget: ps must be at least min times as fast as the best tool whose
// label starts with peer.
func ratioTarget(section, profile, part, peer string, minRatio float64) func([]*group) (string, string) {
	return func(groups []*group) (string, string) {
		g := find(groups, section, profile, part)
		if g == nil || g.ps() == nil || !g.ps().ok() {
			return why(g, section), "not measured"
		}
		ps, p := g.ps(), g.best(peer)
		if p == nil {
			return fmt.Sprintf("ps %.2f s; %s not measured", ps.median(), peer), "not measured"
		}
		r := p.median() / ps.median()
		m := fmt.Sprintf("%s: %s %.2f s vs %s %.2f s → ratio %.2f× (%s)", g.caseName, ps.label, ps.median(), p.label, p.median(), r, strings.ReplaceAll(ratioText(r), "**", ""))
		if r >= minRatio {
			return m, "met"
		}
		return m, "not met"
	}
}

// httpContext compares ps-fetch with a peer on both HTTP data sets, for
// figures the issues ask for without a bar.
func httpContext(peer string) func([]*group) (string, string) {
	return func(groups []*group) (string, string) {
		var parts []string
		for _, part := range []string{"× 25 MiB", "× 64 KiB"} {
			g := find(groups, "http", "loopback", part)
			if g == nil || g.ps() == nil || !g.ps().ok() || g.best(peer) == nil {
				return why(g, "http"), "not measured"
			}
			r := g.best(peer).median() / g.ps().median()
			parts = append(parts, fmt.Sprintf("%s: %s", g.caseName, strings.ReplaceAll(ratioText(r), "**", "")))
		}
		return strings.Join(parts, "; "), "reported"
	}
}

func memoryTarget(groups []*group) (string, string) {
	for _, g := range groups {
		if g.section != "memory" {
			continue
		}
		for _, t := range g.tools {
			if !strings.HasPrefix(t.label, "ps-fetch") {
				continue
			}
			if !t.ok() {
				return why(g, "memory"), "not measured"
			}
			m := fmt.Sprintf("%s: ps-fetch --dry-run peak RSS %s (a run skipping files through a 1,000,000-entry manifest is not measured)", g.caseName, mib(t.rssKiB))
			if t.rssKiB < 64*1024 {
				return m, "met"
			}
			return m, "not met"
		}
		return "not measured: no ps-fetch stage in " + g.caseName, "not measured"
	}
	return "not measured: the memory section did not run", "not measured"
}

func synologyTarget(groups []*group) (string, string) {
	g := find(groups, "synology", "loopback", "per request")
	if g == nil || g.ps() == nil || !g.ps().ok() {
		return why(g, "synology"), "not measured"
	}
	ps := g.ps()
	m := fmt.Sprintf("%s: %.2f s, peak RSS %s", g.caseName, ps.median(), mib(ps.rssKiB))
	if ps.median() < 3 {
		return m, "met"
	}
	return m, "not met"
}

func reportTarget(section string) func([]*group) (string, string) {
	return func(groups []*group) (string, string) {
		for _, g := range groups {
			if g.section != section {
				continue
			}
			ps := g.ps()
			if ps == nil || !ps.ok() {
				return why(g, section), "not measured"
			}
			m := fmt.Sprintf("%s: %.2f s", g.caseName, ps.median())
			if ps.items > 0 {
				m += fmt.Sprintf(", %s items/s", human(float64(ps.items)/ps.median()))
			}
			if ps.rssKiB > 0 {
				m += ", peak RSS " + mib(ps.rssKiB)
			}
			return m, "reported"
		}
		if out := strings.TrimSpace(extraOutputs[section]); out != "" {
			return "bench/" + section + ".sh printed (full output below): " + strings.Join(strings.Split(out, "\n"), "; "), "reported"
		}
		return "not measured by bench/run.sh (no " + section + " section)", "not measured"
	}
}

// goBenchOnly is a figure make bench does not measure: it comes from the
// owner's Go benchmark.
func goBenchOnly(cmd string) func([]*group) (string, string) {
	return func([]*group) (string, string) {
		return "not part of make bench: a fake-server figure from the Go benchmark `" + cmd + "`", "not measured"
	}
}
