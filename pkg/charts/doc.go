// Package charts renders the dashboard's charts as standalone SVG documents:
// a forest plot of lifts with their intervals, a line chart of values over
// time, and grouped bars of a referral funnel. It is pure Go (no AWS, no
// third-party code) and knows nothing of experiments: callers hand it
// labelled numbers.
//
// The charts are meant to be read by everyone: the Okabe–Ito palette (told
// apart with the common colour-vision deficiencies), lines that differ in
// dash pattern and marker shape as well as colour, every number also written
// as text, a <title> and <desc> for screen readers, and sizes in pixels
// chosen by the caller (the page asks for its own width), so that text stays
// readable on a phone. Colours and sizes are presentation attributes, not
// style attributes, so a strict Content-Security-Policy does not strip them
// when the SVG is inlined.
package charts
