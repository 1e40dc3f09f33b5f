package redisstore

import (
	"strings"
	"testing"
)

func TestKeySlot(t *testing.T) {
	tests := []struct {
		key  string
		want uint16
	}{
		{"123456789", 0x31C3 % numSlots}, // the CRC16-XMODEM check value
		{"foo", 12182},                   // CLUSTER KEYSLOT documentation
		{"{user1000}.following", 3443},
		{"{user1000}.followers", 3443},
		{"", 0},
		{"foo{}{bar}", crc16("foo{}{bar}") % numSlots}, // empty tag: whole key
		{"foo{{bar}}zap", crc16("{bar") % numSlots},    // tag up to the first '}'
		{"foo{bar}{zap}", crc16("bar") % numSlots},     // first tag only
		{"a{b", crc16("a{b") % numSlots},               // unclosed: whole key
		{"}{", crc16("}{") % numSlots},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			if got := keySlot(tt.key); got != tt.want {
				t.Fatalf("keySlot(%q): got %d, want %d", tt.key, got, tt.want)
			}
		})
	}
}

// TestSlotTagsCoverEverySlot: every slot has a tag, the tag is brace-free
// and hashes to its slot.
func TestSlotTagsCoverEverySlot(t *testing.T) {
	for slot := range uint16(numSlots) {
		tag := slotTag(slot)
		s := string(tag[:])
		if strings.ContainsAny(s, "{}") || strings.Trim(s, tagAlphabet) != "" {
			t.Fatalf("slot %d: got tag %q, want %d characters of %q", slot, s, tagLen, tagAlphabet)
		}
		if got := keySlot(s); got != slot {
			t.Fatalf("slot %d: tag %q hashes to slot %d", slot, s, got)
		}
	}
}

// TestSidecarKeyPinned pins the storage format: sidecar keys already in
// Redis must be found by every future version of this package.
func TestSidecarKeyPinned(t *testing.T) {
	tests := []struct{ dataKey, want string }{
		{"scs:session:abc", "{scs:session:abc}:v"},
		{"scs:session:{a}", "{0ays}:v:scs:session:{a}"},
		{"scs:session:}{", "{0og6}:v:scs:session:}{"},
		{"scs:session:{", "{064m}:v:scs:session:{"},
		{"", "{05cc}:v:"},
	}
	for _, tt := range tests {
		t.Run(tt.dataKey, func(t *testing.T) {
			if got := sidecarKey(tt.dataKey); got != tt.want {
				t.Fatalf("sidecarKey(%q): got %q, want %q", tt.dataKey, got, tt.want)
			}
		})
	}
	for slot, want := range map[uint16]string{0: "05cc", 1: "0als", 8000: "06g2", 16383: "01k0"} {
		if tag := slotTag(slot); string(tag[:]) != want {
			t.Errorf("slotTag(%d): got %q, want %q", slot, tag[:], want)
		}
	}
}

// checkSidecarKey asserts the properties every sidecar key must have.
func checkSidecarKey(t *testing.T, dataKey string) string {
	t.Helper()
	side := sidecarKey(dataKey)
	if got, want := keySlot(side), keySlot(dataKey); got != want {
		t.Fatalf("sidecarKey(%q) = %q in slot %d, want the data key's slot %d", dataKey, side, got, want)
	}
	if !strings.HasPrefix(side, "{") {
		t.Fatalf("sidecarKey(%q) = %q, want it to start with '{'", dataKey, side)
	}
	if side == dataKey {
		t.Fatalf("sidecarKey(%q) = the data key itself", dataKey)
	}
	return side
}

func FuzzSidecarKey(f *testing.F) {
	for _, seed := range [][2]string{
		{"abc", "abd"}, {"{a}", "a"}, {"}{", "{}"}, {"", "{"}, {"a{b}c", "a{b}d"},
		{"plain-session-id:v", "{plain-session-id}:v"}, {"x}:v", "x"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, id1, id2 string) {
		const prefix = DefaultPrefix
		k1, k2 := prefix+id1, prefix+id2
		s1 := checkSidecarKey(t, k1)
		s2 := checkSidecarKey(t, k2)
		if (k1 == k2) != (s1 == s2) {
			t.Fatalf("data keys %q, %q have sidecars %q, %q: want equal exactly when the data keys are", k1, k2, s1, s2)
		}
		// Raw keys, prefix-free and possibly empty, keep the properties.
		r1, r2 := checkSidecarKey(t, id1), checkSidecarKey(t, id2)
		if (id1 == id2) != (r1 == r2) {
			t.Fatalf("data keys %q, %q have sidecars %q, %q: want equal exactly when the data keys are", id1, id2, r1, r2)
		}
		// A sidecar key never equals a data key under a valid prefix.
		if strings.HasPrefix(s2, prefix) {
			t.Fatalf("sidecar %q starts with the prefix %q", s2, prefix)
		}
	})
}

func TestGlobEscape(t *testing.T) {
	tests := []struct{ in, want string }{
		{"scs:session:", "scs:session:"},
		{"a*b?c[d]e\\", `a\*b\?c\[d\]e\\`},
		{"", ""},
	}
	for _, tt := range tests {
		if got := globEscape(tt.in); got != tt.want {
			t.Errorf("globEscape(%q): got %q, want %q", tt.in, got, tt.want)
		}
	}
}
