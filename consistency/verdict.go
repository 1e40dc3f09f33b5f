package consistency

import "github.com/sessionmigrate/sessionmigrate/store"

// Kinds lists the mismatch kinds in their fixed order: the order of
// reports, of CSV rows and of migratectl's exit bits.
var Kinds = [...]Kind{Missing, Stale, Extra, Data, Expiry}

// Valid reports whether k is Match or one of Kinds.
func (k Kind) Valid() bool {
	if k == Match {
		return true
	}
	for _, m := range Kinds {
		if k == m {
			return true
		}
	}
	return false
}

// verdict is what the full diff concludes about one local session and the
// distributed store's answer for it.
type verdict int

const (
	// verdictAgree: the copies match.
	verdictAgree verdict = iota
	// verdictSuperseded: the distributed store holds a newer write (another
	// instance wrote or deleted the session later): this local copy is
	// behind, the distributed one is right.
	verdictSuperseded
	// verdictDiffer: a mismatch of the kind returned beside.
	verdictDiffer
	// verdictUnreadable: the distributed copy does not decode.
	verdictUnreadable
)

// judge classifies a local read (l, lfound) against a batch read d of the
// same id, version-aware: it is Compare's classification, except that a
// distributed copy newer than local, or a tombstone at or above local's
// version, means another instance wrote or deleted the session after this
// local copy: the distributed store is right and there is nothing to
// repair.
func judge(cmp Comparator, l store.Record, lfound bool, d store.Lookup) (verdict, Kind) {
	if d.Err != nil {
		return verdictUnreadable, ""
	}
	if lfound && !d.Found && d.Tombstoned && l.Version != 0 && d.TombstoneVersion >= l.Version {
		return verdictSuperseded, ""
	}
	kind := Compare(cmp, l, lfound, d.Record, d.Found)
	switch {
	case kind == Match:
		return verdictAgree, Match
	case kind == Data && l.Version != 0 && d.Record.Version > l.Version:
		return verdictSuperseded, ""
	}
	return verdictDiffer, kind
}
