package storetest

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/sessionmigrate/sessionmigrate/store"
)

var concurrentTests = []test{
	{"DistinctIDs", testConcurrentDistinctIDs},
	{"VersionedSets", testConcurrentSets},
	{"VersionedSetsAndDeletes", testConcurrentSetsAndDeletes},
}

const (
	writers         = 16
	writesPerWriter = 50
)

// versionData is the value every writer stores at version v, so duplicate
// versions written by different goroutines carry identical data.
func versionData(v uint64) []byte { return fmt.Appendf(nil, "data at version %d", v) }

// run starts n goroutines at once and waits for them.
func runConcurrently(n int, fn func(g int)) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	for g := range n {
		wg.Go(func() {
			<-start
			fn(g)
		})
	}
	close(start)
	wg.Wait()
}

// testConcurrentDistinctIDs: goroutines working on their own ids never see
// each other's data.
func testConcurrentDistinctIDs(h *harness) {
	exp := h.now().Add(time.Hour)
	runConcurrently(writers, func(g int) {
		for i := range writesPerWriter {
			id := fmt.Sprintf("writer-%d", g)
			data := fmt.Appendf(nil, "writer %d write %d", g, i)
			if err := h.s.Set(h.ctx, id, store.Record{Data: data, ExpiresAt: exp}); err != nil {
				h.Errorf("Set(%s) = %v, want nil", id, err)
				return
			}
			got, found, err := h.s.Get(h.ctx, id)
			if err != nil || !found || string(got.Data) != string(data) {
				h.Errorf("Get(%s) = (%s, %v, %v), want (%q, true, nil)", id, show(got.Data), found, err, data)
				return
			}
			if i%10 == 9 {
				if err := h.s.Delete(h.ctx, id); err != nil {
					h.Errorf("Delete(%s) = %v, want nil", id, err)
					return
				}
			}
		}
	})
}

// testConcurrentSets: many writers racing on one id with random versions end
// at the highest version and its data, whatever the interleaving.
func testConcurrentSets(h *harness) {
	h.versioned()
	exp := h.now().Add(time.Hour)
	var (
		mu   sync.Mutex
		high uint64
	)
	runConcurrently(writers, func(g int) {
		rng := rand.New(rand.NewPCG(uint64(g), 1))
		for range writesPerWriter {
			v := 1 + rng.Uint64N(1000)
			mu.Lock()
			high = max(high, v)
			mu.Unlock()
			if err := h.s.Set(h.ctx, "id", store.Record{Data: versionData(v), ExpiresAt: exp, Version: v}); err != nil {
				h.Errorf("Set(version %d) = %v, want nil", v, err)
				return
			}
		}
	})
	if h.Failed() {
		return
	}
	h.mustGet("id", store.Record{Data: versionData(high), ExpiresAt: exp, Version: high})
}

// testConcurrentSetsAndDeletes: with versioned Sets and DeleteVersions racing
// on one id, the operation with the highest version decides the outcome, a
// delete winning a tie. Random operations use versions 1..1000; the highest
// operations, at version 1001, are planted mid-stream.
func testConcurrentSetsAndDeletes(h *harness) {
	v := h.versioned()
	const top = 1001
	cases := []struct {
		name              string
		topSet, topDelete bool
	}{
		{"highest is a Set", true, false},
		{"highest is a DeleteVersion", false, true},
		{"tie at the highest version", true, true},
	}
	for ci, tc := range cases {
		id := fmt.Sprintf("id-%d", ci)
		exp := h.now().Add(time.Hour)
		set := func(ver uint64) {
			if err := h.s.Set(h.ctx, id, store.Record{Data: versionData(ver), ExpiresAt: exp, Version: ver}); err != nil {
				h.Errorf("Set(version %d) = %v, want nil", ver, err)
			}
		}
		del := func(ver uint64) {
			if err := v.DeleteVersion(h.ctx, id, ver, exp); err != nil {
				h.Errorf("DeleteVersion(%d) = %v, want nil", ver, err)
			}
		}
		runConcurrently(writers, func(g int) {
			rng := rand.New(rand.NewPCG(uint64(g), uint64(ci)))
			for i := range writesPerWriter {
				if i == writesPerWriter/2 {
					switch {
					case g == 0 && tc.topSet:
						set(top)
					case g == 1 && tc.topDelete:
						del(top)
					}
				}
				if ver := 1 + rng.Uint64N(top-1); rng.IntN(5) == 0 {
					del(ver)
				} else {
					set(ver)
				}
			}
		})
		if h.Failed() {
			return
		}
		if tc.topDelete {
			h.mustMiss(id, tc.name)
			continue
		}
		h.mustGet(id, store.Record{Data: versionData(top), ExpiresAt: exp, Version: top})
	}
}
