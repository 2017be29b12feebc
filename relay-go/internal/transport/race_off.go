//go:build !race

package transport

// raceEnabled is true in -race builds (race_on.go).
const raceEnabled = false
