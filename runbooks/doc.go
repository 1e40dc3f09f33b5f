// Package runbooks holds what on-call needs for a sessionmigrate
// migration, as files: a runbook per phase (phases/), the rollback
// (rollback.md), incidents (incidents/), the security review
// (security.md), Prometheus alert rules (alerts.yaml, tested by
// alerts_test.yaml) and a Grafana dashboard (dashboard.json). Start at
// README.md.
//
// Its Go tests keep the files honest: promtool checks and tests the rules
// (required under scripts/test.sh, which installs it), every metric the
// rules and the dashboard query must be exported by a real Migrator, and
// every runbook_url must name a runbook that exists. The e2e package runs
// the commands the runbooks show (marked "console runbook") against a real
// fleet and checks what they print.
package runbooks
