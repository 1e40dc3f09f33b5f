// Package faultproxy is a TCP proxy for tests that injects network faults
// between a client and a server, typically go-redis and a real redis-server
// in the end-to-end tests.
//
// A [Proxy] listens on a free 127.0.0.1 port ([Proxy.Addr]) and forwards
// every accepted connection to one target address. At runtime a test can:
//
//   - delay every chunk of bytes, in each direction, by a fixed latency plus
//     uniform jitter ([Proxy.SetLatency]). Each chunk is delayed from the
//     moment it was read, so pipelined traffic is delayed once, not once per
//     queued chunk, and byte order is always preserved;
//   - cut every current connection, closing both ends ([Proxy.CutAll]), as
//     when a server restarts or a load balancer drops its flows;
//   - switch modes ([Proxy.SetMode]): [Pass] forwards; [Blackhole] stops
//     forwarding in both directions on every connection and accepts new
//     connections without dialing the target, as a network partition does;
//     [Refuse] resets new connections as soon as they are accepted.
//
// Leaving Blackhole delivers what was held, like TCP retransmission after a
// partition heals; connections accepted during the blackhole are then
// connected to the target. Refuse affects only new connections: combine it
// with CutAll to model a server that died.
//
// Clients must bound their calls with deadlines for Blackhole to show up as
// timeouts; for go-redis that means ContextTimeoutEnabled (or short read and
// write timeouts).
//
// Memory is bounded: each direction of a connection holds at most 16 chunks
// of at most 16 KiB in flight; when they are full the proxy stops reading and
// TCP flow control pushes back on the sender. A half-close (EOF) in one
// direction is forwarded as a half-close, as TCP does; the connection is
// closed when both directions have ended or either side fails.
//
// [Proxy.Close] stops every goroutine and closes every connection before it
// returns.
package faultproxy
