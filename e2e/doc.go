// Package e2e runs the migration the way production does: several
// sessionapp processes (examples/sessionapp) embedding the Migrator, real
// redis-server processes, migratectl driving the control plane, and faults
// injected between the applications and Redis (internal/faultproxy).
//
// The tests build sessionapp and migratectl once (TestMain), start instances
// as separate OS processes on loopback ports, and put them under load with a
// [Load]: virtual users pinned to one instance each, as a load balancer with
// sticky sessions would, who log in, read, increment, rotate and log out, and
// check every answer against what they were acknowledged. A migration is
// clean when the load reports no logout, no lost write, no resurrection and
// no failed request while stages change, instances roll back and resume.
//
// The scenarios:
//
//   - TestRollout: migratectl walks three instances through shadow, dual,
//     ramp 10, ramp 50, rollback and resume; every instance applies every
//     change, migratectl status shows it, history records each reason.
//   - TestPropagation: how long a migratectl write takes to be applied by
//     every instance (p50/p99/max; p99 must stay under 100 ms).
//   - TestPubSubCut: instances converge within the poll interval after their
//     pub/sub connections are killed.
//   - TestGuard: slow and dead session Redis behind a fault proxy; every
//     instance's guard trips, the rollback reaches the control plane, users
//     see nothing, migratectl resume restores the ramp.
//   - TestFullMigration: local to complete under load, then every live
//     session is readable from Redis with a plain GET (no lock-in).
//
// TestLoadDetects checks the load itself against a fake application that
// breaks one promise at a time, so that a clean result means something.
//
// The package takes under a minute on two cores, plus building the two
// binaries; `go test -short` runs only the load's own tests. Set
// SESSIONMIGRATE_E2E_RACE=1 to build the binaries with the race detector.
// Session ids are credentials: nothing here logs them.
package e2e
