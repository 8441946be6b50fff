package charts

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// Point is one value at one time. Hollow draws its marker as an outline:
// the live value, as opposed to stored snapshots.
type Point struct {
	T      time.Time
	V      float64
	Hollow bool
}

// Series is one named line.
type Series struct {
	Name   string
	Points []Point
}

// Lines is a line chart of values over time, in UTC.
type Lines struct {
	Title       string
	Description string
	// Width and Height in pixels (0: DefaultWidth, and 0.55 of the width
	// bounded to 200–420).
	Width, Height int
	// YLabel names the values, e.g. "cumulative conversion rate".
	YLabel string
	// Percent formats the values as percentages of fractions.
	Percent bool
	Series  []Series
}

// SVG renders the chart.
func (l Lines) SVG() []byte {
	w := float64(clampWidth(l.Width))
	h := float64(l.Height)
	if h <= 0 {
		h = math.Max(200, math.Min(420, w*0.55))
	}
	const pad = 12.0
	// The legend: one entry per series, wrapped over as many rows as needed.
	type entry struct {
		x, y float64
		name string
	}
	var legend []entry
	lx, ly := pad, pad+10
	for _, s := range l.Series {
		name := truncate(s.Name, w-2*pad-40, fontSize)
		ew := 40 + approxTextWidth(name, fontSize) + 18
		if lx > pad && lx+ew > w-pad {
			lx, ly = pad, ly+22
		}
		legend = append(legend, entry{lx, ly, name})
		lx += ew
	}
	legendH := 0.0
	if len(legend) > 0 {
		legendH = ly - pad + 16
	}

	var tmin, tmax time.Time
	vmax := 0.0
	points := 0
	for _, s := range l.Series {
		for _, p := range s.Points {
			if !finite(p.V) {
				continue
			}
			if points == 0 || p.T.Before(tmin) {
				tmin = p.T
			}
			if points == 0 || p.T.After(tmax) {
				tmax = p.T
			}
			vmax = math.Max(vmax, p.V)
			points++
		}
	}
	if vmax <= 0 {
		vmax = 0.1
		if !l.Percent {
			vmax = 1
		}
	}
	yticks := niceTicks(0, vmax*1.08, 4)
	ymax := yticks[len(yticks)-1]
	yLabelW := 0.0
	for _, t := range yticks {
		yLabelW = math.Max(yLabelW, approxTextWidth(l.yLabel(t), fontSmall))
	}
	plotL := pad + yLabelW + 8
	plotR := w - pad - 6
	plotT := pad + legendH + 8
	plotB := h - 44
	d := &doc{w: w, h: h}
	d.open(l.Title, l.Description)

	for i, e := range legend {
		colour, dash := Palette[i%len(Palette)], dashes[i%len(dashes)]
		d.line(e.x, e.y, e.x+30, e.y, colour, 2.5, dashAttr(dash))
		d.marker(i, e.x+15, e.y, 4, colour, false)
		d.text(e.x+38, e.y+4.5, e.name, "")
	}

	y := func(v float64) float64 { return plotB - v/ymax*(plotB-plotT) }
	for _, t := range yticks {
		d.line(plotL, y(t), plotR, y(t), colourGrid, 1, "")
		d.text(plotL-6, y(t)+4, l.yLabel(t), ` text-anchor="end" font-size="`+num(fontSmall)+`" fill="`+colourMuted+`"`)
	}
	d.line(plotL, plotB, plotR, plotB, colourAxis, 1, "")

	if points == 0 {
		d.text((plotL+plotR)/2, (plotT+plotB)/2, "No data yet", ` text-anchor="middle" fill="`+colourMuted+`"`)
		d.text((plotL+plotR)/2, h-12, l.YLabel, ` text-anchor="middle" font-size="`+num(fontSmall)+`" fill="`+colourMuted+`"`)
		return d.close()
	}
	span := tmax.Sub(tmin)
	if span <= 0 {
		span = time.Hour
		tmin = tmin.Add(-span / 2)
		tmax = tmin.Add(span)
	}
	x := func(t time.Time) float64 {
		return plotL + 8 + float64(t.Sub(tmin))/float64(span)*(plotR-plotL-16)
	}
	step, layout := timeStep(span, int((plotR-plotL)/90))
	for t := firstTick(tmin, step); !t.After(tmax); t = t.Add(step) {
		d.line(x(t), plotB, x(t), plotB+5, colourAxis, 1, "")
		d.tickLabel(x(t), plotB+19, t.UTC().Format(layout))
	}
	d.text((plotL+plotR)/2, h-8, l.YLabel+" · time in UTC", ` text-anchor="middle" font-size="`+num(fontSmall)+`" fill="`+colourMuted+`"`)

	for i, s := range l.Series {
		colour, dash := Palette[i%len(Palette)], dashes[i%len(dashes)]
		var path strings.Builder
		for _, p := range s.Points {
			if !finite(p.V) {
				continue
			}
			cmd := "L"
			if path.Len() == 0 {
				cmd = "M"
			}
			fmt.Fprintf(&path, "%s%s %s", cmd, num(x(p.T)), num(y(p.V)))
		}
		if path.Len() > 0 {
			d.raw(`<path d="%s" fill="none" stroke="%s" stroke-width="2.5" stroke-linejoin="round"%s/>`, path.String(), colour, dashAttr(dash))
		}
		// Markers only where they stay apart; the last point always.
		every := max(1, len(s.Points)*14/int(math.Max(plotR-plotL, 1)))
		for j, p := range s.Points {
			if finite(p.V) && (j%every == 0 || j == len(s.Points)-1) {
				d.marker(i, x(p.T), y(p.V), 4, colour, p.Hollow)
			}
		}
	}
	return d.close()
}

func (l Lines) yLabel(v float64) string {
	if l.Percent {
		return Percent(v, false)
	}
	return Number(v)
}

func dashAttr(dash string) string {
	if dash == "" {
		return ""
	}
	return ` stroke-dasharray="` + dash + `"`
}

// timeStep picks a round tick interval giving at most n ticks over span,
// and the layout of its labels.
func timeStep(span time.Duration, n int) (time.Duration, string) {
	n = max(n, 2)
	steps := []time.Duration{
		time.Second, 5 * time.Second, 15 * time.Second, 30 * time.Second,
		time.Minute, 5 * time.Minute, 15 * time.Minute, 30 * time.Minute,
		time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour,
		24 * time.Hour, 2 * 24 * time.Hour, 7 * 24 * time.Hour, 14 * 24 * time.Hour, 28 * 24 * time.Hour,
	}
	for _, s := range steps {
		if span/s <= time.Duration(n) {
			if s < time.Minute {
				return s, "15:04:05"
			}
			if s < 24*time.Hour {
				if span > 20*time.Hour {
					return s, "Jan 2 15:04"
				}
				return s, "15:04"
			}
			return s, "Jan 2"
		}
	}
	return 91 * 24 * time.Hour, "Jan 2006"
}

// firstTick is the first multiple of step (from the Unix epoch, UTC) at or
// after t.
func firstTick(t time.Time, step time.Duration) time.Time {
	f := t.UTC().Truncate(step)
	if f.Before(t) {
		f = f.Add(step)
	}
	return f
}
