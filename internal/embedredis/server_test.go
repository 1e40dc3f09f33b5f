package embedredis

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/sessionmigrate/sessionmigrate/internal/clocktest"
	"github.com/sessionmigrate/sessionmigrate/internal/redisfidelity"
	"github.com/sessionmigrate/sessionmigrate/internal/redistest"
	"github.com/sessionmigrate/sessionmigrate/store"
	"github.com/sessionmigrate/sessionmigrate/store/redisstore"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// start starts a Server closed on cleanup, and a client of it.
func start(t *testing.T, opts Options) (*Server, *redis.Client) {
	t.Helper()
	s, err := Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	c := redis.NewClient(&redis.Options{Addr: s.Addr(), MaxRetries: -1})
	t.Cleanup(func() { c.Close() })
	return s, c
}

// TestFidelity holds the server to the answers of a real redis-server: the
// same checks run against both.
func TestFidelity(t *testing.T) {
	t.Run("embedredis", func(t *testing.T) {
		s, _ := start(t, Options{})
		redisfidelity.Run(t, s.Addr())
	})
	t.Run("redis-server", func(t *testing.T) {
		if _, err := redistest.Binary(); err != nil {
			t.Skip(err)
		}
		redisfidelity.Run(t, redistest.StartServer(t).Addr)
	})
}

func TestAddrIsLoopback(t *testing.T) {
	s, _ := start(t, Options{})
	if !strings.HasPrefix(s.Addr(), "127.0.0.1:") {
		t.Errorf("Addr: got %q, want 127.0.0.1:port", s.Addr())
	}
}

// fakeStart is a Server on a fake clock at a time that is not a whole
// millisecond.
func fakeStart(t *testing.T) (*Server, *redis.Client, *clocktest.Clock, time.Time) {
	t.Helper()
	t0 := time.Date(2030, 1, 2, 3, 4, 5, 678_901_234, time.UTC)
	clk := clocktest.New(t0)
	s, c := start(t, Options{Now: clk.Now})
	return s, c, clk, t0.Truncate(time.Millisecond)
}

// TestExpiryFollowsTheClock: with a fake clock, absolute expiry is exact to
// the millisecond whenever the clock moves, and keys go at their instant.
func TestExpiryFollowsTheClock(t *testing.T) {
	_, c, clk, ms := fakeStart(t)
	ctx := t.Context()
	at := ms.Add(100 * time.Millisecond).UnixMilli()
	if err := c.Do(ctx, "SET", "k", "v", "PXAT", at).Err(); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		advance time.Duration
		pttl    int64 // -2: gone
	}{
		{0, 100},
		{50 * time.Microsecond, 100}, // still the same millisecond
		{50 * time.Microsecond, 99},
		{14 * time.Millisecond, 85},
		{84 * time.Millisecond, 1},
		{time.Millisecond, -2}, // the instant of the expiry (redis-server: PTTL 0 during it)
	}
	for i, st := range steps {
		clk.Advance(st.advance)
		if got := c.Do(ctx, "PTTL", "k").Val(); got != st.pttl {
			t.Errorf("step %d (clock %v): PTTL got %v, want %d", i, clk.Now().Format("15:04:05.000000"), got, st.pttl)
		}
		if st.pttl < 0 {
			break
		}
		if got := c.Do(ctx, "PEXPIRETIME", "k").Val(); got != at {
			t.Errorf("step %d: PEXPIRETIME got %v, want %d", i, got, at)
		}
	}
	if err := c.Get(ctx, "k").Err(); !errors.Is(err, redis.Nil) {
		t.Errorf("GET at the expiry: got %v, want redis.Nil", err)
	}
}

// TestClockNeverGoesBack: a wall clock stepped back holds the server's
// clock where it was. Going back would make miniredis restart its
// countdown from the earlier time without giving the TTLs back: every
// expiry would move earlier by the step.
func TestClockNeverGoesBack(t *testing.T) {
	_, c, clk, ms := fakeStart(t)
	ctx := t.Context()
	at := ms.Add(time.Second).UnixMilli()
	c.Do(ctx, "SET", "k", "v", "PXAT", at)
	clk.Advance(50 * time.Millisecond)
	c.Do(ctx, "GET", "k") // counts the TTLs down to the clock
	clk.Advance(-30 * time.Millisecond)
	if got := c.Do(ctx, "PEXPIRETIME", "k").Val(); got != at {
		t.Errorf("PEXPIRETIME after the clock went back: got %v, want %d", got, at)
	}
	if got := c.Do(ctx, "PTTL", "k").Val(); got != int64(950) {
		t.Errorf("PTTL after the clock went back: got %v, want 950 (the clock held at its latest reading)", got)
	}
	clk.Advance(40 * time.Millisecond)
	if got := c.Do(ctx, "PTTL", "k").Val(); got != int64(940) {
		t.Errorf("PTTL once the clock passed its latest reading: got %v, want 940", got)
	}
}

