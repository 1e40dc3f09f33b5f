// Package e2e runs the migration the way production does: several
// sessionapp processes (examples/sessionapp: an scs application whose
// session store is the Migrator, through adapters/scsstore), real
// redis-server processes, migratectl driving the control plane, and faults
// injected between the applications and Redis (internal/faultproxy).
//
// The tests build sessionapp and migratectl once (TestMain), start instances
// as separate OS processes on loopback ports, and put them under load with
// the virtual users of internal/vuser (the demo's too): by default pinned to
// one instance each, as a load balancer with sticky sessions would, they
// log in, read, increment, rotate their token and log out over HTTP, and
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
//     session is readable from Redis by scs's own store (no lock-in).
//   - TestSCSAcrossMigration: the scs users log in, write, rotate and log
//     out at every stage; at complete plain scs lists and reads their
//     sessions.
//   - TestRunbooks: every command the runbooks show (runbooks/, blocks
//     fenced "console runbook") runs as typed, in the order of a migration,
//     and must exit and print as its runbook says.
//   - TestTLSACLMigration: the migration over mutual TLS as the ACL user
//     runbooks/security.md defines, allowed only the toolkit's keys and
//     commands; Redis's ACL LOG must stay empty.
//
// internal/vuser checks the load itself against fake applications that
// break one promise at a time, so that a clean result means something.
//
// The package takes about a minute and a half on two cores
// (TestRunbooks and TestTLSACLMigration about 10 s each), plus building
// the two binaries; `go test -short` skips every test here. Set
// SESSIONMIGRATE_E2E_RACE=1 to build the binaries with the race detector.
// Session ids are credentials: nothing here logs them.
package e2e
