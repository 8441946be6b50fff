package charts

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"hash/fnv"
	"math"
	"strconv"
	"strings"
)

// Palette is the Okabe–Ito palette, in the order series take it. Yellow
// (#F0E442) is left out: on white it is too faint for a line or a bar.
var Palette = []string{"#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#000000"}

// Tone colours of a forest plot's rows.
const (
	colourPositive = "#009E73" // bluish green
	colourNegative = "#D55E00" // vermillion
	colourNeutral  = "#0072B2" // blue
	colourText     = "#1a1a1a"
	colourMuted    = "#595959" // 7:1 on white
	colourGrid     = "#d9d9d9"
	colourAxis     = "#737373"
)

// Font sizes in pixels: charts are drawn at the width the page asks for, so
// these are the sizes the reader sees.
const (
	fontFamily = `system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif`
	fontSize   = 13
	fontSmall  = 12
)

// Width bounds: a chart is never drawn narrower or wider than these.
const (
	MinWidth     = 240
	MaxWidth     = 1600
	DefaultWidth = 720
)

func clampWidth(w int) int {
	switch {
	case w <= 0:
		return DefaultWidth
	case w < MinWidth:
		return MinWidth
	case w > MaxWidth:
		return MaxWidth
	}
	return w
}

// doc accumulates an SVG document.
type doc struct {
	b    bytes.Buffer
	w, h float64
}

// open writes the root element with its accessible name and description.
func (d *doc) open(title, desc string) {
	id := idPrefix(title, desc, d.w, d.h)
	fmt.Fprintf(&d.b, `<svg xmlns="http://www.w3.org/2000/svg" width="%s" height="%s" viewBox="0 0 %s %s" role="img" aria-labelledby="%s-t %s-d" font-family="%s" font-size="%d" fill="%s">`,
		num(d.w), num(d.h), num(d.w), num(d.h), id, id, esc(fontFamily), fontSize, colourText)
	fmt.Fprintf(&d.b, `<title id="%s-t">%s</title><desc id="%s-d">%s</desc>`, id, esc(title), id, esc(desc))
	fmt.Fprintf(&d.b, `<rect width="%s" height="%s" fill="#ffffff"/>`, num(d.w), num(d.h))
}

func (d *doc) close() []byte {
	d.b.WriteString("</svg>\n")
	return d.b.Bytes()
}

// idPrefix makes the ids of a chart's title and description unique enough
// for several charts inlined in one page.
func idPrefix(parts ...any) string {
	h := fnv.New32a()
	fmt.Fprint(h, parts...)
	return "chart-" + strconv.FormatUint(uint64(h.Sum32()), 36)
}

// tickLabel writes an axis label centred on x but kept inside the chart,
// so that the first and last labels are not cut off.
func (d *doc) tickLabel(x, y float64, s string) {
	half := approxTextWidth(s, fontSmall) / 2
	x = math.Max(half+2, math.Min(d.w-half-2, x))
	d.text(x, y, s, ` text-anchor="middle" font-size="`+num(fontSmall)+`" fill="`+colourMuted+`"`)
}

// raw writes markup built by the chart itself.
func (d *doc) raw(format string, args ...any) { fmt.Fprintf(&d.b, format, args...) }

// text writes a text element; attrs are extra attributes, already escaped.
func (d *doc) text(x, y float64, s string, attrs string) {
	fmt.Fprintf(&d.b, `<text x="%s" y="%s"%s>%s</text>`, num(x), num(y), attrs, esc(s))
}

func (d *doc) line(x1, y1, x2, y2 float64, stroke string, width float64, extra string) {
	fmt.Fprintf(&d.b, `<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="%s"%s/>`,
		num(x1), num(y1), num(x2), num(y2), stroke, num(width), extra)
}

func (d *doc) rect(x, y, w, h float64, fill string, extra string) {
	fmt.Fprintf(&d.b, `<rect x="%s" y="%s" width="%s" height="%s" fill="%s"%s/>`, num(x), num(y), num(math.Max(w, 0)), num(math.Max(h, 0)), fill, extra)
}

