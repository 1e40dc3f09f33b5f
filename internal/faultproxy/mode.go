package faultproxy

import "fmt"

// Mode is how a Proxy treats connections.
type Mode int32

const (
	// Pass forwards traffic normally. It is the initial mode.
	Pass Mode = iota
	// Blackhole holds every byte in both directions of every connection and
	// accepts new connections without dialing the target, so clients see
	// silence until their deadlines fire.
	Blackhole
	// Refuse resets each new connection as soon as it is accepted. Current
	// connections keep working.
	Refuse
)

// String returns the mode's lower-case name.
func (m Mode) String() string {
	switch m {
	case Pass:
		return "pass"
	case Blackhole:
		return "blackhole"
	case Refuse:
		return "refuse"
	default:
		return fmt.Sprintf("mode(%d)", int32(m))
	}
}

// valid reports whether m is a declared mode.
func (m Mode) valid() bool { return m >= Pass && m <= Refuse }

// modeState is one mode and the channel closed when it is replaced, so
// goroutines held by a blackhole wake up on the next change.
type modeState struct {
	mode    Mode
	changed chan struct{}
}
