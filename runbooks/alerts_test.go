package runbooks

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/prometheus/promql/parser"
	"gopkg.in/yaml.v3"

	"github.com/sessionmigrate/sessionmigrate/migrate"
	"github.com/sessionmigrate/sessionmigrate/store"
	"github.com/sessionmigrate/sessionmigrate/store/memstore"
)

// requirePromtoolEnv, set to 1 by scripts/test.sh (which installs
// promtool), turns a missing promtool into a failure: CI must run the
// rule checks, a developer's machine may lack the tool.
const requirePromtoolEnv = "SESSIONMIGRATE_REQUIRE_PROMTOOL"

// exportAllowList names metrics the rules or the dashboard may query
// although this tree does not export them yet, with why. An entry whose
// metric is exported fails the test: remove it.
var exportAllowList = map[string]string{}

// TestPromtool runs `promtool check rules` and `promtool test rules`.
func TestPromtool(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv(requirePromtoolEnv) == "1" {
			t.Fatalf("promtool not found but %s=1: install prometheus (scripts/test.sh does)", requirePromtoolEnv)
		}
		t.Skip("promtool not installed (scripts/test.sh installs it and requires it)")
	}
	for _, args := range [][]string{{"check", "rules", "alerts.yaml"}, {"test", "rules", "alerts_test.yaml"}} {
		out, err := exec.Command(promtool, args...).CombinedOutput()
		if err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// ruleFile is the part of alerts.yaml the tests read.
type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Alert       string            `yaml:"alert"`
			Record      string            `yaml:"record"`
			Expr        string            `yaml:"expr"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

func loadRules(t *testing.T) ruleFile {
	t.Helper()
	b, err := os.ReadFile("alerts.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var rf ruleFile
	if err := yaml.Unmarshal(b, &rf); err != nil {
		t.Fatal(err)
	}
	return rf
}

// dashboardExprs returns every query of dashboard.json (panel targets,
// template variables, annotations), keyed by where it is.
func dashboardExprs(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile("dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Title   string `json:"title"`
			Type    string `json:"type"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
		Templating struct {
			List []struct {
				Name  string `json:"name"`
				Query any    `json:"query"`
			} `json:"list"`
		} `json:"templating"`
		Annotations struct {
			List []struct {
				Name string `json:"name"`
				Expr string `json:"expr"`
			} `json:"list"`
		} `json:"annotations"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, p := range d.Panels {
		if p.Type != "row" && len(p.Targets) == 0 {
			t.Errorf("dashboard panel %q queries nothing", p.Title)
		}
		for i, tg := range p.Targets {
			out[p.Title+"#"+string(rune('A'+i))] = tg.Expr
		}
	}
	for _, v := range d.Templating.List {
		if q, ok := v.Query.(map[string]any); ok {
			// label_values(selector, label) is Grafana's; its selector is PromQL.
			s, _ := q["query"].(string)
			if inner, ok := strings.CutPrefix(s, "label_values("); ok {
				out["variable "+v.Name] = inner[:strings.LastIndex(inner, ",")]
			}
		}
	}
	for _, a := range d.Annotations.List {
		out["annotation "+a.Name] = a.Expr
	}
	return out
}

// grafanaVars replaces Grafana's variables with values PromQL parses.
var grafanaVars = strings.NewReplacer("$__rate_interval", "5m", "$__interval", "1m", "$job", ".*", "$instance", ".*")

// TestQueriedMetricsExported parses every expression of alerts.yaml and
// dashboard.json and checks that each metric it selects is exported by a
// real Migrator (or recorded by alerts.yaml itself).
func TestQueriedMetricsExported(t *testing.T) {
	exported := migratorMetrics(t)
	rf := loadRules(t)
	recorded := map[string]bool{}
	exprs := map[string]string{}
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			if r.Record != "" {
				recorded[r.Record] = true
				exprs["record "+r.Record] = r.Expr
			} else {
				exprs["alert "+r.Alert] = r.Expr
			}
		}
	}
	for where, e := range dashboardExprs(t) {
		exprs["dashboard "+where] = e
	}
	p := parser.NewParser(parser.Options{})
	used := map[string]bool{}
	for where, e := range exprs {
		expr, err := p.ParseExpr(grafanaVars.Replace(e))
		if err != nil {
			t.Errorf("%s: %q does not parse: %v", where, e, err)
			continue
		}
		parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
			vs, ok := n.(*parser.VectorSelector)
			if !ok {
				return nil
			}
			name := vs.Name
			for _, m := range vs.LabelMatchers {
				if m.Name == "__name__" {
					name = m.Value
				}
			}
			used[name] = true
			if !exported[name] && !recorded[name] && exportAllowList[name] == "" {
				t.Errorf("%s selects %s, which a Migrator does not export", where, name)
			}
			return nil
		})
	}
	for name, why := range exportAllowList {
		if exported[name] {
			t.Errorf("%s is exported now: remove it from exportAllowList (%s)", name, why)
		}
		if !used[name] {
			t.Errorf("%s is allow-listed but nothing queries it", name)
		}
	}
	if len(used) < 20 {
		t.Errorf("only %d metrics queried: the parse missed some", len(used))
	}
}

// migratorMetrics returns the names of the series a Migrator exports
// (histograms as their _bucket, _sum and _count series).
func migratorMetrics(t *testing.T) map[string]bool {
	t.Helper()
	reg := prometheus.NewRegistry()
	local, dist := memstore.New(), memstore.New()
	defer local.Close()
	defer dist.Close()
	m, err := migrate.New(local, dist, migrate.Options{Registerer: reg, Stage: migrate.Ramp, Percent: 50})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	// Counters without preset labels appear once used.
	ctx := context.Background()
	if err := m.Set(ctx, "a", store.Record{Data: []byte("x"), ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Backfill(ctx, migrate.BackfillOptions{}); err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, mf := range mfs {
		out[mf.GetName()] = true
		if mf.GetType() == dto.MetricType_HISTOGRAM {
			for _, s := range []string{"_bucket", "_sum", "_count"} {
				out[mf.GetName()+s] = true
			}
		}
	}
	return out
}

// TestAlertsNameRunbooks: every alert has a severity, a summary, a
// description and a runbook_url naming a runbook of this repository.
func TestAlertsNameRunbooks(t *testing.T) {
	var alerts []string
	for _, g := range loadRules(t).Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			alerts = append(alerts, r.Alert)
			if !slices.Contains([]string{"page", "ticket"}, r.Labels["severity"]) {
				t.Errorf("%s: severity %q, want page or ticket", r.Alert, r.Labels["severity"])
			}
			if r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
				t.Errorf("%s: summary or description missing", r.Alert)
			}
			url := r.Annotations["runbook_url"]
			if !strings.HasPrefix(url, "runbooks/") || !strings.HasSuffix(url, ".md") {
				t.Errorf("%s: runbook_url %q is not a runbook of this repository", r.Alert, url)
				continue
			}
			if _, err := os.Stat(filepath.Join("..", url)); err != nil {
				t.Errorf("%s: runbook_url %q: %v", r.Alert, url, err)
			}
		}
	}
	if len(alerts) < 13 {
		t.Errorf("got %d alerts, want at least 13", len(alerts))
	}
}