// TestCommandThatWaitedRunsAtItsOwnClock simulates what a loaded process
// does to a ticker: a command waits (here for the clock lock, held by the
// test as a long script would hold it) while the clock moves on. It runs
// at the clock it finds when it gets the lock, and its absolute expiry is
// exact: nothing was parsed against the clock from before the wait.
func TestCommandThatWaitedRunsAtItsOwnClock(t *testing.T) {
	s, c, clk, ms := fakeStart(t)
	ctx := t.Context()
	c.Do(ctx, "PING") // connect before the lock is taken
	at := ms.Add(time.Second).UnixMilli()
	s.clock.Lock()
	done := make(chan error)
	go func() { done <- c.Do(ctx, "SET", "k", "v", "PXAT", at).Err() }()
	time.Sleep(20 * time.Millisecond) // let the command reach the hook
	clk.Advance(14 * time.Millisecond)
	s.clock.Unlock()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := c.Do(ctx, "PEXPIRETIME", "k").Val(); got != at {
		t.Errorf("PEXPIRETIME: got %v, want %d", got, at)
	}
	if got := c.Do(ctx, "PTTL", "k").Val(); got != int64(986) {
		t.Errorf("PTTL: got %v, want 986", got)
	}
}

// TestLuaDoesNotDeadlock: a script's calls pass the hook without the clock
// lock its EVAL holds, and see the EVAL's clock.
func TestLuaDoesNotDeadlock(t *testing.T) {
	_, c, _, ms := fakeStart(t)
	res, err := c.Eval(t.Context(), `
redis.call('SET', KEYS[1], 'v', 'PXAT', ARGV[1])
local t = redis.call('TIME')
return {redis.call('PTTL', KEYS[1]), t[1], t[2]}`, []string{"k"}, ms.Add(time.Second).UnixMilli()).Slice()
	if err != nil {
		t.Fatal(err)
	}
	want := []any{int64(1000), ms.Unix(), ms.Nanosecond() / 1000}
	if fmt.Sprint(res) != fmt.Sprint(want) {
		t.Errorf("script: got PTTL and TIME %v, want %v", res, want)
	}
}

// TestTransactionWithAbsoluteExpiry: miniredis parses a queued PXAT when it
// queues it, so the clock must not move until EXEC; other clients wait.
func TestTransactionWithAbsoluteExpiry(t *testing.T) {
	s, c, clk, ms := fakeStart(t)
	ctx := t.Context()
	tx := c.Conn()
	defer tx.Close()
	other := redis.NewClient(&redis.Options{Addr: s.Addr(), MaxRetries: -1})
	defer other.Close()
	other.Ping(ctx)
	at := ms.Add(time.Second).UnixMilli()
	if err := tx.Do(ctx, "MULTI").Err(); err != nil {
		t.Fatal(err)
	}
	if got := tx.Do(ctx, "SET", "k", "v", "PXAT", at).Val(); got != "QUEUED" {
		t.Fatalf("SET in MULTI: got %v, want QUEUED", got)
	}
	clk.Advance(14 * time.Millisecond)
	if got := tx.Do(ctx, "EVAL", "return redis.call('TIME')", 0).Val(); got != "QUEUED" {
		t.Fatalf("EVAL in MULTI: got %v, want QUEUED", got)
	}
	var wg sync.WaitGroup
	var otherDone time.Time
	wg.Go(func() {
		other.Ping(ctx) // waits for EXEC: the transaction holds the clock
		otherDone = time.Now()
	})
	time.Sleep(20 * time.Millisecond)
	execAt := time.Now()
	res, err := tx.Do(ctx, "EXEC").Slice()
	if err != nil {
		t.Fatal(err)
	}
	// The script ran at the time the transaction froze.
	if want := fmt.Sprint([]any{"OK", []any{fmt.Sprint(ms.Unix()), fmt.Sprint(ms.Nanosecond() / 1000)}}); fmt.Sprint(res) != want {
		t.Errorf("EXEC: got %v, want %s", res, want)
	}
	wg.Wait()
	if otherDone.Before(execAt) {
		t.Errorf("another client's command ran while a transaction held the clock")
	}
	if got := c.Do(ctx, "PEXPIRETIME", "k").Val(); got != at {
		t.Errorf("PEXPIRETIME: got %v, want %d", got, at)
	}
	if got := c.Do(ctx, "PTTL", "k").Val(); got != int64(986) {
		t.Errorf("PTTL after EXEC: got %v, want 986", got)
	}
}

