package redisfidelity

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Run runs every check as a subtest of t against the Redis at addr, which
// it empties first (FLUSHALL): give it a server of its own.
func Run(t *testing.T, addr string) {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, ContextTimeoutEnabled: true, PoolSize: 16})
	t.Cleanup(func() { c.Close() })
	if err := c.FlushAll(t.Context()).Err(); err != nil {
		t.Fatalf("FLUSHALL on %s: %v", addr, err)
	}
	for _, ck := range checks {
		t.Run(ck.name, func(t *testing.T) { ck.run(&h{T: t, c: c, ctx: t.Context()}) })
	}
}

var checks = []struct {
	name string
	run  func(h *h)
}{
	{"absolute expiry reads back exactly", checkAbsoluteExpiry},
	{"PTTL follows the real clock", checkPTTL},
	{"relative expiry starts at the command", checkRelativeExpiry},
	{"keys expire at their absolute instant", checkExpiryInstant},
	{"an expiry already past deletes", checkPastExpiry},
	{"MGET reads live keys and misses expired ones", checkMGet},
	{"Lua scripts see the command's clock", checkLua},
	{"transactions keep absolute expiry", checkTransaction},
	{"server time and stream ids follow the real clock", checkServerTime},
	{"concurrent writers keep exact expiries", checkConcurrent},
	{"redisstore keeps records' expiry exact", checkRedisStore},
	{"redisstore records expire at their instant", checkRedisStoreExpiry},
}

// h is what a check works with.
type h struct {
	*testing.T
	c   *redis.Client
	ctx context.Context
}

// timed runs f between two readings of the wall clock, in whole
// milliseconds: a server that read its clock while running f read one
// within [lo, hi].
func timed(f func()) (lo, hi int64) {
	lo = time.Now().UnixMilli()
	f()
	hi = time.Now().UnixMilli()
	return lo, hi
}

func (h *h) do(args ...any) any {
	h.Helper()
	v, err := h.c.Do(h.ctx, args...).Result()
	if err != nil && err != redis.Nil {
		h.Fatalf("%v: %v", args, err)
	}
	return v
}

func (h *h) int(args ...any) int64 {
	h.Helper()
	v, ok := h.do(args...).(int64)
	if !ok {
		h.Fatalf("%v: got a reply of type %T, want an integer", args, v)
	}
	return v
}

// pexpiretime returns key's PEXPIRETIME.
func (h *h) pexpiretime(key string) int64 {
	h.Helper()
	return h.int("PEXPIRETIME", key)
}

// checkAbsoluteExpiry: every way of setting an absolute expiry reads back
// exactly, now and after the clock moved.
func checkAbsoluteExpiry(h *h) {
	base := time.Now().Add(time.Hour).UnixMilli()
	type key struct {
		name string
		at   int64 // the expiry in Unix ms that PEXPIRETIME must answer
	}
	var keys []key
	for i, at := range []int64{base, base + 1, base + 999, base + 123_456} {
		k := fmt.Sprintf("abs:pxat:%d", i)
		h.do("SET", k, "v", "PXAT", at)
		keys = append(keys, key{k, at})
	}
	h.do("SET", "abs:exat", "v", "EXAT", base/1000)
	keys = append(keys, key{"abs:exat", base / 1000 * 1000})
	h.do("SET", "abs:pexpireat", "v")
	if n := h.int("PEXPIREAT", "abs:pexpireat", base+7); n != 1 {
		h.Errorf("PEXPIREAT: got %d, want 1", n)
	}
	keys = append(keys, key{"abs:pexpireat", base + 7})
	h.do("SET", "abs:getex", "v")
	h.do("GETEX", "abs:getex", "PXAT", base+3)
	keys = append(keys, key{"abs:getex", base + 3})
	for round := range 3 {
		for _, k := range keys {
			if got := h.pexpiretime(k.name); got != k.at {
				h.Errorf("round %d: PEXPIRETIME %s: got %d, want %d (moved by %dms)", round, k.name, got, k.at, got-k.at)
			}
		}
		for _, k := range keys[:4] { // Redis rounds to the nearest second
			if got, want := h.int("EXPIRETIME", k.name), (k.at+500)/1000; got != want {
				h.Errorf("EXPIRETIME %s (PXAT %d): got %d, want %d", k.name, k.at, got, want)
			}
		}
		time.Sleep(7 * time.Millisecond)
	}
	h.do("SET", "abs:none", "v")
	if got := h.pexpiretime("abs:none"); got != -1 {
		h.Errorf("PEXPIRETIME of a key without expiry: got %d, want -1", got)
	}
	if got := h.pexpiretime("abs:missing"); got != -2 {
		h.Errorf("PEXPIRETIME of a missing key: got %d, want -2", got)
	}
	h.do("PERSIST", "abs:pxat:0")
	if got := h.pexpiretime("abs:pxat:0"); got != -1 {
		h.Errorf("PEXPIRETIME after PERSIST: got %d, want -1", got)
	}
}

