package faultstore

import (
	"errors"
	"fmt"
)

// ErrInjected is wrapped by every error that faultstore injects. The inner
// store was not called unless the error also wraps [ErrInjectedAmbiguous].
var ErrInjected = errors.New("faultstore: injected fault")

// ErrInjectedAmbiguous is wrapped by injected errors returned after the call
// was applied to the inner store. It wraps [ErrInjected], so
// errors.Is(err, ErrInjected) holds for ambiguous errors too.
var ErrInjectedAmbiguous = fmt.Errorf("faultstore: injected fault after the operation was applied: %w", ErrInjected)

// Op is the kind of a store operation. Faults and counters are kept per Op.
type Op uint8

// The operation kinds of [store.Store], [store.Versioned] and [store.Scanner].
const (
	OpGet Op = iota
	OpSet
	OpDelete
	OpDeleteVersion
	OpScan

	numOps
)

// Ops returns every Op, in declaration order.
func Ops() []Op {
	return []Op{OpGet, OpSet, OpDelete, OpDeleteVersion, OpScan}
}

// String returns the lower-case name of the operation ("get", "set",
// "delete", "delete_version", "scan").
func (o Op) String() string {
	switch o {
	case OpGet:
		return "get"
	case OpSet:
		return "set"
	case OpDelete:
		return "delete"
	case OpDeleteVersion:
		return "delete_version"
	case OpScan:
		return "scan"
	default:
		return fmt.Sprintf("op(%d)", uint8(o))
	}
}

// Valid reports whether o is one of the declared operation kinds.
func (o Op) Valid() bool { return o < numOps }

// isWrite reports whether o changes the store, which is what a dropped write
// skips.
func (o Op) isWrite() bool {
	return o == OpSet || o == OpDelete || o == OpDeleteVersion
}

// opsOrAll returns ops, or every Op when ops is empty, and an error naming
// the first invalid one.
func opsOrAll(ops []Op) ([]Op, error) {
	if len(ops) == 0 {
		return Ops(), nil
	}
	for _, o := range ops {
		if !o.Valid() {
			return nil, fmt.Errorf("faultstore: unknown %v", o)
		}
	}
	return ops, nil
}
