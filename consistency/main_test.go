package consistency_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a Checker's goroutines outlive Close.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
