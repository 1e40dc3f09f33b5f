//go:build !unix

package redisstore

import "testing"

// processCPU is not measured here: the client CPU figures read 0.
func processCPU(*testing.B) float64 { return 0 }
