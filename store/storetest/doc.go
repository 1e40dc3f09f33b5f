// Package storetest is a conformance suite for [store.Store]
// implementations, in the spirit of testing/slogtest: every store in this
// module, and any store written outside it, proves it honours the contract
// in package store by running [Run] from its tests.
//
// # What is checked
//
// Run covers the whole contract: a miss is found == false with a nil error;
// records round-trip byte for byte (empty, nil and 1 MiB values, ids with
// unicode, glob characters, braces, newlines and NUL bytes, each isolated
// from the others); a Set neither keeps nor hands out aliases of stored
// bytes; expiry is absolute, kept to the millisecond, enforced from the
// instant it is reached, never extended, and a zero expiry becomes the
// store's MaxTTL, never "forever"; a past expiry stores nothing and deletes
// what was there.
//
// When the store implements [store.Versioned], Run also checks
// compare-and-set (including versions beyond 2^53, which float64-based
// comparisons get wrong), compare-and-delete through past expiries,
// tombstones (a delete wins a tie, until is honoured, zero until means
// MaxTTL, a plain Delete removes them) and concurrent writers racing on one
// id. When it implements [store.Scanner], Run checks that Scan visits
// exactly the live sessions, each once and never concurrently, and its
// ErrStopScan, error and cancellation rules. Missing capabilities are
// reported as skipped subtests, never as passes.
//
// # Clocks
//
// Stores with an injectable clock should run the suite twice: with a fake
// clock ([Config.Now] and [Config.Advance]), which lets the suite check
// both sides of every instant exactly and jump over MaxTTL; and with real
// time, which is all a Redis-backed store has. In real time the suite waits
// for short expiries (a few hundred milliseconds) by polling, and judges an
// observation near an instant only when it is conclusive despite scheduling
// delays and a few milliseconds of clock difference; explicit expiries are
// still compared to the millisecond.
//
// # Usage
//
// A store package calls Run from an ordinary test. newStore must return a
// fresh, empty store each time and arrange its cleanup:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store {
//			s := mystore.New(mystore.Options{MaxTTL: time.Hour})
//			t.Cleanup(func() { s.Close() })
//			return s
//		}, storetest.Config{MaxTTL: time.Hour})
//	}
//
// A subtest name such as TestConformance/DeleteVersion/ExpiresAtUntil says
// which rule was broken; run it alone with go test -run.
package storetest
