// Package faultstore wraps a [store.Store] and injects faults into its
// operations, so tests can show what the Migrator, the guard and the
// consistency tooling do when the distributed store misbehaves.
//
// A [Store] forwards every call to the inner store unless a [Fault]
// configured for that operation kind ([Op]) says otherwise. Faults are
// changed at runtime with [Store.SetFault], [Store.FailNext] and
// [Store.Reset], and are safe to change while calls are in flight: each call
// reads the configuration once when it starts (and again after a hang is
// lifted).
//
// # Fault kinds
//
//   - Errors. [Fault.ErrorRate] fails a call with a probability drawn from a
//     seeded generator ([WithSeed]); [Fault.Outage] fails every call;
//     [Store.FailNext] fails the next n calls. Injected errors wrap
//     [ErrInjected] and the inner store is not called.
//   - Ambiguous errors. With [Fault.Ambiguous], an injected error is returned
//     after the call has been applied to the inner store, like a timeout that
//     fires after the write landed. Such errors wrap [ErrInjectedAmbiguous],
//     which itself wraps [ErrInjected].
//   - Latency. [Fault.Latency] plus a uniform random share of [Fault.Jitter]
//     delays each call before it runs. The delay honours ctx; tests make it
//     deterministic by injecting the sleep function ([WithSleep]).
//   - Hangs. [Fault.Hang] blocks each call until its ctx ends or the hang is
//     lifted by a later SetFault.
//   - Dropped writes. [Fault.Drop] acknowledges Set, Delete and
//     DeleteVersion with a nil error without applying them, which models
//     async writes lost in flight. It breaks the acknowledgement contract of
//     [store.Store] on purpose; use it to show that a consumer detects and
//     repairs lost writes, never as a model of a correct store.
//
// Faults are applied in a fixed order: the [WithOnCall] hook, then the hang,
// then the latency, then the error decision, then the drop decision, then the
// inner call.
//
// # Observation
//
// [Store.Stats] returns per-operation counters of calls and injected faults.
// The [WithOnCall] hook runs at the start of every call, before any fault, so
// a test can observe the order of operations or pause one deterministically.
//
// # Errors
//
// Errors that faultstore creates are wrapped with the package name and the
// operation ("faultstore: set: ..."). Errors from the inner store are
// returned unchanged, so a wrapped store fails exactly as the inner one does.
//
// # Determinism
//
// Random draws (error rate and jitter) come from one generator seeded by
// [WithSeed] and are made only when needed (0 < ErrorRate < 1, Jitter > 0).
// Sequential calls under the same configuration and seed therefore see the
// same faults; concurrent calls draw in scheduling order.
package faultstore
