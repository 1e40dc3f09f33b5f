package e2e

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionmigrate/sessionmigrate/internal/redistest"
	"github.com/sessionmigrate/sessionmigrate/internal/vuser"
)

// aclUser is the Redis user runbooks/security.md creates.
const aclUser = "sessionmigrate"

// aclRule returns the ACL SETUSER arguments of runbooks/security.md (the
// line in its "sh acl" block), with password in place of CHANGE-ME.
func aclRule(t *testing.T, password string) []string {
	t.Helper()
	f, err := os.Open(filepath.Join(runbookDir, "security.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "```sh acl":
			in = true
		case in && line == "```":
			in = false
		case in:
			_, rule, ok := strings.Cut(line, "ACL SETUSER ")
			if !ok {
				continue
			}
			var args []string
			for _, w := range strings.Fields(rule) {
				w = strings.Trim(w, "'")
				if w == ">CHANGE-ME" {
					w = ">" + password
				}
				args = append(args, w)
			}
			if len(args) < 2 || args[0] != aclUser {
				t.Fatalf("security.md: the ACL line sets up %q, want user %s", args, aclUser)
			}
			return args
		}
	}
	t.Fatal("security.md has no ACL SETUSER line in a ```sh acl block")
	return nil
}

// TestTLSACLMigration runs a migration from local to complete and finish
// over mutual TLS, with the instances and migratectl authenticated as the
// ACL user of runbooks/security.md, under load; Redis must deny none of
// their commands (ACL LOG), the user must be denied everything else, and
// preflight must pass the auth and TLS checks.
func TestTLSACLMigration(t *testing.T) {
	skipShort(t)
	ctx := context.Background()
	srv, files := redistest.StartTLSServer(t)
	const password, adminPassword = "toolkit-secret-1", "admin-secret-1"
	setup := redis.NewClient(&redis.Options{Addr: srv.Addr})
	if err := setup.Do(ctx, append([]any{"ACL", "SETUSER"}, anySlice(aclRule(t, password))...)...).Err(); err != nil {
		t.Fatalf("the ACL line of security.md: %v", err)
	}
	if err := setup.Do(ctx, "ACL", "SETUSER", "default", "on", "resetpass", ">"+adminPassword).Err(); err != nil {
		t.Fatal(err)
	}
	setup.Close()
	admin := redis.NewClient(&redis.Options{Addr: srv.Addr, Password: adminPassword})
	t.Cleanup(func() { admin.Close() })

	dir := t.TempDir()
	pwFile := filepath.Join(dir, "password")
	if err := os.WriteFile(pwFile, []byte(password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	conn := []string{"--tls", "--tls-ca-file", files.CA, "--tls-cert-file", files.ClientCert, "--tls-key-file", files.ClientKey,
		"--redis-username", aclUser, "--redis-password-file", pwFile}
	insts := startInstances(t, 2, srv.TLSAddr, instanceConfig{RedisArgs: conn})
	op := operator{t: t, addr: srv.TLSAddr, args: conn}

	var pf struct {
		Checks []struct{ Name, Result, Detail string } `json:"checks"`
	}
	op.json(&pf, "preflight", "--pings", "5")
	for _, c := range pf.Checks {
		if (c.Name == "auth" || c.Name == "tls" || c.Name == "redis") && c.Result != "pass" {
			t.Errorf("preflight %s: got %s (%s), want pass", c.Name, c.Result, c.Detail)
		}
	}

	load := startLoad(t, insts, vuser.Config{})
	progress(t, load, usersPerStep, progressBound)
	for _, step := range [][]string{{"stage", "shadow"}, {"stage", "dual"}, {"backfill"}, {"ramp", "50"}, {"ramp", "100"}, {"diff"}, {"stage", "complete"}} {
		reason := fmt.Sprintf("e2e TLS/ACL: %v", step)
		if step[0] == "backfill" || step[0] == "diff" {
			if j := op.job(exitOK, step[0], "--wait", "--reason", reason); j.Status != "done" {
				t.Fatalf("%s: %s: %s", step[0], j.Status, j.Message)
			}
		} else {
			waitApplied(t, insts, op.change(append(step, "--reason", reason)...), applyBound)
		}
		progress(t, load, usersPerStep, progressBound)
	}
	res := load.Stop()
	checkClean(t, res)
	checkInRedis(t, admin, res)

	stopAll(t, insts)
	for _, in := range insts {
		in.killed = true // stopped above: their exit is expected
	}
	waitNoInstances(t, op)
	op.run("finish", "--reason", "e2e TLS/ACL", "--audit-file", filepath.Join(dir, "audit.json"))
	keys, err := admin.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if !strings.HasPrefix(k, "scs:session:") {
			t.Errorf("after finish: key %q is not an scs session", k)
		}
	}
	if len(keys) == 0 {
		t.Errorf("after finish: no session left in Redis")
	}

	// Nothing the toolkit did was denied (preflight's CONFIG GET is
	// expected: the user is not granted it, preflight says so).
	entries, err := admin.Do(ctx, "ACL", "LOG").Slice()
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if s := fmt.Sprint(e); !strings.Contains(s, "config|get") {
			t.Errorf("ACL LOG: the toolkit was denied: %s", s)
		}
	}
	// And the user can do nothing else.
	tc, err := files.ClientConfig()
	if err != nil {
		t.Fatal(err)
	}
	user := redis.NewClient(&redis.Options{Addr: srv.TLSAddr, TLSConfig: tc, Username: aclUser, Password: password, MaxRetries: -1})
	defer user.Close()
	for _, cmd := range [][]any{{"SET", "other:key", "x"}, {"GET", "other:key"}, {"FLUSHALL"}, {"KEYS", "*"}, {"CONFIG", "SET", "maxmemory", "1"}, {"ACL", "WHOAMI"}} {
		err := user.Do(ctx, cmd...).Err()
		if err == nil || !strings.Contains(err.Error(), "NOPERM") {
			t.Errorf("%v as %s: got %v, want NOPERM", cmd, aclUser, err)
		}
	}
}

// waitNoInstances waits until migratectl lists no live instance.
func waitNoInstances(t *testing.T, op operator) {
	t.Helper()
	for range 100 {
		var v struct {
			Instances []ctlInstance `json:"instances"`
		}
		op.json(&v, "instances")
		if len(v.Instances) == 0 {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("instances still listed after they stopped")
}

func anySlice(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}
