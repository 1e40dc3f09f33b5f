package migrate

import (
	"os/exec"
	"strings"
	"testing"
)

// configLibraries are the import path prefixes of viper and what it pulls
// in. They belong to package config (and migratectl); an application that
// embeds the Migrator and builds its Options itself must not link them.
var configLibraries = []string{
	"github.com/spf13/", // viper, pflag, afero, cast, cobra
	"github.com/fsnotify/",
	"github.com/pelletier/go-toml",
	"github.com/go-viper/",
	"github.com/sagikazarmark/",
	"github.com/subosito/gotenv",
	"github.com/sourcegraph/conc",
	"go.yaml.in/yaml",
	"gopkg.in/yaml",
}

// TestEmbeddingLinksNoConfigurationLibrary lists the dependencies of the
// packages an application embeds (go list's Deps: every package they link,
// tests excluded) and refuses any configuration library: the mapping from
// the configuration file onto Options lives in package config, which
// imports migrate.
func TestEmbeddingLinksNoConfigurationLibrary(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool on PATH:", err)
	}
	const module = "github.com/sessionmigrate/sessionmigrate/"
	args := []string{"list", "-f", "{{.ImportPath}} {{join .Deps \" \"}}"}
	for _, pkg := range []string{"migrate", "migrate/control", "migrate/guard", "router", "consistency",
		"store", "store/memstore", "store/redisstore", "adapters/scsstore"} {
		args = append(args, module+pkg)
	}
	out, err := exec.Command(goTool, args...).Output()
	if err != nil {
		t.Fatalf("go %s: %v", strings.Join(args, " "), err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != len(args)-3 {
		t.Fatalf("go list: %d packages listed, want %d:\n%s", len(lines), len(args)-3, out)
	}
	for _, line := range lines {
		pkg, deps, _ := strings.Cut(line, " ")
		if n := len(strings.Fields(deps)); n < 20 {
			t.Fatalf("%s: %d deps (%q), want its whole dependency graph", pkg, n, deps)
		}
		for _, dep := range strings.Fields(deps) {
			for _, lib := range configLibraries {
				if strings.HasPrefix(dep, lib) {
					t.Errorf("%s links %s: configuration libraries belong to package config", pkg, dep)
				}
			}
			if dep == module+"config" {
				t.Errorf("%s imports package config: config imports migrate, not the reverse", pkg)
			}
		}
	}
}