// checkPTTL: PTTL is the expiry minus the server's clock when it ran, and
// that clock is the real one.
func checkPTTL(h *h) {
	at := time.Now().Add(time.Hour).UnixMilli()
	h.do("SET", "pttl", "v", "PXAT", at)
	for i := range 40 {
		var pttl int64
		lo, hi := timed(func() { pttl = h.int("PTTL", "pttl") })
		switch {
		case pttl > at-lo:
			h.Errorf("sample %d: PTTL got %d, want within [%d, %d]: the server's clock is %dms or more behind the real one",
				i, pttl, at-hi, at-lo, pttl-(at-lo))
		case pttl < at-hi:
			h.Errorf("sample %d: PTTL got %d, want within [%d, %d]: the server's clock is %dms or more ahead of the real one",
				i, pttl, at-hi, at-lo, at-hi-pttl)
		}
		time.Sleep(time.Duration(i%3) * time.Millisecond)
	}
	// Redis rounds the remaining milliseconds to the nearest second: 10.5s
	// left is 11.
	at = time.Now().UnixMilli() + 10_500
	h.do("SET", "ttl", "v", "PXAT", at)
	for i := range 20 {
		var ttl int64
		lo, hi := timed(func() { ttl = h.int("TTL", "ttl") })
		if want0, want1 := (at-hi+500)/1000, (at-lo+500)/1000; ttl < want0 || ttl > want1 {
			h.Errorf("sample %d: TTL got %d, want within [%d, %d]", i, ttl, want0, want1)
		}
	}
	if got := h.int("PTTL", "pttl:missing"); got != -2 {
		h.Errorf("PTTL of a missing key: got %d, want -2", got)
	}
}

// checkRelativeExpiry: every relative expiry counts from the command's
// clock, the real one.
func checkRelativeExpiry(h *h) {
	tests := []struct {
		name string
		cmd  []any
		ms   int64 // the TTL it sets
	}{
		{"SET PX", []any{"SET", "rel:k", "v", "PX", 60_000}, 60_000},
		{"SET EX", []any{"SET", "rel:k", "v", "EX", 70}, 70_000},
		{"SETEX", []any{"SETEX", "rel:k", 80, "v"}, 80_000},
		{"PSETEX", []any{"PSETEX", "rel:k", 81_234, "v"}, 81_234},
		{"PEXPIRE", []any{"PEXPIRE", "rel:k", 90_000}, 90_000},
		{"EXPIRE", []any{"EXPIRE", "rel:k", 100}, 100_000},
		{"GETEX PX", []any{"GETEX", "rel:k", "PX", 110_000}, 110_000},
	}
	h.do("SET", "rel:k", "v")
	for _, tt := range tests {
		lo, hi := timed(func() { h.do(tt.cmd...) })
		if got := h.pexpiretime("rel:k"); got < lo+tt.ms || got > hi+tt.ms {
			h.Errorf("PEXPIRETIME after %s: got %d, want within [%d, %d]", tt.name, got, lo+tt.ms, hi+tt.ms)
		}
	}
	if n := h.int("EXPIRE", "rel:k", -1); n != 1 {
		h.Errorf("EXPIRE -1: got %d, want 1", n)
	}
	if n := h.int("EXISTS", "rel:k"); n != 0 {
		h.Errorf("EXISTS after EXPIRE -1: got %d, want 0", n)
	}
}

