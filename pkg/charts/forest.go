package charts

import (
	"math"
)

// Tone says how a forest plot row reads: better, worse, or undecided.
type Tone int

// Tones.
const (
	Neutral Tone = iota
	Positive
	Negative
)

func (t Tone) colour() string {
	switch t {
	case Positive:
		return colourPositive
	case Negative:
		return colourNegative
	}
	return colourNeutral
}

// ForestRow is one estimate with its interval. NaN marks a missing value: a
// row without an interval shows its estimate only, a row without an
// estimate shows its text only.
type ForestRow struct {
	// Group, when it differs from the previous row's, starts a new block
	// under this heading (a metric).
	Group string
	// Label names the row (a variant).
	Label    string
	Estimate float64
	Lower    float64
	Upper    float64
	Tone     Tone
	// Text is written beside the row, e.g. "+12.3% [−2.1%, +26.7%]".
	Text string
}

// halo outlines text in white, so that it stays legible where a grid line
// runs under it.
const halo = ` stroke="#ffffff" stroke-width="4" stroke-linejoin="round" paint-order="stroke"`

// Forest is a forest plot: one horizontal interval per row against a
// vertical line at zero.
type Forest struct {
	Title       string
	Description string
	// Width in pixels (MinWidth to MaxWidth; 0 is DefaultWidth). Below 520
	// each row's text goes above its interval.
	Width int
	// AxisLabel names the x axis, e.g. "relative lift vs control".
	AxisLabel string
	// Percent formats the axis as percentages of fractions.
	Percent bool
	Rows    []ForestRow
}

// SVG renders the plot.
func (f Forest) SVG() []byte {
	w := float64(clampWidth(f.Width))
	stacked := w < 520
	const (
		pad      = 12.0
		groupH   = 26.0
		axisH    = 48.0
		stackedH = 46.0
		wideH    = 28.0
	)
	rowH := wideH
	if stacked {
		rowH = stackedH
	}
	labelW, textW := 0.0, 0.0
	if !stacked {
		labelW = math.Min(w*0.22, 170)
		textW = math.Min(w*0.30, 230)
	}
	plotL := pad + labelW
	plotR := w - pad - textW
	if !stacked {
		plotR -= 8
	}

	groups := 0
	prev := "\x00"
	for _, r := range f.Rows {
		if r.Group != prev {
			groups++
			prev = r.Group
		}
	}
	h := pad + float64(groups)*groupH + float64(len(f.Rows))*rowH + axisH
	if len(f.Rows) == 0 {
		h = pad + 40 + axisH
	}
	d := &doc{w: w, h: h}
	d.open(f.Title, f.Description)

	lo, hi := 0.0, 0.0
	for _, r := range f.Rows {
		for _, v := range []float64{r.Estimate, r.Lower, r.Upper} {
			if finite(v) {
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
		}
	}
	if hi-lo < 1e-12 {
		lo, hi = -0.1, 0.1
	}
	span := hi - lo
	lo, hi = lo-span*0.06, hi+span*0.06
	ticks := niceTicks(lo, hi, max(2, int((plotR-plotL)/70)))
	lo, hi = math.Min(lo, ticks[0]), math.Max(hi, ticks[len(ticks)-1])
	x := func(v float64) float64 { return plotL + (v-lo)/(hi-lo)*(plotR-plotL) }

	top := pad
	bottom := h - axisH
	// Grid and the zero line under everything else.
	for _, t := range ticks {
		d.line(x(t), top, x(t), bottom, colourGrid, 1, "")
	}
	d.line(x(0), top, x(0), bottom, colourAxis, 1.5, ` stroke-dasharray="4 3"`)

	if len(f.Rows) == 0 {
		d.text(w/2, top+24, "No estimates yet", ` text-anchor="middle" fill="`+colourMuted+`"`)
	}
	y := top
	prev = "\x00"
	for _, r := range f.Rows {
		if r.Group != prev {
			prev = r.Group
			d.text(pad, y+18, truncate(r.Group, w-2*pad, fontSize), ` font-weight="600"`+halo)
			y += groupH
		}
		colour := r.Tone.colour()
		cy := y + rowH/2
		if stacked {
			d.text(pad, y+14, truncate(r.Label, w*0.45, fontSize), halo)
			d.text(w-pad, y+14, r.Text, ` text-anchor="end" fill="`+colour+`" font-weight="600"`+halo)
			cy = y + 31
		} else {
			d.text(pad, cy+4.5, truncate(r.Label, labelW-8, fontSize), "")
			d.text(w-pad, cy+4.5, truncate(r.Text, textW, fontSize), ` text-anchor="end" fill="`+colour+`" font-weight="600"`)
		}
		if finite(r.Lower) && finite(r.Upper) {
			x1, x2 := x(r.Lower), x(r.Upper)
			d.line(x1, cy, x2, cy, colour, 3, ` stroke-linecap="round"`)
			d.line(x1, cy-6, x1, cy+6, colour, 2, "")
			d.line(x2, cy-6, x2, cy+6, colour, 2, "")
		}
		if finite(r.Estimate) {
			d.marker(3, x(r.Estimate), cy, 5.5, colour, false)
		}
		y += rowH
	}

	// The axis.
	d.line(plotL, bottom, plotR, bottom, colourAxis, 1, "")
	for _, t := range ticks {
		d.line(x(t), bottom, x(t), bottom+5, colourAxis, 1, "")
		label := Number(t)
		if f.Percent {
			label = Percent(t, true)
		}
		d.tickLabel(x(t), bottom+19, label)
	}
	if f.AxisLabel != "" {
		d.text((plotL+plotR)/2, bottom+38, f.AxisLabel, ` text-anchor="middle" font-size="`+num(fontSmall)+`" fill="`+colourMuted+`"`)
	}
	return d.close()
}
