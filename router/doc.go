// Package router turns a stage of the migration into a store.Store over two
// stores: local (the process's own, memstore) and distributed (Redis,
// redisstore). migrate.Migrator builds one router per stage and swaps them
// atomically; this package knows nothing of flags, guards or metrics.
//
// # Files
//
//	core.go      Config, Core (the state every stage shares) and Observer,
//	             Comparer: the two callbacks a Core makes
//	hlc.go       the version clock: a hybrid logical clock
//	writes.go    write helpers several stages share: stamp, setBoth,
//	             deleteBoth, deleteAsync, lazyCopy, Copyable
//	reads.go     readLocal and fetch: a local miss answered from the
//	             distributed store, and installed locally
//	local.go     stage local      shadow.go  stage shadow
//	dual.go      stage dual       ramp.go    stage ramp (routedGet)
//	complete.go  stage complete
//	tracker.go   the unsynced set: sessions the distributed store may lack
//	writer.go    the async writer, the repair loop and reconciliation
//	forget.go    ForgetLocal, for leaving complete
//	bucket.go, hasher.go  the pinned routing hash and the cut of a percentage
//
// # What Core owns
//
// A Core holds what must survive a stage change: the version clock, the
// unsynced set and the writer goroutines that drain it. Routers are small
// values over a Core (a stage change allocates nothing else), so a request
// in flight finishes on the router it started with while the next request
// sees the new stage, and nothing the old stage left to do is lost. Close
// stops the writer after draining its queues.
//
// # Versions
//
// Every write gets a version from a hybrid logical clock (hlc.go): wall-clock
// microseconds with a logical counter, advanced past every version the Core
// reads from either store. Versions therefore order writes across instances
// and restarts: a write made after reading a session, on any instance, is
// above the version it read, however skewed the clocks. Request-path writes
// to the distributed store are made with store.LatestWriter, which stores
// them above whatever version is there (of the writes a client waits for,
// the one that arrives last wins, as with a plain Redis SET), and the
// writer's local copy is brought to that version. Each command it sends is
// a compare-and-set at the version it carries (another attempt follows
// above a version that refused it), so a write the router gave up on that
// reaches a slow Redis late does not overwrite a newer write or resurrect
// a deleted session, unless its writer's clock leads by more than the
// time between the two writes. Copies (async writes, repairs, lazy copies, backfill) are
// versioned compare-and-sets: they never replace a newer write or a
// tombstone.
//
// # A fleet
//
// Several instances share the distributed store, each with its own local
// store, and restart (a fresh local store) or see their users re-pinned to
// another instance. From shadow on, a local miss is answered from the
// distributed store unless this instance holds an unconfirmed delete of the
// session, and the copy is installed locally (reads.go). A session routed
// to the distributed store that it lacks but local still holds is asked
// about once more: when the distributed store reports a newer tombstone
// (store.TombstoneReader), another instance deleted it after a re-pin, so
// the local copy is deleted rather than served and copied (ramp.go). Reads
// served from local (dual, and ramp below the cut) cannot see another
// instance's write or delete on the request path; the dual comparison
// reports it as a mismatch. At complete, local is neither read nor written except for the
// sessions this instance still tracks as unsynced.
//
// # Callbacks
//
// A Core calls out through two interfaces set in Config, both on the request
// path, so both must be cheap and must not block:
//
//   - Observer (the Migrator's metrics) is told of fallbacks, lazy copies,
//     read-throughs, async drops and results, failed synchronous writes and
//     unsynced-set overflows, from request goroutines and writer goroutines
//     alike.
//   - Comparer (consistency.Checker) is offered reads in shadow (sampled)
//     and dual (every local hit); it compares them off the request path and
//     may call back into the Core through MarkUnsynced or MarkDeleted (via
//     the Migrator) when a mismatch is confirmed.
//
// No callback is made while a Core lock is held.
package router
