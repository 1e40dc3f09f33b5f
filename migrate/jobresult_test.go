package migrate

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/sessionmigrate/sessionmigrate/consistency"
)

// FuzzDecodeJobResults feeds the decoders of backfill and repair results
// arbitrary bytes: they never panic, fail only with ErrBadResult, and
// accept no negative count.
func FuzzDecodeJobResults(f *testing.F) {
	b, _ := json.Marshal(BackfillReport{Instances: map[string]BackfillProgress{"a": {Scanned: 3, Copied: 2}}, Total: BackfillProgress{Scanned: 3}})
	r, _ := json.Marshal(RepairReport{Instances: map[string]consistency.RepairResult{"a": {Copied: 1}}, Total: consistency.RepairResult{Copied: 1}})
	f.Add(b)
	f.Add(r)
	f.Add([]byte(`{"total":{"copied":-1}}`))
	f.Add([]byte(`{"diff":{"instances":[{"samples":[{"kind":"missing","session":"in clear"}]}]}}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		if rep, err := DecodeBackfillReport(in); err == nil {
			if rep.Total.Copied < 0 || rep.Total.Scanned < 0 {
				t.Fatalf("accepted %+v", rep)
			}
		} else if !errors.Is(err, ErrBadResult) {
			t.Fatalf("DecodeBackfillReport: %v does not wrap ErrBadResult", err)
		}
		if rep, err := DecodeRepairReport(in); err == nil {
			if rep.Total.Copied < 0 || rep.Total.Tombstoned < 0 {
				t.Fatalf("accepted %+v", rep)
			}
		} else if !errors.Is(err, ErrBadResult) {
			t.Fatalf("DecodeRepairReport: %v does not wrap ErrBadResult", err)
		}
	})
}
