package redisstore

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sessionmigrate/sessionmigrate/store"
)

// sidecarCases are shared with the Lua test (TestCorruptSidecar), so the Go
// decoder and the scripts are held to one definition of "corrupt".
var sidecarCases = []struct {
	value   string
	want    sidecar
	corrupt bool
}{
	// The previous release's forms, still read.
	{value: "d1", want: sidecar{kind: kindRecord, version: 1}},
	{value: "t1", want: sidecar{kind: kindTombstone, version: 1}},
	{value: "d0", want: sidecar{kind: kindRecord}},
	{value: "t0", want: sidecar{kind: kindTombstone}},
	{value: "d9007199254740993", want: sidecar{kind: kindRecord, version: 1<<53 + 1}},
	{value: "d18446744073709551615", want: sidecar{kind: kindRecord, version: ^uint64(0)}},
	// Records with their expiry. Expiries in the past decode: Get hides them.
	{value: "d1:4102444800000", want: sidecar{kind: kindRecord, version: 1, pxat: 4102444800000, hasExpiry: true}},
	{value: "d0:4102444800000", want: sidecar{kind: kindRecord, pxat: 4102444800000, hasExpiry: true}},
	{value: "d1833123456789012345:4102444800123", want: sidecar{kind: kindRecord, version: 1833123456789012345, pxat: 4102444800123, hasExpiry: true}},
	{value: "d18446744073709551615:9223372036854775807", want: sidecar{kind: kindRecord, version: ^uint64(0), pxat: math.MaxInt64, hasExpiry: true}},
	{value: "d7:0", want: sidecar{kind: kindRecord, version: 7, hasExpiry: true}},
	{value: "d7:1", want: sidecar{kind: kindRecord, version: 7, pxat: 1, hasExpiry: true}},
	{value: "", corrupt: true},
	{value: "d", corrupt: true},
	{value: "t", corrupt: true},
	{value: "x5", corrupt: true},
	{value: "D5", corrupt: true},
	{value: "5", corrupt: true},
	{value: "d01", corrupt: true},
	{value: "d00", corrupt: true},
	{value: "d+1", corrupt: true},
	{value: "d-1", corrupt: true},
	{value: "d 1", corrupt: true},
	{value: "d1 ", corrupt: true},
	{value: "d1\n", corrupt: true},
	{value: "d1\x00", corrupt: true},
	{value: "d1.0", corrupt: true},
	{value: "d1e3", corrupt: true},
	{value: "d0x10", corrupt: true},
	{value: "d1_000", corrupt: true},
	{value: "d١", corrupt: true}, // Arabic-Indic digit one
	{value: "d18446744073709551616", corrupt: true},
	{value: "d99999999999999999999", corrupt: true},
	{value: "d100000000000000000000", corrupt: true},
	{value: "dt1", corrupt: true},
	{value: "d1:", corrupt: true},
	{value: "d:5", corrupt: true},
	{value: ":5", corrupt: true},
	{value: "d1:05", corrupt: true},
	{value: "d1:00", corrupt: true},
	{value: "d01:5", corrupt: true},
	{value: "d1:+5", corrupt: true},
	{value: "d1:-5", corrupt: true},
	{value: "d1: 5", corrupt: true},
	{value: "d1:5 ", corrupt: true},
	{value: "d1 :5", corrupt: true},
	{value: "d1::5", corrupt: true},
	{value: "d1:5:6", corrupt: true},
	{value: "d1:5\x00", corrupt: true},
	{value: "d1;5", corrupt: true},
	{value: "d1:9223372036854775808", corrupt: true},
	{value: "d1:18446744073709551615", corrupt: true},
	{value: "d1:99999999999999999999", corrupt: true},
	{value: "d18446744073709551616:5", corrupt: true},
	{value: "t1:5", corrupt: true}, // a tombstone's expiry is its key's own
	{value: "t1:", corrupt: true},
}

