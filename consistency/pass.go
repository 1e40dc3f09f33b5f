package consistency

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/sessionmigrate/sessionmigrate/redact"
)

// PassResult is what one instance's part of a full diff found. It holds no
// session id: samples are redacted.
type PassResult struct {
	// Instance is DiffConfig.Instance.
	Instance string `json:"instance"`
	// Checked counts the local sessions compared (LocalPass) or the
	// candidates confirmed against the distributed store (ConfirmExtras).
	Checked int64 `json:"checked"`
	// InDistributed counts the compared local sessions the distributed
	// store held live at the first read.
	InDistributed int64 `json:"in_distributed"`
	// Skipped counts sessions with a distributed write in flight.
	Skipped int64 `json:"skipped"`
	// Superseded counts local copies older than the distributed store's
	// (another instance wrote or deleted the session since): nothing to
	// repair.
	Superseded int64 `json:"superseded"`
	// Changed counts differences that did not survive the re-check (a
	// write landed in between).
	Changed int64 `json:"changed"`
	// Unreadable counts distributed copies whose metadata does not decode.
	Unreadable int64 `json:"unreadable"`
	// RedisOnly counts versioned distributed sessions no local store holds
	// and nothing shows were deleted (ConfirmExtras): from shadow on such a
	// session is legitimate (its instance restarted, its user was re-pinned
	// and has not come back yet, the fleet left complete) and is served
	// from Redis on its next read. Not a mismatch.
	RedisOnly int64 `json:"redis_only"`
	// Mismatches counts confirmed mismatches by kind.
	Mismatches Counts `json:"mismatches"`
	// Samples are up to DiffConfig.Samples confirmed mismatches per kind.
	Samples []Sample `json:"samples"`
	// Elapsed is how long the pass took.
	Elapsed time.Duration `json:"elapsed_ns"`
	// Members holds the member hashes of the local sessions visited, when
	// DiffConfig.MemberKey was set. Not encoded.
	Members *Members `json:"-"`
}

// tally accumulates a pass's result; its methods are safe for concurrent
// use. It calls OnMismatch and Progress with no lock held; each pass calls
// confirm and progress from one goroutine at a time, so the callbacks are
// never concurrent.
type tally struct {
	cfg  *DiffConfig
	hash *redact.Hasher

	scanned, suspects, confirmed atomic.Int64

	mu       sync.Mutex
	res      PassResult
	perKind  Counts // samples kept per kind
	lastProg time.Time
}

func newTally(cfg *DiffConfig) *tally {
	return &tally{cfg: cfg, hash: redact.NewHasher(cfg.RedactKey), res: PassResult{Instance: cfg.Instance, Samples: []Sample{}}}
}

// add runs fn on the result under the lock.
func (t *tally) add(fn func(r *PassResult)) {
	t.mu.Lock()
	fn(&t.res)
	t.mu.Unlock()
}

// confirm counts a confirmed mismatch, keeps its sample if there is room,
// and hands it to OnMismatch.
func (t *tally) confirm(mm Mismatch) {
	t.confirmed.Add(1)
	t.mu.Lock()
	t.res.Mismatches.Add(mm.Kind, 1)
	if t.perKind.Get(mm.Kind) < int64(t.cfg.Samples) {
		t.perKind.Add(mm.Kind, 1)
		t.res.Samples = append(t.res.Samples, newSample(t.hash, t.cfg.Instance, mm))
	}
	t.mu.Unlock()
	if t.cfg.OnMismatch != nil {
		t.cfg.OnMismatch(mm)
	}
}

// progress reports progress when ProgressEvery has passed since the last
// report, or always when done.
func (t *tally) progress(done bool) {
	if t.cfg.Progress == nil {
		return
	}
	t.mu.Lock()
	now := time.Now()
	due := done || now.Sub(t.lastProg) >= t.cfg.ProgressEvery
	if due {
		t.lastProg = now
	}
	t.mu.Unlock()
	if !due {
		return
	}
	t.cfg.Progress(Progress{Scanned: t.scanned.Load(), Suspects: t.suspects.Load(), Confirmed: t.confirmed.Load(), Done: done})
}

// result returns the result so far, with elapsed set.
func (t *tally) result(start time.Time) PassResult {
	t.mu.Lock()
	defer t.mu.Unlock()
	r := t.res
	r.Samples = append([]Sample(nil), t.res.Samples...)
	r.Elapsed = time.Since(start)
	return r
}
