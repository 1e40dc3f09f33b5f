package embedredis

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestMiniredisVersion: the command tables of commands.go describe
// miniredis v2.40.0. Another version may add or change commands that use
// the time; audit them, then update the version here.
func TestMiniredisVersion(t *testing.T) {
	mod, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(mod), "github.com/alicebob/miniredis/v2 v2.40.0\n") {
		t.Errorf("go.mod does not pin miniredis v2.40.0, which the tables were audited against: " +
			"audit commands.go (readsClock, the expiry setters, blocking) against the new version, then update this test")
	}
}

func TestPrepare(t *testing.T) {
	now := time.UnixMilli(1_000_000)
	tests := []struct {
		cmd        string
		args       []string
		want       string // the command as miniredis gets it
		needsClock bool
		due        []int64 // what due records
	}{
		{"GET", []string{"k"}, "GET k", false, nil},
		{"SET", []string{"k", "v"}, "SET k v", false, nil},
		{"SET", []string{"k", "v", "ex", "5"}, "SET k v PXAT 1005000", false, []int64{1_005_000}},
		{"SET", []string{"k", "v", "NX", "PX", "250", "GET"}, "SET k v NX PXAT 1000250 GET", false, []int64{1_000_250}},
		{"SET", []string{"k", "v", "PXAT", "2000000"}, "SET k v PXAT 2000000", false, []int64{2_000_000}},
		{"SET", []string{"k", "v", "EXAT", "2000"}, "SET k v PXAT 2000000", false, []int64{2_000_000}},
		{"SET", []string{"k", "v", "PXAT", "1000000"}, "SET k v PXAT 1", false, nil},       // due now: gone at once
		{"SET", []string{"k", "v", "PXAT", "999999"}, "SET k v PXAT 1", false, nil},        // past
		{"SET", []string{"k", "v", "PX", "0"}, "SET k v PX 0", false, nil},                 // miniredis refuses
		{"SET", []string{"k", "v", "PX", "x"}, "SET k v PX x", false, nil},                 // miniredis refuses
		{"SET", []string{"k", "v", "PX", "5", "EX", "5"}, "SET k v PX 5 EX 5", false, nil}, // miniredis refuses
		{"SET", []string{"k", "v", "BOGUS", "PX", "5"}, "SET k v BOGUS PX 5", false, nil},  // miniredis refuses
		{"GETEX", []string{"k", "EX", "1"}, "GETEX k PXAT 1001000", false, []int64{1_001_000}},
		{"GETEX", []string{"k", "PERSIST"}, "GETEX k PERSIST", false, nil},
		{"SETEX", []string{"k", "2", "v"}, "SET k v PXAT 1002000", false, []int64{1_002_000}},
		{"PSETEX", []string{"k", "2", "v"}, "SET k v PXAT 1000002", false, []int64{1_000_002}},
		{"SETEX", []string{"k", "0", "v"}, "SETEX k 0 v", false, nil},
		{"EXPIRE", []string{"k", "3", "GT"}, "PEXPIREAT k 1003000 GT", false, []int64{1_003_000}},
		{"EXPIRE", []string{"k", "-3"}, "PEXPIREAT k 1", false, nil},
		{"PEXPIRE", []string{"k", "3"}, "PEXPIREAT k 1000003", false, []int64{1_000_003}},
		{"EXPIREAT", []string{"k", "1001"}, "PEXPIREAT k 1001000", false, []int64{1_001_000}},
		{"PEXPIREAT", []string{"k", "10"}, "PEXPIREAT k 1", false, nil},
		{"PTTL", []string{"k"}, "PTTL k", true, nil},
		{"TIME", nil, "TIME", true, nil},
		{"XADD", []string{"s", "*", "f", "v"}, "XADD s * f v", true, nil},
		{"RESTORE", []string{"k", "500", "payload"}, "RESTORE k 500 payload", true, []int64{1_000_500}},
		{"RESTORE", []string{"k", "2000000", "payload", "ABSTTL"}, "RESTORE k 2000000 payload ABSTTL", true, []int64{2_000_000}},
		{"EVALSHA", []string{"0000000000000000000000000000000000000000", "0"}, "EVALSHA 0000000000000000000000000000000000000000 0", true, nil},
	}
	for _, tt := range tests {
		name := tt.cmd + " " + fmt.Sprint(tt.args)
		t.Run(name, func(t *testing.T) {
			var c clock
			c.at, c.latest = now.Add(-time.Second), now
			c.dbs, c.scripts = map[int]bool{}, map[string]bool{}
			orig := slices.Clone(tt.args)
			cmd, args, _, needsClock := c.prepare(tt.cmd, tt.args)
			if got := fmt.Sprint(append([]string{cmd}, args...)); got != "["+tt.want+"]" {
				t.Errorf("got %s, want [%s]", got, tt.want)
			}
			if needsClock != tt.needsClock {
				t.Errorf("needsClock: got %v, want %v", needsClock, tt.needsClock)
			}
			if got := slices.Sorted(slices.Values(c.due)); fmt.Sprint(got) != fmt.Sprint(tt.due) && len(got)+len(tt.due) > 0 {
				t.Errorf("due: got %v, want %v", got, tt.due)
			}
			if !slices.Equal(tt.args, orig) {
				t.Errorf("prepare changed its argument slice: %v, was %v", tt.args, orig)
			}
		})
	}
}

func TestClassifyScript(t *testing.T) {
	tests := []struct {
		src       string
		readsTime bool
	}{
		{`return redis.call('GET', KEYS[1])`, false},
		{`return redis.pcall("SET", KEYS[1], ARGV[1], 'PX', ARGV[2])`, false}, // prepared at the call
		{`local v = redis.call('GET', KEYS[1]) return redis.sha1hex(v)`, false},
		{`return redis.error_reply('no') -- redis.log(redis.LOG_WARNING, 'x')`, false},
		{`return redis.call('TIME')`, true},
		{`return redis.call('pttl', KEYS[1])`, true},
		{`return redis.call('XADD', KEYS[1], '*', 'f', 'v')`, true},
		{`local c = ARGV[1] return redis.call(c, KEYS[1])`, true},     // a name the text does not show
		{`local call = redis.call return call('GET', KEYS[1])`, true}, // an alias
		{`return redis['call']('TIME')`, true},
		{`return _G['re' .. 'dis'].call('TIME')`, true},
		{`return load('return redis.call("TIME")')()`, true},
	}
	for _, tt := range tests {
		if got := classifyScript(tt.src); got != tt.readsTime {
			t.Errorf("%s: reads the time got %v, want %v", tt.src, got, tt.readsTime)
		}
	}
}
