package redisstore

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// commandStat is one command's line of INFO commandstats.
type commandStat struct {
	calls int64
	usec  float64 // total server time spent in the command, µs
}

// commandStats returns INFO commandstats of the server c talks to (one
// node: use a standalone client), by command name ("get", "mget",
// "evalsha_ro", ...), since the last CONFIG RESETSTAT.
func commandStats(ctx context.Context, c redis.UniversalClient) (map[string]commandStat, error) {
	info, err := c.Info(ctx, "commandstats").Result()
	if err != nil {
		return nil, err
	}
	stats := make(map[string]commandStat)
	for line := range strings.Lines(info) {
		name, fields, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok || !strings.HasPrefix(name, "cmdstat_") {
			continue
		}
		var st commandStat
		for f := range strings.SplitSeq(fields, ",") {
			k, v, _ := strings.Cut(f, "=")
			switch k {
			case "calls":
				st.calls, err = strconv.ParseInt(v, 10, 64)
			case "usec":
				st.usec, err = strconv.ParseFloat(v, 64)
			}
			if err != nil {
				return nil, fmt.Errorf("commandstats line %q: %w", line, err)
			}
		}
		stats[strings.TrimPrefix(name, "cmdstat_")] = st
	}
	return stats, nil
}

// infoNumber returns the numeric field of an INFO section ("memory",
// "used_memory") of the server c talks to.
func infoNumber(ctx context.Context, c redis.UniversalClient, section, field string) (float64, error) {
	info, err := c.Info(ctx, section).Result()
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(info) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), field+":"); ok {
			return strconv.ParseFloat(v, 64)
		}
	}
	return 0, fmt.Errorf("INFO %s has no field %s", section, field)
}
