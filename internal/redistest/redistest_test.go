package redistest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestFreePort(t *testing.T) {
	port, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	if port <= 0 || port > 65535 || port == 6379 {
		t.Fatalf("got port %d, want a valid port other than 6379", port)
	}
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		t.Fatalf("port %d is not bindable: %v", port, err)
	}
	l.Close()
}

func TestFreePortsDistinct(t *testing.T) {
	ports, err := freePorts(8)
	if err != nil {
		t.Fatal(err)
	}
	seen := make(map[int]bool)
	for _, p := range ports {
		if seen[p] {
			t.Fatalf("got port %d twice in %v, want distinct ports", p, ports)
		}
		seen[p] = true
	}
}

func TestBinaryMissing(t *testing.T) {
	t.Setenv("REDIS_SERVER", "")
	t.Setenv("PATH", t.TempDir())
	_, err := Binary()
	if err == nil {
		t.Fatal("got nil error with redis-server off PATH, want an error")
	}
	if got := err.Error(); !strings.Contains(got, "apt-get install redis-server") {
		t.Fatalf("got error %q, want it to say how to install redis-server", got)
	}
}

func TestServerLifecycle(t *testing.T) {
	ctx := testCtx(t)
	s := StartServer(t)
	if s.Port == 6379 {
		t.Fatal("server listens on 6379, the shared port")
	}
	c := s.Client(t)
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	cfg, err := c.ConfigGet(ctx, "save").Result()
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg["save"]; got != "" {
		t.Errorf("got save %q, want persistence off", got)
	}

	if err := s.Kill(); err != nil {
		t.Fatalf("kill: %v", err)
	}
	if s.Running() {
		t.Fatal("got Running true after Kill, want false")
	}
	if err := ping(s.Addr); err == nil {
		t.Fatal("server answers PING after Kill, want it gone")
	}
	if err := s.Kill(); err != nil {
		t.Fatalf("second kill: got %v, want nil", err)
	}

	if err := s.Restart(); err != nil {
		t.Fatalf("restart: %v", err)
	}
	if !s.Running() {
		t.Fatal("got Running false after Restart, want true")
	}
	// The same client reconnects to the same address; the data was not kept.
	if _, err := c.Get(ctx, "k").Result(); !errors.Is(err, redis.Nil) {
		t.Fatalf("GET after restart: got err %v, want redis.Nil", err)
	}

	dir := s.Dir
	if err := s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second close: got %v, want nil", err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("dir %s after Close: got stat err %v, want not exist", dir, err)
	}
	if err := s.Restart(); err == nil {
		t.Fatal("restart after Close: got nil, want an error")
	}
}

func TestServerExtraArgs(t *testing.T) {
	ctx := testCtx(t)
	s := StartServer(t, "--maxmemory", "7mb")
	cfg, err := s.Client(t).ConfigGet(ctx, "maxmemory").Result()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := cfg["maxmemory"], strconv.Itoa(7<<20); got != want {
		t.Fatalf("got maxmemory %s, want %s", got, want)
	}
}

func TestServerBadArgsQuoteLog(t *testing.T) {
	_, err := NewServer("--no-such-option", "1")
	if err == nil {
		t.Fatal("got nil error for an unknown option, want one")
	}
	if got := err.Error(); !strings.Contains(got, "no-such-option") {
		t.Fatalf("got error %q, want it to quote the server's complaint", got)
	}
}

func TestServerPortTakenAtRestart(t *testing.T) {
	s := StartServer(t)
	if err := s.Kill(); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", s.Addr)
	if err != nil {
		t.Skipf("could not take %s: %v", s.Addr, err)
	}
	defer l.Close()
	if err := s.Restart(); !errors.Is(err, errPortInUse) {
		t.Fatalf("restart on a taken port: got %v, want errPortInUse", err)
	}
}

func TestKillReachesProcessGroup(t *testing.T) {
	s := StartServer(t)
	s.mu.Lock()
	pid := s.proc.cmd.Process.Pid
	s.mu.Unlock()
	pgid, err := syscall.Getpgid(pid)
	if err != nil {
		t.Fatal(err)
	}
	if pgid != pid {
		t.Fatalf("got process group %d, want the server to lead its own group %d", pgid, pid)
	}
	if err := s.Kill(); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Fatalf("signal 0 to killed pid %d: got %v, want ESRCH", pid, err)
	}
}

func TestCluster(t *testing.T) {
	ctx := testCtx(t)
	start := time.Now()
	c := StartCluster(t)
	t.Logf("cluster healthy after %s", time.Since(start))
	if got := len(c.Addrs); got != clusterSize {
		t.Fatalf("got %d addrs, want %d", got, clusterSize)
	}
	client := c.Client(t)
	masters := make(map[string]bool)
	for i := range 300 {
		key := fmt.Sprintf("key:%d", i)
		if err := client.Set(ctx, key, i, 0).Err(); err != nil {
			t.Fatalf("SET %s: %v", key, err)
		}
		node, err := client.MasterForKey(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		masters[node.Options().Addr] = true
	}
	if len(masters) != clusterSize {
		t.Fatalf("keys landed on %d masters, want %d", len(masters), clusterSize)
	}
	if err := c.FlushAll(ctx); err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, s := range c.Servers {
		n, err := s.Client(t).DBSize(ctx).Result()
		if err != nil {
			t.Fatal(err)
		}
		total += n
	}
	if total != 0 {
		t.Fatalf("got %d keys after FlushAll, want 0", total)
	}

	// keySlot agrees with the server on hash-tag edge cases.
	for _, key := range []string{"foo", "{user1000}.following", "foo{}{bar}", "foo{{bar}}zap", "foo{bar}{zap}", "{}", "}{", "a{b"} {
		want, err := client.ClusterKeySlot(ctx, key).Result()
		if err != nil {
			t.Fatal(err)
		}
		if got := keySlot(key); int64(got) != want {
			t.Errorf("keySlot(%q): got %d, want %d (CLUSTER KEYSLOT)", key, got, want)
		}
	}

	// A killed node comes back with its slots.
	if err := c.Servers[1].Kill(); err != nil {
		t.Fatal(err)
	}
	if err := c.Servers[1].Restart(); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitHealthy(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestKeySlot(t *testing.T) {
	tests := []struct {
		key  string
		want int
	}{
		{"123456789", 0x31C3 % 16384}, // the CRC16-XMODEM check value
		{"foo", 12182},                // from the CLUSTER KEYSLOT documentation
		{"{user1000}.following", 3443},
		{"{user1000}.followers", 3443},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			if got := keySlot(tt.key); got != tt.want {
				t.Fatalf("keySlot(%q): got %d, want %d", tt.key, got, tt.want)
			}
		})
	}
}

func TestSentinel(t *testing.T) {
	ctx := testCtx(t)
	s := StartSentinel(t)
	if s.MasterName != MasterName {
		t.Fatalf("got master name %q, want %q", s.MasterName, MasterName)
	}
	c := s.Client(t)
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	got, err := s.Master.Client(t).Get(ctx, "k").Result()
	if err != nil {
		t.Fatal(err)
	}
	if got != "v" {
		t.Fatalf("master has %q, want %q written through the sentinel client", got, "v")
	}
}
