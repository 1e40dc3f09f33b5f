package config_test

import (
	"fmt"
	"os"
	"reflect"
	"slices"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/sessionmigrate/sessionmigrate/config"
)

func TestExampleFileValid(t *testing.T) {
	c, err := config.Load(config.LoadOptions{File: "example.yaml", LookupEnv: env(nil)})
	if err != nil {
		t.Fatalf("Load(example.yaml): %v", err)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate(example.yaml): %v", err)
	}
	// The example documents the defaults: apart from the address, which
	// has none, loading it changes nothing.
	want := config.Default()
	want.Redis.Addrs = c.Redis.Addrs
	want.File = c.File
	if !reflect.DeepEqual(*c, want) {
		t.Errorf("example.yaml differs from the defaults:\n got %+v\nwant %+v", *c, want)
	}
}

func TestExampleFileHasEveryKey(t *testing.T) {
	b, err := os.ReadFile("example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	var got []string
	flatten("", doc, &got)
	var want []string
	for _, k := range config.Keys() {
		if k != config.KeyRedisPassword { // refused in files; documented in a comment
			want = append(want, k)
		}
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("example.yaml keys:\n got %v\nwant %v", got, want)
	}
}

func flatten(prefix string, m map[string]any, out *[]string) {
	for k, v := range m {
		if sub, ok := v.(map[string]any); ok {
			flatten(prefix+k+".", sub, out)
			continue
		}
		*out = append(*out, prefix+k)
	}
}

func ExampleLoad() {
	cfg, err := config.Load(config.LoadOptions{
		File:      "example.yaml",
		EnvPrefix: "MIGRATECTL",
		LookupEnv: func(name string) (string, bool) {
			if name == "MIGRATECTL_REDIS_ADDR" {
				return "10.0.0.1:6379,10.0.0.2:6379", true
			}
			return "", false
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(cfg.Redis.Addrs, cfg.Control.Prefix)
	fmt.Println(cfg.Validate())
	// Output:
	// [10.0.0.1:6379 10.0.0.2:6379] sessionmigrate
	// config: invalid configuration:
	// redis.addrs: 2 addresses for a standalone server (give one, or set redis.cluster or redis.master_name)
}
