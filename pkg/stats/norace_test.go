//go:build !race

package stats

// raceEnabled: see race_test.go.
const raceEnabled = false