// checkExpiryInstant: a key is there before its expiry and gone after it,
// by the real clock. During the millisecond of the expiry itself servers
// differ (see package embedredis), so no answer is checked there.
func checkExpiryInstant(h *h) {
	now := time.Now().UnixMilli()
	atPXAT := now + 40
	h.do("SET", "instant:pxat", "v", "PXAT", atPXAT)
	h.do("SET", "instant:pexpireat", "v")
	h.do("PEXPIREAT", "instant:pexpireat", atPXAT+3)
	lo, hi := timed(func() { h.do("SET", "instant:px", "v", "PX", 25) })
	keys := []struct {
		name   string
		lo, hi int64 // the expiry is within [lo, hi]
	}{
		{"instant:pxat", atPXAT, atPXAT},
		{"instant:pexpireat", atPXAT + 3, atPXAT + 3},
		{"instant:px", lo + 25, hi + 25},
	}
	deadline := time.Now().Add(5 * time.Second)
	for _, k := range keys {
		for {
			var err error
			lo, hi := timed(func() { err = h.c.Get(h.ctx, k.name).Err() })
			present := err == nil
			if err != nil && err != redis.Nil {
				h.Fatalf("GET %s: %v", k.name, err)
			}
			switch {
			case !present && hi < k.lo:
				h.Fatalf("GET %s at [%d, %d]: the key is gone before its expiry %d", k.name, lo, hi, k.lo)
			case present && lo > k.hi:
				h.Fatalf("GET %s at [%d, %d]: the key is still there %dms after its expiry %d", k.name, lo, hi, lo-k.hi, k.hi)
			}
			if lo > k.hi {
				break // an answer strictly after the expiry was checked
			}
			if time.Now().After(deadline) {
				h.Fatalf("GET %s: no answer after its expiry within 5s", k.name)
			}
		}
	}
	if n := h.int("EXISTS", "instant:pxat", "instant:pexpireat", "instant:px"); n != 0 {
		h.Errorf("EXISTS of the expired keys: got %d, want 0", n)
	}
}

// checkPastExpiry: an absolute expiry not after the server's clock deletes
// the key at once.
func checkPastExpiry(h *h) {
	past := time.Now().UnixMilli() - 1000
	h.do("SET", "past:set", "v", "PXAT", past)
	h.do("SET", "past:pexpireat", "v")
	h.do("PEXPIREAT", "past:pexpireat", past)
	if n := h.int("EXISTS", "past:set", "past:pexpireat"); n != 0 {
		h.Errorf("EXISTS after a past PXAT and PEXPIREAT: got %d, want 0", n)
	}
}

// checkMGet: MGET answers every live key of the batch, and none that
// expired, read at one instant.
func checkMGet(h *h) {
	far := time.Now().Add(time.Hour).UnixMilli()
	soon := time.Now().UnixMilli() + 30
	h.do("SET", "mget:far", "a", "PXAT", far)
	h.do("SET", "mget:soon", "b", "PXAT", soon)
	var got []any
	_, hi := timed(func() { got = h.c.MGet(h.ctx, "mget:far", "mget:soon", "mget:none").Val() })
	if hi < soon && fmt.Sprint(got) != "[a b <nil>]" {
		h.Errorf("MGET before the expiry: got %v, want [a b <nil>]", got)
	}
	for {
		var got []any
		lo, _ := timed(func() { got = h.c.MGet(h.ctx, "mget:far", "mget:soon").Val() })
		if lo > soon {
			if fmt.Sprint(got) != "[a <nil>]" {
				h.Errorf("MGET %dms after the expiry: got %v, want [a <nil>]", lo-soon, got)
			}
			return
		}
		time.Sleep(time.Millisecond)
	}
}

