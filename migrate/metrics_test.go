package migrate

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"

	"github.com/sessionmigrate/sessionmigrate/store/faultstore"
)

// scrape exercises every metric family and returns the /metrics exposition.
func scrape(t *testing.T) (string, *fixture) {
	t.Helper()
	f := newFixture(t, Options{Stage: Ramp, Percent: 100, CompareDelay: time.Millisecond})
	ctx := context.Background()
	for _, id := range []string{"a", "b", "c"} {
		if err := f.m.Set(ctx, id, rec(id)); err != nil {
			t.Fatal(err)
		}
		if _, _, err := f.m.Get(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.m.Backfill(ctx, BackfillOptions{}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(f.m.AdminHandler(f.reg))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(body), f
}

// TestMetricsLint runs the linter behind `promtool check metrics` on a
// scrape, and promtool itself when it is installed.
func TestMetricsLint(t *testing.T) {
	body, _ := scrape(t)
	problems, err := promlint.New(strings.NewReader(body)).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
	for _, want := range []string{
		"sessionmigrate_store_operations_total", "sessionmigrate_store_operation_duration_seconds_bucket",
		`le="0.05"`, `le="0.0001"`, "sessionmigrate_stage{stage=\"ramp\"} 1", "sessionmigrate_ramp_percent 100",
		"sessionmigrate_unsynced_sessions", "sessionmigrate_async_queue_depth", "sessionmigrate_guard_score",
		"sessionmigrate_backfill_sessions_total", "sessionmigrate_fallbacks_total", "sessionmigrate_rollbacks_total",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("scrape lacks %q", want)
		}
	}
	if strings.Contains(body, `"a"`) || strings.Contains(body, `="a"`) {
		t.Errorf("a session id appears in the metrics")
	}
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Log("promtool not installed; promlint (the same checks) passed")
		return
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(body)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("promtool check metrics: %v\n%s", err, out)
	}
}

func TestStatusJSON(t *testing.T) {
	_, f := scrape(t)
	if err := f.fault.SetFault(faultstore.Fault{Outage: true}); err != nil {
		t.Fatal(err)
	}
	for range 8 {
		f.m.Get(context.Background(), "a")
	}
	srv := httptest.NewServer(f.m.AdminHandler(f.reg))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/status")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st Status
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	if !st.Tripped || st.Stage != Shadow || st.DesiredStage != Ramp || st.LastTrip == nil || st.Guard == nil {
		t.Fatalf("status after outage: %+v", st)
	}
	f.fault.Reset()
}
