// Package vuser runs virtual users against a session application and checks
// every answer against a reference model of what each user was promised.
// It is the one load checker of the end-to-end tests (sessionapp processes
// over HTTP) and of the demo (Migrators in process).
//
// A user logs in when it has no session; otherwise it reads its session,
// increments the session's counter, rotates its session id (token renewal),
// logs out, or re-reads a session that ended earlier. The user remembers
// what the application acknowledged — its session id, the counter, the
// session's expiry, the ids it saw end — and counts every answer that
// breaks a promise of the migration:
//
//   - Failed: an error answer, no answer, or no instance to send it to.
//   - Logouts: "no session" for a session that should be live.
//   - LostWrites: a counter lower than the last one acknowledged.
//   - Resurrections: a session that was logged out or rotated away is
//     served again.
//   - Anomalies: answers that make no sense otherwise (a counter ahead of
//     every write, a foreign or undecodable session, a moved expiry, a
//     login without a session id).
//
// Each user is one goroutine making one request at a time, so the model is
// exact whatever instance serves each request: the counts do not depend on
// the balancing. An increment whose answer is lost leaves the user
// uncertain (the stored counter is n or n+1) until the next answer settles
// it; a rotation or logout whose answer is lost makes the user forget the
// session without declaring it dead.
//
// # Pieces
//
// An [App] performs one [Request] on one instance: [HTTPApp] speaks
// sessionapp's endpoints, [StoreApp] applies the same operations to a
// store.Store directly. A [Balancer] picks the instance of each request:
// [Pool] is a load balancer with sticky or round-robin policy whose
// instances can be taken out (draining requests in flight) and put back,
// as a deploy or a crash does. [Start] runs the users; [Load.Stop] returns
// the [Result].
//
// # Who calls whom
//
// Each user goroutine calls Balancer.Acquire, then App.Do, then
// Balancer.Release, one request at a time. Nothing here holds a lock while
// the App runs. Problem descriptions never contain a session id: they are
// credentials, and an App must keep them out of Reply.Detail.
package vuser