// luaClock sets KEYS[1] with an absolute expiry and returns what the
// script then sees: the key's PEXPIRETIME and PTTL, TIME, and the value.
var luaClock = redis.NewScript(`
redis.call('SET', KEYS[1], ARGV[1], 'PXAT', ARGV[2])
local t = redis.call('TIME')
return {redis.call('PEXPIRETIME', KEYS[1]), redis.call('PTTL', KEYS[1]), t[1], t[2], redis.call('GET', KEYS[1])}
`)

// checkLua: scripts (EVALSHA, falling back to EVAL) see exact absolute
// expiries and the real clock.
func checkLua(h *h) {
	for i := range 10 {
		at := time.Now().Add(time.Hour).UnixMilli() + int64(i)
		var res []any
		var err error
		lo, hi := timed(func() { res, err = luaClock.Run(h.ctx, h.c, []string{"lua:k"}, "v", at).Slice() })
		if err != nil {
			h.Fatalf("script: %v", err)
		}
		if len(res) != 5 {
			h.Fatalf("script: got %v, want 5 values", res)
		}
		if got := res[0].(int64); got != at {
			h.Errorf("PEXPIRETIME in a script: got %d, want %d", got, at)
		}
		if got := res[1].(int64); got < at-hi || got > at-lo {
			h.Errorf("PTTL in a script: got %d, want within [%d, %d]", got, at-hi, at-lo)
		}
		sec, _ := strconv.ParseInt(fmt.Sprint(res[2]), 10, 64)
		usec, _ := strconv.ParseInt(fmt.Sprint(res[3]), 10, 64)
		if ms := sec*1000 + usec/1000; ms < lo || ms > hi {
			h.Errorf("TIME in a script: got %d ms, want within [%d, %d]", ms, lo, hi)
		}
		if res[4] != "v" {
			h.Errorf("GET in a script: got %v, want v", res[4])
		}
		if got := h.pexpiretime("lua:k"); got != at {
			h.Errorf("PEXPIRETIME after the script: got %d, want %d", got, at)
		}
	}
	past := time.Now().UnixMilli() - 1
	if err := luaClock.Run(h.ctx, h.c, []string{"lua:past"}, "v", past).Err(); err != nil {
		h.Fatalf("script with a past expiry: %v", err)
	}
	if n := h.int("EXISTS", "lua:past"); n != 0 {
		h.Errorf("EXISTS after a script SET a past PXAT: got %d, want 0", n)
	}
	// A script that does not read the time itself still sets relative
	// expiries from the real clock, and a past one deletes at once.
	var res []any
	var err error
	lo, hi := timed(func() {
		res, err = luaExpiries.Run(h.ctx, h.c, []string{"lua:rel", "lua:gone"}, 60_000, past).Slice()
	})
	if err != nil {
		h.Fatalf("script: %v", err)
	}
	if len(res) != 2 {
		h.Fatalf("script: got %v, want 2 values", res)
	}
	if got, _ := res[0].(int64); got < lo+60_000 || got > hi+60_000 {
		h.Errorf("PEXPIRETIME of SET PX 60000 in a script: got %v, want within [%d, %d]", res[0], lo+60_000, hi+60_000)
	}
	if res[1] != int64(0) {
		h.Errorf("EXISTS, in the same script, of a key SET with a past PXAT: got %v, want 0", res[1])
	}
}

// luaExpiries sets a relative and a past expiry without reading the time.
var luaExpiries = redis.NewScript(`
redis.call('SET', KEYS[1], 'v', 'PX', ARGV[1])
redis.call('SET', KEYS[2], 'v', 'PXAT', ARGV[2])
return {redis.call('PEXPIRETIME', KEYS[1]), redis.call('EXISTS', KEYS[2])}
`)

