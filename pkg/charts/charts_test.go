package charts_test

import (
	"bytes"
	"encoding/xml"
	"io"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/refx-dev/refx/pkg/charts"
)

// mustWellFormed parses svg as XML and returns its text content and the
// root element's attributes.
func mustWellFormed(tb testing.TB, svg []byte) (string, map[string]string) {
	tb.Helper()
	dec := xml.NewDecoder(bytes.NewReader(svg))
	var text strings.Builder
	root := map[string]string{}
	for depth := 0; ; {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			tb.Fatalf("not well-formed XML: %v\n%s", err, svg)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				if t.Name.Local != "svg" {
					tb.Fatalf("root element %s, want svg", t.Name.Local)
				}
				for _, a := range t.Attr {
					root[a.Name.Local] = a.Value
				}
			}
			for _, a := range t.Attr {
				if a.Name.Local == "style" {
					tb.Fatalf("style attribute on <%s>: a strict CSP strips it when inlined", t.Name.Local)
				}
				if strings.Contains(a.Value, "NaN") || strings.Contains(a.Value, "Inf") {
					tb.Fatalf("<%s %s=%q>: not a number", t.Name.Local, a.Name.Local, a.Value)
				}
			}
			depth++
		case xml.EndElement:
			depth--
		case xml.CharData:
			text.Write(t)
			text.WriteByte('|')
		}
	}
	if root["role"] != "img" || root["aria-labelledby"] == "" || root["viewBox"] == "" {
		tb.Fatalf("root lacks role, aria-labelledby or viewBox: %v", root)
	}
	return text.String(), root
}

func TestForest(t *testing.T) {
	f := charts.Forest{
		Title: "signup: lift vs control", Description: "relative lift with 95% intervals",
		AxisLabel: "relative lift vs control", Percent: true,
		Rows: []charts.ForestRow{
			{Group: "signup conversion rate", Label: "bold", Estimate: 0.12, Lower: -0.02, Upper: 0.27, Tone: charts.Neutral, Text: "+12% [−2%, +27%]"},
			{Group: "signup conversion rate", Label: "<script>", Estimate: -0.3, Lower: -0.5, Upper: -0.1, Tone: charts.Negative, Text: "−30%"},
			{Group: "purchase value per participant", Label: "bold", Estimate: math.NaN(), Lower: math.NaN(), Upper: math.NaN(), Text: "n/a"},
		},
	}
	for _, width := range []int{0, 360, 1200, 10, 99999} {
		f.Width = width
		text, root := mustWellFormed(t, f.SVG())
		for _, want := range []string{"signup conversion rate", "purchase value per", "+12% [−2%, +27%]", "<script>", "|+", "|0%|", "|\u2212"} {
			if !strings.Contains(text, want) {
				t.Errorf("width %d: text lacks %q: %s", width, want, text)
			}
		}
		if w := root["width"]; w == "10" || w == "99999" {
			t.Errorf("width %d not clamped: %s", width, w)
		}
	}
	empty, _ := mustWellFormed(t, charts.Forest{Title: "none"}.SVG())
	if !strings.Contains(empty, "No estimates yet") {
		t.Errorf("empty forest: %s", empty)
	}
}

func TestLines(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	l := charts.Lines{
		Title: "signup: cumulative conversion rate", YLabel: "cumulative conversion rate", Percent: true,
		Series: []charts.Series{
			{Name: "control", Points: []charts.Point{{T: t0, V: 0.1}, {T: t0.Add(time.Hour), V: 0.12}, {T: t0.Add(90 * time.Minute), V: 0.125, Hollow: true}}},
			{Name: "bold & brave", Points: []charts.Point{{T: t0, V: math.NaN()}, {T: t0.Add(time.Hour), V: 0.2}}},
		},
	}
	for _, width := range []int{360, 720} {
		l.Width = width
		text, _ := mustWellFormed(t, l.SVG())
		for _, want := range []string{"control", "bold & brave", "10:00", "time in UTC", "20%"} {
			if !strings.Contains(text, want) {
				t.Errorf("width %d: text lacks %q: %s", width, want, text)
			}
		}
	}
	t.Run("LongSpan", func(t *testing.T) {
		l := charts.Lines{Series: []charts.Series{{Name: "a", Points: []charts.Point{{T: t0, V: 1}, {T: t0.Add(40 * 24 * time.Hour), V: 2}}}}}
		text, _ := mustWellFormed(t, l.SVG())
		if !strings.Contains(text, "Mar ") {
			t.Errorf("a 40-day span has no date ticks: %s", text)
		}
	})
	t.Run("Empty", func(t *testing.T) {
		text, _ := mustWellFormed(t, charts.Lines{Title: "x", Series: []charts.Series{{Name: "a"}}}.SVG())
		if !strings.Contains(text, "No data yet") {
			t.Errorf("empty chart: %s", text)
		}
	})
	t.Run("OnePoint", func(t *testing.T) {
		mustWellFormed(t, charts.Lines{Series: []charts.Series{{Name: "a", Points: []charts.Point{{T: t0, V: 0}}}}}.SVG())
	})
}

func TestFunnel(t *testing.T) {
	f := charts.Funnel{
		Title:  "referral funnel",
		Stages: []string{"referrers", "sharing", "clicks", "signups", "conversions"},
		Groups: []charts.FunnelGroup{
			{Name: "usd10", Values: []float64{100, 40, 300, 30, 12}},
			{Name: "pct20", Values: []float64{100, 0, 0, 0, 0}},
		},
	}
	for _, width := range []int{360, 720} {
		f.Width = width
		text, _ := mustWellFormed(t, f.SVG())
		for _, want := range []string{"referrers", "conversions", "usd10", "pct20", "300", "40%"} {
			if !strings.Contains(text, want) {
				t.Errorf("width %d: text lacks %q: %s", width, want, text)
			}
		}
	}
	text, _ := mustWellFormed(t, charts.Funnel{}.SVG())
	if !strings.Contains(text, "No data yet") {
		t.Errorf("empty funnel: %s", text)
	}
}

func TestFormat(t *testing.T) {
	for _, tt := range []struct {
		got, want string
	}{
		{charts.Percent(0.1234, true), "+12.3%"},
		{charts.Percent(-0.05, true), "\u22125%"},
		{charts.Percent(0, true), "0%"},
		{charts.Percent(0.004, false), "0.4%"},
		{charts.Percent(2.5, true), "+250%"},
		{charts.Percent(math.NaN(), true), "n/a"},
		{charts.Number(1234567), "1,234,567"},
		{charts.Number(12.3456), "12.3"},
		{charts.Number(1234.56), "1,234.6"},
		{charts.Number(-3), "\u22123"},
	} {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}
