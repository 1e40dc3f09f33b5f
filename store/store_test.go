package store

import (
	"testing"
	"time"
)

func TestRecordExpired(t *testing.T) {
	now := time.Date(2026, 12, 2, 10, 0, 0, 300_000, time.UTC) // 0.3 ms into a millisecond
	tests := []struct {
		name string
		exp  time.Time
		want bool
	}{
		{"zero never expires", time.Time{}, false},
		{"an hour ahead", now.Add(time.Hour), false},
		{"next millisecond", now.Truncate(time.Millisecond).Add(time.Millisecond), false},
		{"later in now's millisecond", now.Add(500 * time.Microsecond), true},
		{"exactly now", now, true},
		{"start of now's millisecond", now.Truncate(time.Millisecond), true},
		{"in the past", now.Add(-time.Second), true},
		{"far future (UnixMilli would overflow)", time.Unix(1<<62, 0), false},
		{"latest time.Time", time.Unix(1<<63-62135596801, 999999999), false},
		{"long ago", time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := (Record{ExpiresAt: tt.exp}).Expired(now); got != tt.want {
				t.Errorf("Record{ExpiresAt: %v}.Expired(%v) = %v, want %v", tt.exp, now, got, tt.want)
			}
		})
	}
}

func TestCheckExpiry(t *testing.T) {
	for _, tc := range []struct {
		t    time.Time
		want bool
	}{
		{MaxExpiresAt, true},
		{MaxExpiresAt.Add(time.Nanosecond), false},
		{MaxExpiresAt.Add(-time.Second), true},
		{MaxExpiresAt.Add(time.Second), false},
		{time.Time{}, true},
		{time.Unix(-1<<40, 0), true},
	} {
		if got := CheckExpiry(tc.t) == nil; got != tc.want {
			t.Errorf("CheckExpiry(%v) ok = %v, want %v", tc.t, got, tc.want)
		}
	}
}
