package router

import (
	"strings"
	"testing"

	"github.com/cespare/xxhash/v2"
)

// TestHasherAgrees: the in-place XXH64 equals the library's XXH64 of the
// concatenation for every salt of 0..70 bytes with every id of 0..200 bytes,
// which covers every path (short and striped input, whole salt words, the
// boundary word, the 4-byte and single-byte tails, salts longer than a
// stripe); FuzzHasher tries arbitrary bytes.
func TestHasherAgrees(t *testing.T) {
	src := strings.Repeat("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_", 5)
	for saltLen := 0; saltLen <= 70; saltLen++ {
		salt := src[7 : 7+saltLen]
		h := NewHasher(salt)
		if h.Salt() != salt {
			t.Fatalf("Salt() = %q, want %q", h.Salt(), salt)
		}
		for idLen := 0; idLen <= 200; idLen++ {
			id := src[101 : 101+idLen]
			if got, want := h.sum64(id), xxhash.Sum64String(salt+id); got != want {
				t.Fatalf("salt %d bytes, id %d bytes: sum64 = %#x, want %#x", saltLen, idLen, got, want)
			}
			if got, want := h.Bucket(id), Bucket(salt, id); got != want {
				t.Fatalf("salt %d bytes, id %d bytes: Bucket = %d, want %d", saltLen, idLen, got, want)
			}
		}
	}
}

// TestZeroHasher: the zero Hasher is the Hasher of the empty salt.
func TestZeroHasher(t *testing.T) {
	var zero Hasher
	for _, id := range []string{"", "a", "Hq3LxPZ2mJ8sTn0vYc4kWd1fEo7rUb9aXyZ12345678", strings.Repeat("x", 100)} {
		if got, want := zero.Bucket(id), Bucket("", id); got != want {
			t.Errorf("Hasher{}.Bucket(%d bytes) = %d, want %d", len(id), got, want)
		}
	}
}

func FuzzHasher(f *testing.F) {
	f.Add("sessionmigrate", "Hq3LxPZ2mJ8sTn0vYc4kWd1fEo7rUb9a")
	f.Add("", "")
	f.Add("salt", "\x00\xff")
	f.Add(strings.Repeat("s", 33), strings.Repeat("i", 65))
	f.Fuzz(func(t *testing.T, salt, id string) {
		if got, want := NewHasher(salt).sum64(id), xxhash.Sum64String(salt+id); got != want {
			t.Fatalf("NewHasher(%q).sum64(%q) = %#x, want %#x", salt, id, got, want)
		}
	})
}

// BenchmarkBucketing compares the two ways to bucket a typical session id
// (scs: 43 characters) under the default salt.
func BenchmarkBucketing(b *testing.B) {
	const salt, id = "sessionmigrate", "Hq3LxPZ2mJ8sTn0vYc4kWd1fEo7rUb9aXyZ12345678"
	var sink uint32
	b.Run("Bucket", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sink += Bucket(salt, id)
		}
	})
	b.Run("Hasher", func(b *testing.B) {
		h := NewHasher(salt)
		b.ReportAllocs()
		for b.Loop() {
			sink += h.Bucket(id)
		}
	})
	_ = sink
}
