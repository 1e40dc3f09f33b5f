package consistency

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/cespare/xxhash/v2"
)

// MemberKeyLen is the length of a membership key.
const MemberKeyLen = 16

// memberHash maps session ids to 64-bit member hashes under one key. The
// fleet diff's instances publish the member hashes of their local sessions
// so that the one instance scanning the distributed store can tell the
// sessions no local store holds, without any id leaving its instance. The
// key is random per diff, so hashes from one diff say nothing in another.
// It is not safe for concurrent use.
type memberHash struct {
	d   *xxhash.Digest
	key string
}

func newMemberHash(key string) *memberHash {
	return &memberHash{d: xxhash.New(), key: key}
}

// sum returns the member hash of id.
func (h *memberHash) sum(id string) uint64 {
	h.d.Reset()
	_, _ = h.d.WriteString(h.key)
	_, _ = h.d.WriteString(id)
	return h.d.Sum64()
}

// Members is a set of member hashes: the local sessions of one or more
// instances, as the fleet diff sees them. Build it with a MemberSet; it is
// read-only afterwards and safe for concurrent reads.
type Members struct {
	sorted []uint64
}

// Len returns the number of hashes in m.
func (m *Members) Len() int { return len(m.sorted) }

// has reports whether m holds h.
func (m *Members) has(h uint64) bool {
	_, ok := slices.BinarySearch(m.sorted, h)
	return ok
}

// Union returns the members of every set given, as one set.
func Union(sets ...*Members) *Members {
	n := 0
	for _, s := range sets {
		n += s.Len()
	}
	all := make([]uint64, 0, n)
	for _, s := range sets {
		all = append(all, s.sorted...)
	}
	slices.Sort(all)
	return &Members{sorted: slices.Compact(all)}
}

// MemberSet collects member hashes; Members returns the finished set. It is
// not safe for concurrent use.
type MemberSet struct {
	h   *memberHash
	all []uint64
}

// NewMemberSet returns an empty set hashing ids under key.
func NewMemberSet(key string) *MemberSet {
	return &MemberSet{h: newMemberHash(key)}
}

// Add adds id to the set.
func (s *MemberSet) Add(id string) { s.all = append(s.all, s.h.sum(id)) }

// Members returns the set of every id added. The MemberSet must not be used
// afterwards.
func (s *MemberSet) Members() *Members {
	slices.Sort(s.all)
	m := &Members{sorted: slices.Compact(s.all)}
	s.all = nil
	return m
}

// AppendBinary appends m's encoding to b: each hash as 8 bytes, big
// endian, in ascending order. An encoding may be split at any multiple of 8
// bytes and the parts decoded separately.
func (m *Members) AppendBinary(b []byte) []byte {
	for _, h := range m.sorted {
		b = binary.BigEndian.AppendUint64(b, h)
	}
	return b
}

// ErrBadMembers is wrapped by DecodeMembers' errors.
var ErrBadMembers = errors.New("consistency: bad member encoding")

// DecodeMembers parses an encoding made by AppendBinary (or a part of one).
// Hashes must be strictly ascending.
func DecodeMembers(b []byte) (*Members, error) {
	if len(b)%8 != 0 {
		return nil, fmt.Errorf("%w: %d bytes is not a multiple of 8", ErrBadMembers, len(b))
	}
	out := make([]uint64, len(b)/8)
	for i := range out {
		out[i] = binary.BigEndian.Uint64(b[8*i:])
		if i > 0 && out[i] <= out[i-1] {
			return nil, fmt.Errorf("%w: hash %d is not above the one before", ErrBadMembers, i)
		}
	}
	return &Members{sorted: out}, nil
}
