package demo_test

import (
	"context"
	"fmt"
	"os"

	"github.com/sessionmigrate/sessionmigrate/internal/demo"
)

// The whole demo, as `migratectl demo` runs it: the narration goes to
// stdout and a non-nil error means a promise was broken or no usable Redis
// was found. (No Output comment: the numbers differ on every run.)
func ExampleRun() {
	if err := demo.Run(context.Background(), os.Stdout, demo.Options{}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
