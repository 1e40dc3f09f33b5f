package scsstore_test

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/sessionmigrate/sessionmigrate/adapters/scsstore"
	"github.com/sessionmigrate/sessionmigrate/migrate"
	"github.com/sessionmigrate/sessionmigrate/store/memstore"
)

// An scs application whose sessions are being migrated: the session
// manager's store is a Migrator. In production the distributed store is a
// redisstore and the stage comes from the control plane; here a second
// memstore stands in for Redis and the Migrator is at dual.
func Example() {
	local, redis := memstore.New(), memstore.New()
	defer local.Close()
	defer redis.Close()
	m, err := migrate.New(local, redis, migrate.Options{Stage: migrate.Dual})
	if err != nil {
		panic(err)
	}
	defer m.Close()

	sessionManager := scs.New()
	sessionManager.Store = scsstore.New(m)

	// One request logs alice in (LoadAndSave does Load and Commit for an
	// HTTP handler).
	ctx, _ := sessionManager.Load(context.Background(), "")
	sessionManager.Put(ctx, "user", "alice")
	token, expiry, _ := sessionManager.Commit(ctx)

	// The next request finds her session; dual wrote it to both stores,
	// with the expiry scs chose.
	ctx, _ = sessionManager.Load(context.Background(), token)
	fmt.Println("user:", sessionManager.GetString(ctx, "user"))
	rec, inRedis, _ := redis.Get(ctx, token)
	fmt.Println("in Redis:", inRedis, "same expiry:", rec.ExpiresAt.Equal(expiry.Truncate(time.Millisecond)))
	// Output:
	// user: alice
	// in Redis: true same expiry: true
}

// All lists every live session once, whichever store holds it: here one
// session written before the migration (local only) and one written at
// dual (both stores).
func ExampleStore_All() {
	local, redis := memstore.New(), memstore.New()
	defer local.Close()
	defer redis.Close()
	m, _ := migrate.New(local, redis, migrate.Options{Stage: migrate.Local})
	defer m.Close()
	s := scsstore.New(m)

	exp := time.Now().Add(time.Hour)
	_ = s.Commit("before-migration", []byte("a"), exp)
	_ = m.SetStage(migrate.Dual, 0)
	_ = s.Commit("during-dual", []byte("b"), exp)
	_ = s.Commit("logged-out", []byte("c"), exp)
	_ = s.Delete("logged-out")

	all, err := s.All()
	if err != nil {
		panic(err)
	}
	tokens := make([]string, 0, len(all))
	for tok := range all {
		tokens = append(tokens, tok)
	}
	sort.Strings(tokens)
	fmt.Println(tokens)
	// Output:
	// [before-migration during-dual]
}
