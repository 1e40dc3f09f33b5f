package migrate

import (
	"context"
	"fmt"
)

// leavingComplete prepares local for routing that leaves complete for to:
// complete wrote nothing to local, so every session local kept from before
// complete may be older than Redis (changed, expired or deleted through any
// instance since), and the stages before complete trust local. It forgets
// them (router.Core.ForgetLocal): their next read is answered from Redis and
// installed again, so nobody is logged out and nothing stale or deleted is
// served. Sessions still tracked as unsynced are kept. It must run before
// the new router is swapped in, without m.mu held (it scans local).
//
// It does nothing unless complete is in effect and to is another stage.
func (m *Migrator) leavingComplete(to Stage) error {
	if m.State().Stage != Complete || to == Complete {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), m.opts.CloseTimeout)
	defer cancel()
	n, err := m.core.ForgetLocal(ctx)
	if err != nil {
		return fmt.Errorf("migrate: leaving complete: %w", err)
	}
	m.opts.Logger.Info("sessionmigrate: leaving complete; local copies from before complete forgotten", "sessions", n, "to", string(to))
	return nil
}