func TestDecodeSidecar(t *testing.T) {
	for _, tc := range sidecarCases {
		t.Run(tc.value, func(t *testing.T) {
			got, err := decodeSidecar(tc.value)
			if tc.corrupt {
				if !errors.Is(err, store.ErrCorrupt) {
					t.Fatalf("decodeSidecar(%q): got (%+v, %v), want an error wrapping store.ErrCorrupt", tc.value, got, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("decodeSidecar(%q): got error %v, want %+v", tc.value, err, tc.want)
			}
			if got != tc.want {
				t.Fatalf("decodeSidecar(%q): got %+v, want %+v", tc.value, got, tc.want)
			}
			if enc := string(appendSidecar(nil, got)); enc != tc.value {
				t.Fatalf("appendSidecar(%+v): got %q, want %q", got, enc, tc.value)
			}
		})
	}
}

func TestCorruptSidecarErrorIsBounded(t *testing.T) {
	_, err := decodeSidecar(strings.Repeat("x", 10_000))
	if !errors.Is(err, store.ErrCorrupt) {
		t.Fatalf("got %v, want an error wrapping store.ErrCorrupt", err)
	}
	if n := len(err.Error()); n > 200 {
		t.Fatalf("error message is %d bytes, want it to quote only a bounded part of the value", n)
	}
}

func FuzzDecodeSidecar(f *testing.F) {
	for _, tc := range sidecarCases {
		f.Add(tc.value)
	}
	f.Fuzz(func(t *testing.T, v string) {
		sc, err := decodeSidecar(v)
		if err != nil {
			if !errors.Is(err, store.ErrCorrupt) {
				t.Fatalf("decodeSidecar(%q): error %v does not wrap store.ErrCorrupt", v, err)
			}
			return
		}
		if sc.kind != kindRecord && sc.kind != kindTombstone {
			t.Fatalf("decodeSidecar(%q): got kind %q, want 'd' or 't'", v, sc.kind)
		}
		if sc.hasExpiry && (sc.kind != kindRecord || sc.pxat < 0) || !sc.hasExpiry && sc.pxat != 0 {
			t.Fatalf("decodeSidecar(%q): got %+v, want an expiry >= 0 on records only", v, sc)
		}
		// Only the canonical encoding decodes, so decoding is injective.
		if enc := string(appendSidecar(nil, sc)); enc != v {
			t.Fatalf("decodeSidecar(%q) = %+v, which encodes as %q: want the input back", v, sc, enc)
		}
	})
}

// FuzzDecodeLatestReply: the reply of an attempt of a latest script
// decodes to "applied", a stored version or an error, never a panic; only
// the integer 1 means applied, and a decoded version is canonical.
func FuzzDecodeLatestReply(f *testing.F) {
	for _, s := range []string{"1", "0", "18446744073709551615", "18446744073709551616", "007", "", "-1", "1e9", " 5"} {
		f.Add(s, int64(0), true)
	}
	for _, n := range []int64{1, 0, -1, -2, 7} {
		f.Add("", n, false)
	}
	f.Fuzz(func(t *testing.T, s string, n int64, isString bool) {
		var reply any = n
		if isString {
			reply = s
		}
		v, applied, err := decodeLatestReply(reply, nil)
		if err != nil {
			return
		}
		if !isString {
			if !applied || n != 1 {
				t.Fatalf("integer reply %d decoded to (version %d, applied %v), want an error or, for 1 only, applied", n, v, applied)
			}
			return
		}
		if applied {
			t.Fatalf("string reply %q decoded as applied, want a stored version", s)
		}
		if got := strconv.FormatUint(v, 10); got != s {
			t.Fatalf("reply %q decoded to %d, which is not its canonical form", s, v)
		}
	})
}

// FuzzDecodeRecord: any reply decodes to a record, a miss or an error,
// never a panic; a record carries the data, the sidecar's version and the
// expiry the reply gave, and only a reply without one asks for the data
// key's expiry.
func FuzzDecodeRecord(f *testing.F) {
	for _, tc := range sidecarCases {
		f.Add("data", false, tc.value, false, int64(0), false)
		f.Add("", false, tc.value, false, int64(4102444800000), true)
	}
	f.Add("data", false, "", true, int64(-1), true)
	f.Add("data", true, "d1:5", false, int64(-2), true)
	now := time.UnixMilli(1_800_000_000_000)
	f.Fuzz(func(t *testing.T, data string, dataNil bool, side string, sideNil bool, px int64, expiryRead bool) {
		r := recordReply{data: data, side: side, pexpiretime: px, expiryRead: expiryRead}
		if dataNil {
			r.data = nil
		}
		if sideNil {
			r.side = nil
		}
		rec, found, err := decodeRecord(r, now)
		sc, scErr := decodeSidecar(side)
		switch {
		case dataNil:
			if found || err != nil {
				t.Fatalf("no data: got (%+v, %v, %v), want a miss", rec, found, err)
			}
			return
		case !sideNil && scErr != nil:
			if !errors.Is(err, store.ErrCorrupt) {
				t.Fatalf("sidecar %q: got error %v, want store.ErrCorrupt", side, err)
			}
			return
		case errors.Is(err, errNeedExpiry):
			if expiryRead || !sideNil && sc.hasExpiry {
				t.Fatalf("reply %+v: asked for the expiry it has", r)
			}
			return
		case err != nil:
			t.Fatalf("reply %+v: unexpected error %v", r, err)
		}
		var wantVersion uint64
		if !sideNil && sc.kind == kindRecord {
			wantVersion = sc.version
		}
		if found && (string(rec.Data) != data || rec.Version != wantVersion) {
			t.Fatalf("reply %+v: got %+v, want data %q version %d", r, rec, data, wantVersion)
		}
		if found && !rec.ExpiresAt.IsZero() && !rec.ExpiresAt.After(now) {
			t.Fatalf("reply %+v: found a record expired at %v", r, rec.ExpiresAt)
		}
	})
}
