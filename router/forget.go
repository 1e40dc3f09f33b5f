package router

import (
	"context"
	"fmt"

	"github.com/sessionmigrate/sessionmigrate/store"
)

// ForgetLocal removes from the local store every live session this Core
// does not track as unsynced, and returns how many it removed. Call it when
// routing leaves complete (a forced rollback), before the new stage's router
// is in effect: complete wrote nothing to local, so what local kept from
// before complete may be older than the distributed store (changed, expired
// or deleted through any instance since), and the stages before complete
// trust local. Once forgotten, a session is answered from the distributed
// store on its next read and installed again (see Core.readLocal), so
// nobody is logged out and nothing stale or deleted is served.
//
// Tracked sessions stay: their newest write is in local only, and the
// writer still copies it. Local tombstones stay too (Scan does not visit
// them). ForgetLocal needs a local store that implements store.Scanner.
func (c *Core) ForgetLocal(ctx context.Context) (int, error) {
	sc, ok := c.local.(store.Scanner)
	if !ok {
		return 0, fmt.Errorf("router: forget local sessions: local store %T does not implement store.Scanner", c.local)
	}
	// From here local is not whole: sessions written at complete live in
	// the distributed store only (see Local).
	c.partial.Store(true)
	n := 0
	err := sc.Scan(ctx, func(id string, _ store.Record) error {
		if c.track.Has(id) {
			return nil
		}
		if err := c.local.Delete(ctx, id); err != nil {
			return err
		}
		n++
		return nil
	})
	if err != nil {
		return n, fmt.Errorf("router: forget local sessions: %w", err)
	}
	return n, nil
}
