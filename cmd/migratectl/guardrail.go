package main

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/sessionmigrate/sessionmigrate/migrate"
	"github.com/sessionmigrate/sessionmigrate/migrate/control"
)

// advances reports whether moving from cur to (stage, percent) sends more
// traffic to the distributed store: a later stage, or a higher ramp.
func advances(cur control.State, stage string, percent float64) bool {
	from, to := migrate.Stage(cur.Stage).Index(), migrate.Stage(stage).Index()
	return to > from || (to == from && percent > cur.Percent)
}

// checkGuards refuses to advance while any live instance reports its guard
// paused or tripped: that instance's own measurements say the distributed
// store is struggling, and the guard's pause tier exists to stop a ramp from
// advancing. --force overrides it, with a warning.
func (a *app) checkGuards(ctx context.Context, ctl *control.Client, cur control.State, stage string, percent float64, force bool) error {
	if !advances(cur, stage, percent) {
		return nil
	}
	hbs, err := ctl.Instances(ctx)
	if err != nil {
		return err
	}
	var held []string
	for _, hb := range hbs {
		switch {
		case hb.Guard.Tripped:
			held = append(held, fmt.Sprintf("%s (guard tripped: %s)", hb.InstanceID, hb.Guard.Reason))
		case hb.Guard.Paused:
			held = append(held, hb.InstanceID+" (guard paused)")
		}
	}
	if len(held) == 0 {
		return nil
	}
	sort.Strings(held)
	err = fmt.Errorf("%w: %s: the distributed store is struggling there; wait for the guard to calm down or use force",
		control.ErrRefused, strings.Join(held, ", "))
	if !force {
		return err
	}
	fmt.Fprintf(a.stderr, "migratectl: warning: --force overrides: %s\n", strings.TrimPrefix(classify(err).Error(), "refused: "))
	return nil
}
