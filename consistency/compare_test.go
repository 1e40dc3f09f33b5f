package consistency_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/sessionmigrate/sessionmigrate/consistency"
	"github.com/sessionmigrate/sessionmigrate/store"
)

func TestCompare(t *testing.T) {
	exp := time.Date(2031, 1, 2, 3, 4, 5, 0, time.UTC)
	r := func(data string, version uint64) store.Record {
		return store.Record{Data: []byte(data), Version: version, ExpiresAt: exp}
	}
	withExp := func(rec store.Record, e time.Time) store.Record { rec.ExpiresAt = e; return rec }
	// ignoreCase is a Comparator for a codec that does not care about case.
	ignoreCase := consistency.Comparator(bytes.EqualFold)

	tests := []struct {
		name   string
		cmp    consistency.Comparator
		l      store.Record
		lfound bool
		d      store.Record
		dfound bool
		want   consistency.Kind
	}{
		{"both missing", nil, store.Record{}, false, store.Record{}, false, consistency.Match},
		{"identical", nil, r("x", 5), true, r("x", 5), true, consistency.Match},
		{"distributed missing", nil, r("x", 5), true, store.Record{}, false, consistency.Missing},
		{"local missing", nil, store.Record{}, false, r("x", 5), true, consistency.Extra},
		{"distributed older", nil, r("x", 5), true, r("x", 4), true, consistency.Stale},
		{"distributed older, same bytes", nil, r("x", 5), true, r("x", 4), true, consistency.Stale},
		{"distributed newer", nil, r("x", 5), true, r("x", 6), true, consistency.Data},
		{"same version, other bytes", nil, r("x", 5), true, r("y", 5), true, consistency.Data},
		{"same version, other expiry", nil, r("x", 5), true, withExp(r("x", 5), exp.Add(time.Millisecond)), true, consistency.Expiry},
		{"expiry differs below a millisecond", nil, r("x", 5), true, withExp(r("x", 5), exp.Add(999*time.Microsecond)), true, consistency.Match},
		{"data is checked before expiry", nil, r("x", 5), true, withExp(r("y", 5), exp.Add(time.Second)), true, consistency.Data},
		{"local unversioned, copy at version 1", nil, r("x", 0), true, r("x", 1), true, consistency.Match},
		{"distributed unversioned", nil, r("x", 7), true, r("x", 0), true, consistency.Match},
		{"unversioned, other bytes", nil, r("x", 0), true, r("y", 1), true, consistency.Data},
		{"unversioned, other expiry", nil, r("x", 0), true, withExp(r("x", 1), exp.Add(time.Hour)), true, consistency.Expiry},
		{"custom comparator equal", ignoreCase, r("abc", 5), true, r("ABC", 5), true, consistency.Match},
		{"custom comparator unequal", ignoreCase, r("abc", 5), true, r("abd", 5), true, consistency.Data},
		{"custom comparator does not hide a stale version", ignoreCase, r("abc", 5), true, r("ABC", 4), true, consistency.Stale},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := consistency.Compare(tt.cmp, tt.l, tt.lfound, tt.d, tt.dfound); got != tt.want {
				t.Fatalf("Compare: got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestKindCritical(t *testing.T) {
	tests := []struct {
		kind consistency.Kind
		want bool
	}{
		{consistency.Match, false},
		{consistency.Missing, false},
		{consistency.Stale, true},
		{consistency.Extra, true},
		{consistency.Data, true},
		{consistency.Expiry, true},
	}
	for _, tt := range tests {
		if got := tt.kind.Critical(); got != tt.want {
			t.Errorf("%s.Critical(): got %v, want %v", tt.kind, got, tt.want)
		}
	}
}
