//go:build race

package stats

// raceEnabled shortens the simulations under the race detector (about ten
// times slower), where only their mechanics are checked.
const raceEnabled = true
