package main

import (
	"testing"
	"time"
)

// TestEnvDuration checks that the durations written into the functions'
// environment read back as themselves, "10m" included (not "1").
func TestEnvDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		time.Minute: "1m", 10 * time.Minute: "10m", 15 * time.Minute: "15m", 30 * time.Minute: "30m",
		time.Hour: "1h", 90 * time.Minute: "1h30m", 10 * time.Hour: "10h", 168 * time.Hour: "168h",
	} {
		got := envDuration(d)
		if got != want {
			t.Errorf("envDuration(%v) = %q, want %q", d, got, want)
		}
		if back, err := time.ParseDuration(got); err != nil || back != d {
			t.Errorf("envDuration(%v) = %q reads back as %v, %v", d, got, back, err)
		}
	}
}
