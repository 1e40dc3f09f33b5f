package demo

import (
	"testing"
	"time"

	"github.com/sessionmigrate/sessionmigrate/internal/redistest"
	"github.com/sessionmigrate/sessionmigrate/store"
	"github.com/sessionmigrate/sessionmigrate/store/memstore"
	"github.com/sessionmigrate/sessionmigrate/store/redisstore"
)

func TestDiff(t *testing.T) {
	requireRedisServer(t)
	srv := redistest.StartServer(t)
	rdb := srv.Client(t)
	ctx := t.Context()
	exp := expiryFrom(time.Now())
	rec := func(data string, version uint64) store.Record {
		return store.Record{Data: []byte(data), ExpiresAt: exp, Version: version}
	}
	tests := []struct {
		name                  string
		local, redis          map[string]store.Record
		wantMissing, wantDiff int64
	}{
		{"same", map[string]store.Record{"a": rec("x", 3)}, map[string]store.Record{"a": rec("x", 3)}, 0, 0},
		{"missing in Redis", map[string]store.Record{"a": rec("x", 3)}, nil, 1, 0},
		{"older in Redis", map[string]store.Record{"a": rec("x", 3)}, map[string]store.Record{"a": rec("w", 2)}, 0, 1},
		{"other bytes", map[string]store.Record{"a": rec("x", 3)}, map[string]store.Record{"a": rec("y", 3)}, 0, 1},
		{"only in Redis is not a local session", nil, map[string]store.Record{"b": rec("x", 3)}, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := rdb.FlushAll(ctx).Err(); err != nil {
				t.Fatal(err)
			}
			local := memstore.New()
			defer local.Close()
			dist := redisstore.New(rdb, redisstore.Options{})
			for id, r := range tt.local {
				if err := local.Set(ctx, id, r); err != nil {
					t.Fatal(err)
				}
			}
			for id, r := range tt.redis {
				if err := dist.Set(ctx, id, r); err != nil {
					t.Fatal(err)
				}
			}
			r := &runner{insts: []*instance{{id: "app-1", local: local, dist: dist}}}
			got, err := r.diff(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if got.Checked != int64(len(tt.local)) || got.Missing != tt.wantMissing || got.Mismatched != tt.wantDiff {
				t.Errorf("got checked %d, missing %d, mismatched %d; want %d, %d, %d",
					got.Checked, got.Missing, got.Mismatched, len(tt.local), tt.wantMissing, tt.wantDiff)
			}
			if want := tt.wantMissing == 0 && tt.wantDiff == 0; got.Clean != want {
				t.Errorf("clean: got %v, want %v", got.Clean, want)
			}
		})
	}
}
