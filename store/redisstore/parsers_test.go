package redisstore

import (
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/redis/go-redis/v9"
)

// parseLua runs the scripts' sidecar parser on ARGV[1] and returns what it
// found: {'x'} for a value that does not decode, else kind, version and
// expiry ("" for none).
const parseLua = luaPrelude + `
local kind, n, px = parse(ARGV[1])
if kind == 'x' then return {'x'} end
return {kind, n, px or ''}
`

// sidecarProbes returns sidecar-like values around the grammar's edges:
// the shared cases, numbers at the limits of both fields, and
// pseudo-random strings over the grammar's alphabet (a fixed seed, so a
// failure replays).
func sidecarProbes() []string {
	var probes []string
	for _, tc := range sidecarCases {
		probes = append(probes, tc.value)
	}
	numbers := []string{"0", "1", "00", "01", "9007199254740993",
		"9223372036854775806", "9223372036854775807", "9223372036854775808",
		"18446744073709551615", "18446744073709551616", "99999999999999999999", "100000000000000000000"}
	for _, kind := range []string{"d", "t"} {
		for _, n := range numbers {
			probes = append(probes, kind+n)
			for _, px := range numbers {
				probes = append(probes, kind+n+":"+px)
			}
		}
	}
	const alphabet = "dt0123456789:x +-\x00"
	rng := rand.New(rand.NewPCG(14, 14))
	for range 3000 {
		b := make([]byte, rng.IntN(46))
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		if len(b) > 0 && rng.IntN(2) == 0 {
			b[0] = "dt"[rng.IntN(2)] // mostly near-valid values
		}
		probes = append(probes, string(b))
	}
	return probes
}

// TestSidecarParsersAgree holds the Lua parser (parse in scripts.go) and
// decodeSidecar to one grammar: for every probe, both reject it or both
// decode the same kind, version and expiry.
func TestSidecarParsersAgree(t *testing.T) {
	ctx := testContext(t)
	c := topologies[0].client(t)
	script := redis.NewScript(parseLua)
	if err := script.Load(ctx, c).Err(); err != nil {
		t.Fatal(err)
	}
	probes := sidecarProbes()
	cmds := make([]*redis.Cmd, len(probes))
	if _, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, v := range probes {
			cmds[i] = script.EvalSha(ctx, p, nil, v)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for i, v := range probes {
		lua, err := cmds[i].StringSlice()
		if err != nil {
			t.Fatalf("parse(%q): %v", v, err)
		}
		sc, err := decodeSidecar(v)
		var goes []string
		switch {
		case err != nil:
			goes = []string{"x"}
		case sc.hasExpiry:
			goes = []string{string(sc.kind), strconv.FormatUint(sc.version, 10), strconv.FormatInt(sc.pxat, 10)}
		default:
			goes = []string{string(sc.kind), strconv.FormatUint(sc.version, 10), ""}
		}
		if len(lua) != len(goes) {
			t.Errorf("%q: Lua parse gives %q, decodeSidecar %q", v, lua, goes)
			continue
		}
		for j := range lua {
			if lua[j] != goes[j] {
				t.Errorf("%q: Lua parse gives %q, decodeSidecar %q", v, lua, goes)
				break
			}
		}
	}
}

// cmpverLua runs the scripts' version comparison on every pair of ARGV
// (ARGV[1] with ARGV[2], ARGV[3] with ARGV[4], ...) and returns the results.
const cmpverLua = luaPrelude + `
local res = {}
for i = 1, #ARGV / 2 do res[i] = cmpver(ARGV[2 * i - 1], ARGV[2 * i]) end
return res
`

// TestLuaVersionCompare holds cmpver to the order of the numbers its
// canonical decimals spell, above 2^53 included, where float64 values
// collide: pairs one apart near the limits, pairs that share every digit
// but the last, versions as the Migrator's clock issues them, and
// pseudo-random pairs (a fixed seed, so a failure replays).
func TestLuaVersionCompare(t *testing.T) {
	ctx := testContext(t)
	c := topologies[0].client(t)
	var pairs [][2]uint64
	for _, n := range []uint64{0, 1, 9, 10, 1<<53 - 1, 1 << 53, 1<<53 + 1, 1<<53 + 2, 1<<63 - 1, 1 << 63, 1<<64 - 2, 1<<64 - 1,
		1807356912345678901, 1807356912345679000} {
		for _, d := range []uint64{0, 1, 2, 3, 255, 256, 257, 1024, 4096} {
			if n >= d {
				pairs = append(pairs, [2]uint64{n, n - d}, [2]uint64{n - d, n})
			}
		}
	}
	rng := rand.New(rand.NewPCG(14, 41))
	for range 2000 {
		a := rng.Uint64() >> rng.IntN(64)
		b := a ^ rng.Uint64()>>rng.IntN(64) // often sharing the high digits
		pairs = append(pairs, [2]uint64{a, b})
	}
	args := make([]any, 0, 2*len(pairs))
	for _, p := range pairs {
		args = append(args, strconv.FormatUint(p[0], 10), strconv.FormatUint(p[1], 10))
	}
	got, err := redis.NewScript(cmpverLua).Run(ctx, c, nil, args...).Int64Slice()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(pairs) {
		t.Fatalf("cmpver returned %d results for %d pairs", len(got), len(pairs))
	}
	for i, p := range pairs {
		want := int64(0)
		switch {
		case p[0] < p[1]:
			want = -1
		case p[0] > p[1]:
			want = 1
		}
		if got[i] != want {
			t.Errorf("cmpver(%d, %d) = %d, want %d", p[0], p[1], got[i], want)
		}
	}
}
