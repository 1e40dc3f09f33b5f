package config_test

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/sessionmigrate/sessionmigrate/config"
)

// FuzzLoad feeds arbitrary files to Load. Whatever it accepts must
// validate without panicking and print (Redacted, YAML) to a file that
// loads back to the same configuration.
func FuzzLoad(f *testing.F) {
	example, err := os.ReadFile("example.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(example))
	f.Add(precedenceFile)
	f.Add("redis:\n  addrs: a:1, b:2\n  cluster: true\nguard:\n  error_rate: 0.5\n")
	f.Add("redis: foo\n")
	f.Add("cli:\n  timeout: 5\n")
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, content string) {
		file := filepath.Join(dir, "c.yaml")
		if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := config.Load(config.LoadOptions{File: file, LookupEnv: env(nil)})
		if err != nil {
			return
		}
		_ = c.Validate()
		out, err := yaml.Marshal(c.Redacted())
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		if err := os.WriteFile(file, out, 0o600); err != nil {
			t.Fatal(err)
		}
		again, err := config.Load(config.LoadOptions{File: file, LookupEnv: env(nil)})
		if err != nil {
			t.Fatalf("printed configuration does not load: %v\n%s", err, out)
		}
		again.File = c.File
		if !reflect.DeepEqual(c, again) {
			t.Errorf("round trip changed the configuration:\n got %+v\nwant %+v", again, c)
		}
	})
}
