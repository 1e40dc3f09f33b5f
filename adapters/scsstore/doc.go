// Package scsstore lets an application using alexedwards/scs keep its code
// and migrate its sessions: [New] exposes any store.Store — in practice a
// *migrate.Migrator — as an scs session store.
//
//	m, err := migrate.New(memstore.New(), redisstore.New(rdb, redisstore.Options{}), opts)
//	...
//	sessionManager := scs.New()
//	sessionManager.Store = scsstore.New(m)
//
// The [Store] implements scs.Store, scs.CtxStore, scs.IterableStore and
// scs.IterableCtxStore. scs calls the context variants (FindCtx, CommitCtx,
// DeleteCtx) with the request's context, so a Migrator's timeouts and
// cancellation follow the request; the plain variants use
// context.Background().
//
// # What scs sees
//
// A session token is the store.Store id, the bytes scs encodes are the
// record's Data, stored and returned untouched, and the expiry scs passes to
// Commit is the record's absolute ExpiresAt: the session keeps it in every
// store the Migrator writes and in every copy it makes, to the millisecond
// (Redis's PXAT). Nothing here extends a session. Behind a Migrator over a
// redisstore with the default prefix, the Redis keys are exactly those
// scs's own goredisstore and redisstore write ("scs:session:" + token, raw
// bytes, an absolute expiry), so once the migration is complete the
// application can swap this adapter for goredisstore and keep every session.
//
// All lists the sessions through store.Scanner, which the Migrator
// implements by asking the stores its current stage reads (see
// migrate.Migrator.Scan): each live session appears once, from whichever
// store holds it. Listing reads every session; it is meant for
// administrative tools (scs's Iterate), not for the request path.
//
// # Errors
//
// Errors from the wrapped store are returned wrapped with "scsstore:" and
// the operation; scs's LoadAndSave middleware hands them to its ErrorFunc
// (a 500 by default). A missing, expired or logged-out session is never an
// error: Find returns found == false, as scs requires.
package scsstore
