package router

import (
	"fmt"
	"math"

	"github.com/cespare/xxhash/v2"
)

// Buckets is the number of routing buckets: percentages resolve to 0.01%.
const Buckets = 10000

// Bucket returns the routing bucket of id under salt:
// xxhash64(salt + id) % 10000. The function is pinned forever (test vectors
// live in testdata/buckets.txt): every instance and every version of this
// module must agree on it, or raising the percentage would move sessions back
// and forth between stores. It does not allocate.
func Bucket(salt, id string) uint32 {
	// Typical salts and session ids fit a stack buffer, and one-shot
	// hashing of it costs about 20% less than streaming both strings
	// through a Digest (the result is the same: it is the hash of the
	// concatenation either way).
	if len(salt)+len(id) <= bucketBuf {
		var buf [bucketBuf]byte
		n := copy(buf[:], salt)
		n += copy(buf[n:], id)
		return uint32(xxhash.Sum64(buf[:n]) % Buckets)
	}
	return bucketStream(salt, id)
}

// bucketBuf bounds the salt+id length hashed from a stack buffer.
const bucketBuf = 96

// bucketStream is Bucket for long inputs, without copying them.
func bucketStream(salt, id string) uint32 {
	var d xxhash.Digest
	d.Reset()
	_, _ = d.WriteString(salt)
	_, _ = d.WriteString(id)
	return uint32(d.Sum64() % Buckets)
}

// Cut converts a percentage (0..100, at most two decimals) to the bucket
// boundary: a session goes to the distributed store when Bucket < Cut(p).
// Raising p never lowers the cut, so it only moves sessions local ->
// distributed.
func Cut(percent float64) (uint32, error) {
	if math.IsNaN(percent) || percent < 0 || percent > 100 {
		return 0, fmt.Errorf("router: percent %v outside 0..100", percent)
	}
	c := math.Round(percent * 100)
	if math.Abs(c-percent*100) > 1e-6 {
		return 0, fmt.Errorf("router: percent %v has more than 2 decimals", percent)
	}
	return uint32(c), nil
}
