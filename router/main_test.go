package router

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if any test leaves a goroutine behind: every
// Core owns writer goroutines that Close must stop.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
