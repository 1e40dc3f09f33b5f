package control

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/redis/go-redis/v9"
)

// auditPage is how many audit entries ExportAudit reads per round trip.
const auditPage = 500

// ExportAudit writes the whole audit stream to w as a JSON array of
// [AuditEntry], oldest first, and returns how many entries it wrote. It is
// what `migratectl finish` keeps before it removes the control plane's
// keys. An entry that cannot be decoded is written with Problem set.
func (c *Client) ExportAudit(ctx context.Context, w io.Writer) (int, error) {
	if _, err := io.WriteString(w, "["); err != nil {
		return 0, fmt.Errorf("control: export audit: %w", err)
	}
	n, start := 0, "-"
	for {
		msgs, err := c.rdb.XRangeN(ctx, c.keys.audit, start, "+", auditPage).Result()
		if err != nil {
			return n, fmt.Errorf("control: export audit: %w", err)
		}
		for _, m := range msgs {
			b, err := json.Marshal(decodeAudit(m))
			if err != nil {
				return n, fmt.Errorf("control: export audit: %w", err)
			}
			sep := ",\n"
			if n == 0 {
				sep = "\n"
			}
			if _, err := io.WriteString(w, sep+string(b)); err != nil {
				return n, fmt.Errorf("control: export audit: %w", err)
			}
			n++
		}
		if len(msgs) < auditPage {
			break
		}
		start = "(" + msgs[len(msgs)-1].ID
	}
	if _, err := io.WriteString(w, "\n]\n"); err != nil {
		return n, fmt.Errorf("control: export audit: %w", err)
	}
	return n, nil
}

// RemoveOptions configures [Client.RemoveAll].
type RemoveOptions struct {
	// DryRun counts the keys and deletes nothing.
	DryRun bool
	// Batch is the SCAN COUNT hint and the most keys one DEL removes.
	// Zero means 500.
	Batch int
	// Progress, if set, is called after each batch with the keys found and
	// removed so far, on the calling goroutine.
	Progress func(found, removed int)
}

// RemoveAll deletes every key of this control plane ("{Prefix}:*": the
// state, the audit stream, the instance index and heartbeats, the last
// diff, the jobs), as `migratectl finish` does once nothing runs the
// toolkit any more, and returns how many keys it found and removed. Export
// the audit first ([Client.ExportAudit]): it goes too. Keys are listed with
// SCAN on the node holding the control plane's slot and deleted in batches
// of Batch; another prefix's keys are never touched.
func (c *Client) RemoveAll(ctx context.Context, opts RemoveOptions) (found, removed int, err error) {
	if opts.Batch < 0 {
		return 0, 0, fmt.Errorf("control: remove: %w", invalid("negative batch %d", opts.Batch))
	}
	batch := opts.Batch
	if batch == 0 {
		batch = 500
	}
	node, err := c.slotNode(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("control: remove: %w", err)
	}
	tag := "{" + c.opts.Prefix + "}:"
	// MATCH only saves sending other keys back; the prefix check below
	// decides. A prefix with glob characters is matched client-side only.
	match := tag + "*"
	if strings.ContainsAny(tag, `*?[]\`) {
		match = "*"
	}
	var cursor uint64
	for {
		keys, next, err := node.Scan(ctx, cursor, match, int64(batch)).Result()
		if err != nil {
			return found, removed, fmt.Errorf("control: remove: %w", err)
		}
		var ours []string
		for _, k := range keys {
			if strings.HasPrefix(k, tag) {
				ours = append(ours, k)
			}
		}
		found += len(ours)
		for len(ours) > 0 && !opts.DryRun {
			n := min(len(ours), batch)
			deleted, err := c.rdb.Del(ctx, ours[:n]...).Result()
			if err != nil {
				return found, removed, fmt.Errorf("control: remove: %w", err)
			}
			removed += int(deleted)
			ours = ours[n:]
		}
		if opts.Progress != nil {
			opts.Progress(found, removed)
		}
		if next == 0 {
			return found, removed, nil
		}
		cursor = next
	}
}

// slotNode returns the client of the node holding the control plane's keys:
// the master of their slot in a cluster, the one server otherwise.
func (c *Client) slotNode(ctx context.Context) (redis.Cmdable, error) {
	if cc, ok := c.rdb.(*redis.ClusterClient); ok {
		return cc.MasterForKey(ctx, c.keys.state)
	}
	return c.rdb, nil
}
