package redisstore

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/sessionmigrate/sessionmigrate/store"
)

// Sidecar values. A sidecar is text, readable in redis-cli:
//
//	d<version>:<pxat>  the data key holds a record written at version that
//	                   expires at pxat (Unix milliseconds): the data key's
//	                   own PXAT, written by the same script
//	t<version>         a tombstone: the record was deleted at version (the
//	                   sidecar key's own PXAT is the tombstone's expiry)
//	d<version>         a record whose expiry is only on the data key: written
//	                   by releases before sidecars carried it, or with
//	                   [Options.LegacySidecars]
//
// version and pxat are canonical decimals (digits only, no leading zeros),
// version at most 2^64-1 and pxat at most 2^63-1. Text keeps the sidecar
// readable and lets the Lua scripts compare versions as strings, exactly,
// where Lua's float64 numbers would round versions above 2^53. Carrying the
// expiry lets a read fetch a whole record with one MGET, a command Redis
// runs natively, instead of a script that also asks for PEXPIRETIME.
const (
	kindRecord    byte = 'd'
	kindTombstone byte = 't'
	expirySep     byte = ':'
)

// maxSidecarQuote bounds how much of a corrupt sidecar an error quotes.
const maxSidecarQuote = 32

// sidecar is a decoded sidecar value.
type sidecar struct {
	kind    byte // kindRecord or kindTombstone
	version uint64
	// pxat is the record's expiry in Unix ms when hasExpiry; only records
	// carry one.
	pxat      int64
	hasExpiry bool
}

// appendSidecar appends the encoding of sc to b.
func appendSidecar(b []byte, sc sidecar) []byte {
	b = append(b, sc.kind)
	b = strconv.AppendUint(b, sc.version, 10)
	if sc.hasExpiry {
		b = append(b, expirySep)
		b = strconv.AppendInt(b, sc.pxat, 10)
	}
	return b
}

// recordSidecar returns the sidecar value of a record written at version
// expiring at pxat (Unix ms), with the expiry unless legacy is set.
func recordSidecar(version uint64, pxat int64, legacy bool) string {
	var buf [48]byte // "d" + 20 digits + ":" + 19 digits
	return string(appendSidecar(buf[:0], sidecar{kind: kindRecord, version: version, pxat: pxat, hasExpiry: !legacy}))
}

// decodeSidecar parses a sidecar value. Anything but the canonical encoding
// is an error wrapping store.ErrCorrupt: accepting "d007", "d+7" or a
// tombstone with an expiry would let the Go decoder and the Lua scripts
// (parse in scripts.go) disagree about the same bytes.
func decodeSidecar(v string) (sidecar, error) {
	if len(v) < 2 || (v[0] != kindRecord && v[0] != kindTombstone) {
		return sidecar{}, corruptSidecar(v)
	}
	digits, px, hasExpiry := strings.Cut(v[1:], string(expirySep))
	version, ok := canonicalUint(digits, math.MaxUint64)
	if !ok || (hasExpiry && v[0] != kindRecord) {
		return sidecar{}, corruptSidecar(v)
	}
	sc := sidecar{kind: v[0], version: version, hasExpiry: hasExpiry}
	if hasExpiry {
		pxat, ok := canonicalUint(px, math.MaxInt64)
		if !ok {
			return sidecar{}, corruptSidecar(v)
		}
		sc.pxat = int64(pxat)
	}
	return sc, nil
}

// canonicalUint parses s as a canonical decimal (at least one digit, ASCII
// digits only, no leading zero unless s is "0") of at most limit.
func canonicalUint(s string, limit uint64) (uint64, bool) {
	if s == "" || (len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || n > limit { // only overflow is left for err
		return 0, false
	}
	return n, true
}

func corruptSidecar(v string) error {
	q := v
	if len(q) > maxSidecarQuote {
		q = q[:maxSidecarQuote]
	}
	return fmt.Errorf("%w: version sidecar %q (%d bytes)", store.ErrCorrupt, q, len(v))
}
