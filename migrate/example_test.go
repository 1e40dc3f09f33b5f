package migrate_test

import (
	"context"
	"fmt"
	"time"

	"github.com/sessionmigrate/sessionmigrate/migrate"
	"github.com/sessionmigrate/sessionmigrate/store"
	"github.com/sessionmigrate/sessionmigrate/store/memstore"
)

// A Migrator in front of two stores. In production the distributed store is
// a redisstore and the stage comes from OpenFeature flags (Options.Flags);
// here a second memstore stands in for Redis and SetStage moves the stage.
func Example() {
	ctx := context.Background()
	local, redis := memstore.New(), memstore.New()
	defer local.Close()
	defer redis.Close()

	m, err := migrate.New(local, redis, migrate.Options{Stage: migrate.Local})
	if err != nil {
		panic(err)
	}
	defer m.Close()

	exp := time.Now().Add(time.Hour)
	_ = m.Set(ctx, "existing", store.Record{Data: []byte("alice"), ExpiresAt: exp})

	// Dual: writes reach both stores on the request path.
	_ = m.SetStage(migrate.Dual, 0)
	_ = m.Set(ctx, "new", store.Record{Data: []byte("bob"), ExpiresAt: exp})
	_, inRedis, _ := redis.Get(ctx, "new")
	fmt.Println("dual write reached Redis:", inRedis)

	// Ramp 100: reads go to Redis; a session Redis lacks is copied on first
	// read, so nobody is logged out.
	_ = m.SetStage(migrate.Ramp, 100)
	rec, found, _ := m.Get(ctx, "existing")
	_, copied, _ := redis.Get(ctx, "existing")
	fmt.Printf("read %q (found %v), lazily copied to Redis: %v\n", rec.Data, found, copied)

	// A logout leaves tombstones: no older write can bring it back.
	_ = m.Delete(ctx, "new")
	_, found, _ = m.Get(ctx, "new")
	fmt.Println("after logout found:", found)
	fmt.Println(m.State().Stage, m.State().Percent)
	// Output:
	// dual write reached Redis: true
	// read "alice" (found true), lazily copied to Redis: true
	// after logout found: false
	// ramp 100
}
