package redisstore

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionmigrate/sessionmigrate/store"
)

func TestOptionsValidate(t *testing.T) {
	tests := []struct {
		name  string
		opts  Options
		valid bool
	}{
		{"zero value", Options{}, true},
		{"everything set", Options{Prefix: "app:", MaxTTL: time.Hour, Timeout: time.Second, ScanCount: 10, Now: time.Now}, true},
		{"prefix with a brace inside", Options{Prefix: "app:{x}:"}, true},
		{"prefix starting with a brace", Options{Prefix: "{app}:"}, false},
		{"negative MaxTTL", Options{MaxTTL: -time.Second}, false},
		{"negative Timeout", Options{Timeout: -time.Second}, false},
		{"negative ScanCount", Options{ScanCount: -1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.opts.Validate()
			if tt.valid && err != nil {
				t.Fatalf("got %v, want nil", err)
			}
			if !tt.valid && !errors.Is(err, ErrInvalidOptions) {
				t.Fatalf("got %v, want an error wrapping ErrInvalidOptions", err)
			}
		})
	}
}

func TestOptionsDefaults(t *testing.T) {
	got := Options{}.withDefaults()
	if got.Prefix != DefaultPrefix || got.MaxTTL != DefaultMaxTTL || got.Timeout != DefaultTimeout ||
		got.ScanCount != DefaultScanCount || got.Now == nil {
		t.Fatalf("got %+v, want every documented default", got)
	}
	if DefaultPrefix != "scs:session:" {
		t.Fatalf("DefaultPrefix = %q, want scs's %q", DefaultPrefix, "scs:session:")
	}
}

// TestUnusableStore: New never panics; a Store from bad input fails every
// operation with the reason, without touching Redis.
func TestUnusableStore(t *testing.T) {
	// No server listens here: an operation reaching the network would fail
	// with a dial error, not ErrInvalidOptions.
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
	defer client.Close()
	tests := []struct {
		name string
		s    *Store
		want error
	}{
		{"invalid options", New(client, Options{MaxTTL: -1}), ErrInvalidOptions},
		{"nil client", New(nil, Options{}), nil},
	}
	ctx := context.Background()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.s.Err() == nil {
				t.Fatal("Err() = nil, want the construction error")
			}
			errs := map[string]error{
				"Get":           func() error { _, _, err := tt.s.Get(ctx, "id"); return err }(),
				"Set":           tt.s.Set(ctx, "id", store.Record{}),
				"Delete":        tt.s.Delete(ctx, "id"),
				"DeleteVersion": tt.s.DeleteVersion(ctx, "id", 1, time.Time{}),
				"Scan":          tt.s.Scan(ctx, func(string, store.Record) error { return nil }),
			}
			for op, err := range errs {
				if !errors.Is(err, tt.s.Err()) {
					t.Errorf("%s: got %v, want an error wrapping %v", op, err, tt.s.Err())
				}
				if tt.want != nil && !errors.Is(err, tt.want) {
					t.Errorf("%s: got %v, want an error wrapping %v", op, err, tt.want)
				}
			}
		})
	}
}
