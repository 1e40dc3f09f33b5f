package router

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestBucketVectors pins the routing function: if this test fails, sessions
// would move between stores across versions. Never regenerate the file to make
// it pass.
func TestBucketVectors(t *testing.T) {
	f, err := os.Open("testdata/buckets.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		parts := strings.Split(line, "\t")
		if len(parts) != 3 {
			t.Fatalf("bad vector line %q", line)
		}
		salt, err := strconv.Unquote(parts[0])
		if err != nil {
			t.Fatal(err)
		}
		id, err := strconv.Unquote(parts[1])
		if err != nil {
			t.Fatal(err)
		}
		want, err := strconv.ParseUint(parts[2], 10, 32)
		if err != nil {
			t.Fatal(err)
		}
		if got := Bucket(salt, id); got != uint32(want) {
			t.Errorf("Bucket(%q, %q) = %d, want %d", salt, id, got, want)
		}
		if got := NewHasher(salt).Bucket(id); got != uint32(want) {
			t.Errorf("NewHasher(%q).Bucket(%q) = %d, want %d", salt, id, got, want)
		}
		n++
	}
	if n < 20 {
		t.Fatalf("only %d vectors", n)
	}
}

func TestCut(t *testing.T) {
	tests := []struct {
		p       float64
		want    uint32
		wantErr bool
	}{
		{0, 0, false}, {0.01, 1, false}, {10, 1000, false}, {12.34, 1234, false},
		{99.99, 9999, false}, {100, 10000, false},
		{-1, 0, true}, {100.01, 0, true}, {1.234, 0, true},
	}
	for _, tt := range tests {
		got, err := Cut(tt.p)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("Cut(%v) = %d, %v; want %d, err=%v", tt.p, got, err, tt.want, tt.wantErr)
		}
	}
}

// TestCutMonotone checks that raising the percentage only moves sessions to
// the distributed store.
func TestCutMonotone(t *testing.T) {
	ids := make([]uint32, 2000)
	for i := range ids {
		ids[i] = Bucket("salt", "id-"+strconv.Itoa(i))
	}
	prev := make([]bool, len(ids))
	for p := 0; p <= 10000; p += 7 {
		c, err := Cut(float64(p) / 100)
		if err != nil {
			t.Fatal(err)
		}
		for i, b := range ids {
			dist := b < c
			if prev[i] && !dist {
				t.Fatalf("session %d moved back to local at %d bp", i, p)
			}
			prev[i] = dist
		}
	}
}

func BenchmarkBucket(b *testing.B) {
	b.ReportAllocs()
	id := "Hq3LxPZ2mJ8sTn0vYc4kWd1fEo7rUb9a"
	for b.Loop() {
		_ = Bucket("salt", id)
	}
}

// TestBucketPathsAgree: the stack-buffer and the streaming path hash the same
// concatenation, at every length around the buffer's size.
func TestBucketPathsAgree(t *testing.T) {
	long := strings.Repeat("abcdefghij", 30)
	for _, salt := range []string{"", "s", "sessionmigrate", long[:40]} {
		for n := 0; n <= 200; n++ {
			id := long[:n]
			if got, want := Bucket(salt, id), bucketStream(salt, id); got != want {
				t.Fatalf("Bucket(%q, %d bytes) = %d, streaming path = %d", salt, n, got, want)
			}
		}
	}
}
