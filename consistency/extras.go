package consistency

import (
	"context"
	"fmt"
	"time"

	"github.com/sessionmigrate/sessionmigrate/internal/pace"
	"github.com/sessionmigrate/sessionmigrate/store"
)

// ExtrasScan is what ScanExtras found: the distributed sessions that no
// local store's member hashes contain.
type ExtrasScan struct {
	// Scanned counts the ids listed (SCAN may list one twice).
	Scanned int64 `json:"scanned"`
	// Candidates are the ids held by no member set, at most
	// DiffConfig.MaxCandidates of them, each once. They are credentials:
	// never log or export them.
	Candidates []string `json:"-"`
	// Dropped counts candidates beyond MaxCandidates: counted as extras
	// the diff could not confirm.
	Dropped int64 `json:"dropped"`
	// Elapsed is how long the scan took.
	Elapsed time.Duration `json:"elapsed_ns"`
}

// ScanExtras lists every id of the distributed store once (each master of a
// cluster; store.IDScanner, else store.Scanner) at most cfg.Rate ids per
// second, and keeps the ids whose member hash (under cfg.MemberKey) is not
// in members: sessions no local store held when it published its members.
// They are only candidates: a session written since, or expired, or being
// deleted, is among them. Candidates asks every instance which it holds
// now; ConfirmExtras then re-reads the rest.
func ScanExtras(ctx context.Context, cfg DiffConfig, members *Members) (ExtrasScan, error) {
	start := time.Now()
	if err := cfg.setDefaults(); err != nil {
		return ExtrasScan{}, err
	}
	if cfg.MemberKey == "" {
		return ExtrasScan{}, fmt.Errorf("consistency: scan extras: MemberKey is required")
	}
	h := newMemberHash(cfg.MemberKey)
	limit := pace.New(cfg.Rate)
	var res ExtrasScan
	seen := map[string]struct{}{}
	page := func(ids []string) error {
		for _, id := range ids {
			res.Scanned++
			if members.has(h.sum(id)) {
				continue
			}
			if _, dup := seen[id]; dup {
				continue
			}
			if len(seen) >= cfg.MaxCandidates {
				res.Dropped++
				continue
			}
			seen[id] = struct{}{}
			res.Candidates = append(res.Candidates, id)
		}
		if cfg.Progress != nil {
			cfg.Progress(Progress{Scanned: res.Scanned, Suspects: int64(len(res.Candidates))})
		}
		return limit.Wait(ctx, res.Scanned)
	}
	var err error
	switch d := cfg.Distributed.(type) {
	case store.IDScanner:
		err = d.ScanIDs(ctx, page)
	case store.Scanner:
		err = d.Scan(ctx, func(id string, _ store.Record) error { return page([]string{id}) })
	default:
		err = fmt.Errorf("distributed store %T can list no ids (store.IDScanner or store.Scanner)", cfg.Distributed)
	}
	res.Elapsed = time.Since(start)
	if err != nil {
		return res, fmt.Errorf("consistency: scan extras: %w", err)
	}
	return res, nil
}

// CandidateHashes returns the member hashes of candidates under key, to
// send to every instance: the ids themselves never leave the scanning
// instance.
func CandidateHashes(key string, candidates []string) *Members {
	s := NewMemberSet(key)
	for _, id := range candidates {
		s.Add(id)
	}
	return s.Members()
}

