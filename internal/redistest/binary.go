package redistest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
)

// installHint tells a developer how to get the binaries.
const installHint = "install Redis >= 7.0 (Debian/Ubuntu: apt-get install redis-server; " +
	"macOS: brew install redis) or put redis-server on PATH"

// Binary returns the path of the redis-server executable: $REDIS_SERVER if
// set, otherwise the first redis-server on PATH. The error explains how to
// install it.
func Binary() (string, error) {
	return lookup("REDIS_SERVER", "redis-server")
}

func lookup(env, name string) (string, error) {
	if p := os.Getenv(env); p != "" {
		info, err := os.Stat(p)
		if err != nil {
			return "", fmt.Errorf("redistest: $%s=%q: %w", env, p, err)
		}
		if info.IsDir() {
			return "", fmt.Errorf("redistest: $%s=%q is a directory", env, p)
		}
		return p, nil
	}
	p, err := exec.LookPath(name)
	if err != nil {
		if errors.Is(err, exec.ErrNotFound) {
			return "", fmt.Errorf("redistest: %s not found on PATH: %s", name, installHint)
		}
		return "", fmt.Errorf("redistest: looking up %s: %w", name, err)
	}
	return p, nil
}
