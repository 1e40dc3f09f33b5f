package storetest_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path"
	"sync"
	"time"

	"github.com/sessionmigrate/sessionmigrate/store"
)

// refStore is a deliberately simple, single-mutex implementation of the
// contract. With bug == "" it must pass the suite; each named bug breaks one
// rule, and the suite must catch it (see TestSuiteCatchesBugs).
type refStore struct {
	mu     sync.Mutex
	m      map[string]refEntry
	now    func() time.Time
	maxTTL time.Duration
	bug    string
}

type refEntry struct {
	data    []byte
	exp     time.Time
	version uint64
	tomb    bool
}

var (
	_ store.Versioned       = (*refStore)(nil)
	_ store.Scanner         = (*refStore)(nil)
	_ store.LatestWriter    = (*refStore)(nil)
	_ store.TombstoneReader = (*refStore)(nil)
)

func newRefStore(now func() time.Time, maxTTL time.Duration, bug string) *refStore {
	return &refStore{m: make(map[string]refEntry), now: now, maxTTL: maxTTL, bug: bug}
}

func (r *refStore) expired(e refEntry, now time.Time) bool {
	if e.exp.IsZero() { // only reachable with the zero-expiry-immortal bug
		return false
	}
	if r.bug == "expiry-exclusive" {
		return now.After(e.exp)
	}
	return !e.exp.After(now)
}

func (r *refStore) expiry(t, now time.Time) time.Time {
	if t.IsZero() {
		if r.bug == "zero-expiry-immortal" {
			return time.Time{}
		}
		t = now.Add(r.maxTTL)
	}
	if r.bug == "no-truncation" {
		return t
	}
	if tr := t.Truncate(time.Millisecond); !tr.IsZero() || r.bug == "truncates-to-zero" {
		return tr
	}
	return t // truncating would turn a long-past instant into "no expiry"
}

// current returns id's unexpired entry. The caller holds r.mu.
func (r *refStore) current(id string, now time.Time) (refEntry, bool) {
	e, ok := r.m[id]
	return e, ok && !r.expired(e, now)
}

func (r *refStore) Get(_ context.Context, id string) (store.Record, bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	e, ok := r.current(id, now)
	if !ok || e.tomb {
		if r.bug == "miss-is-error" {
			return store.Record{}, false, errors.New("ref: not found")
		}
		return store.Record{}, false, nil
	}
	if r.bug == "sliding-expiry" {
		e.exp = now.Add(time.Hour).Truncate(time.Millisecond)
		r.m[id] = e
	}
	data := e.data
	if r.bug != "returns-alias" {
		data = bytes.Clone(data)
	}
	return store.Record{Data: data, ExpiresAt: e.exp, Version: e.version}, true, nil
}

func (r *refStore) blocks(e refEntry, v uint64) bool {
	switch {
	case r.bug == "float-versions":
		return float64(e.version) > float64(v) || (e.tomb && float64(e.version) == float64(v))
	case e.tomb && r.bug == "tie-goes-to-set":
		return e.version > v
	case e.tomb:
		return e.version >= v
	default:
		return e.version > v
	}
}

func (r *refStore) Set(ctx context.Context, id string, rec store.Record) error {
	return r.SetAt(ctx, id, rec, r.now())
}

func (r *refStore) SetAt(_ context.Context, id string, rec store.Record, now time.Time) error {
	if err := r.checkExpiry(rec.ExpiresAt); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.bug == "setat-ignores-now" {
		now = r.now()
	}
	exp := r.expiry(rec.ExpiresAt, now)
	if e, ok := r.current(id, now); ok && rec.Version != 0 && r.blocks(e, rec.Version) {
		return nil
	}
	if !exp.IsZero() && !exp.After(now) {
		switch {
		case r.bug == "past-expiry-ignored":
		case r.bug == "versioned-past-leaves-tombstone" && rec.Version != 0:
			r.m[id] = refEntry{exp: now.Add(time.Hour), version: rec.Version, tomb: true}
		default:
			delete(r.m, id)
		}
		return nil
	}
	data := rec.Data
	if r.bug != "keeps-alias" {
		data = bytes.Clone(data)
	}
	r.m[id] = refEntry{data: data, exp: exp, version: rec.Version}
	return nil
}

