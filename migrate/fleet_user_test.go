package migrate

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync/atomic"
	"time"

	"github.com/sessionmigrate/sessionmigrate/store"
	"github.com/sessionmigrate/sessionmigrate/store/redisstore"
)

// fleetUser is one virtual user: the only writer of its own session, so
// what it must read back is exact. Like a request through a session
// middleware (scs's LoadAndSave), it reads its session before it changes or
// destroys it; only a new session is written blind.
type fleetUser struct {
	id   int
	f    *fleet
	rng  *rand.Rand
	inst atomic.Int32 // pinned instance

	// home: the pinned instance's local store holds the session (the user
	// was served there, outside complete, since the last re-pin).
	home   atomic.Bool
	sess   string    // current session id ("" logged out)
	want   []kvState // acceptable states of sess: one, or two after a failed write
	values []string  // every value written to sess, to tell stale from wrong
	dead   []string  // logged-out ids, probed for resurrections
	n      int
	// lastErr is the error of the last call op made.
	lastErr error
}

func (u *fleetUser) run(ctx context.Context) {
	for ctx.Err() == nil {
		u.f.gate.RLock()
		inst := u.f.instance(u)
		inst.mu.RLock()
		if !u.f.roundRobin.Load() && int(u.inst.Load()) != inst.idx {
			// Re-pinned while waiting for a restarting instance: the
			// load balancer sends the request to the new pin.
			inst.mu.RUnlock()
			u.f.gate.RUnlock()
			continue
		}
		u.step(ctx, inst)
		inst.mu.RUnlock()
		u.f.gate.RUnlock()
		time.Sleep(time.Duration(u.rng.IntN(3)) * time.Millisecond)
	}
}

func (u *fleetUser) value() string {
	u.n++
	return fmt.Sprintf("u%d-%d", u.id, u.n)
}

func (u *fleetUser) step(ctx context.Context, inst *fleetInstance) {
	if u.sess == "" {
		u.login(ctx, inst)
		return
	}
	switch x := u.rng.IntN(20); {
	case x < 8:
		u.get(ctx, inst, "get")
	case x < 14:
		if u.get(ctx, inst, "read before write") {
			u.set(ctx, inst, u.sess, u.value())
		}
	case x < 16: // rotate: read, delete the old id, write a new one
		if !u.get(ctx, inst, "rotate read") {
			return
		}
		old := u.sess
		if u.del(ctx, inst) {
			u.dead = append(u.dead, old)
		}
		u.login(ctx, inst)
	case x < 17: // logout: a request reads its session before destroying it
		if !u.get(ctx, inst, "logout read") {
			return
		}
		if old := u.sess; u.del(ctx, inst) {
			u.dead = append(u.dead, old)
		}
	default:
		if len(u.dead) > 0 {
			u.probe(ctx, inst, u.dead[u.rng.IntN(len(u.dead))])
		} else {
			u.get(ctx, inst, "get")
		}
	}
}

func (u *fleetUser) login(ctx context.Context, inst *fleetInstance) {
	u.sess = fmt.Sprintf("u%d-s%d-%x", u.id, u.n, u.rng.Uint32())
	u.want = []kvState{{}}
	u.values = nil
	u.set(ctx, inst, u.sess, u.value())
}

// op runs one call, counts it, and says whether its error (if any) is
// allowed; ok is false when the call failed.
func (u *fleetUser) op(ctx context.Context, what string, call func() error) (ok bool) {
	f := u.f
	gen, faulty := f.faultGen.Load(), f.faulty.Load()
	err := call()
	u.lastErr = err
	f.stats.ops.Add(1)
	if err == nil {
		return true
	}
	if f.errorAllowed(gen, faulty) || ctx.Err() != nil {
		f.stats.allowedErrors.Add(1)
		return false
	}
	if errors.Is(err, context.DeadlineExceeded) {
		// Redis did not answer within DistTimeout although no fault was
		// injected: the machine is busy. An error, not a wrong answer.
		f.stats.timeouts.Add(1)
		return false
	}
	f.stats.failed.Add(1)
	f.logf("user %d: %s failed with no fault injected: %v", u.id, what, err)
	return false
}

func (u *fleetUser) set(ctx context.Context, inst *fleetInstance, id, v string) {
	f := u.f
	before := inst.m.State().Stage
	call := f.hist.now()
	ok := u.op(ctx, "set", func() error {
		return inst.m.Set(ctx, id, store.Record{Data: []byte(v), ExpiresAt: time.Now().Add(time.Hour)})
	})
	u.values = append(u.values, v)
	u.f.logf("user %d: set %s=%q on instance %d at %s ok=%v", u.id, id, v, inst.idx, inst.m.State().Stage, ok)
	next := kvState{present: true, value: v}
	if ok {
		f.hist.add(u.id, kvInput{key: id, op: 's', value: v}, kvOutput{}, call)
		u.want = []kvState{next}
		u.served(inst, before)
		return
	}
	f.hist.add(u.id, kvInput{key: id, op: 's', value: v}, failedWrite(u.lastErr), call)
	u.want = append(u.want, next)
}

