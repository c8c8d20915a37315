package main

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"os"
	"strings"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// The chart: one small horizontal bar chart per comparison, laid out in two
// columns. Bars show throughput (longer is better), except for memory
// (peak RSS, shorter is better); each bar is labelled with its figure and
// median time. ps is drawn in blue, the peers in grey.
const (
	colWidth  = 820
	labelW    = 230
	barMaxW   = 380
	rowH      = 17
	headH     = 22
	groupGap  = 14
	margin    = 16
	titleH    = 40
	charWidth = 7
)

var (
	white  = color.RGBA{255, 255, 255, 255}
	ink    = color.RGBA{30, 30, 30, 255}
	faint  = color.RGBA{120, 120, 120, 255}
	psBlue = color.RGBA{31, 119, 180, 255}
	grey   = color.RGBA{170, 170, 170, 255}
	rule   = color.RGBA{225, 225, 225, 255}
)

type bar struct {
	label, text string
	value       float64 // 0 when not measured
	ps          bool
}

func groupBars(g *group) (heading string, bars []bar) {
	metric := "throughput"
	switch {
	case g.section == "memory":
		metric = "peak RSS, shorter is better"
	case g.section == "filter":
		metric = "records/s"
	case bigFiles(g):
		metric = "MB/s"
	default:
		metric = "files/s"
	}
	heading = fmt.Sprintf("%s · %s · %s (%s)", g.section, shortProfile(g.profile), g.caseName, metric)
	for _, t := range g.tools {
		b := bar{label: t.label, ps: strings.HasPrefix(t.label, "ps-")}
		switch {
		case !t.ok():
			b.text = "not measured"
			if t.skipped != "" {
				b.text = "skipped"
			} else if t.failed != "" {
				b.text = "failed"
			}
		case g.section == "memory":
			b.value = float64(t.rssKiB) / 1024
			b.text = fmt.Sprintf("%.0f MiB", b.value)
		case metric == "MB/s":
			b.value = float64(t.bytes) / t.median() / 1e6
			b.text = fmt.Sprintf("%.0f MB/s  %.2f s", b.value, t.median())
		default:
			b.value = float64(t.items) / t.median()
			b.text = fmt.Sprintf("%s/s  %.2f s", human(b.value), t.median())
		}
		bars = append(bars, b)
	}
	return heading, bars
}

// bigFiles: the comparison moves files of a MiB or more, so bytes per second
// is the figure that matters (for small files it is files per second).
func bigFiles(g *group) bool {
	for _, t := range g.tools {
		if t.bytes > 0 && t.items > 0 && t.bytes/t.items >= 1<<20 {
			return true
		}
	}
	return false
}

func shortProfile(p string) string {
	switch p {
	case "lan":
		return "WAN lab LAN 1 ms 1 Gbit/s"
	case "home":
		return "WAN lab home 20 ms 100 Mbit/s"
	case "far":
		return "WAN lab far 80 ms 50 Mbit/s"
	}
	return p
}

func groupHeight(n int) int { return headH + n*rowH + groupGap }

func writeChart(name string, groups []*group, facts [][2]string) error {
	var shown []*group
	for _, g := range groups {
		if len(g.tools) > 0 && g.caseName != "all" {
			shown = append(shown, g)
		}
	}
	// Flow the groups into two columns, each into the shorter one.
	heights := [2]int{}
	col := make([]int, len(shown))
	for i, g := range shown {
		c := 0
		if heights[1] < heights[0] {
			c = 1
		}
		col[i] = c
		heights[c] += groupHeight(len(g.tools))
	}
	h := titleH + max(heights[0], heights[1]) + margin
	img := image.NewRGBA(image.Rect(0, 0, 2*colWidth+margin, max(h, 120)))
	draw.Draw(img, img.Bounds(), &image.Uniform{white}, image.Point{}, draw.Src)
	text(img, margin, 22, ink, fmt.Sprintf("ps benchmark suite: %s, %s mode, %s", fact(facts, "date"), fact(facts, "mode"), fact(facts, "cpu")))
	if len(shown) == 0 {
		text(img, margin, 60, faint, "no comparison ran")
	}
	y := [2]int{titleH, titleH}
	for i, g := range shown {
		c := col[i]
		x := margin + c*colWidth
		drawGroup(img, x, y[c], g)
		y[c] += groupHeight(len(g.tools))
	}
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func drawGroup(img *image.RGBA, x, y int, g *group) {
	heading, bars := groupBars(g)
	fill(img, image.Rect(x, y, x+colWidth-margin, y+1), rule)
	text(img, x, y+15, ink, clip(heading, (colWidth-margin)/charWidth))
	top := 0.0
	for _, b := range bars {
		top = max(top, b.value)
	}
	for i, b := range bars {
		by := y + headH + i*rowH
		text(img, x, by+11, ink, clip(b.label, labelW/charWidth-1))
		w := 0
		if top > 0 {
			w = int(b.value / top * barMaxW)
		}
		c := grey
		if b.ps {
			c = psBlue
		}
		if w > 0 {
			fill(img, image.Rect(x+labelW, by+2, x+labelW+w, by+rowH-3), c)
		}
		tc := ink
		if b.value == 0 {
			tc = faint
		}
		text(img, x+labelW+w+6, by+11, tc, b.text)
	}
}

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func fill(img *image.RGBA, r image.Rectangle, c color.Color) {
	draw.Draw(img, r, &image.Uniform{c}, image.Point{}, draw.Src)
}

// text draws s with its baseline at y. basicfont has no glyph for some
// characters (×, –); they are spelled in ASCII first.
func text(img *image.RGBA, x, y int, c color.Color, s string) {
	s = strings.NewReplacer("×", "x", "–", "-", "—", "-", "…", "~", "·", "|", "≥", ">=").Replace(s)
	d := &font.Drawer{Dst: img, Src: &image.Uniform{c}, Face: basicfont.Face7x13, Dot: fixed.P(x, y)}
	d.DrawString(s)
}
