package faultstore_test

import (
	"context"
	"sync"
	"time"

	"github.com/sessionmigrate/sessionmigrate/store"
)

// fakeStore is a minimal Versioned Scanner for exercising the wrapper. It
// ignores expiry except that a past ExpiresAt deletes.
type fakeStore struct {
	mu    sync.Mutex
	recs  map[string]store.Record
	tombs map[string]uint64
	calls map[string]int
	err   error // returned by every call when non-nil
}

func newFake() *fakeStore {
	return &fakeStore{recs: map[string]store.Record{}, tombs: map[string]uint64{}, calls: map[string]int{}}
}

// plainStore hides every method of its inner store but those of store.Store.
type plainStore struct{ store.Store }

func (f *fakeStore) enter(method string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[method]++
	return f.err
}

func (f *fakeStore) Get(ctx context.Context, id string) (store.Record, bool, error) {
	if err := f.enter("get"); err != nil {
		return store.Record{}, false, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	rec, ok := f.recs[id]
	return rec, ok, nil
}

func (f *fakeStore) Set(ctx context.Context, id string, rec store.Record) error {
	if err := f.enter("set"); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if rec.Version != 0 {
		if old, ok := f.recs[id]; ok && old.Version > rec.Version {
			return nil
		}
		if f.tombs[id] >= rec.Version {
			return nil
		}
	}
	if rec.Expired(time.Now()) {
		delete(f.recs, id)
		return nil
	}
	f.recs[id] = rec
	return nil
}

func (f *fakeStore) Delete(ctx context.Context, id string) error {
	if err := f.enter("delete"); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.recs, id)
	delete(f.tombs, id)
	return nil
}

func (f *fakeStore) DeleteVersion(ctx context.Context, id string, version uint64, until time.Time) error {
	if err := f.enter("delete_version"); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if old, ok := f.recs[id]; ok && old.Version > version {
		return nil
	}
	delete(f.recs, id)
	f.tombs[id] = version
	return nil
}

func (f *fakeStore) Scan(ctx context.Context, fn func(id string, rec store.Record) error) error {
	if err := f.enter("scan"); err != nil {
		return err
	}
	f.mu.Lock()
	snapshot := make(map[string]store.Record, len(f.recs))
	for id, rec := range f.recs {
		snapshot[id] = rec
	}
	f.mu.Unlock()
	for id, rec := range snapshot {
		if err := fn(id, rec); err != nil {
			if err == store.ErrStopScan {
				return nil
			}
			return err
		}
	}
	return nil
}

// calledTimes returns how often method reached the fake.
func (f *fakeStore) calledTimes(method string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[method]
}

// has reports whether a live record is stored under id.
func (f *fakeStore) has(id string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.recs[id]
	return ok
}

// put stores rec under id directly, bypassing counters.
func (f *fakeStore) put(id string, rec store.Record) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.recs[id] = rec
}
