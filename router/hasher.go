package router

import "math/bits"

// Hasher computes Bucket for one fixed salt: h.Bucket(id) == Bucket(salt, id)
// for every id, at about half the cost. It runs XXH64 over salt and id where
// they lie instead of over a copy of salt+id: hashing a freshly written buffer
// stalls the CPU (its 8-byte loads straddle the copy's stores and cannot be
// forwarded), and on the machines we measured that stall cost more than the
// hash itself. The salt's whole 8-byte words are decoded once, here.
//
// A Hasher is immutable and safe for concurrent use. The zero Hasher is the
// Hasher of the empty salt.
type Hasher struct {
	salt  string
	words []uint64 // the salt's whole 8-byte words, little endian
	tail  uint64   // the salt's remaining bytes, little endian
	shift uint     // 8 * the number of those bytes
	// lanes are XXH64's four accumulators after the rounds of the salt's
	// whole words: the same for every id when the salt is shorter than a
	// stripe (sumShortSalt).
	lanes [4]uint64
	ready bool // lanes are set (NewHasher); the zero Hasher takes sumAny
}

// NewHasher returns the Hasher of salt.
func NewHasher(salt string) *Hasher {
	h := &Hasher{salt: salt}
	n := len(salt) &^ 7
	for i := 0; i < n; i += 8 {
		h.words = append(h.words, le64(salt[i:]))
	}
	for i := n; i < len(salt); i++ {
		h.tail |= uint64(salt[i]) << (8 * (i - n))
	}
	h.shift = uint(8 * (len(salt) - n))
	v1, v2, v3, v4 := initLanes()
	h.lanes = [4]uint64{v1, v2, v3, v4}
	for k, w := range h.words[:min(len(h.words), 4)] {
		h.lanes[k] = round(h.lanes[k], w)
	}
	h.ready = true
	return h
}

// Salt returns the salt h was made with.
func (h *Hasher) Salt() string { return h.salt }

// Bucket returns Bucket(h.Salt(), id). It does not allocate.
func (h *Hasher) Bucket(id string) uint32 { return uint32(h.sum64(id) % Buckets) }

const (
	prime1 uint64 = 11400714785074694791
	prime2 uint64 = 14029467366897019727
	prime3 uint64 = 1609587929392839161
	prime4 uint64 = 9650029242287828579
	prime5 uint64 = 2870177450012600261
)

// sum64 is XXH64 (seed 0) of salt+id, the algorithm of
// github.com/cespare/xxhash/v2's Sum64 step for step; only the reading of the
// input differs.
func (h *Hasher) sum64(id string) uint64 {
	if h.ready && len(h.words) < 4 && len(h.salt)+len(id) >= 32 && len(id) >= 8 {
		return h.sumShortSalt(id)
	}
	return h.sumAny(id)
}

// sumShortSalt is sum64 for the common case: a salt shorter than one 32-byte
// stripe, so the rounds of its whole words are precomputed in lanes, and an
// id of 8 bytes or more. After the salt's whole words the input is one word
// made of the salt's tail and id's first bytes, then the rest of id, which
// is read in place.
func (h *Hasher) sumShortSalt(id string) uint64 {
	v1, v2, v3, v4 := h.lanes[0], h.lanes[1], h.lanes[2], h.lanes[3]
	w := h.tail | le64(id)<<h.shift
	p := id[8-h.shift/8:]
	// Finish the first stripe (the input has one: n >= 32).
	switch len(h.words) {
	case 0:
		v1 = round(v1, w)
		v2 = round(v2, le64(p))
		v3 = round(v3, le64(p[8:]))
		v4 = round(v4, le64(p[16:]))
		p = p[24:]
	case 1:
		v2 = round(v2, w)
		v3 = round(v3, le64(p))
		v4 = round(v4, le64(p[8:]))
		p = p[16:]
	case 2:
		v3 = round(v3, w)
		v4 = round(v4, le64(p))
		p = p[8:]
	default:
		v4 = round(v4, w)
	}
	for ; len(p) >= 32; p = p[32:] {
		v1 = round(v1, le64(p))
		v2 = round(v2, le64(p[8:]))
		v3 = round(v3, le64(p[16:]))
		v4 = round(v4, le64(p[24:]))
	}
	acc := mergeLanes(v1, v2, v3, v4) + uint64(len(h.salt)+len(id))
	return tail(acc, p)
}

