// Package control is the sessionmigrate control plane on Redis: the one
// place that says which migration stage is in effect, and the way every
// application instance learns about it, reports back and rolls back.
//
// # State
//
// The desired [State] (stage, percent, epoch, who, why, when, and rollback
// details while rolled back) lives as JSON in one key. Every change goes
// through a compare-and-set ([Client.Update], or [Client.Apply] which
// retries), so two operators cannot lose each other's update; the epoch
// grows by one per change. The same Lua script appends the change to an
// audit stream ([Client.History]) and publishes the new epoch on a channel,
// so a change is never written without being recorded and announced.
//
// A missing key is the initial state: local, 0%, epoch 0. A value that
// cannot be decoded, or that holds a stage or percent this version does not
// know, is an error wrapping [ErrCorruptState] saying what is wrong:
// migratectl reports it, instances keep their last good state, and
// [Client.Repair] writes a good state again with an epoch above every one in
// use.
//
// # Instances follow through OpenFeature
//
// [Client.NewProvider] returns an OpenFeature provider serving the state as
// the flags [FlagStage], [FlagPercent], [FlagEpoch] and [FlagTripped]. It
// caches the state, so evaluating never touches Redis; it reloads on each
// change notice and, as a safety net for notices lost with a pub/sub
// connection, every Options.PollInterval, and emits
// PROVIDER_CONFIGURATION_CHANGED after each change. Instances report what
// they applied and how their distributed store behaves with heartbeats
// ([Client.PublishHeartbeat], [Heartbeater]); [Client.Instances] lists the
// live ones.
//
// # Rollback
//
// [Client.Rollback] moves the state back (to shadow by default) and latches
// the reason and evidence until an operator calls [Client.Resume], which
// restores the stage in effect before. An instance's guard calls Rollback
// when it trips; the call is idempotent, so every instance tripping on one
// incident is harmless.
//
// # Jobs
//
// Work that must run where the local sessions live (backfill, the full
// diff, repair) is requested here ([Client.RequestJob]) and run by every
// instance live at the request (its participants; the Migrator's job
// runner, package migrate). One job of a kind runs at a time. Each
// participant records its progress and result as a [Part]; one
// participant at a time leads the job ([Client.ClaimLead], a lease): it
// scans the distributed store where the kind needs it, and ends the job
// ([Client.EndJob]; the first end wins) when every part is done, when a
// participant leaves mid-job (its heartbeat expires: the job ends partial,
// saying who left and what was left undone), or on a cancel request
// ([Client.CancelJob]). A job nobody is left to end is ended by the next
// request of its kind, or by [Client.Reap]. Requests, cancels and ends are
// audited with their actor and reason ([AuditEntry.Job]) and announced on
// [Client.JobChannel]; instances poll [Client.ActiveJobs].
//
// # Rules
//
// Stage order is enforced by the caller (migratectl), with
// [CheckTransition] and [Client.CheckTransition]: forward one stage at a
// time, complete only from ramp 100% after a clean diff of every live
// instance taken at ramp 100% under the current state ([Client.SetLastDiff],
// written by the diff job), never out of complete without force. Refusals
// wrap [ErrRefused]. A change made with force is recorded as such in the
// audit stream ([Client.UpdateForced], [RollbackRequest.Force]).
//
// # Keys
//
// All keys share one hash tag, "{" + Options.Prefix + "}:", so they live in
// one Redis Cluster slot and the script can touch them together:
//
//	{sessionmigrate}:state      the state (string, JSON)
//	{sessionmigrate}:audit      the audit stream
//	{sessionmigrate}:changes    the change channel (payload: the new epoch)
//	{sessionmigrate}:lastdiff   the newest diff result (string, JSON)
//	{sessionmigrate}:instances  live instances (sorted set, by expiry)
//	{sessionmigrate}:instance:ID  one instance's heartbeat (string, JSON, TTL)
//	{sessionmigrate}:jobs       jobs by request time (sorted set)
//	{sessionmigrate}:jobs:active:KIND  the running job of a kind
//	{sessionmigrate}:jobs:changes  the job channel ("requested ID", ...)
//	{sessionmigrate}:job:ID     the job as requested (string, JSON, TTL)
//	{sessionmigrate}:job:ID:end, :cancel, :phase, :lead, :scan,
//	  :part:INSTANCE, :part:INSTANCE:run, :blob:NAME  how it goes (TTL DefaultJobTTL)
package control
