package main

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// preflighter runs the checks of one preflight.
type preflighter struct {
	a    *app
	opts preflightOptions
	out  []checkResult
	// info holds INFO of each master (one for standalone and sentinel).
	info []map[string]string
}

func newPreflight(a *app, opts preflightOptions) *preflighter {
	return &preflighter{a: a, opts: opts}
}

func (p *preflighter) add(name, area, result, format string, args ...any) {
	p.out = append(p.out, checkResult{Name: name, Area: area, Result: result, Detail: fmt.Sprintf(format, args...)})
}

// run runs every check in order; when Redis cannot be reached or read, the
// checks that need it are skipped.
func (p *preflighter) run(ctx context.Context) []checkResult {
	if !p.reach(ctx) {
		for _, c := range []struct{ name, area string }{
			{"auth", areaConnection}, {"tls", areaConnection}, {"eviction", areaCapacity}, {"memory", areaCapacity},
			{"persistence", areaCapacity}, {"replication", areaTopology}, {"latency", areaTopology},
			{"clock", areaFleet}, {"salt", areaFleet},
		} {
			p.add(c.name, c.area, checkSkip, "not checked: Redis could not be read")
		}
		return p.out
	}
	p.auth(ctx)
	p.tls()
	p.eviction()
	p.memory(ctx)
	p.persistence(ctx)
	p.topology(ctx)
	p.latency(ctx)
	p.fleet(ctx)
	return p.out
}

// minVersion is the oldest Redis the toolkit runs on (PEXPIRETIME,
// EVALSHA_RO, SET with NX and GET together).
var minVersion = [2]int{7, 0}

// reach connects, reads INFO of every master and checks the version.
func (p *preflighter) reach(ctx context.Context) bool {
	target := p.a.redisTarget()
	if _, err := p.a.connect(ctx); err != nil {
		p.add("redis", areaConnection, checkFail, "%v", strings.TrimPrefix(err.Error(), "migratectl: "))
		return false
	}
	infos, err := masterInfos(ctx, p.a.rdb)
	if err != nil {
		p.add("redis", areaConnection, checkFail, "%s answers PING but INFO failed: %v (the toolkit's ACL user needs +info)", target, err)
		return false
	}
	p.info = infos
	var versions []string
	old := ""
	for _, in := range infos {
		v := in["redis_version"]
		versions = append(versions, v)
		if !versionAtLeast(v, minVersion) {
			old = v
		}
	}
	slices.Sort(versions)
	versions = slices.Compact(versions)
	if old != "" {
		p.add("redis", areaConnection, checkFail, "%s runs Redis %s: 7.0 or later is needed (PEXPIRETIME, EVALSHA_RO, SET NX GET)", target, old)
		return true
	}
	p.add("redis", areaConnection, checkPass, "%s answers; Redis %s (7.0 or later needed)", target, strings.Join(versions, ", "))
	return true
}

// masterInfos returns INFO of each master: every master of a cluster, the
// one server otherwise.
func masterInfos(ctx context.Context, rdb redis.UniversalClient) ([]map[string]string, error) {
	if cc, ok := rdb.(*redis.ClusterClient); ok {
		var (
			mu    sync.Mutex
			infos []map[string]string
		)
		err := cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
			s, err := c.Info(ctx).Result()
			if err == nil {
				mu.Lock()
				infos = append(infos, parseInfo(s))
				mu.Unlock()
			}
			return err
		})
		return infos, err
	}
	s, err := rdb.Info(ctx).Result()
	if err != nil {
		return nil, err
	}
	return []map[string]string{parseInfo(s)}, nil
}

// parseInfo parses INFO's "key:value" lines.
func parseInfo(s string) map[string]string {
	out := map[string]string{}
	for _, line := range strings.Split(s, "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), ":"); ok && !strings.HasPrefix(k, "#") {
			out[k] = v
		}
	}
	return out
}

// versionAtLeast reports whether the dotted version v is at least min.
func versionAtLeast(v string, min [2]int) bool {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return false
	}
	major, err1 := strconv.Atoi(parts[0])
	minor, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil {
		return false
	}
	return major > min[0] || major == min[0] && minor >= min[1]
}

// auth checks that Redis demands credentials: configured ones, and none
// accepted without them.
func (p *preflighter) auth(ctx context.Context) {
	opts, err := p.a.cfg.RedisOptions()
	if err != nil {
		p.add("auth", areaConnection, checkFail, "%v", err)
		return
	}
	user := opts.Username
	if user == "" {
		user = "default"
	}
	if opts.Password == "" {
		p.add("auth", areaConnection, checkWarn, "no password configured (user %s): anyone who reaches Redis reads every session; set up an ACL user (runbooks/security.md)", user)
		return
	}
	if p.a.cfg.Redis.MasterName != "" {
		p.add("auth", areaConnection, checkPass, "authenticated as %s", user)
		return
	}
	// The same address, TLS and timeouts, no credentials.
	anon := redis.NewClient(&redis.Options{Addr: opts.Addrs[0], TLSConfig: opts.TLSConfig, DialTimeout: opts.DialTimeout,
		ReadTimeout: opts.ReadTimeout, MaxRetries: -1, DialerRetries: 1, ContextTimeoutEnabled: true})
	defer anon.Close()
	if err := anon.Ping(ctx).Err(); err == nil {
		p.add("auth", areaConnection, checkWarn, "authenticated as %s, but %s also answers clients without a password (the default user is nopass)", user, opts.Addrs[0])
		return
	}
	p.add("auth", areaConnection, checkPass, "authenticated as %s; clients without credentials are refused", user)
}