// sumAny is sum64 for any salt and id, reading every input word through
// word; it serves long salts and short ids.
func (h *Hasher) sumAny(id string) uint64 {
	saltLen := len(h.salt)
	n := saltLen + len(id)
	whole := 8 * len(h.words)
	// word returns the 8 input bytes at pos (a multiple of 8, pos+8 <= n).
	word := func(pos int) uint64 {
		switch {
		case pos >= saltLen:
			return le64(id[pos-saltLen:])
		case pos < whole:
			return h.words[pos>>3]
		default:
			return h.straddle(id, pos, 8)
		}
	}

	var acc uint64
	i := 0 // input position
	if n >= 32 {
		v1, v2, v3, v4 := initLanes()
		for ; i+32 <= n; i += 32 {
			v1 = round(v1, word(i))
			v2 = round(v2, word(i+8))
			v3 = round(v3, word(i+16))
			v4 = round(v4, word(i+24))
		}
		acc = mergeLanes(v1, v2, v3, v4)
	} else {
		acc = prime5
	}
	acc += uint64(n)

	for ; i+8 <= n && i < saltLen; i += 8 {
		acc ^= round(0, word(i))
		acc = bits.RotateLeft64(acc, 27)*prime1 + prime4
	}
	if i >= saltLen {
		return tail(acc, id[i-saltLen:])
	}
	if i+4 <= n {
		acc ^= h.straddle(id, i, 4) * prime1
		acc = bits.RotateLeft64(acc, 23)*prime2 + prime3
		i += 4
	}
	for ; i < n; i++ {
		acc ^= uint64(h.straddle(id, i, 1)) * prime5
		acc = bits.RotateLeft64(acc, 11) * prime1
	}
	return avalanche(acc)
}

// tail finishes XXH64 over the last bytes of input, all in p.
func tail(acc uint64, p string) uint64 {
	for ; len(p) >= 8; p = p[8:] {
		acc ^= round(0, le64(p))
		acc = bits.RotateLeft64(acc, 27)*prime1 + prime4
	}
	if len(p) >= 4 {
		acc ^= uint64(le32(p)) * prime1
		acc = bits.RotateLeft64(acc, 23)*prime2 + prime3
		p = p[4:]
	}
	for k := 0; k < len(p); k++ {
		acc ^= uint64(p[k]) * prime5
		acc = bits.RotateLeft64(acc, 11) * prime1
	}
	return avalanche(acc)
}

func avalanche(acc uint64) uint64 {
	acc ^= acc >> 33
	acc *= prime2
	acc ^= acc >> 29
	acc *= prime3
	acc ^= acc >> 32
	return acc
}

// initLanes returns XXH64's initial accumulators (seed 0).
func initLanes() (v1, v2, v3, v4 uint64) {
	v1, v2 = prime1, prime2
	v1 += prime2
	v4 -= prime1
	return v1, v2, 0, v4
}

// straddle returns size (1 to 8) input bytes at pos, little endian, where
// they may lie partly in the salt and partly in id.
func (h *Hasher) straddle(id string, pos, size int) uint64 {
	var v uint64
	for k := range size {
		var c byte
		if p := pos + k; p >= len(h.salt) {
			c = id[p-len(h.salt)]
		} else {
			c = h.salt[p]
		}
		v |= uint64(c) << (8 * k)
	}
	return v
}

func round(acc, input uint64) uint64 {
	acc += input * prime2
	acc = bits.RotateLeft64(acc, 31)
	return acc * prime1
}

// mergeLanes folds the four stripe accumulators into one.
func mergeLanes(v1, v2, v3, v4 uint64) uint64 {
	acc := bits.RotateLeft64(v1, 1) + bits.RotateLeft64(v2, 7) + bits.RotateLeft64(v3, 12) + bits.RotateLeft64(v4, 18)
	acc = mergeRound(acc, v1)
	acc = mergeRound(acc, v2)
	acc = mergeRound(acc, v3)
	return mergeRound(acc, v4)
}

func mergeRound(acc, val uint64) uint64 {
	acc ^= round(0, val)
	return acc*prime1 + prime4
}

// le64 decodes the first 8 bytes of s, little endian (the compiler turns it
// into one load).
func le64(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// le32 decodes the first 4 bytes of s, little endian.
func le32(s string) uint32 {
	_ = s[3]
	return uint32(s[0]) | uint32(s[1])<<8 | uint32(s[2])<<16 | uint32(s[3])<<24
}
