package xmp

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/ps-photos/ps/internal/xmp"
)

// report is what --analyze-only prints.
type report struct {
	JPGDir      string        `json:"jpg_dir"`
	JPGs        int           `json:"jpgs"`
	Settings    []xmp.Setting `json:"settings"`
	Calibration *calibration  `json:"calibration,omitempty"`
}

type calibration struct {
	MatchTolerance string       `json:"match_tolerance"`
	RAWs           int          `json:"raws"`
	Matches        []matchRow   `json:"matches"`
	UnmatchedJPGs  []string     `json:"unmatched_jpgs"`
	Nearest        []nearestRow `json:"nearest"`
}

type matchRow struct {
	JPG          string  `json:"jpg"`
	RAW          string  `json:"raw"`
	DeltaSeconds float64 `json:"delta_seconds"`
}

type nearestRow struct {
	RAW        string         `json:"raw"`
	Shot       string         `json:"shot"`
	Neighbours []neighbourRow `json:"neighbours"`
}

type neighbourRow struct {
	RAW      string  `json:"raw"`
	JPG      string  `json:"jpg"`
	Shot     string  `json:"shot"`
	Distance float64 `json:"distance"`
	Weight   float64 `json:"weight"`
}

func newReport(c *Command, a *xmp.Analysis, edits []xmp.Edit, shots []xmp.Shot, raws []string, plan *xmp.Plan) *report {
	r := &report{JPGDir: c.JpgDir, JPGs: a.JPGs, Settings: a.Settings}
	if r.Settings == nil {
		r.Settings = []xmp.Setting{}
	}
	if !c.Calibrate {
		return r
	}
	jpg := func(i int) string { return displayName(c.JpgDir, edits[i].Path) }
	raw := func(i int) string { return displayName(c.RawDir, shots[i].Path) }
	cal := &calibration{MatchTolerance: c.MatchTolerance.String(), RAWs: len(raws),
		Matches: []matchRow{}, UnmatchedJPGs: []string{}, Nearest: []nearestRow{}}
	for _, m := range plan.Matches {
		cal.Matches = append(cal.Matches, matchRow{JPG: jpg(m.JPG), RAW: raw(m.RAW), DeltaSeconds: m.Delta.Seconds()})
	}
	for _, j := range plan.UnmatchedJPGs {
		cal.UnmatchedJPGs = append(cal.UnmatchedJPGs, jpg(j))
	}
	for i := range shots {
		if plan.From[i] != xmp.FromNearest {
			continue
		}
		row := nearestRow{RAW: raw(i), Shot: shots[i].String(), Neighbours: []neighbourRow{}}
		for _, n := range plan.Neighbours[i] {
			row.Neighbours = append(row.Neighbours, neighbourRow{RAW: raw(n.RAW), JPG: jpg(n.JPG),
				Shot: shots[n.RAW].String(), Distance: round(n.Distance), Weight: round(n.Weight)})
		}
		cal.Nearest = append(cal.Nearest, row)
	}
	r.Calibration = cal
	return r
}

func round(f float64) float64 { return math.Round(f*1000) / 1000 }

func (r *report) print(w io.Writer, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(r)
	}
	fmt.Fprintf(w, "%d JPG(s) with Camera Raw settings in %s\n\n", r.JPGs, r.JPGDir)
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "SETTING\tCLASS\tWHY\tIN\tVALUE")
	for _, s := range r.Settings {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d/%d\t%s\n", s.Name, s.Class, s.Why, s.Present, r.JPGs, shown(s))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if r.Calibration == nil {
		return nil
	}
	cal := r.Calibration
	fmt.Fprintf(w, "\nMatching (tolerance %s): %d of %d JPG(s) matched a RAW; %d of %d RAW(s) estimated from nearest neighbours\n\n",
		cal.MatchTolerance, len(cal.Matches), r.JPGs, len(cal.Nearest), cal.RAWs)
	if len(cal.Matches) > 0 {
		tw = tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
		fmt.Fprintln(tw, "JPG\tRAW\tΔt")
		for _, m := range cal.Matches {
			fmt.Fprintf(tw, "%s\t%s\t%ss\n", m.JPG, m.RAW, strconv.FormatFloat(m.DeltaSeconds, 'f', -1, 64))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if len(cal.UnmatchedJPGs) > 0 {
		fmt.Fprintf(w, "\nUnmatched JPG(s): %s\n", strings.Join(cal.UnmatchedJPGs, ", "))
	}
	const maxRows = 20
	if len(cal.Nearest) > 0 {
		fmt.Fprintln(w)
		tw = tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
		fmt.Fprintln(tw, "RAW\tSHOT\tNEAREST MATCHED RAWS (distance)")
		for i, n := range cal.Nearest {
			if i == maxRows {
				fmt.Fprintf(tw, "… %d more (use --json for all)\t\t\n", len(cal.Nearest)-maxRows)
				break
			}
			var nb []string
			for _, x := range n.Neighbours {
				nb = append(nb, fmt.Sprintf("%s (%.2f)", x.RAW, x.Distance))
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\n", n.RAW, n.Shot, strings.Join(nb, ", "))
		}
		return tw.Flush()
	}
	return nil
}

// shown is a setting's value column: the style value, or the range of a
// per-image one.
func shown(s xmp.Setting) string {
	if s.Class == xmp.PerImage && s.Min != nil {
		return fmt.Sprintf("%g … %g (%d values)", *s.Min, *s.Max, s.Distinct)
	}
	v := s.Value.String()
	if s.Class == xmp.PerImage && s.Distinct > 1 {
		v = fmt.Sprintf("%d different values", s.Distinct)
	}
	if r := []rune(v); len(r) > 60 {
		v = string(r[:59]) + "…"
	}
	return v
}
