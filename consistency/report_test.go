package consistency_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sessionmigrate/sessionmigrate/consistency"
	"github.com/sessionmigrate/sessionmigrate/redact"
)

func sampleReport() consistency.Report {
	at := time.Date(2031, 1, 2, 3, 4, 5, 0, time.UTC)
	r := consistency.Report{
		Job: "j1", Stage: "ramp", Percent: 100, Epoch: 7, Started: at, Finished: at.Add(time.Second), Complete: true,
		Instances: []consistency.PassResult{
			{Instance: "b", Checked: 10, Mismatches: consistency.Counts{Missing: 2},
				Samples: []consistency.Sample{{Kind: consistency.Missing, Session: redact.ID("s", "secret-1"), Instance: "b", LocalVersion: 3, LocalExpiresAt: &at}}},
			{Instance: "=a", Checked: 5, Mismatches: consistency.Counts{Stale: 1}},
		},
		Extras: &consistency.PassResult{Checked: 3, Mismatches: consistency.Counts{Extra: 1},
			Samples: []consistency.Sample{{Kind: consistency.Extra, Session: redact.ID("s", "secret-2"), Evidence: consistency.EvidenceOrphan, DistributedVersion: 9}}},
		Scanned: 20, Dropped: 1,
	}
	r.Total()
	return r
}

func TestReportTotals(t *testing.T) {
	r := sampleReport()
	if r.Checked != 18 || r.Mismatches != (consistency.Counts{Missing: 2, Stale: 1, Extra: 2}) || r.Clean() {
		t.Fatalf("totals: got checked %d %+v clean %v, want 18, missing 2 stale 1 extra 2 (one dropped), not clean", r.Checked, r.Mismatches, r.Clean())
	}
	if r.Instances[0].Instance != "=a" {
		t.Errorf("instances not sorted: %v", r.Instances)
	}
	clean := consistency.Report{Complete: true}
	clean.Total()
	if !clean.Clean() {
		t.Error("an empty complete report is not clean")
	}
	clean.Complete = false
	if clean.Clean() {
		t.Error("an incomplete report is clean")
	}
}

// TestReportRoundTrip: JSON decodes back to the same report, and holds no
// session id.
func TestReportRoundTrip(t *testing.T) {
	r := sampleReport()
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, []byte("secret")) {
		t.Fatalf("the encoded report holds a session id: %s", b)
	}
	got, err := consistency.DecodeReport(b)
	if err != nil {
		t.Fatal(err)
	}
	b2, _ := json.Marshal(got)
	if !bytes.Equal(b, b2) {
		t.Errorf("round trip:\n got %s\nwant %s", b2, b)
	}
}

// TestDecodeReportRefuses: a report whose sample carries anything but a
// redacted id, an unknown kind or a negative count is refused, and the
// error never quotes the session.
func TestDecodeReportRefuses(t *testing.T) {
	tests := []struct {
		name string
		edit func(r *consistency.Report)
	}{
		{"id in clear", func(r *consistency.Report) { r.Instances[1].Samples[0].Session = "secret-session-id" }},
		{"unknown kind", func(r *consistency.Report) { r.Instances[1].Samples[0].Kind = "weird" }},
		{"match sample", func(r *consistency.Report) { r.Instances[1].Samples[0].Kind = consistency.Match }},
		{"unknown evidence", func(r *consistency.Report) { r.Extras.Samples[0].Evidence = "hunch" }},
		{"negative count", func(r *consistency.Report) { r.Instances[0].Mismatches.Stale = -1 }},
		{"negative total", func(r *consistency.Report) { r.Checked = -1 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := sampleReport()
			tt.edit(&r)
			b, _ := json.Marshal(r)
			_, err := consistency.DecodeReport(b)
			if !errors.Is(err, consistency.ErrBadReport) {
				t.Fatalf("DecodeReport: got %v, want ErrBadReport", err)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("the error quotes the session: %v", err)
			}
		})
	}
}

func TestReportCSV(t *testing.T) {
	r := sampleReport()
	var buf bytes.Buffer
	if err := r.WriteCSV(&buf); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	// header + 3 parts x 5 kinds + 2 samples
	if len(rows) != 1+15+2 {
		t.Fatalf("got %d rows, want 18:\n%v", len(rows), rows)
	}
	if got := strings.Join(rows[1], ","); got != "count,'=a,missing,0,,,,,," {
		t.Errorf("first count row: got %q (an instance starting with = must not be a formula)", got)
	}
	last := rows[len(rows)-1]
	if last[0] != "sample" || last[1] != "(extras)" || last[2] != "extra" || !redact.IsID(last[4]) || last[5] != "orphan" {
		t.Errorf("last sample row: got %v", last)
	}
	if strings.Contains(buf.String(), "secret") {
		t.Error("the CSV holds a session id")
	}
}

func FuzzDecodeReport(f *testing.F) {
	b, _ := json.Marshal(sampleReport())
	f.Add(b)
	f.Add([]byte(`{"instances":[{"samples":[{"kind":"missing","session":"h:0123456789ab"}]}]}`))
	f.Add([]byte(`{"mismatches":{"missing":-1}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := consistency.DecodeReport(b)
		if err != nil {
			if !errors.Is(err, consistency.ErrBadReport) {
				t.Fatalf("error %v does not wrap ErrBadReport", err)
			}
			return
		}
		for _, s := range r.Samples() {
			if !redact.IsID(s.Session) {
				t.Fatalf("accepted a sample whose session %q is not redacted", s.Session)
			}
		}
		// What decodes encodes and decodes again.
		b2, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := consistency.DecodeReport(b2); err != nil {
			t.Fatalf("re-decoding an accepted report: %v", err)
		}
	})
}
