//go:build race

package demo

// raceEnabled reports whether the race detector is on: it makes this
// process, and the embedded miniredis inside it, several times slower.
const raceEnabled = true