// TestDisconnectReleasesTheClock: a client that leaves inside such a
// transaction does not stop the server.
func TestDisconnectReleasesTheClock(t *testing.T) {
	s, c, _, ms := fakeStart(t)
	ctx := t.Context()
	tx := redis.NewClient(&redis.Options{Addr: s.Addr(), MaxRetries: -1, PoolSize: 1})
	conn := tx.Conn()
	conn.Do(ctx, "MULTI")
	conn.Do(ctx, "SET", "k", "v", "PXAT", ms.Add(time.Second).UnixMilli())
	conn.Close()
	tx.Close()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("PING after a client left inside a transaction: %v", err)
	}
	if n := c.Exists(ctx, "k").Val(); n != 0 {
		t.Errorf("EXISTS of the key of the abandoned transaction: got %d, want 0", n)
	}
}

// TestBlockingCommandDoesNotHoldTheClock: BLPOP waits for another client,
// which must be able to run.
func TestBlockingCommandDoesNotHoldTheClock(t *testing.T) {
	s, c, _, _ := fakeStart(t)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	other := redis.NewClient(&redis.Options{Addr: s.Addr(), MaxRetries: -1})
	defer other.Close()
	got := make(chan []string, 1)
	go func() { got <- c.BLPop(ctx, 0, "list").Val() }()
	time.Sleep(20 * time.Millisecond)
	if err := other.RPush(ctx, "list", "x").Err(); err != nil {
		t.Fatal(err)
	}
	select {
	case v := <-got:
		if len(v) != 2 || v[1] != "x" {
			t.Errorf("BLPOP: got %v, want [list x]", v)
		}
	case <-ctx.Done():
		t.Fatal("BLPOP did not return")
	}
}