// Held returns those of the hashes in asked that a live session of local
// has under key (the candidates this instance holds now), and those for
// which local holds a tombstone (the candidates this instance deleted;
// empty when local is no store.TombstoneScanner). It scans local once, and
// its tombstones once.
func Held(ctx context.Context, local store.Store, key string, asked *Members) (held, deleted *Members, err error) {
	sc, ok := local.(store.Scanner)
	if !ok {
		return nil, nil, fmt.Errorf("consistency: held: local store %T does not implement store.Scanner", local)
	}
	h := newMemberHash(key)
	hs, ds := NewMemberSet(key), NewMemberSet(key)
	err = sc.Scan(ctx, func(id string, _ store.Record) error {
		if sum := h.sum(id); asked.has(sum) {
			hs.all = append(hs.all, sum)
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("consistency: held: %w", err)
	}
	if ts, ok := local.(store.TombstoneScanner); ok {
		err = ts.ScanTombstones(ctx, func(id string, _ uint64) error {
			if sum := h.sum(id); asked.has(sum) {
				ds.all = append(ds.all, sum)
			}
			return nil
		})
		if err != nil {
			return nil, nil, fmt.Errorf("consistency: held: %w", err)
		}
	}
	return hs.Members(), ds.Members(), nil
}

// ConfirmExtras re-reads the candidates of a ScanExtras that no instance
// holds (held is the union of every instance's Held answer) and confirms
// as Extra those the distributed store still serves that show they came
// back from a delete: data beside a tombstone, data no Migrator wrote, or
// a session an instance holds a local tombstone of (deleted is the union of
// Held's second answers): EvidenceTombstone, EvidenceUnversioned,
// EvidenceDeleted. Any other versioned session no local store holds is
// counted as RedisOnly: from shadow on it is the session of a restarted
// instance or re-pinned user, served from Redis on its next read. It waits cfg.Delay first, so that a delete under way when the
// scan listed the session has landed. Confirmed extras go to
// cfg.OnMismatch.
func ConfirmExtras(ctx context.Context, cfg DiffConfig, candidates []string, held, deleted *Members) (PassResult, error) {
	start := time.Now()
	if err := cfg.setDefaults(); err != nil {
		return PassResult{}, err
	}
	t := newTally(&cfg)
	h := newMemberHash(cfg.MemberKey)
	var ids []string
	for _, id := range candidates {
		if !held.has(h.sum(id)) {
			ids = append(ids, id)
		}
	}
	if len(ids) > 0 {
		timer := time.NewTimer(cfg.Delay)
		select {
		case <-ctx.Done():
			timer.Stop()
			return t.result(start), fmt.Errorf("consistency: confirm extras: %w", context.Cause(ctx))
		case <-timer.C:
		}
	}
	t.add(func(r *PassResult) { r.Changed = int64(len(candidates) - len(ids)) })
	limit := pace.New(cfg.Rate)
	for first := 0; first < len(ids); first += cfg.Batch {
		part := ids[first:min(first+cfg.Batch, len(ids))]
		looks, err := readDist(ctx, cfg.Distributed, cfg.Timeout, part)
		if err != nil {
			return t.result(start), fmt.Errorf("consistency: confirm extras: %w", err)
		}
		var changed, unreadable, redisOnly int64
		for i, l := range looks {
			switch {
			case l.Err != nil:
				unreadable++
			case !l.Found:
				changed++ // deleted or expired since the scan
			case evidence(l) == EvidenceOrphan && !deleted.has(h.sum(part[i])):
				redisOnly++ // a session that lives in Redis alone: not a resurrection
			default:
				ev := evidence(l)
				if ev == EvidenceOrphan {
					ev = EvidenceDeleted
				}
				t.confirm(Mismatch{ID: part[i], Kind: Extra, Distributed: l.Record, DistributedFound: true,
					Tombstoned: l.Tombstoned, TombstoneVersion: l.TombstoneVersion, Evidence: ev})
			}
		}
		t.add(func(r *PassResult) {
			r.Checked += int64(len(part))
			r.Changed += changed
			r.Unreadable += unreadable
			r.RedisOnly += redisOnly
		})
		t.scanned.Add(int64(len(part)))
		t.progress(false)
		if err := limit.Wait(ctx, t.scanned.Load()); err != nil {
			return t.result(start), fmt.Errorf("consistency: confirm extras: %w", err)
		}
	}
	t.progress(true)
	return t.result(start), nil
}