// tls checks that session data does not cross a network in clear text.
func (p *preflighter) tls() {
	r := p.a.cfg.Redis
	switch {
	case r.TLS.Enabled && r.TLS.InsecureSkipVerify:
		p.add("tls", areaConnection, checkWarn, "TLS on, but the server certificate is not verified (tls.insecure_skip_verify)")
	case r.TLS.Enabled:
		p.add("tls", areaConnection, checkPass, "TLS on, server certificate verified")
	case allLoopback(r.Addrs):
		p.add("tls", areaConnection, checkPass, "TLS off; every address is loopback")
	default:
		p.add("tls", areaConnection, checkWarn, "TLS off: session ids (bearer credentials) and data cross the network in clear text (--tls, redis.tls.enabled)")
	}
}

// allLoopback reports whether every address is a loopback IP or localhost.
func allLoopback(addrs []string) bool {
	for _, a := range addrs {
		host, _, err := net.SplitHostPort(a)
		if err != nil {
			host = a
		}
		if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return false
		}
	}
	return len(addrs) > 0
}

// eviction checks the eviction policy of every master. Every key the
// toolkit writes has an expiry, so volatile-* policies evict sessions as
// surely as allkeys-* ones; only noeviction (writes fail when full, the
// guard rolls back, local still serves) or no memory limit keeps them.
func (p *preflighter) eviction() {
	for _, in := range p.info {
		policy, max := in["maxmemory_policy"], in["maxmemory"]
		if policy != "noeviction" && max != "0" && max != "" {
			p.add("eviction", areaCapacity, checkFail, "maxmemory-policy %s with maxmemory %s evicts live sessions and their sidecars (users logged out, deleted sessions back): set noeviction", policy, human(max))
			return
		}
	}
	policy := p.info[0]["maxmemory_policy"]
	if p.info[0]["maxmemory"] == "0" {
		p.add("eviction", areaCapacity, checkPass, "maxmemory-policy %s, no maxmemory: nothing is evicted", policy)
		return
	}
	p.add("eviction", areaCapacity, checkPass, "maxmemory-policy noeviction: a full Redis refuses writes (the guard rolls back) instead of evicting sessions")
}

// human formats a byte count from INFO.
func human(s string) string {
	n, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return s
	}
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	i := 0
	for n >= 1024 && i < len(units)-1 {
		n /= 1024
		i++
	}
	return strconv.FormatFloat(n, 'f', 1, 64) + " " + units[i]
}

// persistence warns when Redis keeps nothing across a restart.
func (p *preflighter) persistence(ctx context.Context) {
	in := p.info[0]
	if in["aof_enabled"] == "1" {
		p.add("persistence", areaCapacity, checkPass, "AOF on")
		return
	}
	save, err := p.a.rdb.ConfigGet(ctx, "save").Result()
	switch {
	case err != nil:
		p.add("persistence", areaCapacity, checkWarn, "AOF off; RDB snapshots unknown (CONFIG GET save: %v)", err)
	case strings.TrimSpace(save["save"]) == "":
		p.add("persistence", areaCapacity, checkWarn, "no persistence (AOF off, no RDB save points): a restart of Redis loses every session in it, which after complete logs everyone out")
	default:
		p.add("persistence", areaCapacity, checkPass, "RDB save points %q (a crash loses the writes since the last snapshot)", save["save"])
	}
}

// latency times round trips against the guard's latency threshold.
func (p *preflighter) latency(ctx context.Context) {
	limit := p.a.cfg.Guard.LatencyThreshold
	var took []time.Duration
	for range p.opts.pings {
		start := time.Now()
		if err := p.a.rdb.Ping(ctx).Err(); err != nil {
			p.add("latency", areaTopology, checkFail, "PING failed: %v", err)
			return
		}
		took = append(took, time.Since(start))
	}
	slices.Sort(took)
	p99 := took[min(len(took)-1, len(took)*99/100)]
	detail := fmt.Sprintf("p99 %s over %d round trips; the guard's threshold is %s", p99.Round(10*time.Microsecond), len(took), limit)
	switch {
	case p99 >= limit:
		p.add("latency", areaTopology, checkFail, "%s: the guard would roll back", detail)
	case p99 >= limit/2:
		p.add("latency", areaTopology, checkWarn, "%s: little room left", detail)
	default:
		p.add("latency", areaTopology, checkPass, "%s", detail)
	}
}
