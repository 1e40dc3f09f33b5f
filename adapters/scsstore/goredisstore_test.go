package scsstore_test

import (
	"bytes"
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionmigrate/sessionmigrate/adapters/scsstore"
	"github.com/sessionmigrate/sessionmigrate/store/redisstore"
)

// The tests of scs's own Redis store, goredisstore
// (github.com/alexedwards/scs/goredisstore at the version go.mod pins,
// goredisstore_test.go), ported to scsstore over a Migrator: the same steps,
// the same raw Redis commands around the store, the same checks. They run
// at dual, ramp 100 and complete on a real redis-server: from dual on, scs
// must find in Redis what it would find with goredisstore, and leave there
// what goredisstore would leave.
//
// The only changes are the fixture (the Migrator's Redis is an isolated
// redis-server emptied per test instead of SCS_REDIS_TEST_DSN and FlushDB),
// prefix instead of the unexported r.prefix, and t.Fatalf messages that
// name the stage.
var goredisstoreTests = []struct {
	name string
	run  func(t *testing.T, client *redis.Client, r *scsstore.Store)
}{
	{"Find", testFind},
	{"SaveNew", testSaveNew},
	{"FindMissing", testFindMissing},
	{"SaveUpdated", testSaveUpdated},
	{"Expiry", testExpiry},
	{"Delete", testDelete},
	{"All", testAll},
}

// prefix is goredisstore's key prefix, which redisstore uses by default.
const prefix = redisstore.DefaultPrefix

func TestGoredisstoreBehaviours(t *testing.T) {
	for _, st := range stages {
		t.Run(st.name, func(t *testing.T) {
			for _, tt := range goredisstoreTests {
				t.Run(tt.name, func(t *testing.T) {
					client := redisClient(t)
					tt.run(t, client, scsstore.New(newMigrator(t, client, st)))
				})
			}
		})
	}
}

func testFind(t *testing.T, client *redis.Client, r *scsstore.Store) {
	ctx := context.Background()
	err := client.Set(ctx, prefix+"session_token", "encoded_data", 0).Err()
	if err != nil {
		t.Fatal(err)
	}

	b, found, err := r.FindCtx(ctx, "session_token")
	if err != nil {
		t.Fatal(err)
	}
	if found != true {
		t.Fatalf("got %v: expected %v", found, true)
	}
	if bytes.Equal(b, []byte("encoded_data")) == false {
		t.Fatalf("got %v: expected %v", b, []byte("encoded_data"))
	}
}

func testSaveNew(t *testing.T, client *redis.Client, r *scsstore.Store) {
	ctx := context.Background()
	err := r.CommitCtx(ctx, "session_token", []byte("encoded_data"), time.Now().Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}

	data, err := client.Get(ctx, prefix+"session_token").Bytes()
	if err != nil {
		t.Fatal(err)
	}

	if reflect.DeepEqual(data, []byte("encoded_data")) == false {
		t.Fatalf("got %v: expected %v", data, []byte("encoded_data"))
	}
}

func testFindMissing(t *testing.T, client *redis.Client, r *scsstore.Store) {
	ctx := context.Background()
	_, found, err := r.FindCtx(ctx, "missing_session_token")
	if err != nil {
		t.Fatalf("got %v: expected %v", err, nil)
	}
	if found != false {
		t.Fatalf("got %v: expected %v", found, false)
	}
}

func testSaveUpdated(t *testing.T, client *redis.Client, r *scsstore.Store) {
	ctx := context.Background()
	err := client.Set(ctx, prefix+"session_token", "encoded_data", 0).Err()
	if err != nil {
		t.Fatal(err)
	}

	err = r.CommitCtx(ctx, "session_token", []byte("new_encoded_data"), time.Now().Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}

	data, err := client.Get(ctx, prefix+"session_token").Bytes()
	if err != nil {
		t.Fatal(err)
	}

	if reflect.DeepEqual(data, []byte("new_encoded_data")) == false {
		t.Fatalf("got %v: expected %v", data, []byte("new_encoded_data"))
	}
}

// testExpiry waits in real time, as the original does: Redis expires keys
// by its own clock, which a test cannot move.
func testExpiry(t *testing.T, client *redis.Client, r *scsstore.Store) {
	ctx := context.Background()
	err := r.CommitCtx(ctx, "session_token", []byte("encoded_data"), time.Now().Add(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}

	_, found, _ := r.FindCtx(ctx, "session_token")
	if found != true {
		t.Fatalf("got %v: expected %v", found, true)
	}

	time.Sleep(200 * time.Millisecond)
	_, found, _ = r.FindCtx(ctx, "session_token")
	if found != false {
		t.Fatalf("got %v: expected %v", found, false)
	}
}

func testDelete(t *testing.T, client *redis.Client, r *scsstore.Store) {
	ctx := context.Background()
	err := client.Set(ctx, prefix+"session_token", "encoded_data", 0).Err()
	if err != nil {
		t.Fatal(err)
	}

	err = r.DeleteCtx(ctx, "session_token")
	if err != nil {
		t.Fatal(err)
	}

	data, err := client.Get(ctx, prefix+"session_token").Bytes()
	if err != redis.Nil {
		t.Fatal(err)
	}
	if data != nil {
		t.Fatalf("got %v: expected %v", data, nil)
	}
}

func testAll(t *testing.T, client *redis.Client, r *scsstore.Store) {
	ctx := context.Background()
	sessions := make(map[string][]byte)
	for i := 0; i < 4; i++ {
		key := fmt.Sprintf("token_%v", i)
		val := []byte(key)
		err := client.Set(ctx, prefix+key, key, 0).Err()
		if err != nil {
			t.Fatal(err)
		}
		sessions[key] = val
	}

	gotSessions, err := r.AllCtx(ctx)
	if err != nil {
		t.Fatal(err)
	}

	for k := range sessions {
		err = r.DeleteCtx(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
	}
	if reflect.DeepEqual(sessions, gotSessions) == false {
		t.Fatalf("got %v: expected %v", gotSessions, sessions)
	}
}
