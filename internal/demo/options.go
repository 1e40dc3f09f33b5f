package demo

import (
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Defaults applied by Run to zero Options fields.
const (
	DefaultInstances    = 3
	DefaultUsers        = 5
	DefaultStepDuration = 1500 * time.Millisecond
	DefaultSeed         = 1
)

// Limits on Options, so that a typo cannot start a thousand instances on a
// laptop.
const (
	MaxInstances = 16
	MaxUsers     = 200
)

// Options configures Run. The zero value is the demo as documented: three
// instances, five users each, 1.5 s of load per step, a real redis-server
// when one is installed.
type Options struct {
	// Instances is the number of in-process application instances
	// (default DefaultInstances, at most MaxInstances).
	Instances int
	// Users is the number of virtual users per instance, each pinned to its
	// instance as a sticky load balancer would (default DefaultUsers, at
	// most MaxUsers).
	Users int
	// StepDuration is how long the load runs at each step before the next
	// one (default DefaultStepDuration; the whole demo takes about eleven
	// steps plus setup).
	StepDuration time.Duration
	// ForceMiniredis uses the embedded miniredis even when redis-server is
	// installed. ForceRealRedis fails instead of falling back to miniredis
	// when redis-server is not found. Setting both is an error.
	ForceMiniredis bool
	ForceRealRedis bool
	// Seed makes the virtual users' choices reproducible (default
	// DefaultSeed). Session ids are always drawn from crypto/rand: they are
	// credentials, even in a demo.
	Seed uint64
	// Fault is what goes wrong with Redis at ramp 50% (default
	// FaultOutage).
	Fault Fault
	// Logger receives the components' own logs (stage changes, guard trips,
	// control-plane writes); never a session id. Default: discard, so the
	// narration on the writer stays readable.
	Logger *slog.Logger
}

// Fault is a way for Redis to misbehave.
type Fault string

const (
	// FaultOutage makes every Redis call of every instance fail at once,
	// as when Redis is down or unreachable.
	FaultOutage Fault = "outage"
	// FaultLatency makes every Redis call take FaultLatencyDelay, longer
	// than the Migrator's request-path timeout (100 ms), as when Redis is
	// overloaded.
	FaultLatency Fault = "latency"
)

// FaultLatencyDelay is the delay FaultLatency adds to every Redis call.
const FaultLatencyDelay = 120 * time.Millisecond

// withDefaults returns o with zero fields replaced by the defaults, or an
// error naming the field that is out of range.
func (o Options) withDefaults() (Options, error) {
	var errs []error
	switch {
	case o.Instances < 0 || o.Instances > MaxInstances:
		errs = append(errs, fmt.Errorf("Instances %d is outside 1..%d", o.Instances, MaxInstances))
	case o.Instances == 0:
		o.Instances = DefaultInstances
	}
	switch {
	case o.Users < 0 || o.Users > MaxUsers:
		errs = append(errs, fmt.Errorf("Users %d is outside 1..%d", o.Users, MaxUsers))
	case o.Users == 0:
		o.Users = DefaultUsers
	}
	switch {
	case o.StepDuration < 0:
		errs = append(errs, fmt.Errorf("StepDuration %v is negative", o.StepDuration))
	case o.StepDuration == 0:
		o.StepDuration = DefaultStepDuration
	}
	if o.ForceMiniredis && o.ForceRealRedis {
		errs = append(errs, errors.New("ForceMiniredis and ForceRealRedis are both set; choose one"))
	}
	switch o.Fault {
	case "":
		o.Fault = FaultOutage
	case FaultOutage, FaultLatency:
	default:
		errs = append(errs, fmt.Errorf("Fault %q is not %q or %q", o.Fault, FaultOutage, FaultLatency))
	}
	if o.Seed == 0 {
		o.Seed = DefaultSeed
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if len(errs) > 0 {
		return o, fmt.Errorf("demo: invalid options: %w", errors.Join(errs...))
	}
	return o, nil
}
