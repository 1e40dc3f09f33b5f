// Package clocktest provides a manually driven clock for tests: code under
// test takes its time from Clock.Now (injected as a func() time.Time or a
// Now method), and the test moves time with Advance or Set instead of
// sleeping.
package clocktest
