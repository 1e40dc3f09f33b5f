//go:build race

package redisstore

// raceEnabled: the race detector is on (it changes allocation counts).
const raceEnabled = true