func TestCloseTwice(t *testing.T) {
	s, err := Start(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestMiniredisStepBackMovesExpiries pins the miniredis behaviour that
// TestClockNeverGoesBack guards against, and that broke the demo's former
// embedded backend: a goroutine called SetTime with the values of a
// time.Ticker, which are not monotonic under load (a tick's value is the
// time of its send minus a lateness measured earlier, so a tick sent late
// carries a later time than the prompt tick after it). One step back, and
// every key's expiry moved earlier by the step, for good.
func TestMiniredisStepBackMovesExpiries(t *testing.T) {
	m := miniredis.NewMiniRedis()
	t0 := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	m.SetTime(t0)
	m.ClockTTL(true)
	if err := m.StartAddr("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	c := redis.NewClient(&redis.Options{Addr: m.Addr(), MaxRetries: -1})
	defer c.Close()
	ctx := t.Context()
	at := t0.Add(time.Hour).UnixMilli()
	c.Do(ctx, "SET", "k", "v", "PXAT", at)
	m.SetTime(t0.Add(20 * time.Millisecond)) // a tick sent 14ms late
	c.Do(ctx, "GET", "k")                    // any command that reads a key counts the TTLs down
	m.SetTime(t0.Add(6 * time.Millisecond))  // the next, prompt tick
	got, _ := c.Do(ctx, "PEXPIRETIME", "k").Int64()
	if got != at-14 {
		t.Errorf("PEXPIRETIME after miniredis's clock stepped back 14ms: got %d (moved by %dms), want %d: "+
			"miniredis changed; revisit Server.tick's clamp", got, got-at, at-14)
	}
}

// moves returns how often miniredis's clock moved.
func (s *Server) moves() int {
	s.clock.Lock()
	defer s.clock.Unlock()
	return s.clk.moves
}

// TestSessionTrafficLeavesMiniredisClock: what the session store sends
// (its scripts, MGET) needs no move of miniredis's clock while no key
// expires, however fast the clock runs: each move makes miniredis count
// down every key's TTL. A key's expiry still moves it, at that instant.
func TestSessionTrafficLeavesMiniredisClock(t *testing.T) {
	s, c, clk, ms := fakeStart(t)
	ctx := t.Context()
	st := redisstore.New(c, redisstore.Options{Now: clk.Now})
	exp := ms.Add(time.Hour)
	ops := func(i int) {
		id := fmt.Sprint("s", i%50)
		if err := st.Set(ctx, id, store.Record{Data: []byte("x"), ExpiresAt: exp, Version: uint64(i + 1)}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := st.Get(ctx, id); err != nil {
			t.Fatal(err)
		}
		if _, err := st.SetMany(ctx, []store.Entry{{ID: id + "b", Record: store.Record{Data: []byte("y"), ExpiresAt: exp, Version: 1}}}); err != nil {
			t.Fatal(err)
		}
		if _, err := st.DeleteLatest(ctx, id+"b", 1, time.Time{}, time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	ops(0) // the first EVALSHA of each script is a NOSCRIPT that moves the clock
	before := s.moves()
	for i := range 200 {
		clk.Advance(time.Millisecond)
		ops(i)
	}
	if n := s.moves() - before; n != 0 {
		t.Errorf("miniredis's clock moved %d times for session traffic, want 0", n)
	}
	c.Set(ctx, "soon", "v", 0)
	c.PExpireAt(ctx, "soon", clk.Now().Add(5*time.Millisecond))
	clk.Advance(5 * time.Millisecond)
	if err := c.Get(ctx, "soon").Err(); !errors.Is(err, redis.Nil) {
		t.Errorf("GET at a key's expiry: got %v, want redis.Nil", err)
	}
	if n := s.moves() - before; n != 1 {
		t.Errorf("moves for the expiry: got %d, want 1", n)
	}
}

// TestScriptOnLaggingClock: a script that does not read the time runs on
// miniredis's lagging clock, yet its relative expiries count from the
// command's clock and an expiry already past deletes at once.
func TestScriptOnLaggingClock(t *testing.T) {
	s, c, clk, ms := fakeStart(t)
	ctx := t.Context()
	c.Ping(ctx)
	before := s.moves()
	clk.Advance(50 * time.Millisecond)
	now := ms.Add(50 * time.Millisecond).UnixMilli()
	res, err := c.Eval(ctx, `
redis.call('SET', KEYS[1], 'v', 'PX', ARGV[1])
redis.call('PSETEX', KEYS[3], ARGV[1], 'v')
redis.call('SET', KEYS[2], 'v', 'PXAT', ARGV[2])
return {redis.call('PEXPIRETIME', KEYS[1]), redis.call('EXISTS', KEYS[2]), redis.call('PEXPIRETIME', KEYS[3])}`,
		[]string{"rel", "past", "psetex"}, 1000, ms.Add(20*time.Millisecond).UnixMilli()).Slice()
	if err != nil {
		t.Fatal(err)
	}
	if want := []any{now + 1000, int64(0), now + 1000}; fmt.Sprint(res) != fmt.Sprint(want) {
		t.Errorf("script: got PEXPIRETIME, EXISTS, PEXPIRETIME %v, want %v", res, want)
	}
	if n := s.moves() - before; n != 0 {
		t.Errorf("miniredis's clock moved %d times, want 0 (the script does not read the time)", n)
	}
}

// TestRefusedMultiStartsNoTransaction: MULTI on a connection in pub/sub
// mode is refused; the hook must not then take the connection's commands
// for queued ones (they would skip their preparation).
func TestRefusedMultiStartsNoTransaction(t *testing.T) {
	s, c, clk, ms := fakeStart(t)
	ctx := t.Context()
	conn, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	r := bufio.NewReader(conn)
	// reply reads one reply and returns its first line.
	var reply func() string
	reply = func() string {
		t.Helper()
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		n, _ := strconv.Atoi(strings.TrimSpace(line[1:]))
		switch line[0] {
		case '*', '>':
			for range n {
				reply()
			}
		case '$':
			if _, err := io.ReadFull(r, make([]byte, max(n+2, 0))); err != nil {
				t.Fatal(err)
			}
		}
		return line
	}
	send := func(args ...string) string {
		t.Helper()
		fmt.Fprintf(conn, "*%d\r\n", len(args))
		for _, a := range args {
			fmt.Fprintf(conn, "$%d\r\n%s\r\n", len(a), a)
		}
		return reply()
	}
	send("SUBSCRIBE", "ch")
	if got := send("MULTI"); !strings.HasPrefix(got, "-ERR") {
		t.Fatalf("MULTI in pub/sub mode: got %q, want an error", got)
	}
	send("UNSUBSCRIBE", "ch")
	clk.Advance(50 * time.Millisecond)
	if got := send("SET", "k", "v", "PX", "1000"); got != "+OK\r\n" {
		t.Fatalf("SET after UNSUBSCRIBE: got %q, want +OK", got)
	}
	if got, want := c.Do(ctx, "PEXPIRETIME", "k").Val(), ms.Add(1050*time.Millisecond).UnixMilli(); got != want {
		t.Errorf("PEXPIRETIME of SET PX 1000: got %v, want %d", got, want)
	}
}
