package redact

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"strings"
)

// Secret replaces a secret value (a password) in printable output.
const Secret = "REDACTED"

// IDPrefix starts every redacted session id.
const IDPrefix = "h:"

// IDHexDigits is how many hex digits of the keyed hash a redacted id shows
// (48 bits).
const IDHexDigits = 12

// IDLen is the length of a redacted id: IDPrefix and IDHexDigits.
const IDLen = len(IDPrefix) + IDHexDigits

// ID returns the printable stand-in for the session id: IDPrefix and the
// first IDHexDigits hex digits of HMAC-SHA256(key, id). key is the
// migration's salt. The id cannot be recovered from it.
func ID(key, id string) string {
	return NewHasher(key).ID(id)
}

// Hasher computes [ID] for one key, reusing its hash state. It is not safe
// for concurrent use; the zero value is not usable.
type Hasher struct {
	mac hash.Hash
	sum []byte
	out [IDLen]byte
}

// NewHasher returns a Hasher for key.
func NewHasher(key string) *Hasher {
	return &Hasher{mac: hmac.New(sha256.New, []byte(key)), sum: make([]byte, 0, sha256.Size)}
}

// ID returns the redacted form of id, as the package-level [ID] does.
func (h *Hasher) ID(id string) string {
	h.mac.Reset()
	h.mac.Write([]byte(id))
	h.sum = h.mac.Sum(h.sum[:0])
	copy(h.out[:], IDPrefix)
	hex.Encode(h.out[len(IDPrefix):], h.sum[:IDHexDigits/2])
	return string(h.out[:])
}

// IsID reports whether s has the form of a redacted id: IDPrefix and
// IDHexDigits lower-case hex digits. Decoders of reports use it to refuse
// anything else, so a record can never carry an id in clear.
func IsID(s string) bool {
	if len(s) != IDLen || !strings.HasPrefix(s, IDPrefix) {
		return false
	}
	for _, c := range s[len(IDPrefix):] {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// Text returns s with every occurrence of id replaced by its redacted form,
// for text that may quote it (an error from a lower layer, a URL). An empty
// id leaves s as it is.
func Text(s, key, id string) string {
	if id == "" || !strings.Contains(s, id) {
		return s
	}
	return strings.ReplaceAll(s, id, ID(key, id))
}
