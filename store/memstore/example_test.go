package memstore_test

import (
	"context"
	"fmt"
	"time"

	"github.com/sessionmigrate/sessionmigrate/store"
	"github.com/sessionmigrate/sessionmigrate/store/memstore"
)

func Example() {
	s := memstore.New(memstore.WithMaxTTL(12 * time.Hour))
	defer s.Close()
	ctx := context.Background()

	exp := time.Now().Add(time.Hour)
	if err := s.Set(ctx, "session-id", store.Record{Data: []byte("user=42"), ExpiresAt: exp}); err != nil {
		fmt.Println(err)
		return
	}
	rec, found, err := s.Get(ctx, "session-id")
	fmt.Println(string(rec.Data), found, err, rec.ExpiresAt.Equal(exp.Truncate(time.Millisecond)))

	_, found, err = s.Get(ctx, "unknown")
	fmt.Println(found, err)
	// Output:
	// user=42 true <nil> true
	// false <nil>
}

// A tombstone keeps a logged-out session logged out: a late write carrying
// an older version is ignored, a newer one (a fresh login) is not.
func ExampleStore_DeleteVersion() {
	s := memstore.New()
	defer s.Close()
	ctx := context.Background()
	exp := time.Now().Add(time.Hour)

	_ = s.Set(ctx, "session-id", store.Record{Data: []byte("v1"), ExpiresAt: exp, Version: 1})
	_ = s.DeleteVersion(ctx, "session-id", 2, exp) // logout at version 2

	_ = s.Set(ctx, "session-id", store.Record{Data: []byte("late"), ExpiresAt: exp, Version: 1})
	_, found, _ := s.Get(ctx, "session-id")
	fmt.Println("after a late write:", found)

	_ = s.Set(ctx, "session-id", store.Record{Data: []byte("v3"), ExpiresAt: exp, Version: 3})
	rec, found, _ := s.Get(ctx, "session-id")
	fmt.Println("after a newer write:", found, string(rec.Data), rec.Version)
	// Output:
	// after a late write: false
	// after a newer write: true v3 3
}

// With a fake clock and no sweeper, a test decides when expired entries are
// reclaimed.
func ExampleStore_Sweep() {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	s := memstore.New(
		memstore.WithClock(func() time.Time { return now }),
		memstore.WithSweepInterval(0),
	)
	defer s.Close()
	ctx := context.Background()

	_ = s.Set(ctx, "a", store.Record{Data: []byte("a"), ExpiresAt: now.Add(time.Minute)})
	_ = s.Set(ctx, "b", store.Record{Data: []byte("b"), ExpiresAt: now.Add(time.Hour)})
	now = now.Add(time.Minute)
	fmt.Println("live:", s.Len(), "removed:", s.Sweep())
	// Output: live: 1 removed: 1
}
