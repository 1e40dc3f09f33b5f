package main

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionmigrate/sessionmigrate/migrate/control"
	"github.com/sessionmigrate/sessionmigrate/redact"
	"github.com/sessionmigrate/sessionmigrate/store"
	"github.com/sessionmigrate/sessionmigrate/store/redisstore"
)

// sessionOverheadBytes is what Redis spends on one session besides its
// data: the data key (about 290 B for a 43-character scs token) and the
// sidecar (about 214 B), as measured in the README's benchmarks.
const sessionOverheadBytes = 512

// defaultSessionBytes is the mean session size assumed when nothing
// measures it.
const defaultSessionBytes = 1024

// sampleSessions is how many sessions already in Redis the memory check
// reads to measure their mean size.
const sampleSessions = 100

// memory checks that Redis has room for the sessions the live instances
// hold locally: count × (mean size + overhead), against maxmemory (or the
// host's memory without one) less what Redis already uses, on the fullest
// master.
func (p *preflighter) memory(ctx context.Context) {
	hbs, err := p.a.ctl.Instances(ctx)
	if err != nil {
		p.add("memory", areaCapacity, checkWarn, "cannot list the instances: %v", err)
		return
	}
	if len(hbs) == 0 {
		p.add("memory", areaCapacity, checkWarn, "no live instance: the sessions to migrate are unknown (start the instances at stage local first; they heartbeat)")
		return
	}
	var count int64
	for _, hb := range hbs {
		count += int64(hb.LocalSessions)
	}
	size, how := int64(p.opts.sessionBytes), "--session-bytes"
	if size == 0 {
		size, how = p.sampleSize(ctx)
	}
	need := count * (size + sessionOverheadBytes) / int64(len(p.info))
	var free int64 = -1
	limitBy := "maxmemory"
	for _, in := range p.info {
		used, _ := strconv.ParseInt(in["used_memory"], 10, 64)
		limit, _ := strconv.ParseInt(in["maxmemory"], 10, 64)
		if limit == 0 {
			limit, _ = strconv.ParseInt(in["total_system_memory"], 10, 64)
			limitBy = "the host's memory (no maxmemory)"
		}
		if f := limit - used; free < 0 || f < free {
			free = f
		}
	}
	detail := fmt.Sprintf("%d sessions on %d instances × (%d B %s + %d B overhead) = %s per master; %s free under %s",
		count, len(hbs), size, how, sessionOverheadBytes, human(strconv.FormatInt(need, 10)), human(strconv.FormatInt(max(free, 0), 10)), limitBy)
	switch {
	case need > free:
		p.add("memory", areaCapacity, checkFail, "%s: not enough", detail)
	case need*5 > free*4:
		p.add("memory", areaCapacity, checkWarn, "%s: less than 20%% to spare", detail)
	default:
		p.add("memory", areaCapacity, checkPass, "%s", detail)
	}
}

// sampleSize measures the mean data size of up to sampleSessions sessions
// already in Redis, or returns the default and says so.
func (p *preflighter) sampleSize(ctx context.Context) (int64, string) {
	rs := redisstore.New(p.a.rdb, p.a.cfg.StoreOptions())
	var ids []string
	err := rs.ScanIDs(ctx, func(page []string) error {
		ids = append(ids, page[:min(len(page), sampleSessions-len(ids))]...)
		if len(ids) >= sampleSessions {
			return store.ErrStopScan
		}
		return nil
	})
	var total, n int64
	for _, id := range ids {
		if err != nil {
			break
		}
		var rec store.Record
		var found bool
		if rec, found, err = rs.Get(ctx, id); found {
			total += int64(len(rec.Data))
			n++
		}
	}
	if err != nil || n == 0 {
		return defaultSessionBytes, "assumed (no session in Redis to measure; give --session-bytes)"
	}
	return total / n, fmt.Sprintf("measured on %d sessions in Redis", n)
}