// marker draws one of several shapes centred on (x, y), so that series
// differ by shape as well as colour. hollow draws the outline only.
func (d *doc) marker(shape int, x, y, r float64, colour string, hollow bool) {
	fill := colour
	if hollow {
		fill = "#ffffff"
	}
	paint := fmt.Sprintf(` fill="%s" stroke="%s" stroke-width="2"`, fill, colour)
	switch shape % 4 {
	case 0:
		fmt.Fprintf(&d.b, `<circle cx="%s" cy="%s" r="%s"%s/>`, num(x), num(y), num(r), paint)
	case 1:
		fmt.Fprintf(&d.b, `<rect x="%s" y="%s" width="%s" height="%s"%s/>`, num(x-r), num(y-r), num(2*r), num(2*r), paint)
	case 2:
		fmt.Fprintf(&d.b, `<path d="M%s %sL%s %sL%s %sZ"%s/>`, num(x), num(y-r*1.2), num(x+r*1.1), num(y+r*0.9), num(x-r*1.1), num(y+r*0.9), paint)
	default:
		fmt.Fprintf(&d.b, `<path d="M%s %sL%s %sL%s %sL%s %sZ"%s/>`, num(x), num(y-r*1.3), num(x+r*1.3), num(y), num(x), num(y+r*1.3), num(x-r*1.3), num(y), paint)
	}
}

// dashes are the line patterns series take in turn.
var dashes = []string{"", "8 4", "2 4", "10 4 2 4"}

// esc escapes text for an XML text node or attribute value.
func esc(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

// num formats a coordinate compactly.
func num(x float64) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return "0"
	}
	return strconv.FormatFloat(math.Round(x*100)/100, 'f', -1, 64)
}

// finite reports whether x is a number to draw.
func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// niceTicks returns about n round tick values, the first at or below lo,
// the last at or above hi.
func niceTicks(lo, hi float64, n int) []float64 {
	if !(hi > lo) {
		hi = lo + 1
	}
	step := niceStep((hi - lo) / float64(max(n, 1)))
	var ticks []float64
	end := math.Ceil(hi/step-1e-9) * step
	for v := math.Floor(lo/step+1e-9) * step; v <= end+step*1e-9; v += step {
		if math.Abs(v) < step*1e-9 {
			v = 0
		}
		ticks = append(ticks, v)
	}
	return ticks
}

// niceStep rounds a raw step up to 1, 2, 2.5 or 5 times a power of ten.
func niceStep(raw float64) float64 {
	if !(raw > 0) || !finite(raw) {
		return 1
	}
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if raw <= m*mag {
			return m * mag
		}
	}
	return 10 * mag
}

// Percent formats a fraction as a percentage with sensible precision:
// 0.1234 → "12.3%". signed adds "+" to positive values. Negative values use
// the minus sign (U+2212), which screen readers and eyes read as minus.
func Percent(x float64, signed bool) string {
	if !finite(x) {
		return "n/a"
	}
	p := x * 100
	digits := 1
	switch a := math.Abs(p); {
	case a == 0:
		digits = 0
	case a < 1:
		digits = 2
	case a >= 100:
		digits = 0
	}
	s := strconv.FormatFloat(math.Abs(p), 'f', digits, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	switch {
	case p < 0 && s != "0":
		s = "\u2212" + s
	case signed && p > 0:
		s = "+" + s
	}
	return s + "%"
}

// Number formats a count or mean: thousands separated, at most 3
// significant decimals.
func Number(x float64) string {
	if !finite(x) {
		return "n/a"
	}
	neg := x < 0
	x = math.Abs(x)
	var s string
	switch {
	case x == math.Trunc(x) && x < 1e15:
		s = groupThousands(strconv.FormatFloat(x, 'f', 0, 64))
	case x >= 100:
		s = groupThousands(strconv.FormatFloat(x, 'f', 1, 64))
	default:
		s = strconv.FormatFloat(x, 'g', 3, 64)
	}
	if neg {
		s = "\u2212" + s
	}
	return s
}

func groupThousands(s string) string {
	intPart, frac, hasFrac := strings.Cut(s, ".")
	var b strings.Builder
	for i, c := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if hasFrac {
		b.WriteString("." + frac)
	}
	return b.String()
}

// approxTextWidth estimates the width of s at size px, for layout: about
// 0.58 em per character in a proportional sans-serif.
func approxTextWidth(s string, size float64) float64 {
	return float64(len([]rune(s))) * size * 0.58
}

// truncate shortens s to fit width at size px, with an ellipsis.
func truncate(s string, width, size float64) string {
	r := []rune(s)
	maxChars := int(width / (size * 0.58))
	if len(r) <= maxChars || maxChars < 2 {
		return s
	}
	return string(r[:maxChars-1]) + "…"
}
