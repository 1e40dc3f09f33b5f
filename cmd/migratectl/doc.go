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
//	history [-n N]              newest N audited changes (default 20), newest first
//	route <session-id|->        bucket and owning store of one session; "-" reads stdin
//	config validate             check the configuration; -o yaml|json prints it redacted
//	version                     release, module and Go version
//
// Changes (stage, ramp, rollback, resume) need --reason, recorded in the
// audit log with --actor (default $USER@hostname), and accept --dry-run,
// which runs every check and shows current -> next without writing. stage,
// ramp and rollback accept --force, which overrides the guard rails and
// says so on stderr.
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
//	   tripped
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
//	            mismatched, extra, instances, actor), last_diff_error
//	instances:  epoch, instances: [id, host, version, stage, percent, epoch,
//	            converged, local_sessions, dist_error_rate, dist_p99_seconds,
//	            guard_tripped, guard_paused, guard_reason, last_state_error,
//	            last_seen]
//	stage, ramp, rollback, resume:
//	            command, dry_run, changed, from, to
//	history:    entries: [id, at, kind, epoch, state, prev, problem]
//	route:      session, bucket, cut, stage, percent, epoch, tripped,
//	            reads_from, writes_to
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
