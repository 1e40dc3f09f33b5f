package migrate

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sessionmigrate/sessionmigrate/store/faultstore"
	"github.com/sessionmigrate/sessionmigrate/store/memstore"
)

// lockedBuffer is a concurrency-safe log sink.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestSessionIDsNeverLogged drives every logging path — stage changes, guard
// trips and resumes, flag errors, backfill, faults — with session ids that
// are easy to spot, and checks that none reaches the log, the metrics or the
// status (invariant 9: session ids are credentials).
func TestSessionIDsNeverLogged(t *testing.T) {
	var logs lockedBuffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	local, dist := memstore.New(), memstore.New()
	defer local.Close()
	defer dist.Close()
	fs := faultstore.New(dist)
	reg := prometheus.NewRegistry()
	m, err := New(local, fs, Options{Logger: logger, Registerer: reg, CompareDelay: time.Millisecond, ShadowSample: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	ctx := context.Background()
	id := func(i int) string { return "SECRETSESSION" + strconv.Itoa(i) }
	for _, sp := range []struct {
		st Stage
		p  float64
	}{{Shadow, 0}, {Dual, 0}, {Ramp, 50}, {Ramp, 100}, {Complete, 100}, {Ramp, 50}, {Dual, 0}} {
		if err := m.ForceStage(sp.st, sp.p); err != nil {
			t.Fatal(err)
		}
		for i := range 20 {
			_ = m.Set(ctx, id(i), rec("v"))
			_, _, _ = m.Get(ctx, id(i))
		}
		_ = m.Delete(ctx, id(0))
	}
	// Faults, a trip, mismatches (Drop makes Redis lose writes), a resume.
	_ = fs.SetFault(faultstore.Fault{Drop: true}, faultstore.OpSet)
	for i := range 20 {
		_ = m.Set(ctx, id(i), rec("w"))
		_, _, _ = m.Get(ctx, id(i))
	}
	_ = fs.SetFault(faultstore.Fault{Outage: true})
	for i := range 20 {
		_, _, _ = m.Get(ctx, id(i))
		_ = m.Set(ctx, id(i), rec("x"))
	}
	m.Trip()
	fs.Reset()
	_ = m.Resume()
	_, _ = m.Backfill(ctx, BackfillOptions{})
	_ = m.Flush(ctx)

	status, _ := json.Marshal(m.Status())
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := json.Marshal(families)
	for name, text := range map[string]string{"logs": logs.String(), "status": string(status), "metrics": string(metrics)} {
		if strings.Contains(text, "SECRETSESSION") {
			t.Errorf("a session id appears in the %s", name)
		}
	}
	if !strings.Contains(logs.String(), "guard") || !strings.Contains(logs.String(), "stage changed") {
		t.Fatalf("expected guard and stage-change log lines, got:\n%s", logs.String())
	}
}
