// Command migratectl operates a sessionmigrate migration, kubectl-style: it
// shows and changes the migration state that every application instance
// follows through the control plane in Redis (package migrate/control).
//
// # Commands
//
//	status                      desired state (stage, percent, epoch, who, why, when,
//	                            rollback), live instances and whether they converged,
//	                            the last consistency diff
//	instances                   live instances: applied stage/epoch, guard, error rate, p99
//	stage <name>                move to local, shadow, dual, ramp or complete
//	ramp <percent>              stage ramp at 0-100%, at most 2 decimals ("12.5", "12.5%")
//	rollback [--to <stage>]     roll back (default shadow) and latch until resume
//	resume                      end a rollback: restore the stage in effect before it
//	history [-n N]              newest N audited changes and job events (default 20), newest first
//	diff --reason R [--wait]    a full diff job: every instance compares its local sessions with
//	                            Redis, one scans Redis once for extras; becomes the last diff
//	backfill --reason R [--wait]  a backfill job: every instance copies what Redis lacks
//	repair --reason R [--wait]  a repair job: the diff's detection again, repairing what it confirms
//	                            (--from JOB, default the last diff; --kinds, default the kinds found)
//	jobs [-n N]                 the newest jobs; jobs show <id> [--wait]; jobs cancel <id>
//	preflight [--strict]        check Redis and the fleet before a migration: one pass/warn/fail
//	                            line per check (version, auth, TLS, eviction, memory, persistence,
//	                            replication/sentinel/cluster, latency, clock skew, salt)
//	finish --audit-file F       after complete, with no instance left running the toolkit: export
//	                            the audit, remove every sidecar, tombstone and control-plane key
//	route <session-id|->        bucket and owning store of one session; "-" reads stdin
//	config validate             check the configuration; -o yaml|json prints it redacted
//	version                     release, module and Go version
//
// Changes (stage, ramp, rollback, resume) need --reason, recorded in the
// audit log with --actor (default $USER@hostname), and accept --dry-run,
// which runs every check and shows current -> next without writing. stage,
// ramp and rollback accept --force, which overrides the guard rails, says
// so on stderr and is recorded in the history.
//
// # Jobs
//
// diff, backfill and repair request a job through the control plane; every
// live instance runs its part (the Migrator's JobRunner), one job of a kind
// at a time. Without --wait the command prints the job and returns; with
// --wait it follows the job to its end with progress on stderr (a bar on a
// terminal, a line at most every second otherwise, JSON lines with -o json
// or yaml), prints the job and its result, and exits with the job's status
// (below). Jobs take --rate (sessions per second per instance), --batch and
// --dry-run. An instance that leaves mid-job ends the job partial, naming
// it; "jobs cancel" ends one canceled; both keep what was done. A diff's
// report (--report FILE, --csv FILE) holds no session id, only redacted
// forms ("h:" and 12 hex digits, as route prints them).
//
// # Rules
//
// Stage order is enforced with control.CheckTransition: forward one stage at
// a time (local -> shadow -> dual -> ramp -> complete; ramp is entered from
// dual only), any backward move allowed, complete only from ramp 100% and
// only after a clean diff recorded since (until a diff exists migratectl
// refuses and says so), leaving complete never without --force. Forward moves
// are refused while the state is rolled back. A change is a compare-and-set
// against the epoch migratectl read: if anyone changed the state meanwhile,
// nothing is written and the command fails (exit 1), so no update is lost.
//
// # Exit codes
//
//	0  success, including a dry run that would succeed
//	1  error: Redis unreachable, corrupt state, concurrent change, timeout
//	2  usage: bad arguments, flags, input or configuration
//	3  refused by a guard rail: stage order, no clean diff, leaving complete,
//	   nothing to resume, advancing while an instance's guard is paused or
//	   tripped, a job of the same kind running
//	4  backfill or repair --wait: the job ended without finishing (an
//	   instance left, canceled, failed)
//
// diff --wait (and jobs show --wait of a diff) exits with a bitmask, as
// pt-table-checksum does: 0 for a clean diff of every instance, else 32
// plus a bit per kind found (1 missing, 2 stale, 4 extra, 8 data or
// unreadable, 16 expiry) plus 64 when the diff is partial (an instance
// left, canceled, failed). The codes so made, 33 to 127, never collide
// with 1 to 4, which keep their meanings (a diff that could not be
// requested or followed exits 1, 2 or 3).
//
// preflight exits 0 when no check failed (with --strict, when none warned
// either), else 16 plus a bit per area with a failure: 1 connection
// (reachable, version, authentication, TLS), 2 capacity (eviction policy,
// memory headroom, persistence), 4 topology (replication, sentinel,
// cluster, latency), 8 fleet (clock skew, salt). 17 to 31: apart from 1 to
// 4 and from the diff's 33 to 127. finish is refused (3) before complete,
// while rolled back, within control.drain_window, while a job runs or
// while any instance heartbeats.
//
// Errors are one line on stderr, "migratectl: <what is wrong>", naming the
// allowed values, the Redis address or the corrupt key; only a list of
// several configuration problems takes one line per problem.
//
// # Configuration
//
// Package config: defaults, then the YAML file (--config or
// MIGRATECTL_CONFIG; config/example.yaml documents every key), then
// MIGRATECTL_* environment variables, then flags. A key's variable is
// MIGRATECTL_ and the key with dots as underscores in upper case:
// redis.addrs is MIGRATECTL_REDIS_ADDRS (or MIGRATECTL_REDIS_ADDR) and
// --redis-addr. Global flags: --config, --redis-addr, --redis-username,
// --redis-password-file, --redis-db, --sentinel-master, --cluster, --tls,
// --tls-ca-file, --tls-cert-file, --tls-key-file, --tls-server-name,
// --tls-insecure-skip-verify, --prefix (control.prefix), -o/--output
// (cli.output), --actor (cli.actor), --timeout (cli.timeout, default 10s).
// The password comes from MIGRATECTL_REDIS_PASSWORD or the password file,
// never from a flag. Redis is dialed once with redis.dial_timeout (default
// 2s), so an unreachable Redis fails fast.
//
// # Machine-readable output
//
// -o json and -o yaml print the same documents with the same field names
// (fields may be added, never renamed or removed):
//
//	state (status.state, change from/to, history state/prev):
//	    stage, percent, epoch, actor, reason, time (null if never written),
//	    tripped, rollback (null, or: automatic, signal, reason, evidence,
//	    instance, from_stage, from_percent, at)
//	status:     state, instances, instances_converged, converged,
//	            last_diff (null, or: at, epoch, clean, checked, missing,
//	            mismatched, extra, instances, actor, kinds, job, stage,
//	            percent, partial, incomplete, participants), last_diff_error,
//	            repair_backlog, async_dropped, jobs_running
//	instances:  epoch, instances: [id, host, version, stage, percent, epoch,
//	            converged, local_sessions, dist_error_rate, dist_p99_seconds,
//	            guard_tripped, guard_paused, guard_reason, last_state_error,
//	            last_seen, unsynced, async_dropped, last_diff_job, in_redis,
//	            diff_checked]
//	stage, ramp, rollback, resume:
//	            command, dry_run, changed, from, to
//	history:    entries: [id, at, kind, epoch, state, prev, force, job, problem]
//	job (jobs show, --wait): id, kind, status, actor, reason, created,
//	            params, stage, percent, epoch, participants, phase, parts:
//	            [instance, phase, done, total, error, updated], ended,
//	            ended_by, message, left, cancel, result (the diff report,
//	            backfill or repair report), exit_code
//	diff, backfill, repair without --wait: dry_run, requested, job, kind,
//	            participants
//	jobs:       jobs: [job]
//	route:      session, bucket, cut, stage, percent, epoch, tripped,
//	            reads_from, writes_to
//	preflight:  checks: [name, area, result (pass, warn, fail, skip), detail],
//	            pass, warn, fail, skip, strict, exit_code
//	finish:     dry_run, reason, audit_file, audit_entries, sidecars
//	            (records, tombstones, other, removed, scanned), control_keys,
//	            control_keys_removed
//	version:    version, module, module_version, go_version, revision,
//	            revision_time, modified
//	config validate: the configuration itself, password redacted
//
// # Secrets
//
// A session id is a bearer credential: route never prints it, nor puts it in
// an error. It shows "session: h:" and the first 12 hex digits of
// HMAC-SHA256 keyed with migration.salt instead. Prefer "route -" with the
// id on stdin, which keeps it out of shell history and process listings.
package main