func (r *refStore) Delete(_ context.Context, id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch r.bug {
	case "glob-delete":
		for k := range r.m {
			if ok, _ := path.Match(id, k); ok {
				delete(r.m, k)
			}
		}
	case "delete-keeps-tombstone":
		if e, ok := r.m[id]; ok && e.tomb {
			return nil
		}
	}
	delete(r.m, id)
	return nil
}

func (r *refStore) DeleteVersion(_ context.Context, id string, version uint64, until time.Time) error {
	if err := r.checkExpiry(until); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	if e, ok := r.current(id, now); ok && e.version > version {
		return nil
	}
	until = r.expiry(until, now)
	if !until.After(now) {
		delete(r.m, id)
		return nil
	}
	if r.bug == "tombstone-forever" {
		until = now.AddDate(100, 0, 0)
	}
	r.m[id] = refEntry{exp: until, version: version, tomb: true}
	return nil
}

func (r *refStore) Scan(ctx context.Context, fn func(id string, rec store.Record) error) error {
	r.mu.Lock()
	now := r.now()
	snap := make(map[string]refEntry, len(r.m))
	for id, e := range r.m {
		if r.bug == "scan-includes-tombstones" || (!e.tomb && !r.expired(e, now)) {
			snap[id] = e
		}
	}
	r.mu.Unlock()
	for id, e := range snap {
		if err := ctx.Err(); err != nil && r.bug != "scan-ignores-ctx" {
			return fmt.Errorf("ref: scan: %w", err)
		}
		err := fn(id, store.Record{Data: bytes.Clone(e.data), ExpiresAt: e.exp, Version: e.version})
		switch {
		case err == nil:
		case errors.Is(err, store.ErrStopScan):
			if r.bug != "scan-ignores-stop" {
				return nil
			}
		case r.bug == "scan-wraps-error":
			return fmt.Errorf("ref: scan: %w", err)
		default:
			return err
		}
	}
	return nil
}

func (r *refStore) checkExpiry(t time.Time) error {
	if r.bug == "accepts-far-expiry" {
		return nil
	}
	return store.CheckExpiry(t)
}

// above is the version a latest write at v stores over id.
func (r *refStore) above(id string, v uint64, now time.Time) (uint64, refEntry, bool, error) {
	e, ok := r.current(id, now)
	switch {
	case !ok || e.version < v || r.bug == "latest-is-plain-set":
		return v, e, ok, nil
	case e.version == ^uint64(0):
		return 0, e, ok, errors.New("ref: version space exhausted")
	}
	return e.version + 1, e, ok, nil
}

func (r *refStore) SetLatest(_ context.Context, id string, rec store.Record) (uint64, error) {
	if err := r.checkExpiry(rec.ExpiresAt); err != nil {
		return 0, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	exp := r.expiry(rec.ExpiresAt, now)
	if !exp.After(now) {
		return 0, fmt.Errorf("ref: set latest: %w: past expiry", store.ErrExpiry)
	}
	v, _, _, err := r.above(id, rec.Version, now)
	if err != nil {
		return 0, err
	}
	r.m[id] = refEntry{data: bytes.Clone(rec.Data), exp: exp, version: v}
	return v, nil
}

func (r *refStore) DeleteLatest(_ context.Context, id string, version uint64, until, fallback time.Time) (uint64, error) {
	for _, t := range []time.Time{until, fallback} {
		if err := r.checkExpiry(t); err != nil {
			return 0, err
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	v, e, ok, err := r.above(id, version, now)
	if err != nil {
		return 0, err
	}
	u := r.expiry(fallback, now)
	switch {
	case !until.IsZero():
		u = r.expiry(until, now)
	case ok && !e.tomb && r.bug != "latest-delete-ignores-record-expiry":
		u = e.exp
	}
	if !u.After(now) {
		delete(r.m, id)
		return v, nil
	}
	r.m[id] = refEntry{exp: u, version: v, tomb: true}
	return v, nil
}

func (r *refStore) Tombstone(_ context.Context, id string) (uint64, bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.current(id, r.now())
	if !ok || (!e.tomb && r.bug != "tombstone-reports-records") {
		return 0, false, nil
	}
	return e.version, true, nil
}
