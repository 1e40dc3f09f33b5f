package storetest

import (
	"testing"
	"time"

	"github.com/sessionmigrate/sessionmigrate/store"
)

// Config describes the store under test.
type Config struct {
	// MaxTTL is the store's MaxTTL: what a zero ExpiresAt becomes. Required (>0).
	MaxTTL time.Duration
	// Now returns the store's current time; nil means time.Now. Tests of
	// stores with an injectable clock may pass it, but the suite must work
	// with real time too (Redis uses real time).
	Now func() time.Time
	// Advance, when non-nil, moves the store's clock forward by d (fake
	// clock). When nil the suite waits in real time (poll with deadline,
	// short durations ~ a few hundred ms).
	Advance func(d time.Duration)
}

// Run runs the conformance suite as subtests of t. newStore returns a fresh,
// empty store for each subtest and registers its own cleanup with t.Cleanup.
// Versioned and Scanner behaviour is tested when the store implements
// store.Versioned / store.Scanner (type assertion), and skipped (t.Skip with
// reason) otherwise.
//
// Run fails t at once when cfg.MaxTTL is not positive, or when cfg.Advance
// is set without cfg.Now (the suite could not see the clock it moves). Run
// does not call t.Parallel; subtests run one after another, so a fake clock
// shared by all of them is safe.
func Run(t *testing.T, newStore func(t *testing.T) store.Store, cfg Config) {
	t.Helper()
	if cfg.MaxTTL <= 0 {
		t.Fatalf("storetest: Config.MaxTTL = %v, want > 0", cfg.MaxTTL)
	}
	if cfg.Advance != nil && cfg.Now == nil {
		t.Fatal("storetest: Config.Advance is set but Config.Now is nil; a fake clock needs both")
	}
	if newStore == nil {
		t.Fatal("storetest: newStore is nil")
	}
	r := &runner{cfg: cfg, newStore: newStore}
	r.group(t, "Basic", basicTests)
	r.group(t, "Expiry", expiryTests)
	r.group(t, "IDs", idTests)
	r.group(t, "Versioned", versionedTests)
	r.group(t, "DeleteVersion", tombstoneTests)
	r.group(t, "Concurrent", concurrentTests)
	r.group(t, "Scan", scanTests)
	r.group(t, "SetAt", setAtTests)
	r.group(t, "Latest", latestTests)
	r.group(t, "ExpiryRange", expiryRangeTests)
}

// test is one conformance check; it gets a harness around a fresh store.
type test struct {
	name string
	fn   func(h *harness)
}

type runner struct {
	cfg      Config
	newStore func(t *testing.T) store.Store
}

func (r *runner) group(t *testing.T, name string, tests []test) {
	t.Run(name, func(t *testing.T) {
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				s := r.newStore(t)
				if s == nil {
					t.Fatal("storetest: newStore returned nil")
				}
				tc.fn(&harness{T: t, cfg: r.cfg, s: s, ctx: t.Context()})
			})
		}
	})
}
