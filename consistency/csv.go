package consistency

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// csvHeader names the columns of WriteCSV.
var csvHeader = []string{"row", "instance", "kind", "count", "session", "evidence",
	"local_version", "distributed_version", "local_expires_at", "distributed_expires_at"}

// WriteCSV writes the report as one table for spreadsheets: a "count" row
// per instance and mismatch kind (the instance "(extras)" for the
// distributed store's scan), then a "sample" row per redacted sample.
// Filter on the first column to get either table.
func (r *Report) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	_ = cw.Write(csvHeader)
	name := func(p PassResult) string {
		if p.Instance == "" {
			return "(extras)"
		}
		return csvText(p.Instance)
	}
	for _, p := range r.parts() {
		for _, k := range Kinds {
			_ = cw.Write([]string{"count", name(p), string(k), strconv.FormatInt(p.Mismatches.Get(k), 10), "", "", "", "", "", ""})
		}
	}
	for _, p := range r.parts() {
		for _, s := range p.Samples {
			_ = cw.Write([]string{"sample", name(p), string(s.Kind), "", s.Session, s.Evidence,
				strconv.FormatUint(s.LocalVersion, 10), strconv.FormatUint(s.DistributedVersion, 10),
				csvTime(s.LocalExpiresAt), csvTime(s.DistExpiresAt)})
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("consistency: write csv: %w", err)
	}
	return nil
}

func csvTime(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// csvText keeps a spreadsheet from reading text (an instance name) as a
// formula.
func csvText(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
