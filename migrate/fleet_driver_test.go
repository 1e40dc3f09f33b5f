package migrate

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sessionmigrate/sessionmigrate/router"
	"github.com/sessionmigrate/sessionmigrate/store"
	"github.com/sessionmigrate/sessionmigrate/store/faultstore"
	"github.com/sessionmigrate/sessionmigrate/store/redisstore"
)

// The fleet model's driver: what operators, deploys and Redis do to the
// fleet while users run (see fleet_model_test.go).

// act is one step of the driver.
func (f *fleet) act() {
	switch n := f.rng.IntN(100); {
	case n < 35:
		f.changeStage()
	case n < 60:
		f.setFault()
	case n < 75:
		f.restart()
	case n < 80:
		f.flush()
	case n < 90:
		f.backfill()
	default:
		f.resumeTrips()
	}
}

func (f *fleet) setStage(st Stage, p float64) bool { return f.moveStage(st, p, false) }

// moveStage moves every instance, in a random order; force is the flag an
// operator's --force sets (needed to leave complete). Entering complete is
// refused by an instance whose guard tripped since the driver resumed it
// (its Redis operations failed under a fault just healed, or slowly): the
// operator resumes it and tries again; when it keeps refusing, the
// instances already at complete go back to ramp 100 (forced) and the move
// is abandoned. It reports whether the fleet moved.
func (f *fleet) moveStage(st Stage, p float64, force bool) bool {
	f.stats.stageChanges.Add(1)
	order := f.rng.Perm(len(f.insts))
	for n, i := range order {
		inst := f.insts[i]
		err := f.setOne(inst, st, p, force)
		for try := 0; errors.Is(err, ErrRefused) && st == Complete && try < 20; try++ {
			f.resumeTrips()
			time.Sleep(5 * time.Millisecond)
			err = f.setOne(inst, st, p, force)
		}
		if errors.Is(err, ErrRefused) && st == Complete {
			f.logf("complete refused by instance %d (%v); back to ramp 100", i, err)
			for _, j := range order[:n] {
				if err := f.setOne(f.insts[j], Ramp, 100, true); err != nil {
					f.fail("back to ramp 100 on instance %d: %v", j, err)
				}
			}
			return false
		}
		if err != nil {
			f.fail("SetStage(%s, %v) on instance %d: %v", st, p, i, err)
		}
		time.Sleep(time.Duration(f.rng.IntN(3)) * time.Millisecond) // the fleet is mixed meanwhile
	}
	f.stage, f.percent = st, p
	if st == Local {
		f.backfilled = false
	}
	f.logf("stage %s %v", st, p)
	return true
}

func (f *fleet) setOne(inst *fleetInstance, st Stage, p float64, force bool) error {
	inst.mu.RLock()
	defer inst.mu.RUnlock()
	if force {
		return inst.m.ForceStage(st, p)
	}
	return inst.m.SetStage(st, p)
}

// changeStage takes one allowed transition.
func (f *fleet) changeStage() {
	back := []Stage{Local, Shadow, Dual}
	switch f.stage {
	case Local:
		f.setStage(Shadow, 0)
	case Shadow:
		if f.rng.IntN(3) == 0 {
			f.setStage(Local, 0)
		} else {
			f.setStage(Dual, 0)
		}
	case Dual:
		switch f.rng.IntN(4) {
		case 0:
			f.setStage(back[f.rng.IntN(2)], 0)
		default:
			f.setStage(Ramp, float64(1+f.rng.IntN(100)))
		}
	case Ramp:
		switch n := f.rng.IntN(10); {
		case n < 2:
			f.setStage(back[f.rng.IntN(3)], 0)
		case n < 3:
			f.setStage(Ramp, float64(f.rng.IntN(int(f.percent)+1)))
		case f.percent == 100 && n < 7:
			f.enterComplete()
		default:
			f.setStage(Ramp, min(100, f.percent+float64(1+f.rng.IntN(60))))
		}
	case Complete:
		if f.rng.IntN(3) == 0 {
			f.leaveComplete()
		}
	}
}

