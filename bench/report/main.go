// Command report turns the rows bench/run.sh measured into
// docs/performance.md (tables, targets met or not) and a PNG chart.
//
//	report -results results.tsv -machine machine.tsv -notes bench/notes.md \
//	       -extra DIR -md docs/performance.md -png docs/performance.png
//
// Rows are tab-separated: section profile case tool run seconds bytes items
// rss_kib cpu_s status note (see bench/lib.sh). A tool's figure is the median
// of its timed runs; ratios compare medians measured in the same run.
package main

import (
	"bufio"
	"flag"
	"log"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// row is one line of results.tsv.
type row struct {
	section, profile, caseName, tool, run string
	seconds                               float64
	bytes, items, rssKiB                  int64
	cpu                                   float64
	status, note                          string
}

// tool is what one tool did in one comparison.
type tool struct {
	label      string
	times      []float64 // timed runs that did the whole job
	cpu        []float64
	rssKiB     int64
	bytes      int64
	items      int64
	skipped    string // reason, when it could not run
	failed     string // what went wrong, when no timed run succeeded
	failedRuns int
}

func (t *tool) ok() bool { return len(t.times) > 0 }

func (t *tool) median() float64 { return median(t.times) }

// group is one comparison: the same job done by several tools.
type group struct {
	section, profile, caseName string
	tools                      []*tool
}

func (g *group) tool(label string) *tool {
	for _, t := range g.tools {
		if t.label == label {
			return t
		}
	}
	t := &tool{label: label}
	g.tools = append(g.tools, t)
	return t
}

// ps returns the ps tool of the comparison (the first whose label starts
// with "ps-"), or nil.
func (g *group) ps() *tool {
	for _, t := range g.tools {
		if strings.HasPrefix(t.label, "ps-") {
			return t
		}
	}
	return nil
}

// best returns the fastest measured tool whose label starts with prefix.
func (g *group) best(prefix string) *tool {
	var b *tool
	for _, t := range g.tools {
		if strings.HasPrefix(t.label, prefix) && t.ok() && (b == nil || t.median() < b.median()) {
			b = t
		}
	}
	return b
}

func main() {
	results := flag.String("results", "", "results.tsv from bench/run.sh")
	machine := flag.String("machine", "", "machine.tsv (key, value)")
	notes := flag.String("notes", "", "hand-written notes to include")
	extra := flag.String("extra", "", "folder of NAME.txt outputs of section scripts to include")
	md := flag.String("md", "docs/performance.md", "Markdown to write")
	png := flag.String("png", "docs/performance.png", "chart to write")
	flag.Parse()

	rows, err := readRows(*results)
	if err != nil {
		log.Fatal(err)
	}
	facts, err := readFacts(*machine)
	if err != nil {
		log.Fatal(err)
	}
	groups := collect(rows)
	if err := writeChart(*png, groups, facts); err != nil {
		log.Fatal(err)
	}
	extraOutputs = extras(*extra)
	doc := render(groups, facts, readOptional(*notes), extraOutputs, filepath.Base(*png))
	if err := os.WriteFile(*md, []byte(doc), 0o644); err != nil {
		log.Fatal(err)
	}
}

func readRows(name string) ([]row, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var rows []row
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		c := strings.Split(sc.Text(), "\t")
		if len(c) < 11 {
			continue
		}
		for len(c) < 12 {
			c = append(c, "")
		}
		rows = append(rows, row{
			section: c[0], profile: c[1], caseName: c[2], tool: c[3], run: c[4],
			seconds: num(c[5]), bytes: int64(num(c[6])), items: int64(num(c[7])),
			rssKiB: int64(num(c[8])), cpu: num(c[9]), status: c[10], note: c[11],
		})
	}
	return rows, sc.Err()
}

func num(s string) float64 {
	v, _ := strconv.ParseFloat(strings.TrimSpace(s), 64)
	return v
}

func readFacts(name string) ([][2]string, error) {
	if name == "" {
		return nil, nil
	}
	b, err := os.ReadFile(name)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var facts [][2]string
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		k, v, _ := strings.Cut(line, "\t")
		facts = append(facts, [2]string{k, v})
	}
	return facts, nil
}

func fact(facts [][2]string, key string) string {
	for _, f := range facts {
		if f[0] == key {
			return f[1]
		}
	}
	return ""
}

func readOptional(name string) string {
	if name == "" {
		return ""
	}
	b, err := os.ReadFile(name)
	if err != nil {
		return ""
	}
	return string(b)
}

// extras returns the outputs section scripts printed, by script name.
func extras(dir string) map[string]string {
	out := map[string]string{}
	if dir == "" {
		return out
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.txt"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err == nil && len(strings.TrimSpace(string(b))) > 0 {
			out[strings.TrimSuffix(filepath.Base(f), ".txt")] = string(b)
		}
	}
	return out
}

// collect groups rows into comparisons, in the order they were measured.
func collect(rows []row) []*group {
	var groups []*group
	index := map[string]*group{}
	for _, r := range rows {
		key := r.section + "\x00" + r.profile + "\x00" + r.caseName
		g := index[key]
		if g == nil {
			g = &group{section: r.section, profile: r.profile, caseName: r.caseName}
			index[key] = g
			groups = append(groups, g)
		}
		t := g.tool(r.tool)
		if r.bytes > 0 {
			t.bytes = r.bytes
		}
		if r.items > 0 {
			t.items = r.items
		}
		switch {
		case r.status == "skip":
			t.skipped = r.note
		case r.run == "warmup":
			if r.status != "ok" {
				t.failed = r.note
			}
		case r.status == "ok":
			t.times = append(t.times, r.seconds)
			t.cpu = append(t.cpu, r.cpu)
			t.rssKiB = max(t.rssKiB, r.rssKiB)
		default:
			t.failedRuns++
			t.failed = r.note
		}
	}
	sortGroups(groups)
	return groups
}

var sectionOrder = []string{"http", "smb", "synology", "filter", "memory", "xmp", "meta", "takeout", "wan"}
var profileOrder = []string{"loopback", "lan", "home", "far", "-"}

func rank(list []string, v string) int {
	for i, s := range list {
		if s == v {
			return i
		}
	}
	return len(list)
}

// sortGroups orders by section, then profile; within those, measuring order.
func sortGroups(groups []*group) {
	sort.SliceStable(groups, func(i, j int) bool {
		a, b := groups[i], groups[j]
		if ra, rb := rank(sectionOrder, a.section), rank(sectionOrder, b.section); ra != rb {
			return ra < rb
		}
		return rank(profileOrder, a.profile) < rank(profileOrder, b.profile)
	})
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func minMax(v []float64) (lo, hi float64) {
	lo, hi = v[0], v[0]
	for _, x := range v {
		lo, hi = min(lo, x), max(hi, x)
	}
	return lo, hi
}
