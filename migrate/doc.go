// Package migrate moves an application's sessions from a process-local store
// to a distributed one (Redis) while the application serves, with nobody
// logged out, no write lost, and a rollback that needs no deploy.
//
// The application replaces its session store with a [Migrator]: New wraps the
// local store (store/memstore) and the distributed store (store/redisstore)
// behind one store.Store, and routes every Get, Set and Delete by stage:
//
//	stage     reads                                 writes and deletes
//	local     local                                 local (deletes mirrored async)
//	shadow    local; a sample compared off-path     local sync; distributed async (bounded queue)
//	dual      local; every read compared off-path   local sync + distributed sync (DistTimeout)
//	ramp P%   bucket(id) < P: distributed, else local   both, sync
//	complete  distributed                           distributed only
//
// Until complete, every acknowledged write is in local, so a distributed
// failure never reaches the user: a read routed to the distributed store
// falls back to local when it fails, when the session has an unconfirmed
// distributed write (it is "unsynced": tracked and repaired in the
// background), or when the distributed copy is older than local. A session
// the distributed store lacks is copied there on first read (lazy copy), so
// raising the percentage logs nobody out; Backfill copies the rest ahead of
// time.
//
// Every write carries a version assigned here (a hybrid logical clock) and is
// applied to both stores as a compare-and-set; deletes leave tombstones until
// the session's expiry. An async write, a repair, a lazy copy or a backfill
// therefore never replaces a newer write and never brings a deleted session
// back, in whatever order they land.
//
// # Following the control plane
//
// With Options.Flags the Migrator follows the OpenFeature flags FlagStage,
// FlagPercent and FlagForce from any provider (the toolkit's own Redis
// provider in migrate/control, or LaunchDarkly, flagd, ...). It evaluates
// them on provider change events and by polling, never per request, and
// swaps routing atomically: requests in flight finish on the router they
// started with. A bad flag value keeps the last good state and is reported
// in State().FlagError.
//
// # What the Migrator refuses
//
// The Migrator protects its data whatever drives the flags: a flag file, a
// feature-flag service or an operator's typo. It refuses
//
//   - entering complete from anything but ramp 100%: complete stops
//     reading local, and before ramp 100 sessions that live only in local
//     (not yet read at a Redis-routed percentage, not backfilled) would be
//     lost;
//   - entering complete while a guard trip is latched: that would move
//     routing forward past the rollback;
//   - entering complete while the unsynced set has overflowed
//     (Options.MaxUnsynced): writes Redis may lack await the reconciliation
//     pass, and complete no longer reads local;
//   - leaving complete unless FlagForce is true: complete writes Redis only,
//     so local missed every write since; migratectl's --force writes the
//     state with FlagForce true, and history records it.
//
// A refused value keeps the routing in effect (and the epoch applied), sets
// State().FlagError, counts in sessionmigrate_flag_refused_total{reason} and
// is logged once. Every other move, forward or back, is allowed: every
// stage before complete keeps local whole and answers a local miss from
// Redis. The first good flag evaluation of a new Migrator is adopted as it
// is, so a restarted instance joins a fleet already at complete; a provider
// that is not ready when New returns delays that first evaluation, so set it
// up with SetProviderAndWait. SetStage applies the same rules and returns an
// error wrapping ErrRefused; ForceStage is SetStage with FlagForce true.
//
// After Close every operation returns ErrClosed.
//
// # The guard
//
// Each Migrator watches its own distributed-store operations (package guard):
// N consecutive failures trip it inline; a CUSUM per signal (error rate,
// slow operations, availability) trips it within a second or so; confirmed
// inconsistencies count too. A trip swaps routing at once to shadow (reads
// local, distributed writes async), records the evidence, publishes the
// rollback through Options.Publisher, and latches until Resume or an
// operator's resume reaches the flags (FlagEpoch past the rollback with
// FlagTripped false). A trip never moves routing forward: at local there is
// nothing to roll back, so it is only reported (a warning, rate-limited, and
// sessionmigrate_guard_local_trips_total) and the guard re-arms; nothing is
// latched or published. In complete a trip alerts but keeps routing.
//
// # Jobs
//
// Backfill, the full consistency diff and repair must run where the local
// sessions are, in every instance. [Migrator.StartJobs] starts a
// [JobRunner] that polls the control plane (migrate/control) for jobs
// naming this instance, runs its part (Backfill; the consistency package's
// passes over this Migrator's stores, repairing through a
// consistency.Repairer), reports progress and results, and takes its turn
// leading a job: the leader scans the distributed store for extras and
// ends the job, partial when a participant leaves mid-job (its heartbeat
// expires, or it restarted), canceled on request. A diff's result becomes
// the control plane's last diff, which gates complete. Heartbeats
// (HeartbeatCollector) carry this instance's part of the newest diff.
//
// # Observability
//
// Metrics (prefix sessionmigrate_) register on Options.Registerer; the
// AdminHandler serves them with a JSON status. Session ids never appear in
// logs, labels or status: they are credentials.
//
// # Configuration and lifecycle
//
// Every zero field of Options has a default, defined once beside the
// setting (the Default constants here, in router, consistency and guard).
// Package config maps the shared configuration file and SESSIONMIGRATE_*
// variables onto Options (config.LoadMigrator, Config.MigrateOptions) with
// the same defaults; this package imports no configuration library, so an
// application that builds Options in code links none.
//
// New registers its metrics only once everything they read exists, so a
// scrape may run at any moment; Close unregisters them, and a new Migrator
// may then register on the same Registerer. The injected logger, the flag
// provider and the Publisher are never called with a lock of the Migrator
// held: a log handler may call the Migrator back.
package migrate