// enterComplete walks into complete as the gate demands: Redis healthy,
// every session backfilled, nothing unsynced; then, with every instance at
// complete, the load balancer may stop pinning users.
func (f *fleet) enterComplete() {
	f.heal()
	f.resumeTrips()
	if !f.backfill() {
		return
	}
	if !f.setStage(Complete, 100) {
		return
	}
	// An instance may have written async meanwhile (a guard trip routes to
	// shadow); its unsynced sessions are served from its local store, and
	// only from there, until they reach Redis. Users stay pinned until
	// every instance reports none: the operator checks migratectl status
	// before turning stickiness off.
	if !f.drained() {
		return
	}
	f.gate.Lock()
	f.roundRobin.Store(true)
	for _, u := range f.users {
		u.home.Store(false)
	}
	f.gate.Unlock()
	f.logf("round robin on")
}

// leaveComplete is the forced rollback: users are pinned again first, then
// every instance goes back to ramp 100 (forgetting its pre-complete local
// copies).
func (f *fleet) leaveComplete() {
	f.gate.Lock()
	f.roundRobin.Store(false)
	for _, u := range f.users {
		u.inst.Store(int32(f.rng.IntN(len(f.insts))))
		u.home.Store(false)
	}
	f.gate.Unlock()
	f.logf("round robin off; users pinned again")
	f.moveStage(Ramp, 100, true)
}

func (f *fleet) setFault() {
	f.applyFault(randomFault(f.rng, false, true))
}

func (f *fleet) applyFault(fl faultstore.Fault) {
	if fl != (faultstore.Fault{}) {
		f.faulty.Store(true)
		f.stats.faults.Add(1)
	}
	f.faultGen.Add(1)
	f.fault = fl
	for _, inst := range f.insts {
		inst.mu.RLock()
		err := inst.fault.SetFault(fl)
		inst.mu.RUnlock()
		if err != nil {
			f.t.Fatal(err)
		}
	}
	if fl == (faultstore.Fault{}) {
		f.faulty.Store(false)
	}
	f.faultGen.Add(1)
	f.logf("fault %+v", fl)
}

func (f *fleet) heal() {
	if f.fault != (faultstore.Fault{}) {
		f.applyFault(faultstore.Fault{})
	}
}

func (f *fleet) resumeTrips() {
	for _, inst := range f.insts {
		inst.mu.RLock()
		if inst.m.State().Tripped {
			if err := inst.m.Resume(); err != nil {
				f.fail("Resume on instance %d: %v", inst.idx, err)
			}
			f.logf("resume instance %d", inst.idx)
		}
		inst.mu.RUnlock()
	}
}

// restart replaces an instance's process: it drains (Close) while its users
// wait, then comes back with a fresh local store, and its users are
// re-pinned to the other instances (sticky) or spread as before.
func (f *fleet) restart() {
	if f.stage == Local || (!f.backfilled && f.stage != Complete) {
		return // a session's only copy would go with the process
	}
	f.heal()
	i := f.rng.IntN(len(f.insts))
	inst := f.insts[i]
	inst.mu.Lock()
	if err := inst.m.Close(); err != nil {
		f.fail("restart: instance %d closed with sessions left unsynced: %v%s", i, err, f.closeReport(inst))
	}
	inst.local.Close()
	for _, u := range f.users {
		if int(u.inst.Load()) == i {
			u.inst.Store(int32((i + 1 + f.rng.IntN(len(f.insts)-1)) % len(f.insts)))
			u.home.Store(false)
		}
	}
	f.start(inst)
	inst.mu.Unlock()
	f.stats.restarts.Add(1)
	f.logf("restart instance %d (skew %v); its users re-pinned", i, inst.skew)
}