// topology checks replication, and the sentinels or the cluster when the
// configuration uses them.
func (p *preflighter) topology(ctx context.Context) {
	r := p.a.cfg.Redis
	switch {
	case r.Cluster:
		p.cluster(ctx)
		return
	case r.MasterName != "":
		p.sentinel(ctx)
	}
	in := p.info[0]
	if in["role"] != "master" {
		p.add("replication", areaTopology, checkFail, "%s is a %s: the toolkit must write to the master", p.a.redisTarget(), in["role"])
		return
	}
	n, _ := strconv.Atoi(in["connected_slaves"])
	var bad []string
	for i := range n {
		fields := parseFields(in[fmt.Sprintf("slave%d", i)])
		if fields["state"] != "online" {
			bad = append(bad, fmt.Sprintf("replica %s:%s is %s", fields["ip"], fields["port"], fields["state"]))
		} else if lag, _ := strconv.Atoi(fields["lag"]); lag > 10 {
			bad = append(bad, fmt.Sprintf("replica %s:%s lags %ds", fields["ip"], fields["port"], lag))
		}
	}
	switch {
	case n == 0:
		p.add("replication", areaTopology, checkWarn, "no replica: if this Redis is lost, the sessions in it are lost (after complete, everyone is logged out)")
	case len(bad) > 0:
		p.add("replication", areaTopology, checkFail, "%s", strings.Join(bad, "; "))
	default:
		p.add("replication", areaTopology, checkPass, "master with %d replica(s) online; replication is asynchronous: after a failover run a diff and a repair (runbooks/incidents/sentinel-failover.md)", n)
	}
}

// parseFields parses INFO's "k=v,k=v" values.
func parseFields(s string) map[string]string {
	out := map[string]string{}
	for _, kv := range strings.Split(s, ",") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			out[k] = v
		}
	}
	return out
}

// sentinel asks every sentinel about the master and its quorum.
func (p *preflighter) sentinel(ctx context.Context) {
	opts, err := p.a.cfg.RedisOptions()
	if err != nil {
		p.add("sentinel", areaTopology, checkFail, "%v", err)
		return
	}
	name := p.a.cfg.Redis.MasterName
	var problems []string
	agree := 0
	for _, addr := range opts.Addrs {
		sc := redis.NewSentinelClient(&redis.Options{Addr: addr, Username: opts.SentinelUsername, Password: opts.SentinelPassword,
			TLSConfig: opts.TLSConfig, DialTimeout: opts.DialTimeout, MaxRetries: -1, ContextTimeoutEnabled: true})
		m, err := sc.Master(ctx, name).Result()
		if err == nil {
			err = sc.CkQuorum(ctx, name).Err()
		}
		sc.Close()
		switch {
		case err != nil:
			problems = append(problems, fmt.Sprintf("sentinel %s: %v", addr, err))
		case strings.Contains(m["flags"], "down"):
			problems = append(problems, fmt.Sprintf("sentinel %s sees master %q as %s", addr, name, m["flags"]))
		default:
			agree++
		}
	}
	switch {
	case len(problems) > 0:
		p.add("sentinel", areaTopology, checkFail, "%s", strings.Join(problems, "; "))
	case agree < 3:
		p.add("sentinel", areaTopology, checkWarn, "%d sentinel(s) see master %q up with a quorum; fewer than 3 cannot fail over safely when one is lost", agree, name)
	default:
		p.add("sentinel", areaTopology, checkPass, "%d sentinels see master %q up with a quorum", agree, name)
	}
}