func (u *fleetUser) del(ctx context.Context, inst *fleetInstance) bool {
	f := u.f
	call := f.hist.now()
	id := u.sess
	ok := u.op(ctx, "delete", func() error { return inst.m.Delete(ctx, id) })
	u.f.logf("user %d: delete %s on instance %d at %s ok=%v", u.id, id, inst.idx, inst.m.State().Stage, ok)
	if ok {
		f.hist.add(u.id, kvInput{key: id, op: 'd'}, kvOutput{}, call)
		u.sess = ""
		return true
	}
	f.hist.add(u.id, kvInput{key: id, op: 'd'}, failedWrite(u.lastErr), call)
	u.want = append(u.want, kvState{})
	return false
}

// get reads the user's session and checks it; it reports whether the read
// succeeded and matched, so the caller may go on.
func (u *fleetUser) get(ctx context.Context, inst *fleetInstance, what string) bool {
	f := u.f
	before := inst.m.State().Stage
	call := f.hist.now()
	var rec store.Record
	var found bool
	if !u.op(ctx, what, func() error {
		var err error
		rec, found, err = inst.m.Get(ctx, u.sess)
		return err
	}) {
		return false
	}
	got := kvState{present: found, value: string(rec.Data)}
	f.hist.add(u.id, kvInput{key: u.sess, op: 'g'}, kvOutput{found: found, value: got.value}, call)
	u.served(inst, before)
	return u.judge(got, fmt.Sprintf("%s on instance %d at %s", what, inst.idx, inst.m.State().Stage))
}

// judge compares a read with what the user may read, counts a violation if
// it is none of it, and narrows the expectation to what was read.
func (u *fleetUser) judge(got kvState, where string) bool {
	f := u.f
	if slices.Contains(u.want, got) {
		u.want = []kvState{got}
		if !got.present {
			u.sess = "" // a failed logout that took effect after all, or a lost session
		}
		return got.present
	}
	want := u.want[len(u.want)-1]
	switch {
	case want.present && !got.present:
		f.stats.logouts.Add(1)
		f.logf("user %d: LOGOUT: %s: session not found, want %q", u.id, where, want.value)
	case !want.present:
		f.stats.resurrections.Add(1)
		f.logf("user %d: RESURRECTION: %s: got %q, want the session gone", u.id, where, got.value)
	case slices.Contains(u.values, got.value):
		f.stats.stale.Add(1)
		f.logf("user %d: STALE: %s: got %q, want %q", u.id, where, got.value, want.value)
	default:
		f.stats.anomalies.Add(1)
		f.logf("user %d: ANOMALY: %s: got %q, want %q", u.id, where, got.value, want.value)
	}
	u.want = []kvState{got} // one violation per divergence
	return false
}

// probe reads a logged-out session, which must stay gone.
func (u *fleetUser) probe(ctx context.Context, inst *fleetInstance, id string) {
	f := u.f
	call := f.hist.now()
	var rec store.Record
	var found bool
	if !u.op(ctx, "probe", func() error {
		var err error
		rec, found, err = inst.m.Get(ctx, id)
		return err
	}) {
		return
	}
	f.hist.add(u.id, kvInput{key: id, op: 'g'}, kvOutput{found: found, value: string(rec.Data)}, call)
	if found {
		f.stats.resurrections.Add(1)
		f.logf("user %d: RESURRECTION: probe on instance %d at %s: a logged-out session came back (%q)", u.id, inst.idx, inst.m.State().Stage, rec.Data)
	}
}

// served notes that inst answered or took the user's session: outside
// complete (before and after the call: the stage may change during it), its
// local store now holds it.
func (u *fleetUser) served(inst *fleetInstance, before Stage) {
	if !u.f.roundRobin.Load() && int(u.inst.Load()) == inst.idx && before != Complete && inst.m.State().Stage != Complete {
		u.home.Store(true)
	}
}

// redisLost: FLUSHALL took the session's only copy.
func (u *fleetUser) redisLost(call int64) {
	if u.sess != "" {
		u.f.hist.lost(u.sess, call)
		u.want = []kvState{{}}
	}
}

// finalCheck reads the session once more after the fleet converged.
func (u *fleetUser) finalCheck(ctx context.Context) {
	if u.sess == "" {
		return
	}
	inst := u.f.insts[u.inst.Load()]
	rec, found, err := inst.m.Get(ctx, u.sess)
	if err != nil {
		u.f.stats.failed.Add(1)
		u.f.logf("user %d: final read failed with Redis healthy: %v", u.id, err)
		return
	}
	u.judge(kvState{present: found, value: string(rec.Data)}, "final read on instance "+fmt.Sprint(inst.idx))
}

// checkRedis: every acknowledged write is in Redis once the fleet has
// drained, and no logged-out session is.
func (u *fleetUser) checkRedis(ctx context.Context, direct *redisstore.Store) {
	f := u.f
	if u.sess != "" && len(u.want) == 1 {
		rec, found, err := direct.Get(ctx, u.sess)
		got := kvState{present: found, value: string(rec.Data)}
		if err != nil || got != u.want[0] {
			f.stats.lostWrites.Add(1)
			f.logf("user %d: LOST WRITE: Redis holds %+v (err %v), want %+v", u.id, got, err, u.want[0])
		}
	}
	for _, id := range u.dead {
		if rec, found, err := direct.Get(ctx, id); err != nil || found {
			f.stats.resurrections.Add(1)
			f.logf("user %d: RESURRECTION: Redis holds logged-out session %s: %q version %d (err %v)", u.id, id, rec.Data, rec.Version, err)
		}
	}
}