// checkTransaction: MULTI/EXEC keeps absolute expiries exact and counts
// relative ones from the transaction's clock.
func checkTransaction(h *h) {
	at := time.Now().Add(time.Hour).UnixMilli() + 5
	var exp *redis.DurationCmd
	var pxat *redis.Cmd
	lo, hi := timed(func() {
		_, err := h.c.TxPipelined(h.ctx, func(p redis.Pipeliner) error {
			p.Do(h.ctx, "SET", "tx:abs", "v", "PXAT", at)
			p.Do(h.ctx, "SET", "tx:rel", "v", "PX", 60_000)
			p.Do(h.ctx, "GETEX", "tx:getex", "PXAT", at+1)
			pxat = p.Do(h.ctx, "PEXPIRETIME", "tx:abs")
			exp = p.PTTL(h.ctx, "tx:abs")
			return nil
		})
		if err != nil && err != redis.Nil {
			h.Fatalf("transaction: %v", err)
		}
	})
	if got, _ := pxat.Int64(); got != at {
		h.Errorf("PEXPIRETIME inside the transaction: got %d, want %d", got, at)
	}
	if got := exp.Val().Milliseconds(); got < at-hi || got > at-lo {
		h.Errorf("PTTL inside the transaction: got %d, want within [%d, %d]", got, at-hi, at-lo)
	}
	if got := h.pexpiretime("tx:abs"); got != at {
		h.Errorf("PEXPIRETIME after the transaction: got %d, want %d", got, at)
	}
	if got := h.pexpiretime("tx:rel"); got < lo+60_000 || got > hi+60_000 {
		h.Errorf("PEXPIRETIME of SET PX 60000 in a transaction: got %d, want within [%d, %d]", got, lo+60_000, hi+60_000)
	}
}

// checkServerTime: TIME and the ids XADD makes carry the real clock.
func checkServerTime(h *h) {
	for range 10 {
		var tm time.Time
		lo, hi := timed(func() { tm = h.c.Time(h.ctx).Val() })
		if ms := tm.UnixMilli(); ms < lo || ms > hi {
			h.Errorf("TIME: got %d ms, want within [%d, %d]", ms, lo, hi)
		}
		var id string
		h.do("DEL", "time:stream")
		lo, hi = timed(func() { id = h.c.XAdd(h.ctx, &redis.XAddArgs{Stream: "time:stream", Values: []string{"f", "v"}}).Val() })
		msPart, _, _ := strings.Cut(id, "-")
		if ms, err := strconv.ParseInt(msPart, 10, 64); err != nil || ms < lo || ms > hi {
			h.Errorf("XADD *: got id %q, want its milliseconds within [%d, %d]", id, lo, hi)
		}
		time.Sleep(time.Millisecond)
	}
}

// checkConcurrent: many clients writing absolute expiries at once, some
// with plain commands and some in scripts, all read back exactly.
func checkConcurrent(h *h) {
	const writers, each = 8, 40
	base := time.Now().Add(time.Hour).UnixMilli()
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				key := fmt.Sprintf("conc:%d:%d", w, i)
				at := base + int64(w*each+i)*17
				var err error
				if i%2 == 0 {
					err = h.c.Do(h.ctx, "SET", key, "v", "PXAT", at).Err()
				} else {
					err = luaClock.Run(h.ctx, h.c, []string{key}, "v", at).Err()
				}
				if err == nil {
					var got int64
					got, err = h.c.Do(h.ctx, "PEXPIRETIME", key).Int64()
					if err == nil && got != at {
						err = fmt.Errorf("PEXPIRETIME %s: got %d, want %d (moved by %dms)", key, got, at, got-at)
					}
				}
				if err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	n := 0
	for err := range errs {
		if n++; n <= 5 {
			h.Error(err)
		}
	}
	if n > 5 {
		h.Errorf("... and %d more", n-5)
	}
}