// flush is FLUSHALL. Before complete the local store of a user's instance
// holds the session once the user has been served there, and Redis must be
// refilled (a backfill) before any instance may restart. A session Redis
// held alone (at complete, or not read since a re-pin or since complete)
// is gone.
func (f *fleet) flush() {
	f.gate.Lock()
	defer f.gate.Unlock()
	call := f.hist.now()
	if err := f.flushAll(context.Background()); err != nil {
		f.fail("FLUSHALL: %v", err)
		return
	}
	f.stats.flushes.Add(1)
	for _, u := range f.users {
		if f.stage == Complete || !u.home.Load() {
			// Redis held the session's only copy: at complete, or not
			// yet read on the instance the user is pinned to since
			// complete or a re-pin.
			u.redisLost(call)
		}
	}
	if f.stage != Complete {
		f.backfilled = false
	}
	// The shared sessions live in Redis only, whatever the stage: they
	// are written at complete, and forgotten locally when leaving it.
	for k := range fleetShared {
		f.hist.lost(sharedKey(k), call)
	}
	f.logf("FLUSHALL at %s", f.stage)
}

// backfill copies every instance's sessions to Redis with the store
// healthy and waits until nothing is unsynced; it reports whether every
// session is now in Redis.
func (f *fleet) backfill() bool {
	if f.stage == Local || f.stage == Shadow || f.stage == Complete {
		return f.backfilled || f.stage == Complete
	}
	f.heal()
	ctx := context.Background()
	for _, inst := range f.insts {
		inst.mu.RLock()
		_, err := inst.m.Backfill(ctx, BackfillOptions{})
		inst.mu.RUnlock()
		if err != nil {
			f.fail("Backfill on instance %d: %v", inst.idx, err)
			return false
		}
	}
	if !f.drained() {
		return false
	}
	f.backfilled = true
	f.stats.backfills.Add(1)
	f.logf("backfill at %s %v", f.stage, f.percent)
	return true
}

// drained flushes every instance until none has an unsynced session (Redis
// is healthy), and reports whether that happened within 10 s. An instance
// whose guard tripped meanwhile is resumed first, as the operator does
// before relying on it: a trip routes writes async, and users pinned to
// the instance keep writing, so its unsynced set churns and a load that
// slows the async writes (the guard trips on slow operations too) can keep
// it from ever reading zero.
func (f *fleet) drained() bool {
	ctx := context.Background()
	flushErrs := make([]error, len(f.insts))
	for deadline := time.Now().Add(10 * time.Second); ; {
		f.resumeTrips()
		left := 0
		for i, inst := range f.insts {
			inst.mu.RLock()
			flushErrs[i] = inst.m.Flush(ctx)
			left += inst.m.Unsynced()
			if inst.m.core.Overflowed() {
				left++
			}
			inst.mu.RUnlock()
		}
		if left == 0 {
			return true
		}
		if time.Now().After(deadline) {
			f.fail("%d sessions still unsynced after 10s with Redis healthy%s", left, f.unsyncedReport(flushErrs))
			return false
		}
	}
}

// unsyncedReport describes, for a failed drain, each instance's state, its
// last Flush error and up to five sessions it still tracks that its local
// store holds: their local version and expiry, what Redis holds, and what a
// repair of each does now. Test ids are not credentials.
func (f *fleet) unsyncedReport(flushErrs []error) string {
	ctx := context.Background()
	var b strings.Builder
	for i, inst := range f.insts {
		inst.mu.RLock()
		st := inst.m.State()
		fmt.Fprintf(&b, "\n  instance %d: %s %g tripped=%t unsynced=%d overflowed=%t last flush: %v",
			i, st.Stage, st.Percent, st.Tripped, inst.m.Unsynced(), inst.m.core.Overflowed(), flushErrs[i])
		shown := 0
		_ = inst.local.Scan(ctx, func(id string, lrec store.Record) error {
			if !inst.m.core.IsUnsynced(id) {
				return nil
			}
			if shown++; shown > 5 {
				return store.ErrStopScan
			}
			drec, dok, derr := inst.fault.Get(ctx, id)
			// The repair a Flush makes, made here once more: Flush
			// does not report a repair that failed.
			applied, rerr := inst.fault.SetMany(ctx, []store.Entry{{ID: id, Record: router.Copyable(lrec)}})
			fmt.Fprintf(&b, "\n    %s: local v=%d exp=%s; redis found=%t v=%d err=%v; repair applied=%v err=%v",
				id, lrec.Version, lrec.ExpiresAt.Format(time.RFC3339Nano), dok, drec.Version, derr, applied, rerr)
			return nil
		})
		inst.mu.RUnlock()
	}
	f.trackedDeletesReport(&b)
	return b.String()
}

