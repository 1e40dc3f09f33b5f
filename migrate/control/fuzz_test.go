package control

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// FuzzDecodeJobRecords feeds the decoders of the job records (the job,
// its end, a part, a cancel request) arbitrary bytes: they never panic,
// fail only with ErrCorruptState, and what they accept re-encodes to
// something they accept again.
func FuzzDecodeJobRecords(f *testing.F) {
	j, _ := json.Marshal(Job{ID: "diff-1", Kind: JobDiff, Participants: []string{"a"}})
	e, _ := json.Marshal(JobEnd{Status: JobPartial, Left: []string{"a"}, Result: json.RawMessage(`{}`)})
	p, _ := json.Marshal(Part{Instance: "a", Phase: "done", Done: 3})
	for _, seed := range [][]byte{j, e, p, []byte(`{"kind":"x"}`), []byte(`{"status":"running"}`), []byte(`{"done":-1}`)} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if j, err := decodeJob(b); err == nil {
			again, _ := json.Marshal(j)
			if _, err := decodeJob(again); err != nil {
				t.Fatalf("re-decoding an accepted job: %v", err)
			}
		} else if !errors.Is(err, ErrCorruptState) {
			t.Fatalf("decodeJob: %v does not wrap ErrCorruptState", err)
		}
		if e, err := decodeJobEnd(b); err == nil {
			if !e.Status.Final() {
				t.Fatalf("accepted an end with status %q", e.Status)
			}
		} else if !errors.Is(err, ErrCorruptState) {
			t.Fatalf("decodeJobEnd: %v does not wrap ErrCorruptState", err)
		}
		if p, err := decodePart(b); err == nil {
			if p.Done < 0 || p.Total < 0 {
				t.Fatalf("accepted a part with negative counts %+v", p)
			}
		} else if !errors.Is(err, ErrCorruptState) {
			t.Fatalf("decodePart: %v does not wrap ErrCorruptState", err)
		}
		if _, err := decodeCancel(b); err != nil && !errors.Is(err, ErrCorruptState) {
			t.Fatalf("decodeCancel: %v does not wrap ErrCorruptState", err)
		}
	})
}

// FuzzDecodeAudit feeds decodeAudit arbitrary stream entries: it never
// panics and always returns an entry (problems are reported, not fatal).
func FuzzDecodeAudit(f *testing.F) {
	st, _ := json.Marshal(State{Stage: StageDual, Epoch: 2})
	ja := JobAudit{ID: "diff-1", Kind: JobDiff, Event: JobEndedEvent, Status: JobDone}.encode()
	f.Add("1700000000000-0", "update", "2", string(st), "", "", "1")
	f.Add("1700000000000-1", "job", "2", "", "", ja, "")
	f.Add("x", "job", "-1", "{", "{", "{", "0")
	f.Fuzz(func(t *testing.T, id, kind, epoch, state, prev, job, force string) {
		e := decodeAudit(redis.XMessage{ID: id, Values: map[string]any{
			"kind": kind, "epoch": epoch, "state": state, "prev": prev, "job": job, "force": force,
		}})
		if e.ID != id || e.Kind != kind || e.Force != (force == "1") {
			t.Fatalf("decodeAudit lost the raw fields: %+v", e)
		}
		if kind == KindJob && e.Job == nil {
			t.Fatalf("a job entry without its job: %+v", e)
		}
	})
}

// FuzzDecodeHeartbeat: the heartbeat decoder never panics and accepts no
// heartbeat without an instance id or with negative counts.
func FuzzDecodeHeartbeat(f *testing.F) {
	hb, _ := json.Marshal(Heartbeat{InstanceID: "a", Stage: StageDual, Unsynced: 3, LastDiff: &InstanceDiff{Job: "diff-1", Checked: 5}, At: time.Unix(1, 0)})
	f.Add(hb)
	f.Add([]byte(`{"instance_id":""}`))
	f.Add([]byte(`{"instance_id":"a","last_diff":{"checked":-1}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		hb, err := decodeHeartbeat(b)
		if err != nil {
			if !errors.Is(err, ErrCorruptState) {
				t.Fatalf("%v does not wrap ErrCorruptState", err)
			}
			return
		}
		if hb.InstanceID == "" || hb.Unsynced < 0 || hb.LocalSessions < 0 {
			t.Fatalf("accepted %+v", hb)
		}
	})
}

// FuzzDecodeDiff: the last-diff decoder never panics and accepts no
// result marked clean with mismatches.
func FuzzDecodeDiff(f *testing.F) {
	d, _ := json.Marshal(DiffResult{Clean: true, Stage: StageRamp, Percent: 100, Checked: 4, Participants: []string{"a"}, Kinds: map[string]int64{"missing": 0}})
	f.Add(d)
	f.Add([]byte(`{"clean":true,"extra":1}`))
	f.Add([]byte(`{"kinds":{"weird":1}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := decodeDiff(b)
		if err != nil {
			if !errors.Is(err, ErrCorruptState) {
				t.Fatalf("%v does not wrap ErrCorruptState", err)
			}
			return
		}
		if d.Clean && (d.Missing > 0 || d.Mismatched > 0 || d.Extra > 0 || d.Partial) {
			t.Fatalf("accepted a clean diff with mismatches: %+v", d)
		}
	})
}
