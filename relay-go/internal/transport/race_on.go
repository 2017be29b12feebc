//go:build race

package transport

// raceEnabled is true in -race builds.
const raceEnabled = true
