package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"unicode"

	"gopkg.in/yaml.v3"

	"github.com/sessionmigrate/sessionmigrate/config"
)

// render writes v in the configured output format: JSON or YAML with the
// field names documented in doc.go, or the table written by table.
func (a *app) render(v any, table func(w io.Writer)) error {
	return renderAs(a.stdout, a.cfg.CLI.Output, v, table)
}

// renderAs is render with an explicit format, for commands that run
// without a configuration.
func renderAs(w io.Writer, format string, v any, table func(w io.Writer)) error {
	switch format {
	case config.OutputJSON:
		return writeJSON(w, v)
	case config.OutputYAML:
		return writeYAML(w, v)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	table(tw)
	if err := tw.Flush(); err != nil {
		return failf("write output: %v", err)
	}
	return nil
}

// writeJSON writes v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return failf("write output: %v", err)
	}
	return nil
}

// writeYAML writes v as block YAML with exactly the JSON field names and
// values: v goes through JSON, so json tags alone define both formats, and
// a yaml.Node keeps the field order.
func writeYAML(w io.Writer, v any) error {
	var buf bytes.Buffer
	if err := writeJSON(&buf, v); err != nil {
		return err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(buf.Bytes(), &doc); err != nil {
		return failf("write output: %v", err)
	}
	blockStyle(&doc)
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return failf("write output: %v", err)
	}
	if err := enc.Close(); err != nil {
		return failf("write output: %v", err)
	}
	return nil
}

// blockStyle clears the flow and quoting styles JSON parsing leaves on
// every node; the encoder quotes whatever needs it.
func blockStyle(n *yaml.Node) {
	n.Style = 0
	for _, c := range n.Content {
		blockStyle(c)
	}
}

// clean makes text read from Redis (actors, reasons, hosts) safe for a
// terminal table: control characters, tabs and newlines become '?', so no
// stored value can move the cursor or break the columns.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return '?'
		}
		return r
	}, s)
}

// row writes tab-separated cells and a newline.
func row(w io.Writer, cells ...any) {
	for i, c := range cells {
		if i > 0 {
			io.WriteString(w, "\t")
		}
		fmt.Fprint(w, c)
	}
	io.WriteString(w, "\n")
}
