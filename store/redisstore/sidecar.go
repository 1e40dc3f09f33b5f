package redisstore

import (
	"fmt"
	"strconv"

	"github.com/sessionmigrate/sessionmigrate/store"
)

// Sidecar values. A sidecar is "d" or "t" followed by a version in
// canonical decimal (no sign, no leading zeros, at most 2^64-1):
//
//	d<version>  the data key holds a record written at version
//	t<version>  a tombstone: the record was deleted at version
//
// Text rather than a binary encoding keeps the sidecar readable in
// redis-cli and lets the Lua scripts compare versions as strings, exactly,
// where Lua's float64 numbers would round versions above 2^53.
const (
	kindRecord    byte = 'd'
	kindTombstone byte = 't'
)

// maxSidecarQuote bounds how much of a corrupt sidecar an error quotes.
const maxSidecarQuote = 32

// sidecar is a decoded sidecar value.
type sidecar struct {
	kind    byte // kindRecord or kindTombstone
	version uint64
}

// appendSidecar appends the encoding of sc to b.
func appendSidecar(b []byte, sc sidecar) []byte {
	b = append(b, sc.kind)
	return strconv.AppendUint(b, sc.version, 10)
}

// decodeSidecar parses a sidecar value. Anything but the canonical encoding
// is an error wrapping store.ErrCorrupt: accepting "d007" or "d+7" would let
// the Go decoder and the Lua scripts disagree about the same bytes.
func decodeSidecar(v string) (sidecar, error) {
	if len(v) < 2 || (v[0] != kindRecord && v[0] != kindTombstone) {
		return sidecar{}, corruptSidecar(v)
	}
	digits := v[1:]
	if len(digits) > 1 && digits[0] == '0' {
		return sidecar{}, corruptSidecar(v)
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return sidecar{}, corruptSidecar(v)
		}
	}
	n, err := strconv.ParseUint(digits, 10, 64)
	if err != nil { // only overflow is left
		return sidecar{}, corruptSidecar(v)
	}
	return sidecar{kind: v[0], version: n}, nil
}

func corruptSidecar(v string) error {
	q := v
	if len(q) > maxSidecarQuote {
		q = q[:maxSidecarQuote]
	}
	return fmt.Errorf("%w: version sidecar %q (%d bytes)", store.ErrCorrupt, q, len(v))
}
