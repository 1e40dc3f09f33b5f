package consistency

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/sessionmigrate/sessionmigrate/internal/pace"
	"github.com/sessionmigrate/sessionmigrate/store"
)

// suspect is a local session whose first comparison differed, waiting for
// its re-check.
type suspect struct {
	id  string
	rec store.Record // as first read; Data only kept for unversioned records
	due time.Time
}

// LocalPass compares every live session of cfg.Local with the distributed
// store: one instance's part of the full diff. Sessions are read from local
// with its Scan, and from the distributed store in batches of cfg.Batch,
// cfg.Concurrency batches in flight, at most cfg.Rate sessions per second.
//
// A difference is a suspect, not a mismatch: after cfg.Delay it is re-read
// from both stores, the distributed read bracketed by two local reads, and
// confirmed only when it persists, local did not change since the first
// read (a write under way would otherwise look like a stale copy) and no
// distributed write is in flight; see the online Checker, whose rules these
// are. Judgement is version-aware: a distributed copy newer than local (or a
// tombstone at or above local's version) means another instance wrote or
// deleted the session later, and is counted as superseded, not a mismatch.
// A local store never yields Extra: ScanExtras finds those.
//
// It returns what it found; an error means it stopped early (ctx ended, a
// store failed), and the result then covers what was done. Every confirmed
// mismatch goes to cfg.OnMismatch as it is found.
func LocalPass(ctx context.Context, cfg DiffConfig) (PassResult, error) {
	start := time.Now()
	if err := cfg.setDefaults(); err != nil {
		return PassResult{Instance: cfg.Instance}, err
	}
	sc, ok := cfg.Local.(store.Scanner)
	if !ok {
		return PassResult{Instance: cfg.Instance}, fmt.Errorf("consistency: diff: local store %T does not implement store.Scanner", cfg.Local)
	}
	p := &localPass{cfg: &cfg, t: newTally(&cfg), wake: make(chan struct{}, 1)}
	var members *MemberSet
	if cfg.MemberKey != "" {
		members = NewMemberSet(cfg.MemberKey)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	batches := make(chan []store.Entry, cfg.Concurrency)
	var workers sync.WaitGroup
	for range cfg.Concurrency {
		workers.Go(func() {
			for b := range batches {
				if err := p.first(ctx, b); err != nil {
					cancel(err)
				}
			}
		})
	}
	var rechecker sync.WaitGroup
	rechecker.Go(func() {
		if err := p.rechecks(ctx); err != nil {
			cancel(err)
		}
	})

	limit := pace.New(cfg.Rate)
	batch := make([]store.Entry, 0, cfg.Batch)
	send := func() error {
		if len(batch) == 0 {
			return nil
		}
		select {
		case batches <- batch:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
		batch = make([]store.Entry, 0, cfg.Batch)
		p.t.progress(false)
		return limit.Wait(ctx, p.t.scanned.Load())
	}
	err := sc.Scan(ctx, func(id string, rec store.Record) error {
		p.t.scanned.Add(1)
		if members != nil {
			members.Add(id)
		}
		batch = append(batch, store.Entry{ID: id, Record: rec})
		if len(batch) == cfg.Batch {
			return send()
		}
		return nil
	})
	if err == nil {
		err = send()
	}
	close(batches)
	workers.Wait()
	p.finish()
	rechecker.Wait()
	if err == nil {
		err = context.Cause(ctx)
	}
	res := p.t.result(start)
	if members != nil {
		res.Members = members.Members()
	}
	p.t.progress(true)
	if err != nil {
		return res, fmt.Errorf("consistency: local pass: %w", err)
	}
	return res, nil
}

// localPass is the state of one LocalPass.
type localPass struct {
	cfg *DiffConfig
	t   *tally

	mu      sync.Mutex
	pending []suspect // in due order, near enough: the re-checker waits for each head
	done    bool      // no more suspects will be added
	wake    chan struct{}
}

// first compares one batch and queues its differences for re-check.
func (p *localPass) first(ctx context.Context, batch []store.Entry) error {
	ids := make([]string, 0, len(batch))
	recs := make([]store.Record, 0, len(batch))
	var skipped int64
	for _, e := range batch {
		if p.cfg.inFlight(e.ID) {
			skipped++
			continue
		}
		ids = append(ids, e.ID)
		recs = append(recs, e.Record)
	}
	if skipped > 0 {
		p.t.add(func(r *PassResult) { r.Skipped += skipped })
	}
	if len(ids) == 0 {
		return nil
	}
	looks, err := readDist(ctx, p.cfg.Distributed, p.cfg.Timeout, ids)
	if err != nil {
		return err
	}
	due := time.Now().Add(p.cfg.Delay)
	var sus []suspect
	var in, superseded, unreadable int64
	for i, l := range looks {
		if l.Found {
			in++
		}
		switch v, _ := judge(p.cfg.Compare, recs[i], true, l); v {
		case verdictSuperseded:
			superseded++
		case verdictUnreadable:
			unreadable++
		case verdictDiffer:
			rec := recs[i]
			if rec.Version != 0 {
				rec.Data = nil // versions identify writes; see sameRead
			}
			sus = append(sus, suspect{id: ids[i], rec: rec, due: due})
		}
	}
	p.t.add(func(r *PassResult) {
		r.Checked += int64(len(ids))
		r.InDistributed += in
		r.Superseded += superseded
		r.Unreadable += unreadable
	})
	if len(sus) > 0 {
		p.t.suspects.Add(int64(len(sus)))
		p.mu.Lock()
		p.pending = append(p.pending, sus...)
		p.mu.Unlock()
		p.signal()
	}
	return nil
}

func (p *localPass) signal() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// finish says no more suspects will come; the re-checker drains the rest.
func (p *localPass) finish() {
	p.mu.Lock()
	p.done = true
	p.mu.Unlock()
	p.signal()
}

// rechecks re-checks suspects as they fall due, in batches, until finish
// was called and none is left.
func (p *localPass) rechecks(ctx context.Context) error {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		p.mu.Lock()
		var wait time.Duration
		var batch []suspect
		switch {
		case len(p.pending) == 0 && p.done:
			p.mu.Unlock()
			return nil
		case len(p.pending) == 0:
			wait = -1
		default:
			now := time.Now()
			n := 0
			for n < len(p.pending) && n < p.cfg.Batch && !p.pending[n].due.After(now) {
				n++
			}
			batch = append(batch, p.pending[:n]...)
			p.pending = p.pending[n:]
			if n == 0 {
				wait = p.pending[0].due.Sub(now)
			}
		}
		p.mu.Unlock()
		if len(batch) > 0 {
			if err := p.recheck(ctx, batch); err != nil {
				return err
			}
			continue
		}
		var tick <-chan time.Time
		if wait > 0 {
			timer.Reset(wait)
			tick = timer.C
		}
		select {
		case <-ctx.Done():
			return nil // the pass reports the cause
		case <-p.wake:
		case <-tick:
		}
	}
}

// recheck re-reads a batch of suspects and confirms those that persist.
func (p *localPass) recheck(ctx context.Context, batch []suspect) error {
	defer p.t.suspects.Add(-int64(len(batch)))
	ids := make([]string, len(batch))
	for i, s := range batch {
		ids[i] = s.id
	}
	l1, f1, err := readLocal(ctx, p.cfg.Local, ids)
	if err != nil {
		return err
	}
	looks, err := readDist(ctx, p.cfg.Distributed, p.cfg.Timeout, ids)
	if err != nil {
		return err
	}
	l2, f2, err := readLocal(ctx, p.cfg.Local, ids)
	if err != nil {
		return err
	}
	var changed, superseded, unreadable int64
	for i, s := range batch {
		if p.cfg.inFlight(s.id) || !sameRead(s.rec, true, l1[i], f1[i]) || !sameRead(l1[i], f1[i], l2[i], f2[i]) {
			changed++
			continue
		}
		d := looks[i]
		v, kind := judge(p.cfg.Compare, l1[i], f1[i], d)
		switch v {
		case verdictAgree:
			changed++
		case verdictSuperseded:
			superseded++
		case verdictUnreadable:
			unreadable++
		case verdictDiffer:
			p.t.confirm(Mismatch{ID: s.id, Kind: kind, Local: l1[i], LocalFound: f1[i], Distributed: d.Record,
				DistributedFound: d.Found, Tombstoned: d.Tombstoned, TombstoneVersion: d.TombstoneVersion})
		}
	}
	p.t.add(func(r *PassResult) {
		r.Changed += changed
		r.Superseded += superseded
		r.Unreadable += unreadable
	})
	return nil
}
