package control

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/redis/go-redis/v9"
)

// Audit kinds: what kind of change an [AuditEntry] records.
const (
	KindUpdate   = "update"   // Update or Apply
	KindRollback = "rollback" // Rollback, manual or automatic
	KindResume   = "resume"   // Resume
	KindRepair   = "repair"   // Repair of a corrupt or lost state
)

// casScript replaces the state only if it still holds the value the caller
// read, and in the same atomic step appends the audit entry and publishes the
// new epoch, so no change goes unaudited or unannounced.
//
// KEYS[1] state, KEYS[2] audit stream.
// ARGV[1] "1" if the state must be absent, else "0"; ARGV[2] expected value;
// ARGV[3] new value; ARGV[4] new epoch; ARGV[5] audit kind; ARGV[6] audit
// MAXLEN; ARGV[7] change channel; ARGV[8] "1" if made with force.
var casScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if ARGV[1] == '1' then
  if cur then return 0 end
elseif cur ~= ARGV[2] then
  return 0
end
redis.call('SET', KEYS[1], ARGV[3])
local entry = {'kind', ARGV[5], 'epoch', ARGV[4], 'state', ARGV[3], 'prev', cur or ''}
if ARGV[8] == '1' then
  table.insert(entry, 'force')
  table.insert(entry, '1')
end
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[6], '*', unpack(entry))
redis.call('PUBLISH', ARGV[7], ARGV[4])
return 1
`)

// stored is the state key as read: its raw bytes (for the compare-and-set)
// and whether it existed.
type stored struct {
	raw   []byte
	found bool
}

// State returns the stored state. A missing key is the initial state (local,
// 0%, epoch 0). A stored value that cannot be decoded or fails validation
// returns an error wrapping ErrCorruptState that says what is wrong.
func (c *Client) State(ctx context.Context) (State, error) {
	s, _, err := c.load(ctx)
	if err != nil {
		return State{}, fmt.Errorf("control: state: %w", err)
	}
	return s, nil
}

// read returns the state key as stored.
func (c *Client) read(ctx context.Context) (stored, error) {
	raw, err := c.rdb.Get(ctx, c.keys.state).Bytes()
	if errors.Is(err, redis.Nil) {
		return stored{}, nil
	}
	if err != nil {
		return stored{}, err
	}
	return stored{raw: raw, found: true}, nil
}

// load reads and decodes the state key; a missing key is the initial state.
func (c *Client) load(ctx context.Context) (State, stored, error) {
	st, err := c.read(ctx)
	if err != nil {
		return State{}, st, err
	}
	if !st.found {
		return initialState(), st, nil
	}
	s, err := decodeState(st.raw)
	return s, st, err
}

// Update writes next if the stored epoch is expectEpoch, and returns the
// state as written: Epoch expectEpoch+1 and Time from the clock (the values
// of those fields in next are ignored). It returns an error wrapping
// ErrConflict when the stored epoch differs, ErrCorruptState when the stored
// state cannot be decoded (see [Client.Repair]) and ErrInvalid when next
// fails validation. The write, its audit entry ([KindUpdate]) and its change
// notice happen atomically. Update does not enforce stage order; see
// [CheckTransition].
func (c *Client) Update(ctx context.Context, expectEpoch uint64, next State) (State, error) {
	return c.update(ctx, expectEpoch, next, audit{kind: KindUpdate})
}

// UpdateForced is Update for a change made with force (migratectl
// --force): the audit entry records it ([AuditEntry.Force]), so history
// shows every override.
func (c *Client) UpdateForced(ctx context.Context, expectEpoch uint64, next State) (State, error) {
	return c.update(ctx, expectEpoch, next, audit{kind: KindUpdate, force: true})
}

func (c *Client) update(ctx context.Context, expectEpoch uint64, next State, a audit) (State, error) {
	cur, st, err := c.load(ctx)
	if err != nil {
		return State{}, fmt.Errorf("control: update: %w", err)
	}
	if cur.Epoch != expectEpoch {
		return State{}, fmt.Errorf("control: update: %w: expected epoch %d, stored epoch is %d", ErrConflict, expectEpoch, cur.Epoch)
	}
	s, err := c.write(ctx, st, next, cur.Epoch+1, a)
	if err != nil {
		return State{}, fmt.Errorf("control: update: %w", err)
	}
	return s, nil
}

// Apply reads the state, calls fn with it and writes what fn returns with a
// compare-and-set, retrying from the read when another writer got there
// first, up to Options.ApplyRetries attempts (then an error wrapping
// ErrConflict). fn may run several times and must not have side effects. If
// fn returns ErrNoChange, Apply returns the current state and nil without
// writing; any other error from fn is returned as is, so callers can test it
// with errors.Is (ErrRefused, ...). The written change is audited as
// [KindUpdate].
func (c *Client) Apply(ctx context.Context, fn func(cur State) (State, error)) (State, error) {
	return c.apply(ctx, "apply", audit{kind: KindUpdate}, fn)
}

// audit is how a write is recorded in the audit stream.
type audit struct {
	kind  string
	force bool
}

// apply implements Apply for any audit record; op names the operation in
// error messages.
func (c *Client) apply(ctx context.Context, op string, a audit, fn func(cur State) (State, error)) (State, error) {
	for attempt := range c.opts.ApplyRetries {
		if attempt > 0 {
			if err := backoff(ctx, attempt); err != nil {
				return State{}, fmt.Errorf("control: %s: %w", op, err)
			}
		}
		cur, st, err := c.load(ctx)
		if err != nil {
			return State{}, fmt.Errorf("control: %s: %w", op, err)
		}
		next, err := fn(cur)
		if errors.Is(err, ErrNoChange) {
			return cur, nil
		}
		if err != nil {
			return State{}, err
		}
		s, err := c.write(ctx, st, next, cur.Epoch+1, a)
		if errors.Is(err, ErrConflict) {
			continue
		}
		if err != nil {
			return State{}, fmt.Errorf("control: %s: %w", op, err)
		}
		return s, nil
	}
	return State{}, fmt.Errorf("control: %s: %w: gave up after %d attempts", op, ErrConflict, c.opts.ApplyRetries)
}

// write stores next at epoch if the state key still holds prev, appends the
// audit entry and publishes the notice, all in one script. It returns
// ErrConflict (unwrapped) when the key changed since prev was read.
func (c *Client) write(ctx context.Context, prev stored, next State, epoch uint64, a audit) (State, error) {
	next.Epoch = epoch
	next.Time = c.now()
	next.Force = a.force
	b, err := encodeState(next)
	if err != nil {
		return State{}, err
	}
	absent := "0"
	if !prev.found {
		absent = "1"
	}
	force := "0"
	if a.force {
		force = "1"
	}
	ok, err := casScript.Run(ctx, c.rdb, []string{c.keys.state, c.keys.audit},
		absent, prev.raw, b, epoch, a.kind, c.opts.AuditMaxLen, c.keys.changes, force).Int()
	if err != nil {
		return State{}, err
	}
	if ok != 1 {
		return State{}, ErrConflict
	}
	c.log.Info("migration state changed", "kind", a.kind, "force", a.force, "stage", next.Stage,
		"percent", next.Percent, "epoch", next.Epoch, "actor", next.Actor, "reason", next.Reason)
	return next, nil
}

// backoff waits a random moment that grows with attempt, so racing writers
// spread out instead of colliding again.
func backoff(ctx context.Context, attempt int) error {
	if !sleep(ctx, time.Duration(rand.Int64N(int64(attempt)*int64(2*time.Millisecond)))) {
		return ctx.Err()
	}
	return nil
}
