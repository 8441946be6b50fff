package charts

import (
	"math"
	"strconv"
)

// FunnelGroup is one variant's counts at each stage.
type FunnelGroup struct {
	Name   string
	Values []float64
}

// Funnel draws, stage by stage, one bar per group on a common scale, each
// labelled with its count and its share of the group's previous stage.
type Funnel struct {
	Title       string
	Description string
	// Width in pixels (0: DefaultWidth).
	Width  int
	Stages []string
	// Units optionally name one unit of each stage ("sharing referrer"),
	// for "3.0 per sharing referrer"; the stage's name otherwise.
	Units  []string
	Groups []FunnelGroup
}

// SVG renders the funnel.
func (f Funnel) SVG() []byte {
	w := float64(clampWidth(f.Width))
	const (
		pad      = 12.0
		headingH = 24.0
		barH     = 18.0
		barGap   = 6.0
		stageGap = 10.0
	)
	stacked := w < 520
	labelW := math.Min(w*0.2, 140)
	if stacked {
		labelW = math.Min(w*0.3, 100)
	}
	valueW := 200.0
	if stacked {
		valueW = 118
	}
	plotL := pad + labelW
	plotR := w - pad - valueW

	vmax := 0.0
	for _, g := range f.Groups {
		for _, v := range g.Values {
			if finite(v) {
				vmax = math.Max(vmax, v)
			}
		}
	}
	if vmax <= 0 {
		vmax = 1
	}
	perStage := headingH + float64(len(f.Groups))*(barH+barGap) + stageGap
	h := 2*pad + float64(len(f.Stages))*perStage
	if len(f.Stages) == 0 || len(f.Groups) == 0 {
		h = 2*pad + 40
	}
	d := &doc{w: w, h: h}
	d.open(f.Title, f.Description)
	if len(f.Stages) == 0 || len(f.Groups) == 0 {
		d.text(w/2, pad+24, "No data yet", ` text-anchor="middle" fill="`+colourMuted+`"`)
		return d.close()
	}
	y := pad
	for s, stage := range f.Stages {
		d.text(pad, y+16, stage, ` font-weight="600"`)
		y += headingH
		for i, g := range f.Groups {
			colour := Palette[i%len(Palette)]
			v := math.NaN()
			if s < len(g.Values) {
				v = g.Values[s]
			}
			d.text(plotL-8, y+barH-4.5, truncate(g.Name, labelW-10, fontSmall), ` text-anchor="end" font-size="`+num(fontSmall)+`"`)
			bw := 0.0
			if finite(v) && v > 0 {
				bw = math.Max(2, v/vmax*(plotR-plotL))
			}
			d.rect(plotL, y, bw, barH, colour, ` rx="2"`)
			label := Number(v)
			if s > 0 && s-1 < len(g.Values) {
				if prev := g.Values[s-1]; finite(prev) && prev > 0 && finite(v) {
					label += " · " + stepText(v/prev, f.Stages[s-1], f.unit(s-1), stacked)
				}
			}
			d.text(plotL+bw+6, y+barH-4.5, label, ` font-size="`+num(fontSmall)+`"`)
			y += barH + barGap
		}
		y += stageGap
	}
	return d.close()
}

// stepText says how a stage compares with the previous one: a share of it
// ("45% of referrers"), or, when a stage can exceed the previous one (several
// clicks per sharing referrer), a rate ("3.0 per sharing").
func stepText(ratio float64, previous, unit string, short bool) string {
	if ratio <= 1 {
		if short {
			return Percent(ratio, false)
		}
		return Percent(ratio, false) + " of " + previous
	}
	r := strconv.FormatFloat(ratio, 'f', 1, 64)
	if short {
		return "×" + r
	}
	return r + " per " + unit
}

func (f Funnel) unit(stage int) string {
	if stage < len(f.Units) && f.Units[stage] != "" {
		return f.Units[stage]
	}
	return f.Stages[stage]
}
