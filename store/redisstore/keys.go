package redisstore

import (
	"strings"
	"sync"
)

// numSlots is the number of Redis Cluster hash slots.
const numSlots = 16384

// sidecarSuffix ends the sidecar key of a brace-free data key; sidecarInfix
// separates the slot tag from the data key otherwise.
const (
	sidecarSuffix = "}:v"
	sidecarInfix  = "}:v:"
)

// sidecarKey returns the key that holds the version or tombstone of the
// record at dataKey. It always hashes to dataKey's cluster slot, so one Lua
// script may touch both, and it is distinct for distinct data keys:
//
//   - a data key without braces: "{" + dataKey + "}:v". The hash tag is the
//     data key itself, so the slot is the data key's slot.
//   - a data key with a '{' or '}' (or an empty one): "{" + T + "}:v:" +
//     dataKey, where T is the brace-free tag of [slotTag] for the data key's
//     slot. "{" + dataKey + "}" would not work here: Redis takes the hash
//     tag up to the first '}', which is then inside the data key.
//
// The two forms cannot collide: the first has exactly one '{' and one '}',
// the second at least three braces (or, for an empty data key, ends in ':').
// Within each form the data key is recoverable from the sidecar key. No
// sidecar key equals a data key because every sidecar key starts with '{'
// and [Options.Validate] rejects prefixes that do.
func sidecarKey(dataKey string) string {
	if dataKey != "" && !strings.ContainsAny(dataKey, "{}") {
		return "{" + dataKey + sidecarSuffix
	}
	tag := slotTag(keySlot(dataKey))
	return "{" + string(tag[:]) + sidecarInfix + dataKey
}

// recordKeys returns the data key Prefix+id and its sidecar key (see
// sidecarKey). For a brace-free data key, the usual case, both come from
// one allocation: the data key is a substring of the sidecar key.
func (s *Store) recordKeys(id string) (dataKey, sideKey string) {
	if s.prefixBraces || strings.ContainsAny(id, "{}") {
		dataKey = s.opts.Prefix + id
		return dataKey, sidecarKey(dataKey)
	}
	var b strings.Builder
	b.Grow(1 + len(s.opts.Prefix) + len(id) + len(sidecarSuffix))
	b.WriteByte('{')
	b.WriteString(s.opts.Prefix)
	b.WriteString(id)
	b.WriteString(sidecarSuffix)
	sideKey = b.String()
	return sideKey[1 : len(sideKey)-len(sidecarSuffix)], sideKey
}

// keySlot returns the Redis Cluster hash slot of key: CRC16-XMODEM of its
// hash tag (the bytes between the first '{' and the first '}' after it, when
// there are any) or else of the whole key, modulo 16384.
func keySlot(key string) uint16 {
	if i := strings.IndexByte(key, '{'); i >= 0 {
		if j := strings.IndexByte(key[i+1:], '}'); j > 0 {
			key = key[i+1 : i+1+j]
		}
	}
	return crc16(key) % numSlots
}

// crc16Table drives CRC16-XMODEM (polynomial 0x1021, initial value 0), the
// checksum Redis Cluster hashes keys with.
var crc16Table = func() (t [256]uint16) {
	for i := range t {
		crc := uint16(i) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
		t[i] = crc
	}
	return t
}()

func crc16[T ~string | ~[]byte](s T) uint16 {
	var crc uint16
	for i := 0; i < len(s); i++ {
		crc = crc<<8 ^ crc16Table[byte(crc>>8)^s[i]]
	}
	return crc
}

// tagLen is the length of a slot tag.
const tagLen = 4

// tagAlphabet is what slot tags are made of: no braces, nothing to escape in
// logs or redis-cli.
const tagAlphabet = "0123456789abcdefghijklmnopqrstuvwxyz"

// slotTag returns the slot tag of slot: the first string of tagLen
// characters from tagAlphabet, in lexicographic order, whose CRC16 lands in
// slot. Sidecar keys embed these tags, so this order is part of the storage
// format and must never change (the tests pin sample values).
func slotTag(slot uint16) [tagLen]byte {
	return slotTags()[slot]
}

// slotTags builds the table for slotTag once, on first use; it is read-only
// afterwards (64 KiB).
var slotTags = sync.OnceValue(func() *[numSlots][tagLen]byte {
	var (
		tags   [numSlots][tagLen]byte
		filled [numSlots]bool
		left   = numSlots
		digits [tagLen]int
		cand   [tagLen]byte
	)
	for left > 0 {
		for i, d := range digits {
			cand[i] = tagAlphabet[d]
		}
		if slot := crc16(cand[:]) % numSlots; !filled[slot] {
			filled[slot] = true
			tags[slot] = cand
			left--
		}
		// Next candidate: count in base len(tagAlphabet), last digit fastest.
		i := tagLen - 1
		for ; i >= 0; i-- {
			if digits[i]++; digits[i] < len(tagAlphabet) {
				break
			}
			digits[i] = 0
		}
		if i < 0 {
			// Unreachable: TestSlotTagsCoverEverySlot proves every slot
			// is hit. Failing loudly beats a silently wrong table.
			panic("redisstore: slot tag alphabet does not cover every slot")
		}
	}
	return &tags
})
