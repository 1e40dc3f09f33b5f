// Package redact is the one place that decides how secrets look in anything
// a person or a machine may read: logs, metrics, reports, guard evidence,
// job results and migratectl's output.
//
// A session id is a bearer credential (DESIGN invariant 9). It is never
// printed; [ID] prints a keyed hash prefix instead, "h:" and 12 hex digits
// of HMAC-SHA256 keyed with the migration's salt. The same id always maps to
// the same form for one salt, so an operator can match a diff report's
// sample with `migratectl route -` (which prints the same form) or with an
// application log that uses this package, without either side ever holding
// the id in clear. The salt is not secret; the form is safe because session
// ids carry far more entropy than the 48 bits shown, so nobody can search
// for the id that produced it.
//
// Other secrets (a Redis password) are replaced whole by [Secret].
//
// The package imports nothing but the standard library so that every
// package of the module, the lowest included, can call it.
package redact
