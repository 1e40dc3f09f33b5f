package store

import "errors"

// ErrClosed is returned by a store's operations after Close.
var ErrClosed = errors.New("store: closed")

// ErrCorrupt is returned (wrapped) when stored metadata cannot be decoded,
// for example a damaged version sidecar in Redis. The record is not served
// and not overwritten by guesswork.
var ErrCorrupt = errors.New("store: corrupt metadata")

// ErrStopScan may be returned by a Scan callback to end the scan early; Scan
// then returns nil.
var ErrStopScan = errors.New("store: stop scan")