// closeReport describes, for a Close that left sessions unsynced, up to
// five of them: the local record or tombstone and what Redis holds. The
// caller holds inst.mu; users keep running (ids come from a scan of the
// tracked sessions' local state, not from the users).
func (f *fleet) closeReport(inst *fleetInstance) string {
	ctx := context.Background()
	var b strings.Builder
	shown := 0
	report := func(id string, what string) {
		drec, dfound, derr := inst.fault.Get(ctx, id)
		dtv, dtomb, dterr := inst.fault.Tombstone(ctx, id)
		fmt.Fprintf(&b, "\n    %s: local %s; redis found=%t v=%d err=%v, tombstone=%t v=%d err=%v", id, what, dfound, drec.Version, derr, dtomb, dtv, dterr)
	}
	_ = inst.local.Scan(ctx, func(id string, lrec store.Record) error {
		if !inst.m.core.IsUnsynced(id) {
			return nil
		}
		if shown++; shown > 5 {
			return store.ErrStopScan
		}
		report(id, fmt.Sprintf("v=%d exp=%s", lrec.Version, lrec.ExpiresAt.Format(time.RFC3339Nano)))
		return nil
	})
	_ = inst.local.ScanTombstones(ctx, func(id string, v uint64) error {
		if !inst.m.core.IsUnsynced(id) {
			return nil
		}
		if shown++; shown > 5 {
			return store.ErrStopScan
		}
		report(id, fmt.Sprintf("tombstone v=%d", v))
		return nil
	})
	return b.String()
}

// trackedDeletesReport adds to a failed drain's report the sessions an
// instance still tracks that its local store holds no record of, which the
// local scan above cannot show: logged-out sessions whose delete has not
// reached Redis. For up to five per instance it gives the local tombstone's
// version, what Redis holds (record or tombstone, and versions), and where
// the user is pinned. It pauses traffic (the gate) to read the users' ids.
func (f *fleet) trackedDeletesReport(b *strings.Builder) {
	ctx := context.Background()
	f.gate.Lock()
	defer f.gate.Unlock()
	for i, inst := range f.insts {
		inst.mu.RLock()
		shown := 0
		for _, u := range f.users {
			for _, id := range append([]string{u.sess}, u.dead...) {
				if id == "" || !inst.m.core.IsUnsynced(id) || shown >= 5 {
					continue
				}
				if _, held, _ := inst.local.Get(ctx, id); held {
					continue // shown by the local scan
				}
				shown++
				tv, tomb, terr := inst.local.Tombstone(ctx, id)
				drec, dfound, derr := inst.fault.Get(ctx, id)
				dtv, dtomb, dterr := inst.fault.Tombstone(ctx, id)
				redisSide := fmt.Sprintf("found=%t v=%d err=%v, tombstone=%t v=%d err=%v", dfound, drec.Version, derr, dtomb, dtv, dterr)
				fmt.Fprintf(b, "\n    instance %d tracks %s with no local record (user %d, pinned to %d, current=%t): local tombstone=%t v=%d err=%v; redis %s",
					i, id, u.id, u.inst.Load(), id == u.sess, tomb, tv, terr, redisSide)
			}
		}
		inst.mu.RUnlock()
	}
}

// converge stops faults, drains every instance and checks every user's
// session once more, in the Migrators' answers and in Redis.
func (f *fleet) converge() {
	f.heal()
	f.resumeTrips()
	ctx := context.Background()
	for _, inst := range f.insts {
		for deadline := time.Now().Add(10 * time.Second); inst.m.Unsynced() > 0 && time.Now().Before(deadline); {
			_ = inst.m.Flush(ctx)
		}
	}
	redisHolds := f.stage == Complete || (f.stage != Local && f.backfilled)
	direct := redisstore.New(f.client, redisstore.Options{Prefix: f.prefix})
	for _, u := range f.users {
		u.finalCheck(ctx)
		if !redisHolds {
			continue
		}
		u.checkRedis(ctx, direct)
	}
	f.logf("converged at %s %v (redis checked: %v)", f.stage, f.percent, redisHolds)
}
