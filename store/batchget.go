package store

import "context"

// Lookup is what a batch read ([BatchGetter]) found for one id.
type Lookup struct {
	// Record and Found are what Get would have returned for the id.
	Record Record
	Found  bool
	// Tombstoned is true when the store holds a tombstone for the id, at
	// TombstoneVersion. Beside a found record it means the record was
	// written over a delete by something that does not honour tombstones
	// (an unversioned write, a tool writing keys directly): a deleted
	// session that came back.
	Tombstoned       bool
	TombstoneVersion uint64
	// Err is non-nil (wrapping ErrCorrupt) when this id's stored metadata
	// does not decode; the other fields are then zero. One damaged record
	// never fails a whole batch.
	Err error
}

// BatchGetter is implemented by stores that read many ids in few round
// trips and can report tombstones (redisstore pipelines the reads). The
// full consistency diff uses it when present.
type BatchGetter interface {
	// GetMany returns one Lookup per id, in the order of ids. err is
	// non-nil when the store could not answer (lookups are then nil);
	// expiry is judged as Get judges it.
	GetMany(ctx context.Context, ids []string) (lookups []Lookup, err error)
}

// IDScanner is implemented by stores that can list the ids they hold
// without reading the records (redisstore: SCAN alone). The full diff uses
// it to look for sessions no local store knows.
type IDScanner interface {
	// ScanIDs calls fn with pages of ids, in no particular order, never
	// concurrently. An id may be listed more than once, and a listed id
	// may have expired or been deleted by the time fn sees it: read it
	// to know. fn must not keep the slice. ErrStopScan and ctx behave as
	// for Scanner.Scan.
	ScanIDs(ctx context.Context, fn func(ids []string) error) error
}
