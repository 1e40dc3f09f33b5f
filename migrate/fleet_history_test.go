package migrate

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/sessionmigrate/sessionmigrate/store/faultstore"
)

// The fleet model records every operation on a session as a porcupine
// operation, and porcupine (a linearizability checker nobody here wrote)
// checks each session's history against a key-value register: the contract
// promises linearizable sessions for a sticky user at every stage and for
// every session at complete, whichever instances serve it.

// kvInput is one operation on a session.
type kvInput struct {
	key   string
	op    byte // 'g' get, 's' set, 'd' delete
	value string
}

// kvOutput is its result. unknown: a write that failed with an error, whose
// effect may or may not have happened, and may still happen later unless
// settled: the error was injected by faultstore, which fails a call either
// before the store sees it or after the store applied it (ambiguous), so
// whatever effect it had happened before the call returned. An open-ended
// write overlaps every later operation of its session, and a few dozen of
// them (the shared sessions at complete, under faults) make porcupine's
// search run for minutes.
type kvOutput struct {
	found   bool
	value   string
	unknown bool
	settled bool
}

// failedWrite is the output of a write that returned err.
func failedWrite(err error) kvOutput {
	return kvOutput{unknown: true, settled: errors.Is(err, faultstore.ErrInjected)}
}

// kvState is one session's register: absent, or a value.
type kvState struct {
	present bool
	value   string
}

// sessionModel is the register porcupine checks each session against.
var sessionModel = porcupine.NondeterministicModel{
	Partition: func(h []porcupine.Operation) [][]porcupine.Operation {
		by := map[string][]porcupine.Operation{}
		var keys []string
		for _, op := range h {
			k := op.Input.(kvInput).key
			if _, ok := by[k]; !ok {
				keys = append(keys, k)
			}
			by[k] = append(by[k], op)
		}
		sort.Strings(keys)
		out := make([][]porcupine.Operation, 0, len(keys))
		for _, k := range keys {
			out = append(out, by[k])
		}
		return out
	},
	Init: func() []interface{} { return []interface{}{kvState{}} },
	Step: func(state, input, output interface{}) []interface{} {
		st, in, out := state.(kvState), input.(kvInput), output.(kvOutput)
		switch in.op {
		case 'g':
			if out.found == st.present && (!out.found || out.value == st.value) {
				return []interface{}{st}
			}
			return nil
		case 's':
			next := kvState{present: true, value: in.value}
			if out.unknown {
				return []interface{}{st, next}
			}
			return []interface{}{next}
		default:
			if out.unknown {
				return []interface{}{st, kvState{}}
			}
			return []interface{}{kvState{}}
		}
	},
	DescribeOperation: func(input, output interface{}) string {
		in, out := input.(kvInput), output.(kvOutput)
		switch {
		case in.op == 'g' && !out.found:
			return "get -> absent"
		case in.op == 'g':
			return "get -> " + out.value
		case out.unknown:
			return fmt.Sprintf("%c %s -> ?", in.op, in.value)
		}
		return fmt.Sprintf("%c %s", in.op, in.value)
	},
}

// history collects operations from every goroutine of a fleet run.
type history struct {
	mu    sync.Mutex
	start time.Time
	ops   []porcupine.Operation
}

func newHistory() *history { return &history{start: time.Now()} }

// now is a timestamp for Call and Return (monotonic, in nanoseconds).
func (h *history) now() int64 { return int64(time.Since(h.start)) }

// add records an operation that ran from call to now. A write whose outcome
// is unknown and not settled never returns: its effect may land at any
// later point.
func (h *history) add(client int, in kvInput, out kvOutput, call int64) {
	ret := h.now()
	if out.unknown && !out.settled {
		ret = math.MaxInt64
	}
	h.mu.Lock()
	h.ops = append(h.ops, porcupine.Operation{ClientId: max(client, 0), Input: in, Output: out, Call: call, Return: ret})
	h.mu.Unlock()
}

// lost records that key was deleted by something outside the fleet, between
// call and now: Redis lost it (FLUSHALL at complete, where Redis is the
// session's only home).
func (h *history) lost(key string, call int64) {
	h.add(-1, kvInput{key: key, op: 'd'}, kvOutput{}, call)
}

// check runs porcupine over the history; the result is Ok, Illegal, or
// Unknown when timeout ran out. For Illegal it also describes the first
// session whose history is not linearizable.
func (h *history) check(timeout time.Duration) (res porcupine.CheckResult, n int, bad string) {
	h.mu.Lock()
	ops := append([]porcupine.Operation(nil), h.ops...)
	h.mu.Unlock()
	model := sessionModel.ToModel()
	res = porcupine.CheckOperationsTimeout(model, ops, timeout)
	if res == porcupine.Unknown {
		return res, len(ops), slowSessions(model, ops)
	}
	if res != porcupine.Illegal {
		return res, len(ops), ""
	}
	for _, part := range model.Partition(ops) {
		if porcupine.CheckOperations(model, part) {
			continue
		}
		sort.Slice(part, func(i, j int) bool { return part[i].Call < part[j].Call })
		var b strings.Builder
		fmt.Fprintf(&b, "session %s:", part[0].Input.(kvInput).key)
		for _, op := range part {
			ret := "∞"
			if op.Return != math.MaxInt64 {
				ret = fmt.Sprint(time.Duration(op.Return))
			}
			fmt.Fprintf(&b, "\n  client %d [%v, %s] %s", op.ClientId, time.Duration(op.Call), ret, model.DescribeOperation(op.Input, op.Output))
		}
		return res, len(ops), b.String()
	}
	return res, len(ops), ""
}

// slowSessions names the sessions whose history porcupine cannot check
// within 10 s each (at most three), with their operation counts and how
// many of them are writes of unknown outcome (open to the end: each can
// take effect at any later point, which is what makes a search long).
func slowSessions(model porcupine.Model, ops []porcupine.Operation) string {
	var b strings.Builder
	n := 0
	for _, part := range model.Partition(ops) {
		if n == 3 {
			break
		}
		if porcupine.CheckOperationsTimeout(model, part, 10*time.Second) != porcupine.Unknown {
			continue
		}
		open := 0
		for _, op := range part {
			if op.Return == math.MaxInt64 {
				open++
			}
		}
		fmt.Fprintf(&b, "\n  session %s: %d operations, %d writes of unknown outcome", part[0].Input.(kvInput).key, len(part), open)
		n++
	}
	return b.String()
}
