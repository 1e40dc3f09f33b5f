package redistest

import (
	"strconv"
	"strings"
)

// keySlot returns the Redis Cluster hash slot of key: CRC16-XMODEM of the
// key's hash tag (the text between the first '{' and the next '}', when
// non-empty) or of the whole key, modulo 16384.
func keySlot(key string) int {
	if i := strings.IndexByte(key, '{'); i >= 0 {
		if j := strings.IndexByte(key[i+1:], '}'); j > 0 {
			key = key[i+1 : i+1+j]
		}
	}
	return int(crc16(key) % 16384)
}

// crc16 is CRC16-XMODEM (polynomial 0x1021, initial value 0), bit by bit:
// the harness computes few slots, so no table is needed.
func crc16(s string) uint16 {
	var crc uint16
	for i := 0; i < len(s); i++ {
		crc ^= uint16(s[i]) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}

// keyInSlot returns a key that hashes to slot. Only the short hash tag is
// hashed, so the search stays cheap.
func keyInSlot(slot int) string {
	for i := 0; ; i++ {
		tag := strconv.Itoa(i)
		if keySlot(tag) == slot {
			return "redistest:probe:{" + tag + "}"
		}
	}
}
