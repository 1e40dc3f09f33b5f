package demo

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionmigrate/sessionmigrate/internal/redistest"
	"github.com/sessionmigrate/sessionmigrate/internal/vuser"
	"github.com/sessionmigrate/sessionmigrate/store"
	"github.com/sessionmigrate/sessionmigrate/store/redisstore"
)

// TestVerifyNoLockIn writes sessions as the Migrator leaves them in Redis,
// breaks one of them in each way the final check must notice, and checks
// that it notices exactly that one.
func TestVerifyNoLockIn(t *testing.T) {
	requireRedisServer(t)
	srv := redistest.StartServer(t)
	rdb := srv.Client(t)
	ctx := t.Context()
	exp := expiryFrom(time.Now())
	const userID, idleID, deadID = "user-session-id", "idle-session-id", "dead-session-id"
	key := func(id string) string { return redisstore.DefaultPrefix + id }
	tests := []struct {
		name   string
		tamper func(ctx context.Context, rdb *redis.Client) error
		want   string // in the one problem; "" for a clean check
	}{
		{"untouched", func(context.Context, *redis.Client) error { return nil }, ""},
		{"user counter behind", func(ctx context.Context, rdb *redis.Client) error {
			return rdb.Set(ctx, key(userID), vuser.EncodeSession("user-1.1", 4), time.Hour).Err()
		}, "counter 4 in Redis, want 5"},
		{"user expiry moved", func(ctx context.Context, rdb *redis.Client) error {
			return rdb.PExpireAt(ctx, key(userID), exp.Add(time.Minute)).Err()
		}, "expiry in Redis moved by 1m0s"},
		{"idle session missing", func(ctx context.Context, rdb *redis.Client) error {
			return rdb.Del(ctx, key(idleID)).Err()
		}, "an idle session: GET"},
		{"idle session changed", func(ctx context.Context, rdb *redis.Client) error {
			return rdb.Set(ctx, key(idleID), "other", time.Hour).Err()
		}, "other bytes"},
		{"ended session back", func(ctx context.Context, rdb *redis.Client) error {
			return rdb.Set(ctx, key(deadID), "x", time.Hour).Err()
		}, "ended session is back"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := rdb.FlushAll(ctx).Err(); err != nil {
				t.Fatal(err)
			}
			s := redisstore.New(rdb, redisstore.Options{})
			idle := idleSession{ID: idleID, Data: vuser.EncodeSession("idle-1.1", 3), Expires: exp}
			for _, e := range []store.Entry{
				{ID: userID, Record: store.Record{Data: vuser.EncodeSession("user-1.1", 5), ExpiresAt: exp, Version: 9}},
				{ID: idleID, Record: store.Record{Data: idle.Data, ExpiresAt: exp, Version: 1}},
			} {
				if err := s.Set(ctx, e.ID, e.Record); err != nil {
					t.Fatal(err)
				}
			}
			if err := tt.tamper(ctx, rdb); err != nil {
				t.Fatal(err)
			}
			r := &runner{oprdb: rdb, idle: [][]idleSession{{idle}}}
			got := r.verifyNoLockIn(ctx, vuser.Result{
				Live: []vuser.LiveSession{{ID: userID, User: "user-1.1", Counter: 5, Expires: exp}},
				Dead: []string{deadID},
			})
			wantBad := 1
			if tt.want == "" {
				wantBad = 0
			}
			if got.bad() != wantBad || len(got.problems) != wantBad {
				t.Fatalf("got %d bad (%q), want %d", got.bad(), got.problems, wantBad)
			}
			if wantBad == 1 && !strings.Contains(got.problems[0], tt.want) {
				t.Errorf("problem: got %q, want it to mention %q", got.problems[0], tt.want)
			}
			for _, p := range got.problems {
				for _, id := range []string{userID, idleID, deadID} {
					if strings.Contains(p, id) {
						t.Errorf("problem %q contains a session id", p)
					}
				}
			}
		})
	}
}
