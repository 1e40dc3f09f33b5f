package main

import (
	"fmt"
	"io"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/sessionmigrate/sessionmigrate/config"
)

// version is the release version, set when building a release:
//
//	go build -ldflags "-X main.version=v1.2.3" ./cmd/migratectl
//
// Empty means the module version from the build information. It is the one
// package-level variable, because the linker can only set variables.
var version = ""

// versionView is the output of `migratectl version`.
type versionView struct {
	// Version is the release version, else the module version, else
	// "(devel)".
	Version string `json:"version"`
	// Module and ModuleVersion identify the main module as built.
	Module        string `json:"module"`
	ModuleVersion string `json:"module_version"`
	GoVersion     string `json:"go_version"`
	// Revision, RevisionTime and Modified come from the VCS stamp, when the
	// binary was built from a checkout.
	Revision     string `json:"revision,omitempty"`
	RevisionTime string `json:"revision_time,omitempty"`
	Modified     bool   `json:"modified,omitempty"`
}

// buildVersion describes this binary from the linker-set version and
// runtime/debug.ReadBuildInfo.
func buildVersion(release string) versionView {
	v := versionView{Version: release}
	if bi, ok := debug.ReadBuildInfo(); ok {
		v.Module, v.ModuleVersion, v.GoVersion = bi.Main.Path, bi.Main.Version, bi.GoVersion
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				v.Revision = s.Value
			case "vcs.time":
				v.RevisionTime = s.Value
			case "vcs.modified":
				v.Modified = s.Value == "true"
			}
		}
	}
	if v.Version == "" {
		v.Version = v.ModuleVersion
	}
	if v.Version == "" {
		v.Version = "(devel)"
	}
	return v
}

// versionCommand is `migratectl version`. It reads no configuration, so it
// works whatever state the configuration is in.
func (a *app) versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version of migratectl",
		Args:  cobra.ExactArgs(0),
		RunE: a.runE(func(cmd *cobra.Command, _ []string) error {
			format := a.env(config.EnvName(envPrefix, "cli.output"))
			if f := cmd.Flags().Lookup("output"); f != nil && f.Changed {
				format = f.Value.String()
			}
			switch format {
			case "", config.OutputTable, config.OutputJSON, config.OutputYAML:
			default:
				return usagef("-o %q: must be table, json or yaml", format)
			}
			v := buildVersion(version)
			return renderAs(a.stdout, format, v, func(w io.Writer) {
				fmt.Fprintf(w, "migratectl %s (%s %s, %s", v.Version, v.Module, v.ModuleVersion, v.GoVersion)
				if v.Revision != "" {
					fmt.Fprintf(w, ", revision %s", v.Revision)
					if v.Modified {
						io.WriteString(w, " modified")
					}
				}
				io.WriteString(w, ")\n")
			})
		}),
	}
}