// cluster checks the cluster's state and that every master has a replica.
func (p *preflighter) cluster(ctx context.Context) {
	cc, ok := p.a.rdb.(*redis.ClusterClient)
	if !ok {
		p.add("cluster", areaTopology, checkFail, "not a cluster client")
		return
	}
	info, err := cc.ClusterInfo(ctx).Result()
	if err != nil {
		p.add("cluster", areaTopology, checkFail, "CLUSTER INFO: %v (the toolkit's ACL user needs +cluster|info)", err)
		return
	}
	ci := parseInfo(info)
	if ci["cluster_state"] != "ok" || ci["cluster_slots_assigned"] != "16384" || ci["cluster_slots_fail"] != "0" {
		p.add("cluster", areaTopology, checkFail, "cluster_state %s, %s of 16384 slots assigned, %s failed, %s possibly failing",
			ci["cluster_state"], ci["cluster_slots_assigned"], ci["cluster_slots_fail"], ci["cluster_slots_pfail"])
		return
	}
	nodes, err := cc.ClusterNodes(ctx).Result()
	if err != nil {
		p.add("cluster", areaTopology, checkWarn, "state ok; CLUSTER NODES: %v", err)
		return
	}
	masters, replicated := map[string]bool{}, map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(nodes), "\n") {
		f := strings.Fields(line)
		if len(f) < 4 || strings.Contains(f[2], "fail") {
			continue
		}
		if strings.Contains(f[2], "master") {
			masters[f[0]] = true
		} else if strings.Contains(f[2], "slave") {
			replicated[f[3]] = true
		}
	}
	bare := 0
	for id := range masters {
		if !replicated[id] {
			bare++
		}
	}
	if bare > 0 {
		p.add("cluster", areaTopology, checkWarn, "state ok, 16384 slots on %d masters; %d without a replica (losing one loses its sessions)", len(masters), bare)
		return
	}
	p.add("cluster", areaTopology, checkPass, "state ok, 16384 slots on %d masters, each with a replica", len(masters))
}

// Clock skew bounds: instances decide expiry by their own clocks.
const (
	clockWarn = 100 * time.Millisecond
	clockFail = time.Second
)

// fleet checks the live instances' clocks against Redis's and their salts
// against each other and migratectl's.
func (p *preflighter) fleet(ctx context.Context) {
	offs, err := p.a.ctl.ClockOffsets(ctx)
	switch {
	case err != nil:
		p.add("clock", areaFleet, checkWarn, "cannot read the instances' clocks: %v", err)
	case len(offs) == 0:
		p.add("clock", areaFleet, checkWarn, "no live instance to check")
	default:
		worst := slices.MaxFunc(offs, func(a, b control.ClockOffset) int { return cmp.Compare(abs(a.Offset), abs(b.Offset)) })
		detail := fmt.Sprintf("%d instances; the farthest from Redis's clock: %s at %+dms", len(offs), clean(worst.Instance), worst.Offset.Milliseconds())
		switch off := abs(worst.Offset); {
		case off > clockFail:
			p.add("clock", areaFleet, checkFail, "%s: instances disagree on when sessions expire; fix NTP", detail)
		case off > clockWarn:
			p.add("clock", areaFleet, checkWarn, "%s (more than %s)", detail, clockWarn)
		default:
			p.add("clock", areaFleet, checkPass, "%s (within %s)", detail, clockWarn)
		}
	}
	hbs, err := p.a.ctl.Instances(ctx)
	if err != nil || len(hbs) == 0 {
		p.add("salt", areaFleet, checkWarn, "no live instance to check")
		return
	}
	mine := redact.SaltID(p.a.cfg.Migration.Salt)
	bySalt := map[string][]string{}
	for _, hb := range hbs {
		id := hb.SaltID
		if id == "" {
			id = "unknown"
		}
		bySalt[id] = append(bySalt[id], clean(hb.InstanceID))
	}
	switch {
	case len(bySalt) > 1:
		var groups []string
		for id, ins := range bySalt {
			groups = append(groups, fmt.Sprintf("%s: %s", id, strings.Join(ins, ", ")))
		}
		slices.Sort(groups)
		p.add("salt", areaFleet, checkFail, "instances route with different salts (a session would be read from different stores): %s", strings.Join(groups, "; "))
	case bySalt["unknown"] != nil:
		p.add("salt", areaFleet, checkWarn, "%d instances report no salt id (a release before preflight)", len(hbs))
	case bySalt[mine] == nil:
		p.add("salt", areaFleet, checkWarn, "the %d instances agree, but migratectl's migration.salt differs: route and redacted ids printed here will not match theirs", len(hbs))
	default:
		p.add("salt", areaFleet, checkPass, "%d instances and migratectl agree (salt id %s)", len(hbs), mine)
	}
}

func abs(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}
