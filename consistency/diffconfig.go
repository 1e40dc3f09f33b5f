package consistency

import (
	"bytes"
	"errors"
	"time"

	"github.com/sessionmigrate/sessionmigrate/store"
)

// Defaults of DiffConfig.
const (
	DefaultDiffBatch       = 256
	DefaultDiffConcurrency = 2
	DefaultDiffDelay       = DefaultDelay // above the routers' synchronous timeout, as for the Checker
	DefaultDiffTimeout     = 5 * time.Second
	DefaultDiffSamples     = 10
	DefaultMaxCandidates   = 1 << 20
)

// DiffConfig configures the passes of a full diff: [LocalPass] on each
// instance, and [ScanExtras] and [ConfirmExtras] on the one instance that
// scans the distributed store. Zero fields take the defaults.
type DiffConfig struct {
	// Local is the instance's local store; LocalPass needs it to implement
	// store.Scanner.
	Local store.Store
	// Distributed is the shared store. With store.BatchGetter it is read
	// in pipelined batches that also report tombstones (redisstore);
	// otherwise one Get per session. ScanExtras lists it with
	// store.IDScanner, or else store.Scanner.
	Distributed store.Store
	// Compare decides data equality (default bytes.Equal).
	Compare Comparator
	// Batch is how many sessions one distributed read carries (default
	// DefaultDiffBatch); Concurrency how many reads are in flight (default
	// DefaultDiffConcurrency).
	Batch       int
	Concurrency int
	// Rate limits the sessions compared (LocalPass) or keys listed
	// (ScanExtras) per second; 0 is unlimited.
	Rate float64
	// Delay is how long a suspected mismatch waits before its re-check
	// (default DefaultDiffDelay). Keep it above the synchronous
	// distributed timeout of the routers, as for the online Checker.
	Delay time.Duration
	// Timeout bounds each distributed read (default DefaultDiffTimeout).
	Timeout time.Duration
	// Samples is how many redacted samples a result keeps per kind
	// (default DefaultDiffSamples; negative keeps none).
	Samples int
	// RedactKey keys the redacted ids of samples: the migration's salt,
	// so that samples match `migratectl route`.
	RedactKey string
	// MemberKey, when set, makes LocalPass collect the member hashes of the
	// local sessions it visits (PassResult.Members) for ScanExtras.
	MemberKey string
	// MaxCandidates bounds the ids ScanExtras keeps for confirmation
	// (default DefaultMaxCandidates); beyond it candidates are only
	// counted.
	MaxCandidates int
	// Instance names the instance in samples.
	Instance string
	// InFlight reports whether id has a distributed write pending on this
	// instance; such sessions are skipped. Optional.
	InFlight func(id string) bool
	// OnMismatch receives each confirmed mismatch with its id, so the
	// caller can repair it (see Repairer); it must never log or export the
	// id. It runs on the pass's re-check goroutine (LocalPass) or the
	// caller's (ConfirmExtras), never concurrently, with no lock of the
	// pass held. Optional.
	OnMismatch func(Mismatch)
	// Progress, when set, is called with the counts so far about every
	// ProgressEvery (default 1s) and once at the end, from the goroutine
	// that reads the scanned store, never concurrently.
	Progress      func(Progress)
	ProgressEvery time.Duration
}

// Progress is a pass's progress.
type Progress struct {
	// Scanned counts sessions visited (local sessions, or distributed keys
	// listed by ScanExtras).
	Scanned int64
	// Suspects counts differences awaiting or under re-check.
	Suspects int64
	// Confirmed counts mismatches confirmed so far.
	Confirmed int64
	// Done is true in the last report.
	Done bool
}

func (c *DiffConfig) setDefaults() error {
	if c.Local == nil || c.Distributed == nil {
		return errors.New("consistency: diff: Local and Distributed are required")
	}
	if c.Batch < 0 || c.Concurrency < 0 || c.Rate < 0 || c.Delay < 0 || c.Timeout < 0 || c.MaxCandidates < 0 || c.ProgressEvery < 0 {
		return errors.New("consistency: diff: Batch, Concurrency, Rate, Delay, Timeout, MaxCandidates and ProgressEvery must not be negative")
	}
	if c.Compare == nil {
		c.Compare = bytes.Equal
	}
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.Batch, DefaultDiffBatch)
	def(&c.Concurrency, DefaultDiffConcurrency)
	def(&c.MaxCandidates, DefaultMaxCandidates)
	def(&c.Samples, DefaultDiffSamples)
	if c.Delay == 0 {
		c.Delay = DefaultDiffDelay
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultDiffTimeout
	}
	if c.ProgressEvery == 0 {
		c.ProgressEvery = time.Second
	}
	return nil
}

func (c *DiffConfig) inFlight(id string) bool { return c.InFlight != nil && c.InFlight(id) }
